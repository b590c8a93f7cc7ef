"""Load and check the files people write: a campaign, its questionnaire and its units.

Every loader only reads and checks; it returns domain objects or raises CampaignFileError listing
every problem found, each with its file, 1-based line and dotted field
(``sections[1].questions[3].type``, indexes counted from 1 as people count). The text of a problem
is the catalogue message ``campaign_file.<code>`` (templates/messages/campaign_file.yaml); PARAMS
lists the params of each code.

Decisions:
- ``deadline`` is ``2023-10-31 17:00`` (also ``T``, seconds, ``31/10/2023 17:00``) in the loader's
  timezone; a date alone means 17:00, the end of the office day. A written UTC offset is converted.
- ``period`` dates and condition dates are ``2023-10-31`` or ``31/10/2023``.
- ``reminders.before_days`` is kept sorted from the farthest day, without repeats.
- Paths are relative to the campaign file's folder; absolute paths and ``..`` are allowed, but the
  file must exist. ``template`` is kept resolved to an absolute path.
- YAML's base-60 numbers are read as text, so ``at: 17:00`` is the time, not 1020.
- A scalar written where text is expected is taken as written (``code: 01`` is "01").
"""

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time, tzinfo
from decimal import Decimal
from pathlib import Path, PurePath
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import yaml

from bot import texts, units_file
from bot.questionnaire import (
    AGGREGATES,
    CHOICE_TYPES,
    NUMERIC_TYPES,
    TYPES,
    Condition,
    Question,
    Questionnaire,
    Section,
)
from bot.units_file import Unit, UnitRow, clean, field_at, suggest

__all__ = [
    "PARAMS",
    "Agency",
    "CampaignFileError",
    "CampaignSpec",
    "Problem",
    "ReminderPolicy",
    "Unit",
    "check_file",
    "load_campaign",
    "load_campaign_text",
    "load_questionnaire",
]

PARAMS: dict[str, tuple[str, ...]] = {
    **units_file.PARAMS,
    "file_missing": ("path",),
    "file_too_large": ("limit",),  # a file sent in chat (bot/coordinator.py)
    "bad_zip": ("error",),
    "zip_without_campaign": (),
    "file_unreadable": ("path", "error"),
    "yaml_syntax": ("error",),
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
}

_CAMPAIGN_KEYS = ("title", "request", "agency", "deadline", "period", "reminders",
                  "questionnaire", "units", "template")
_CAMPAIGN_REQUIRED = ("title", "request", "agency", "deadline", "questionnaire", "units")
_AGENCY_KEYS = ("parent", "name", "code", "place")
_REMINDER_KEYS = ("before_days", "at", "after_deadline_every_days", "after_deadline_max",
                  "working_days_only", "quiet_hours")
_QUESTION_KEYS = ("id", "type", "ask", "help", "required", "min", "max", "max_length",
                  "options", "other", "when", "aggregate", "unit")
_LENGTH_TYPES = frozenset({"text", "longtext", "list", "documents"})
_ID_RE = re.compile(r"^[a-z0-9_]+$")
_TIME_RE = re.compile(r"^(\d{1,2}):(\d{2})$")
_OFFICE_CLOSES = time(17, 0)
_INT_TAGS = ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")
T = TypeVar("T")


@dataclass(frozen=True)
class Agency:
    """The agency that asks for the report (shown in the report's heading)."""

    parent: str
    name: str
    code: str
    place: str


