"""Read the YAML people write into Nodes that keep the lines they were written on.

Problems go to a ``report(code, file, line, field, **params)`` callback (units_file.Report), with
the codes of templates/messages/campaign_file.yaml. The loader is PyYAML's SafeLoader, which only
composes the document here: nothing is ever constructed from a tag.

Decisions:
- YAML's base-60 numbers are read as text, so ``at: 17:00`` is the time, not 1020.
- A scalar written where text is expected is taken as written (``code: 01`` is "01").
- Explicit tags (``!!python/object…``, ``!!str``, ``!foo``, a lone ``!``) are refused, each at its
  line: a campaign has no use for them, and a silently ignored tag hides what was meant.
- Aliases (``*name``) and merge keys (``<<: *base``) may be used, but a document holds at most
  MAX_VALUES values counted as if every alias were written out, and nests at most MAX_DEPTH deep:
  an alias bomb is refused at the line where it crosses the limit, before anything walks it. An
  alias inside the value it names is refused. A merge copies the keys the mapping does not write.
- A key written without ``:`` in a flow mapping (``{name: SỞ NỘI VỤ, TỈNH QUẢNG NGÃI}``, where
  a comma split one value) is remembered with the key before it, so the check can say so.
- A control character (written as an escape such as ``"\\a"``; PyYAML refuses raw ones) is refused:
  no Word or Excel document can hold it.
- The YAML library's errors are told by kind in Vietnamese (``yaml_syntax``, SYNTAX_KINDS) with the
  line and, where it helps, the column; its English words only as a detail of the fallback.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.reader import ReaderError

from bot.campaigns.units import Report, clean, find_control

__all__ = ["MAX_DEPTH", "MAX_VALUES", "SYNTAX_KINDS", "Loader", "Node", "parse_yaml"]

MAX_DEPTH = 30  # a campaign with an inline questionnaire nests about 10 deep
MAX_VALUES = 100_000  # a campaign with 2,000 inline units holds about 15,000
SYNTAX_KINDS = ("tab", "bad_start", "colon", "no_colon", "indent", "unclosed_quote",
                "unclosed_flow", "stray", "escape", "no_value", "alias", "duplicate_anchor",
                "two_documents", "block_scalar", "directive", "tag", "other")
_INT_TAGS = ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")
_NULL_TAG = "tag:yaml.org,2002:null"
_MERGE_TAG = "tag:yaml.org,2002:merge"
_STANDARD = "tag:yaml.org,2002:"
_QUOTED = re.compile(r"('(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")")


@dataclass
class Node:
    """A YAML value with the lines it was written on."""

    value: Any  # a scalar, list[Node] or dict[str, Node]
    line: int
    key_line: int  # line of the key naming it; its own line for list items and the root
    text: str = ""  # a scalar as written, cleaned
    keys: dict[str, int] = field(default_factory=dict)  # line of each key of a mapping
    bare: dict[str, tuple[str, str]] = field(default_factory=dict)  # key written without ":"
    # in a flow mapping → (the key before it, that key's value)


class _Refused(Exception):
    """A document given up while it is composed: one problem at one mark."""

    def __init__(self, code: str, mark: Any, **params: object) -> None:
        super().__init__(code)
        self.code, self.params = code, params
        self.line = None if mark is None else mark.line + 1


class Loader(yaml.SafeLoader):
    """A safe loader that notes explicit tags and bounds nesting and alias expansion."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.depth = 0
        self.values = 0  # values composed so far, an alias counting every value it names
        self.sizes: dict[int, int] = {}  # values under each composed node, by id
        self.tags: list[tuple[int, str]] = []  # line and tag of every explicit tag

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        """Compose one node, counting it and every value an alias names."""
        event: Any = self.peek_event()  # type: ignore[no-untyped-call]
        if isinstance(event, yaml.AliasEvent):
            target = self.anchors.get(event.anchor)
            if target is not None:
                if id(target) not in self.sizes:
                    raise _Refused("alias_loop", event.start_mark, name=event.anchor)
                self._count(self.sizes[id(target)], event.start_mark)
            return super().compose_node(parent, index)
        tag = getattr(event, "tag", None)
        if tag is not None:
            self.tags.append((event.start_mark.line + 1, _shown(tag)))
        if self.depth >= MAX_DEPTH:
            raise _Refused("too_deep", event.start_mark, limit=MAX_DEPTH)
        start = self.values
        self._count(1, event.start_mark)
        self.depth += 1
        try:
            node = super().compose_node(parent, index)
        finally:
            self.depth -= 1
        self.sizes[id(node)] = self.values - start
        return node

    def _count(self, values: int, mark: Any) -> None:
        self.values += values
        if self.values > MAX_VALUES:
            raise _Refused("too_many_values", mark, limit=MAX_VALUES)


