"""Read the YAML people write into Nodes that keep the lines they were written on.

Problems go to a ``report(code, file, line, field, **params)`` callback (units_file.Report), with
the codes of templates/messages/campaign_file.yaml.

Decisions:
- YAML's base-60 numbers are read as text, so ``at: 17:00`` is the time, not 1020.
- A scalar written where text is expected is taken as written (``code: 01`` is "01").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from bot.units_file import Report, clean

__all__ = ["Node", "parse_yaml"]

_INT_TAGS = ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")


@dataclass
class Node:
    """A YAML value with the lines it was written on."""

    value: Any  # a scalar, list[Node] or dict[str, Node]
    line: int
    key_line: int  # line of the key naming it; its own line for list items and the root
    text: str = ""  # a scalar as written, cleaned
    keys: dict[str, int] = field(default_factory=dict)  # line of each key of a mapping


def parse_yaml(text: str, file: str, report: Report) -> Node | None:
    """Return the YAML tree of a text, or report the syntax error and its line."""
    loader = None
    try:
        loader = yaml.SafeLoader(text)
        root = loader.get_single_node()
        if root is None:
            report("empty_file", file, None, "")
            return None
        return _Tree(loader, file, report).node(root, root.start_mark.line + 1)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        report("yaml_syntax", file, None if mark is None else mark.line + 1, "",
             error=exc.problem or exc.context or str(exc))
    except (yaml.YAMLError, RecursionError) as exc:
        report("yaml_syntax", file, None, "", error=str(exc) or type(exc).__name__)
    finally:
        if loader is not None:
            loader.dispose()
    return None


class _Tree:
    """Turns composed YAML nodes into Node values, reporting repeated keys."""

    def __init__(self, loader: yaml.SafeLoader, file: str, report: Report) -> None:
        self.loader, self.file, self.report = loader, file, report
        self.done: dict[int, Node] = {}  # aliases share one node: no exponential blow-up

    def node(self, raw: yaml.Node, key_line: int) -> Node:
        """Return the Node of a composed node."""
        if id(raw) not in self.done:
            self.done[id(raw)] = self._convert(raw, key_line)
        return self.done[id(raw)]

    def _convert(self, raw: yaml.Node, key_line: int) -> Node:
        line = raw.start_mark.line + 1
        if isinstance(raw, yaml.MappingNode):
            return self._mapping(raw, line, key_line)
        if isinstance(raw, yaml.SequenceNode):
            items = [self.node(item, item.start_mark.line + 1) for item in raw.value]
            return Node(items, line, key_line)
        return Node(self._scalar(raw), line, key_line, text=clean(str(raw.value)))

    def _mapping(self, raw: yaml.MappingNode, line: int, key_line: int) -> Node:
        self.loader.flatten_mapping(raw)
        result = Node({}, line, key_line)
        for key_node, value_node in raw.value:
            key = clean(str(key_node.value))
            at = key_node.start_mark.line + 1
            if key in result.keys:
                self.report("duplicate_key", self.file, at, key, key=key,
                          first_line=result.keys[key])
                continue
            result.keys[key] = at
            result.value[key] = self.node(value_node, at)
        return result

    def _scalar(self, raw: yaml.Node) -> Any:
        if raw.tag in _INT_TAGS and ":" in str(raw.value):
            return clean(str(raw.value))  # base-60 in YAML 1.1; here always a time
        try:
            value = self.loader.construct_object(raw)
        except (yaml.YAMLError, ValueError):
            value = str(raw.value)  # a bad date such as 2023-02-30 stays text
        return clean(value) if isinstance(value, str) else value