@dataclass(frozen=True)
class ReminderPolicy:
    """When reminders go out before and after the deadline."""

    before_days: tuple[int, ...] = (3, 1, 0)
    at: time = time(8, 0)
    after_deadline_every_days: int = 1
    after_deadline_max: int = 5
    working_days_only: bool = True
    quiet_hours: tuple[time, time] | None = (time(20, 0), time(7, 0))

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-able form, the inverse of from_dict."""
        data = asdict(self)
        data["before_days"] = list(self.before_days)
        data["at"] = _hhmm(self.at)
        data["quiet_hours"] = None if self.quiet_hours is None else [
            _hhmm(t) for t in self.quiet_hours
        ]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ReminderPolicy:
        """Build from the JSON-able form made by to_dict."""
        quiet = data["quiet_hours"]
        return cls(
            before_days=tuple(data["before_days"]),
            at=time.fromisoformat(data["at"]),
            after_deadline_every_days=data["after_deadline_every_days"],
            after_deadline_max=data["after_deadline_max"],
            working_days_only=data["working_days_only"],
            quiet_hours=None if quiet is None else (
                time.fromisoformat(quiet[0]), time.fromisoformat(quiet[1])),
        )


@dataclass(frozen=True)
class CampaignSpec:
    """Everything a campaign file says, checked."""

    title: str
    request: str
    agency: Agency
    deadline: datetime
    period: tuple[date, date] | None
    reminders: ReminderPolicy
    questionnaire: Questionnaire
    units: tuple[Unit, ...]
    template: Path | None
    source: str

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-able form, the inverse of from_dict."""
        return {
            "title": self.title,
            "request": self.request,
            "agency": asdict(self.agency),
            "deadline": self.deadline.isoformat(),
            "timezone": getattr(self.deadline.tzinfo, "key", None),
            "period": None if self.period is None else [d.isoformat() for d in self.period],
            "reminders": self.reminders.to_dict(),
            "questionnaire": self.questionnaire.to_dict(),
            "units": [asdict(u) for u in self.units],
            "template": None if self.template is None else str(self.template),
            "source": self.source,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CampaignSpec:
        """Build from the JSON-able form made by to_dict."""
        deadline = datetime.fromisoformat(data["deadline"])
        if data.get("timezone"):
            deadline = deadline.astimezone(ZoneInfo(data["timezone"]))
        period = data["period"]
        return cls(
            title=data["title"],
            request=data["request"],
            agency=Agency(**data["agency"]),
            deadline=deadline,
            period=None if period is None else (
                date.fromisoformat(period[0]), date.fromisoformat(period[1])),
            reminders=ReminderPolicy.from_dict(data["reminders"]),
            questionnaire=Questionnaire.from_dict(data["questionnaire"]),
            units=tuple(Unit(**u) for u in data["units"]),
            template=None if data["template"] is None else Path(data["template"]),
            source=data["source"],
        )


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
    """Every problem found in a campaign, questionnaire or units file."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(p.message() for p in problems))


def load_campaign(path: Path, tz: tzinfo) -> CampaignSpec:
    """Load a campaign file with its questionnaire and units inline or beside it."""
    sink = _Sink()
    root = _read_yaml(path, path.name, sink)
    spec = _campaign(_Checker(path.name, sink), root, path.parent, tz) if root else None
    return _finish(sink, spec)


def load_questionnaire(path: Path) -> Questionnaire:
    """Load a questionnaire file (top-level ``sections:``)."""
    sink = _Sink()
    root = _read_yaml(path, path.name, sink)
    result = _Questions(_Checker(path.name, sink)).build(root, "") if root else None
    return _finish(sink, result)


def check_file(path: Path, tz: tzinfo) -> CampaignSpec | Questionnaire:
    """Load a campaign or, if it has top-level ``sections``, a questionnaire."""
    sink = _Sink()
    root = _read_yaml(path, path.name, sink)
    if root is None:
        return _finish(sink, None)
    checker = _Checker(path.name, sink)
    if isinstance(root.value, dict) and "sections" in root.value:
        return _finish(sink, _Questions(checker).build(root, ""))
    return _finish(sink, _campaign(checker, root, path.parent, tz))


def load_campaign_text(name: str, text: str, tz: tzinfo) -> CampaignSpec:
    """Load a self-contained campaign sent as a chat attachment (no paths to other files)."""
    sink = _Sink()
    root = _parse_yaml(text.removeprefix("\ufeff"), name, sink)
    spec = _campaign(_Checker(name, sink), root, None, tz) if root else None
    return _finish(sink, spec)


def _finish(sink: _Sink, result: T | None) -> T:
    """Return the result, or raise every problem found."""
    if sink.problems or result is None:
        files = list(dict.fromkeys(p.file for p in sink.problems))
        raise CampaignFileError(sorted(
            sink.problems, key=lambda p: (files.index(p.file), p.line or 0)))
    return result


class _Sink:
    """Collects problems from every file of a load."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def __call__(
        self, code: str, file: str, line: int | None, field: str, /, **params: object
    ) -> None:
        """Record one problem."""
        self.problems.append(Problem(file, line, field, code, dict(params)))