def parse_yaml(text: str, file: str, report: Report) -> Node | None:
    """Return the YAML tree of a text, or report why there is none, with its line."""
    loader = None
    try:
        loader = Loader(text)
        root = loader.get_single_node()
        for line, tag in loader.tags:
            report("yaml_tag", file, line, "", tag=tag)
        if loader.tags:
            return None
        if root is None:
            report("empty_file", file, None, "")
            return None
        return _Tree(loader, file, report).node(root, root.start_mark.line + 1)
    except _Refused as exc:
        report(exc.code, file, exc.line, "", **exc.params)
    except ReaderError as exc:  # a control character written as it is
        before = text[: exc.position]
        report("control_character", file, before.count("\n") + 1, "",
               char=f"U+{exc.character:04X}", column=len(before) - before.rfind("\n"))
    except yaml.MarkedYAMLError as exc:
        kind, mark, char = _kind(exc)
        report("yaml_syntax", file, None if mark is None else mark.line + 1, "", kind=kind,
               column=None if mark is None else _column(kind, mark), char=char,
               detail=" ".join(filter(None, (exc.context, exc.problem))))
    except yaml.YAMLError as exc:  # none other in PyYAML 6; never its English alone
        report("yaml_syntax", file, None, "", kind="other", column=None, char="",
               detail=str(exc))
    finally:
        if loader is not None:
            loader.dispose()
    return None


def _shown(tag: str) -> str:
    """Return a tag as it is usually written (``!!str``, not tag:yaml.org,2002:str)."""
    return "!!" + tag.removeprefix(_STANDARD) if tag.startswith(_STANDARD) else tag


def _kind(exc: yaml.MarkedYAMLError) -> tuple[str, yaml.Mark | None, str]:
    """Return the kind of a syntax error, the mark to tell it at, and the character it names."""
    context, problem = exc.context or "", exc.problem or ""
    at, opened = exc.problem_mark or exc.context_mark, exc.context_mark or exc.problem_mark
    char = _named(context + " " + problem)
    if "cannot start any token" in problem:
        return ("tab", at, "") if char == "\t" else ("bad_start", at, char)
    rules: tuple[tuple[bool, str, yaml.Mark | None, str], ...] = (
        ("mapping values are not allowed" in problem, "colon", at, ""),
        ("expected <block end>" in problem and char in ("]", "}", ","), "stray", at, char),
        ("could not find expected ':'" in problem, "no_colon", opened, ""),
        (problem.startswith("expected <block end>") or "are not allowed here" in problem,
         "indent", at, ""),
        (context == "while scanning a quoted scalar", "unclosed_quote", opened, _at(opened)),
        (problem.startswith("expected ',' or ']'"), "unclosed_flow", opened, "["),
        (problem.startswith("expected ',' or '}'"), "unclosed_flow", opened, "{"),
        (context == "while scanning a double-quoted scalar", "escape", at, ""),
        ("expected the node content" in problem, "no_value", at, char.strip("<>") and char),
        ("undefined alias" in problem, "alias", at, char),
        (context.startswith(("while scanning an alias", "while scanning an anchor")),
         "alias", at, ""),
        (context.startswith("found duplicate anchor"), "duplicate_anchor", at, char),
        (context.startswith("expected a single document"), "two_documents", at, ""),
        (context == "while scanning a block scalar", "block_scalar", at, ""),
        (context == "while scanning a directive" or "<document start>" in problem,
         "directive", at, ""),
        ("tag" in context or "tag handle" in problem, "tag", at, ""),
    )
    return next(((kind, mark, c) for hit, kind, mark, c in rules if hit), ("other", at, ""))


