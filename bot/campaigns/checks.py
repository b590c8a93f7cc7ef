"""Problems found in the files people write, and the checks that read typed values out of YAML.

A problem carries its file, 1-based line and dotted field (``sections[1].questions[3].type``,
indexes counted from 1 as people count). Its text is the catalogue message ``campaign_file.<code>``
(templates/messages/campaign_file.yaml); PARAMS lists the params of each code. A load gathers
every problem of every file in one Sink; a Checker reports those of one file and reads typed
values out of the YAML tree (bot/campaigns/yaml_tree.py), whose Nodes keep the lines they were
written on.

Decisions:
- A Sink keeps the first MAX_PROBLEMS problems and counts the rest: the error ends with
  "… và 1.234 lỗi khác", so a file with thousands of mistakes gives a page, not a flood.
"""

from __future__ import annotations

import html
import os
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from bot import texts
from bot.campaigns import units as units_file
from bot.campaigns.units import field_at, suggest
from bot.campaigns.yaml_tree import Node, parse_yaml

__all__ = [
    "MAX_FILE_BYTES",
    "MAX_PROBLEMS",
    "PARAMS",
    "CampaignFileError",
    "Checker",
    "Node",
    "Problem",
    "Sink",
    "as_datetime",
    "inside",
    "parse_yaml",
    "read_bytes",
    "read_yaml",
]

MAX_PROBLEMS = 50
MAX_FILE_BYTES = 2_000_000  # a file read, or sent in chat; a real campaign file is under 100 kB
PARAMS: dict[str, tuple[str, ...]] = {
    **units_file.PARAMS,
    "file_missing": ("path",),
    "file_too_large": ("limit",),
    "bad_zip": ("error",),  # a zip sent in chat (bot/campaigns/upload.py)
    "zip_without_campaign": (),
    "zip_too_many_files": ("limit",),
    "zip_too_large": ("limit",),
    "path_outside": ("path",),
    "file_unreadable": ("path", "error"),
    "yaml_syntax": ("kind", "column", "char", "detail"),  # kind: yaml_tree.SYNTAX_KINDS
    "yaml_tag": ("tag",),
    "too_many_values": ("limit",),
    "alias_loop": ("name",),
    "too_deep": ("limit",),
    "comma_in_value": ("key", "previous", "value"),
    "wrong_type": ("expected",),
    "missing_key": ("key",),
    "unknown_key": ("key", "suggestion", "allowed"),
    "duplicate_key": ("key", "first_line"),
    "too_small": ("value", "min"),
    "bad_deadline": ("value",),
    "bad_date": ("value",),
    "bad_period": ("start", "end"),
    "bad_time": ("value",),
    "bad_quiet_hours": ("value",),
    "bad_extension": ("path", "allowed"),
    "path_not_allowed": ("path",),
    "empty_list": (),
    "bad_id": ("value",),
    "duplicate_id": ("id", "first_line"),
    "bad_type": ("value", "allowed", "suggestion"),
    "not_for_type": ("key", "type"),
    "options_required": ("type",),
    "too_few_options": ("count",),
    "duplicate_option": ("value",),
    "min_above_max": ("min", "max"),
    "percent_bounds": ("value",),
    "when_keys": (),
    "when_unknown_id": ("id", "suggestion"),
    "when_later": ("id",),
    "when_self": ("id",),
    "when_bad_value": ("value", "id", "expected", "options"),
    "bad_aggregate": ("value", "allowed", "suggestion"),
    "aggregate_for_type": ("value", "type"),
    "bad_authority": ("value", "allowed"),
    "title_has_authority": ("value",),
    "deputy_title_required": ("authority",),
    "deputy_title_unused": ("authority",),
    "recipient_reserved": ("value",),
    "summary_after_unknown": ("value", "suggestion", "parts"),
    "report_lead": ("kind", "name", "at_line", "detail", "reason", "limit", "allowed"),
    "heading_question": ("value",),
    "weight_unknown_id": ("id", "suggestion"),
    "weight_self": ("id",),
    "weight_type": ("id", "type"),
    "appendix_unknown_id": ("id", "suggestion"),
    "appendix_not_numeric": ("id", "type"),
    "appendix_duplicate": ("id",),
}

@dataclass(frozen=True)
class Problem:
    """One thing wrong in a file, located by file, line and field."""

    file: str
    line: int | None
    field: str
    code: str
    params: dict[str, object]

    def message(self, fmt: texts.Format = "plain") -> str:
        """Return 'file:line: field: text', the text from the message catalogue."""
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        if self.field:
            where = f"{where}: {self.field}"
        if fmt == "html":
            where = html.escape(where, quote=False)
        return f"{where}: {texts.render('campaign_file.' + self.code, fmt, **self.params)}"


class CampaignFileError(Exception):
    """The problems found in a campaign, questionnaire or units file, and how many more."""

    def __init__(self, problems: list[Problem], more: int = 0) -> None:
        self.problems, self.more = problems, more
        super().__init__("\n".join(self.lines()))

    def lines(self, fmt: texts.Format = "plain") -> list[str]:
        """Return one line per problem, then how many more were found."""
        lines = [p.message(fmt) for p in self.problems]
        if self.more:
            lines.append(texts.render("campaign_file.more_problems", fmt, count=self.more))
        return lines