@dataclass
class _Node:
    """A YAML value with the lines it was written on."""

    value: Any  # a scalar, list[_Node] or dict[str, _Node]
    line: int
    key_line: int  # line of the key naming it; its own line for list items and the root
    text: str = ""  # a scalar as written, cleaned
    keys: dict[str, int] = field(default_factory=dict)  # line of each key of a mapping


def _read_bytes(path: Path, file: str, sink: _Sink, line: int | None = None,
                where: str = "") -> bytes | None:
    """Return a file's content, or report why it cannot be read."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        sink("file_missing", file, line, where, path=str(path))
    except OSError as exc:
        sink("file_unreadable", file, line, where, path=str(path), error=exc.strerror or str(exc))
    return None


def _read_yaml(path: Path, file: str, sink: _Sink, line: int | None = None,
               where: str = "", report_as: str | None = None) -> _Node | None:
    """Return the YAML tree of a file, or report why there is none."""
    data = _read_bytes(path, report_as or file, sink, line, where)
    text = None if data is None else units_file.decode_utf8(data, file, sink)
    return None if text is None else _parse_yaml(text, file, sink)


def _parse_yaml(text: str, file: str, sink: _Sink) -> _Node | None:
    """Return the YAML tree of a text, or report the syntax error and its line."""
    loader = None
    try:
        loader = yaml.SafeLoader(text)
        root = loader.get_single_node()
        if root is None:
            sink("empty_file", file, None, "")
            return None
        return _Tree(loader, file, sink).node(root, root.start_mark.line + 1)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        sink("yaml_syntax", file, None if mark is None else mark.line + 1, "",
             error=exc.problem or exc.context or str(exc))
    except (yaml.YAMLError, RecursionError) as exc:
        sink("yaml_syntax", file, None, "", error=str(exc) or type(exc).__name__)
    finally:
        if loader is not None:
            loader.dispose()
    return None


class _Tree:
    """Turns composed YAML nodes into _Node values, reporting repeated keys."""

    def __init__(self, loader: yaml.SafeLoader, file: str, sink: _Sink) -> None:
        self.loader, self.file, self.sink = loader, file, sink
        self.done: dict[int, _Node] = {}  # aliases share one node: no exponential blow-up

    def node(self, raw: yaml.Node, key_line: int) -> _Node:
        """Return the _Node of a composed node."""
        if id(raw) not in self.done:
            self.done[id(raw)] = self._convert(raw, key_line)
        return self.done[id(raw)]

    def _convert(self, raw: yaml.Node, key_line: int) -> _Node:
        line = raw.start_mark.line + 1
        if isinstance(raw, yaml.MappingNode):
            return self._mapping(raw, line, key_line)
        if isinstance(raw, yaml.SequenceNode):
            items = [self.node(item, item.start_mark.line + 1) for item in raw.value]
            return _Node(items, line, key_line)
        return _Node(self._scalar(raw), line, key_line, text=clean(str(raw.value)))

    def _mapping(self, raw: yaml.MappingNode, line: int, key_line: int) -> _Node:
        self.loader.flatten_mapping(raw)
        result = _Node({}, line, key_line)
        for key_node, value_node in raw.value:
            key = clean(str(key_node.value))
            at = key_node.start_mark.line + 1
            if key in result.keys:
                self.sink("duplicate_key", self.file, at, key, key=key,
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


class _Checker:
    """Reports problems of one file and reads typed values out of _Nodes."""

    def __init__(self, file: str, sink: _Sink) -> None:
        self.file, self.sink = file, sink

    def add(self, code: str, line: int | None, where: str, **params: object) -> None:
        """Record a problem in this file."""
        self.sink(code, self.file, line, where, **params)

    def mapping(self, node: _Node, where: str, allowed: tuple[str, ...],
                required: tuple[str, ...] = ()) -> dict[str, _Node] | None:
        """Return the keys of a mapping after reporting unknown and missing keys."""
        if not isinstance(node.value, dict):
            self.add("wrong_type", node.line, where, expected="mapping")
            return None
        for key in node.value:
            if key not in allowed:
                self.add("unknown_key", node.keys[key], field_at(where, key), key=key,
                         suggestion=suggest(key, allowed), allowed=", ".join(allowed))
        for key in required:
            if key not in node.value:
                self.add("missing_key", node.key_line, where, key=key)
        return dict(node.value)

    def items(self, node: _Node, where: str) -> list[_Node]:
        """Return the items of a non-empty list."""
        if not isinstance(node.value, list):
            self.add("wrong_type", node.line, where, expected="list")
            return []
        if not node.value:
            self.add("empty_list", node.line, where)
        return list(node.value)

    def text(self, m: dict[str, _Node], key: str, where: str) -> str | None:
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

    def flag(self, m: dict[str, _Node], key: str, where: str, default: bool) -> bool:
        """Return a true/false value."""
        node = m.get(key)
        if node is None:
            return default
        if not isinstance(node.value, bool):
            self.add("wrong_type", node.line, field_at(where, key), expected="bool")
            return default
        return node.value

    def integer(self, node: _Node, where: str, minimum: int) -> int:
        """Return a whole number not below the minimum."""
        value = node.value
        if isinstance(value, bool) or not isinstance(value, int):
            self.add("wrong_type", node.line, where, expected="integer")
            return minimum
        if value < minimum:
            self.add("too_small", node.line, where, value=value, min=minimum)
        return value


def _campaign(c: _Checker, root: _Node, base: Path | None, tz: tzinfo) -> CampaignSpec | None:
    """Return the campaign of a YAML tree; ``base`` is None when paths are not allowed."""
    m = c.mapping(root, "", _CAMPAIGN_KEYS, _CAMPAIGN_REQUIRED)
    if m is None:
        return None
    title, request = c.text(m, "title", ""), c.text(m, "request", "")
    agency = _agency(c, m["agency"]) if "agency" in m else None
    deadline = _deadline(c, m["deadline"], tz) if "deadline" in m else None
    period = _period(c, m["period"]) if "period" in m else None
    reminders = _reminders(c, m["reminders"]) if "reminders" in m else ReminderPolicy()
    refs = _Refs(c, base)
    questionnaire = refs.questionnaire(m["questionnaire"]) if "questionnaire" in m else None
    units = refs.units(m["units"]) if "units" in m else None
    template = refs.template(m["template"]) if "template" in m else None
    if not (title and request and agency and deadline and questionnaire and units):
        return None
    return CampaignSpec(title, request, agency, deadline, period, reminders, questionnaire,
                        tuple(units), template, c.file)


def _agency(c: _Checker, node: _Node) -> Agency | None:
    """Return the agency heading."""
    m = c.mapping(node, "agency", _AGENCY_KEYS, _AGENCY_KEYS)
    if m is None:
        return None
    parent, name, code, place = (c.text(m, k, "agency") for k in _AGENCY_KEYS)
    return Agency(parent, name, code, place) if parent and name and code and place else None


def _deadline(c: _Checker, node: _Node, tz: tzinfo) -> datetime | None:
    """Return the deadline, aware in tz."""
    value = _as_datetime(node)
    if value is None:
        c.add("bad_deadline", node.line, "deadline", value=node.text)
        return None
    if isinstance(value, datetime):
        return value.astimezone(tz) if value.tzinfo else value.replace(tzinfo=tz)
    return datetime.combine(value, _OFFICE_CLOSES, tzinfo=tz)


def _as_datetime(node: _Node) -> date | None:
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


def _day(c: _Checker, node: _Node, where: str) -> date | None:
    """Return a date (without a time)."""
    value = _as_datetime(node)
    if value is None or isinstance(value, datetime):
        c.add("bad_date", node.line, where, value=node.text)
        return None
    return value


def _period(c: _Checker, node: _Node) -> tuple[date, date] | None:
    """Return the period the data cover."""
    m = c.mapping(node, "period", ("from", "to"), ("from", "to"))
    if m is None or "from" not in m or "to" not in m:
        return None
    start, end = _day(c, m["from"], "period.from"), _day(c, m["to"], "period.to")
    if start is None or end is None:
        return None
    if start > end:
        c.add("bad_period", node.line, "period", start=start.isoformat(), end=end.isoformat())
    return start, end


def _reminders(c: _Checker, node: _Node) -> ReminderPolicy:
    """Return the reminder policy, defaults filling the keys not written."""
    m = c.mapping(node, "reminders", _REMINDER_KEYS)
    if m is None:
        return ReminderPolicy()
    base, found = ReminderPolicy(), dict[str, Any]()
    if "before_days" in m:
        days = c.items(m["before_days"], "reminders.before_days")
        found["before_days"] = tuple(sorted({
            c.integer(d, f"reminders.before_days[{i}]", 0) for i, d in enumerate(days, 1)
        }, reverse=True))
    if "at" in m:
        found["at"] = _clock(c, m["at"]) or base.at
    for key, minimum in (("after_deadline_every_days", 1), ("after_deadline_max", 0)):
        if key in m:
            found[key] = c.integer(m[key], f"reminders.{key}", minimum)
    found["working_days_only"] = c.flag(m, "working_days_only", "reminders", True)
    if "quiet_hours" in m:
        found["quiet_hours"] = _quiet_hours(c, m["quiet_hours"])
    return ReminderPolicy(**found)


def _clock(c: _Checker, node: _Node) -> time | None:
    """Return the "HH:MM" time of day reminders go out."""
    parsed = _parse_clock(node.text if isinstance(node.value, str) else "")
    if parsed is None:
        c.add("bad_time", node.line, "reminders.at", value=node.text)
    return parsed


def _parse_clock(text: str) -> time | None:
    """Return the time "HH:MM" spells, if any."""
    match = _TIME_RE.match(text.strip())
    if match is None or int(match[1]) > 23 or int(match[2]) > 59:
        return None
    return time(int(match[1]), int(match[2]))


def _quiet_hours(c: _Checker, node: _Node) -> tuple[time, time] | None:
    """Return the quiet window "HH:MM-HH:MM", or None if written as null."""
    if node.value is None:
        return None
    text = node.value if isinstance(node.value, str) else ""
    start, _, end = text.partition("-")
    window = _parse_clock(start), _parse_clock(end)
    if window[0] is None or window[1] is None or window[0] == window[1]:
        c.add("bad_quiet_hours", node.line, "reminders.quiet_hours", value=node.text)
        return None
    return window[0], window[1]


class _Refs:
    """Reads the questionnaire, units and template a campaign names, inline or by path."""

    def __init__(self, c: _Checker, base: Path | None) -> None:
        self.c, self.base = c, base

    def questionnaire(self, node: _Node) -> Questionnaire | None:
        """Return the questionnaire written inline or in the file named."""
        if isinstance(node.value, dict):
            return _Questions(self.c).build(node, "questionnaire")
        path = self._path(node, "questionnaire", (".yaml", ".yml"))
        if path is None:
            return None
        name = PurePath(node.text).as_posix()
        root = _read_yaml(path, name, self.c.sink, node.line, "questionnaire", self.c.file)
        return _Questions(_Checker(name, self.c.sink)).build(root, "") if root else None

    def units(self, node: _Node) -> list[Unit] | None:
        """Return the units listed inline or in the CSV / XLSX file named."""
        if isinstance(node.value, list):
            rows = [self._unit_row(item, f"units[{i}]") for i, item in enumerate(node.value, 1)]
            valid = [r for r in rows if r]
            if rows and not valid:
                return None
            return self._build(valid, self.c.file, node.line, "units")
        path = self._path(node, "units", (".csv", ".xlsx"))
        data = None if path is None else _read_bytes(
            path, self.c.file, self.c.sink, node.line, "units")
        if path is None or data is None:
            return None
        name = PurePath(node.text).as_posix()
        parse = units_file.parse_xlsx if path.suffix.lower() == ".xlsx" else units_file.parse_csv
        before = len(self.c.sink.problems)
        table = parse(data, name, self.c.sink)
        return None if len(self.c.sink.problems) > before else self._build(table, name, None, "")

    def template(self, node: _Node) -> Path | None:
        """Return the absolute path of the Word template named, which must exist."""
        path = self._path(node, "template", (".docx",))
        if path is not None and not path.is_file():
            self.c.add("file_missing", node.line, "template", path=node.text)
            return None
        return None if path is None else path.resolve()

    def _path(self, node: _Node, key: str, suffixes: tuple[str, ...]) -> Path | None:
        """Return the path a key names, relative to the campaign's folder."""
        if not isinstance(node.value, str) or not node.text:
            expected = {"questionnaire": "path_or_mapping", "units": "path_or_list"}
            self.c.add("wrong_type", node.line, key, expected=expected.get(key, "path"))
            return None
        if self.base is None:
            self.c.add("path_not_allowed", node.line, key, path=node.text)
            return None
        if not node.text.lower().endswith(suffixes):
            self.c.add("bad_extension", node.line, key, path=node.text, allowed=", ".join(suffixes))
            return None
        return self.base / node.text

    def _unit_row(self, node: _Node, where: str) -> UnitRow | None:
        """Return one inline unit {code, name, group?}."""
        m = self.c.mapping(node, where, units_file.COLUMNS, ("code", "name"))
        if m is None or "code" not in m or "name" not in m:
            return None
        code, name = self.c.text(m, "code", where), self.c.text(m, "name", where)
        group = self.c.text(m, "group", where)
        return UnitRow(node.line, where, code, name, group) if code and name else None

    def _build(self, rows: list[UnitRow], file: str, line: int | None,
               where: str) -> list[Unit] | None:
        """Return the units of checked rows, or None after reporting their problems."""
        before = len(self.c.sink.problems)
        units = units_file.build_units(rows, file, line, where, self.c.sink)
        return None if len(self.c.sink.problems) > before else units