def _named(words: str) -> str:
    """Return the character or name an English message quotes, as Python wrote it (%r)."""
    quoted = _QUOTED.search(words)
    try:
        return str(ast.literal_eval(quoted[1])) if quoted else ""
    except (ValueError, SyntaxError):
        return ""


def _at(mark: yaml.Mark | None) -> str:
    """Return the character a mark points at, if the text is known."""
    if mark is None or mark.buffer is None or mark.pointer >= len(mark.buffer):
        return ""
    return mark.buffer[mark.pointer]


def _column(kind: str, mark: yaml.Mark) -> int:
    """Return the 1-based column to tell; for a bad escape, the column of its backslash."""
    if kind == "escape" and mark.buffer is not None:
        back = mark.buffer.rfind("\\", 0, mark.pointer + 1)
        if back >= 0:
            return mark.column + 1 - (mark.pointer - back)
    return mark.column + 1


class _Tree:
    """Turns composed YAML nodes into Node values, reporting repeated keys."""

    def __init__(self, loader: yaml.SafeLoader, file: str, report: Report) -> None:
        self.loader, self.file, self.report = loader, file, report
        self.done: dict[int, Node] = {}  # an alias gives the Node of the value it names

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
        self._check_text(str(raw.value), line)
        return Node(self._scalar(raw), line, key_line, text=clean(str(raw.value)))

    def _mapping(self, raw: yaml.MappingNode, line: int, key_line: int) -> Node:
        result = Node({}, line, key_line)
        merges: list[tuple[yaml.Node, int]] = []
        previous: tuple[str, str] | None = None
        for key_node, value_node in raw.value:
            at = key_node.start_mark.line + 1
            if key_node.tag == _MERGE_TAG:
                merges.append((value_node, at))
                continue
            key = clean(str(key_node.value))
            self._check_text(key, at)
            if key in result.keys:
                self.report("duplicate_key", self.file, at, key, key=key,
                            first_line=result.keys[key])
                continue
            result.keys[key] = at
            result.value[key] = value = self.node(value_node, at)
            if raw.flow_style and previous is not None and _bare(key_node, value_node):
                result.bare[key] = previous
            previous = None if isinstance(value.value, dict | list) else (key, value.text)
        for value_node, at in merges:
            self._merge(result, value_node, at)
        return result

    def _merge(self, result: Node, raw: yaml.Node, at: int) -> None:
        """Copy the keys of merged mappings the mapping does not write itself."""
        sources = raw.value if isinstance(raw, yaml.SequenceNode) else [raw]
        for source in sources:
            if not isinstance(source, yaml.MappingNode):
                self.report("wrong_type", self.file, at, "<<", expected="mapping")
                continue
            merged = self.node(source, at)
            for key, value in merged.value.items():
                if key not in result.keys:
                    result.keys[key], result.value[key] = merged.keys[key], value

    def _check_text(self, text: str, line: int) -> None:
        char = find_control(text)
        if char is not None:
            self.report("control_character", self.file, line, "", char=char, column=None)

    def _scalar(self, raw: yaml.Node) -> Any:
        if raw.tag in _INT_TAGS and ":" in str(raw.value):
            return clean(str(raw.value))  # base-60 in YAML 1.1; here always a time
        try:
            value = self.loader.construct_object(raw)
        except (yaml.YAMLError, ValueError):
            value = str(raw.value)  # a bad date such as 2023-02-30 stays text
        return clean(value) if isinstance(value, str) else value


def _bare(key: yaml.Node, value: yaml.Node) -> bool:
    """Return whether a flow mapping's key was written without ":" (so its value is null)."""
    if not (isinstance(value, yaml.ScalarNode) and value.tag == _NULL_TAG and value.value == ""):
        return False
    buffer = key.end_mark.buffer
    return buffer is not None and ":" not in buffer[key.end_mark.pointer:value.start_mark.pointer]