class Sink:
    """Collects problems from every file of a load: the first MAX_PROBLEMS, and a count."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.count = 0  # every problem reported, kept or not

    def __call__(
        self, code: str, file: str, line: int | None, field: str, /, **params: object
    ) -> None:
        """Record one problem."""
        self.count += 1
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(Problem(file, line, field, code, dict(params)))


def read_bytes(path: Path, file: str, sink: Sink, line: int | None = None,
                where: str = "") -> bytes | None:
    """Return a file's content, or report why it cannot be read (or is over MAX_FILE_BYTES)."""
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        sink("file_missing", file, line, where, path=str(path))
    except OSError as exc:
        sink("file_unreadable", file, line, where, path=str(path), error=exc.strerror or str(exc))
    else:
        if len(data) <= MAX_FILE_BYTES:
            return data
        sink("file_too_large", file, line, where, limit=MAX_FILE_BYTES)
    return None


def inside(root: Path, base: Path, written: str) -> bool:
    """Return whether a path written relative to base stays in root, reached without a symlink."""
    lexical = Path(os.path.normpath(base / written))
    if Path(written).is_absolute() or not lexical.is_relative_to(root):
        return False
    return lexical.resolve() == root.resolve() / lexical.relative_to(root)


def read_yaml(path: Path, file: str, sink: Sink, line: int | None = None,
               where: str = "", report_as: str | None = None) -> Node | None:
    """Return the YAML tree of a file, or report why there is none."""
    data = read_bytes(path, report_as or file, sink, line, where)
    text = None if data is None else units_file.decode_utf8(data, file, sink)
    return None if text is None else parse_yaml(text, file, sink)


class Checker:
    """Reports problems of one file and reads typed values out of Nodes."""

    def __init__(self, file: str, sink: Sink) -> None:
        self.file, self.sink = file, sink

    def add(self, code: str, line: int | None, where: str, **params: object) -> None:
        """Record a problem in this file."""
        self.sink(code, self.file, line, where, **params)

    def mapping(self, node: Node, where: str, allowed: tuple[str, ...],
                required: tuple[str, ...] = ()) -> dict[str, Node] | None:
        """Return the keys of a mapping after reporting unknown and missing keys."""
        if not isinstance(node.value, dict):
            self.add("wrong_type", node.line, where, expected="mapping")
            return None
        for key in node.value:
            if key in node.bare and key not in allowed:
                previous, value = node.bare[key]
                self.add("comma_in_value", node.keys[key], field_at(where, key), key=key,
                         previous=previous, value=f"{value}, {key}")
            elif key not in allowed:
                self.add("unknown_key", node.keys[key], field_at(where, key), key=key,
                         suggestion=suggest(key, allowed), allowed=", ".join(allowed))
        for key in required:
            if key not in node.value:
                self.add("missing_key", node.key_line, where, key=key)
        return dict(node.value)

    def items(self, node: Node, where: str) -> list[Node]:
        """Return the items of a non-empty list."""
        if not isinstance(node.value, list):
            self.add("wrong_type", node.line, where, expected="list")
            return []
        if not node.value:
            self.add("empty_list", node.line, where)
        return list(node.value)

    def text(self, m: dict[str, Node], key: str, where: str) -> str | None:
        """Return a non-empty text, as written, or None if absent or wrong."""
        node = m.get(key)
        if node is None:
            return None
        if isinstance(node.value, dict | list):
            self.add("wrong_type", node.line, field_at(where, key), expected="text")
        elif node.value is None or not node.text:
            self.add("empty_value", node.line, field_at(where, key))
        else:
            return node.text
        return None

    def flag(self, m: dict[str, Node], key: str, where: str, default: bool) -> bool:
        """Return a true/false value."""
        node = m.get(key)
        if node is None:
            return default
        if not isinstance(node.value, bool):
            self.add("wrong_type", node.line, field_at(where, key), expected="bool")
            return default
        return node.value

    def integer(self, node: Node, where: str, minimum: int) -> int:
        """Return a whole number not below the minimum."""
        value = node.value
        if isinstance(value, bool) or not isinstance(value, int):
            self.add("wrong_type", node.line, where, expected="integer")
            return minimum
        if value < minimum:
            self.add("too_small", node.line, where, value=value, min=minimum)
        return value


def as_datetime(node: Node) -> date | None:
    """Return the date or datetime a node holds or spells, if any."""
    if isinstance(node.value, date):
        return node.value
    if not isinstance(node.value, str):
        return None
    text = node.value
    for pattern in ("%d/%m/%Y %H:%M", "%d/%m/%Y"):
        try:
            parsed = datetime.strptime(text, pattern)
            return parsed if ":" in text else parsed.date()
        except ValueError:
            pass
    try:
        return datetime.fromisoformat(text) if len(text) > 10 else date.fromisoformat(text)
    except ValueError:
        return None