class _Questions:
    """Checks a questionnaire tree and builds its Questionnaire."""

    def __init__(self, c: _Checker) -> None:
        self.c = c
        self.written: set[str] = set()  # every id in the questionnaire
        self.seen: set[str] = set()  # every id met so far, valid or not
        self.lines: dict[str, int] = {}  # line of each valid id met so far
        self.built: dict[str, Question] = {}

    def build(self, root: _Node, where: str) -> Questionnaire | None:
        """Return the questionnaire, or None after reporting its problems."""
        m = self.c.mapping(root, where, ("sections",), ("sections",))
        if m is None or "sections" not in m:
            return None
        before = len(self.c.sink.problems)
        nodes = self.c.items(m["sections"], field_at(where, "sections"))
        self._index_ids(nodes)
        sections = [
            self._section(n, field_at(where, f"sections[{i}]"), i - 1)
            for i, n in enumerate(nodes, 1)
        ]
        if len(self.c.sink.problems) > before:
            return None
        return Questionnaire(tuple(s for s in sections if s))

    def _index_ids(self, sections: list[_Node]) -> None:
        """Remember the position of every id written, to tell a later id from a missing one."""
        for section in sections:
            questions = section.value.get("questions") if isinstance(section.value, dict) else None
            for q in questions.value if questions and isinstance(questions.value, list) else []:
                qid = q.value.get("id") if isinstance(q.value, dict) else None
                if qid is not None and qid.text:
                    self.written.add(qid.text)

    def _section(self, node: _Node, where: str, number: int) -> Section | None:
        """Return one section and its questions."""
        m = self.c.mapping(node, where, ("title", "questions"), ("title", "questions"))
        if m is None or "questions" not in m:
            return None
        title = self.c.text(m, "title", where)
        items = self.c.items(m["questions"], field_at(where, "questions"))
        questions = [
            self._question(q, field_at(where, f"questions[{i}]"), number)
            for i, q in enumerate(items, 1)
        ]
        return Section(title, tuple(q for q in questions if q)) if title else None

    def _question(self, node: _Node, where: str, section: int) -> Question | None:
        """Return one question after checking every key it has."""
        m = self.c.mapping(node, where, _QUESTION_KEYS, ("id", "type", "ask"))
        if m is None:
            return None
        before = len(self.c.sink.problems)
        written = m["id"].text if "id" in m else None
        qid, kind = self._id(m, where), self._type(m, where)
        ask, help_, unit = (self.c.text(m, k, where) for k in ("ask", "help", "unit"))
        required = self.c.flag(m, "required", where, True)
        low, high = self._bounds(m, where, kind)
        max_length = self._max_length(m, where, kind)
        options = self._options(m, where, kind)
        other = self._only_for(m, "other", where, kind, CHOICE_TYPES) and self.c.flag(
            m, "other", where, False)
        when = self._when(m["when"], field_at(where, "when"), written) if "when" in m else None
        aggregate = self._aggregate(m, where, kind)
        self.seen.add(written or "")
        if len(self.c.sink.problems) > before or not (qid and kind and ask):
            return None
        question = Question(
            id=qid, type=kind, ask=ask, help=help_, required=required, min=low, max=high,
            max_length=max_length, options=options, other=other, when=when,
            aggregate=aggregate, unit=unit, section=section)
        self.built[qid] = question
        return question

    def _id(self, m: dict[str, _Node], where: str) -> str | None:
        """Return a well-formed id not used before."""
        qid = self.c.text(m, "id", where)
        if qid is None:
            return None
        line = m["id"].line
        if not _ID_RE.match(qid):
            self.c.add("bad_id", line, field_at(where, "id"), value=qid)
        elif qid in self.lines:
            self.c.add("duplicate_id", line, field_at(where, "id"), id=qid,
                       first_line=self.lines[qid])
        else:
            self.lines[qid] = line
            return qid
        return None

    def _type(self, m: dict[str, _Node], where: str) -> str | None:
        """Return one of the question types."""
        kind = self.c.text(m, "type", where)
        if kind is not None and kind not in TYPES:
            self.c.add("bad_type", m["type"].line, field_at(where, "type"), value=kind,
                       allowed=", ".join(TYPES), suggestion=suggest(kind, TYPES))
            return None
        return kind

    def _only_for(self, m: dict[str, _Node], key: str, where: str, kind: str | None,
                  kinds: frozenset[str]) -> bool:
        """Return whether a key is present, reporting it on a type it does not fit."""
        if key not in m:
            return False
        if kind is not None and kind not in kinds:
            self.c.add("not_for_type", m[key].key_line, field_at(where, key), key=key, type=kind)
        return True

    def _bounds(self, m: dict[str, _Node], where: str,
                kind: str | None) -> tuple[Decimal | None, Decimal | None]:
        """Return min and max of a numeric question."""
        low, high = (self._bound(m, key, where, kind) for key in ("min", "max"))
        if low is not None and high is not None and low > high:
            self.c.add("min_above_max", m["min"].line, field_at(where, "min"),
                       min=str(low), max=str(high))
        return low, high

    def _bound(self, m: dict[str, _Node], key: str, where: str,
               kind: str | None) -> Decimal | None:
        """Return one bound, a number fitting the question type."""
        if not self._only_for(m, key, where, kind, NUMERIC_TYPES):
            return None
        node = m[key]
        if isinstance(node.value, bool) or not isinstance(node.value, int | float):
            self.c.add("wrong_type", node.line, field_at(where, key), expected="number")
            return None
        value = Decimal(str(node.value))
        if kind == "percent" and not 0 <= value <= 100:
            self.c.add("percent_bounds", node.line, field_at(where, key), value=str(value))
        return value

    def _max_length(self, m: dict[str, _Node], where: str, kind: str | None) -> int | None:
        """Return the longest text allowed for one answer."""
        if not self._only_for(m, "max_length", where, kind, _LENGTH_TYPES):
            return None
        return self.c.integer(m["max_length"], field_at(where, "max_length"), 1)

    def _options(self, m: dict[str, _Node], where: str, kind: str | None) -> tuple[str, ...]:
        """Return the options of a choice question: two or more, all different."""
        if kind in CHOICE_TYPES and "options" not in m:
            self.c.add("options_required", m["type"].line, field_at(where, "type"), type=kind)
        if not self._only_for(m, "options", where, kind, CHOICE_TYPES):
            return ()
        where = field_at(where, "options")
        items = self.c.items(m["options"], where)
        seen: set[str] = set()
        options = [self._option(n, f"{where}[{i}]", seen) for i, n in enumerate(items, 1)]
        if isinstance(m["options"].value, list) and len(items) < 2:
            self.c.add("too_few_options", m["options"].line, where, count=len(items))
        return tuple(o for o in options if o)

    def _option(self, node: _Node, where: str, seen: set[str]) -> str | None:
        """Return one option label, reporting an empty or repeated one."""
        if isinstance(node.value, dict | list):
            self.c.add("wrong_type", node.line, where, expected="text")
        elif node.value is None or not node.text:
            self.c.add("empty_value", node.line, where)
        elif _fold(node.text) in seen:
            self.c.add("duplicate_option", node.line, where, value=node.text)
        else:
            seen.add(_fold(node.text))
            return node.text
        return None

    def _when(self, node: _Node, where: str, own: str | None) -> Condition | None:
        """Return the condition on an earlier answer that shows this question."""
        m = self.c.mapping(node, where, ("id", "equals", "in"), ("id",))
        if m is None:
            return None
        if ("equals" in m) == ("in" in m):
            self.c.add("when_keys", node.key_line, where)
        target = self._target(m, where, own)
        if target is None or ("equals" in m) == ("in" in m):
            return None
        if "equals" in m:
            values = [m["equals"]]
            fields = [field_at(where, "equals")]
        else:
            values = self.c.items(m["in"], field_at(where, "in"))
            fields = [field_at(where, f"in[{i}]") for i in range(1, len(values) + 1)]
        picked = [_condition_value(target, v) for v in values]
        for value, node_, at in zip(picked, values, fields, strict=True):
            if value is None:
                self.c.add("when_bad_value", node_.line, at, value=node_.text, id=target.id,
                           expected=_expected(target), options=", ".join(target.options))
        return Condition(target.id, tuple(picked)) if picked and None not in picked else None

    def _target(self, m: dict[str, _Node], where: str, own: str | None) -> Question | None:
        """Return the earlier question a condition names."""
        qid = self.c.text(m, "id", where)
        if qid is None:
            return None
        line, at = m["id"].line, field_at(where, "id")
        if qid == own:
            self.c.add("when_self", line, at, id=qid)
        elif qid in self.seen:
            return self.built.get(qid)  # None if it had problems, already reported
        elif qid in self.written:
            self.c.add("when_later", line, at, id=qid)
        else:
            self.c.add("when_unknown_id", line, at, id=qid, suggestion=suggest(qid, self.lines))
        return None

    def _aggregate(self, m: dict[str, _Node], where: str, kind: str | None) -> str:
        """Return how answers are combined, "" for the type's default."""
        value = self.c.text(m, "aggregate", where)
        if value is None:
            return ""
        at, line = field_at(where, "aggregate"), m["aggregate"].line
        if value not in AGGREGATES:
            self.c.add("bad_aggregate", line, at, value=value, allowed=", ".join(AGGREGATES),
                       suggestion=suggest(value, AGGREGATES))
        elif kind is not None and not _aggregate_fits(value, kind):
            self.c.add("aggregate_for_type", line, at, value=value, type=kind)
        return value


def _aggregate_fits(aggregate: str, kind: str) -> bool:
    """Return whether an aggregate makes sense for a question type."""
    if aggregate in ("sum", "avg"):
        return kind in NUMERIC_TYPES
    if aggregate in ("min", "max"):
        return kind in NUMERIC_TYPES or kind == "date"
    return True


def _expected(target: Question) -> str:
    """Return what kind of value a condition on this question needs."""
    if target.type == "yesno":
        return "bool"
    if target.type in CHOICE_TYPES:
        return "option"
    if target.type in NUMERIC_TYPES:
        return "number"
    return "date" if target.type == "date" else "text"


def _condition_value(target: Question, node: _Node) -> Any:
    """Return a condition value in the form answers are stored, or None if it cannot match."""
    value, expected = node.value, _expected(target)
    if isinstance(value, dict | list) or value is None:
        return None
    if expected == "bool":
        return value if isinstance(value, bool) else None
    if expected == "option":
        return next((o for o in target.options if _fold(o) == _fold(node.text)), None)
    if expected == "number":
        return value if isinstance(value, int | float) and not isinstance(value, bool) else None
    if expected == "date":
        day = _as_datetime(node)
        return None if day is None or isinstance(day, datetime) else day.isoformat()
    return node.text or None


def _fold(text: str) -> str:
    """Return text without case and diacritics, as contacts' answers are matched."""
    bare = unicodedata.normalize("NFD", text.casefold().replace("đ", "d"))
    return "".join(ch for ch in bare if not unicodedata.combining(ch))


def _hhmm(moment: time) -> str:
    """Return a time as "HH:MM"."""
    return moment.isoformat(timespec="minutes")
