"""Load and check the files people write: a campaign, its questionnaire and its units.

Every loader only reads and checks; it returns domain objects (bot/campaigns/spec.py) or raises
CampaignFileError listing every problem found, each with its file, line and field
(bot/campaigns/checks.py). This module owns the campaign's own keys and the files it names; the
questionnaire is checked by bot/campaigns/questions.py, the units by bot/campaigns/units.py.

Decisions:
- ``deadline`` is ``2023-10-31 17:00`` (also ``T``, seconds, ``31/10/2023 17:00``) in the loader's
  timezone; a date alone means 17:00, the end of the office day. A written UTC offset is converted.
- ``period`` dates are ``2023-10-31`` or ``31/10/2023``.
- ``reminders.before_days`` is kept sorted from the farthest day, without repeats.
- ``reminders.days_off`` lists dates like ``period`` (``2026-02-16`` or ``16/02/2026``), kept
  sorted without repeats; an empty list is allowed (no day off of the campaign's own). They count
  only with ``working_days_only`` (bot/reminders.py).
- Paths are relative to the campaign file's folder and the file must exist; ``template`` is kept
  resolved to an absolute path. On the operator's own disk (``reportbot check``, ``campaign
  create``) absolute paths and ``..`` are allowed: whoever runs the command can read those files
  anyway. A campaign unzipped from a chat upload is loaded ``within`` its folder: a path must
  stay inside it, so no absolute path, no ``..`` out of it and no symlink on the way
  (``path_outside``). A campaign sent in chat as a lone .yaml names no file at all
  (``load_campaign_text``, ``path_not_allowed``).
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, tzinfo
from functools import cache
from pathlib import Path, PurePath
from typing import Any, TypeVar

from bot import texts
from bot.campaigns import units as units_file
from bot.campaigns.checks import (
    CampaignFileError,
    Checker,
    Node,
    Sink,
    as_datetime,
    inside,
    parse_yaml,
    read_bytes,
    read_yaml,
)
from bot.campaigns.questions import Questions
from bot.campaigns.spec import (
    AUTHORITIES,
    Agency,
    CampaignSpec,
    ReminderPolicy,
    Signer,
    SummarySection,
)
from bot.campaigns.units import Unit, UnitRow, suggest
from bot.questionnaire import Questionnaire

__all__ = ["check_file", "load_campaign", "load_campaign_text", "load_questionnaire"]

_CAMPAIGN_KEYS = ("title", "request", "bases", "agency", "deadline", "period", "reminders",
                  "questionnaire", "units", "template", "signer", "to", "recipients", "drafter",
                  "summary_sections")
_CAMPAIGN_REQUIRED = ("title", "agency", "deadline", "questionnaire", "units")
_AGENCY_KEYS = ("parent", "name", "code", "place")
_AGENCY_REQUIRED = ("name", "code", "place")
_SIGNER_KEYS = ("on_behalf", "authority", "title", "deputy_title", "name")
_SUMMARY_KEYS = ("title", "text", "after")
_ON_BEHALF = "TM."
_PART_NUMBER = re.compile(r"^\s*[IVXLC]+\s*[.)]\s*", re.IGNORECASE)
_REMINDER_KEYS = ("before_days", "at", "after_deadline_every_days", "after_deadline_max",
                  "working_days_only", "quiet_hours", "days_off")
_TIME_RE = re.compile(r"^(\d{1,2}):(\d{2})$")
_OFFICE_CLOSES = time(17, 0)
T = TypeVar("T")


def load_campaign(path: Path, tz: tzinfo, within: Path | None = None) -> CampaignSpec:
    """Load a campaign file with its questionnaire and units inline or beside it.

    ``within``: the folder every file the campaign names must be in (an upload's).
    """
    sink = Sink()
    root = read_yaml(path, path.name, sink)
    spec = _campaign(Checker(path.name, sink), root, path.parent, tz, within) if root else None
    return _finish(sink, spec)


def load_questionnaire(path: Path) -> Questionnaire:
    """Load a questionnaire file (top-level ``sections:``)."""
    sink = Sink()
    root = read_yaml(path, path.name, sink)
    result = Questions(Checker(path.name, sink)).build(root, "") if root else None
    return _finish(sink, result)


def check_file(path: Path, tz: tzinfo) -> CampaignSpec | Questionnaire:
    """Load a campaign or, if it has top-level ``sections``, a questionnaire."""
    sink = Sink()
    root = read_yaml(path, path.name, sink)
    if root is None:
        return _finish(sink, None)
    checker = Checker(path.name, sink)
    if isinstance(root.value, dict) and "sections" in root.value:
        return _finish(sink, Questions(checker).build(root, ""))
    return _finish(sink, _campaign(checker, root, path.parent, tz))


def load_campaign_text(name: str, text: str, tz: tzinfo) -> CampaignSpec:
    """Load a self-contained campaign sent as a chat attachment (no paths to other files)."""
    sink = Sink()
    root = parse_yaml(text.removeprefix("\ufeff"), name, sink)
    spec = _campaign(Checker(name, sink), root, None, tz) if root else None
    return _finish(sink, spec)


def _finish(sink: Sink, result: T | None) -> T:
    """Return the result, or raise every problem found."""
    if sink.problems or result is None:
        files = list(dict.fromkeys(p.file for p in sink.problems))
        raise CampaignFileError(sorted(
            sink.problems, key=lambda p: (files.index(p.file), p.line or 0)),
            sink.count - len(sink.problems))
    return result

def _campaign(c: Checker, root: Node, base: Path | None, tz: tzinfo,
              within: Path | None = None) -> CampaignSpec | None:
    """Return the campaign of a YAML tree; ``base`` is None when paths are not allowed."""
    m = c.mapping(root, "", _CAMPAIGN_KEYS, _CAMPAIGN_REQUIRED)
    if m is None:
        return None
    title, request = c.text(m, "title", ""), c.text(m, "request", "")
    bases = _bases(c, m["bases"]) if "bases" in m else ()
    if "request" not in m and "bases" not in m:
        c.add("missing_key", root.key_line, "", key="request")
    agency = _agency(c, m["agency"]) if "agency" in m else None
    deadline = _deadline(c, m["deadline"], tz) if "deadline" in m else None
    period = _period(c, m["period"]) if "period" in m else None
    reminders = _reminders(c, m["reminders"]) if "reminders" in m else ReminderPolicy()
    refs = _Refs(c, base, within)
    questionnaire = refs.questionnaire(m["questionnaire"]) if "questionnaire" in m else None
    units = refs.units(m["units"]) if "units" in m else None
    template = refs.template(m["template"]) if "template" in m else None
    signer = _signer(c, m["signer"]) if "signer" in m else None
    recipients = _recipients(c, m["recipients"]) if "recipients" in m else ()
    drafter = c.text(m, "drafter", "")
    summaries = (_summaries(c, m["summary_sections"], questionnaire)
                 if "summary_sections" in m else ())
    if not (title and (request or bases) and agency and deadline and questionnaire and units):
        return None
    if "to" not in m:
        to: tuple[str, ...] = (agency.parent,) if agency.parent else ()
    elif m["to"].value is None:
        to = ()
    else:
        to = tuple(text.rstrip(";.").strip() for _, _, text in _texts(c, m["to"], "to"))
        if not all(to):  # only punctuation: no body to write after "Kính gửi"
            c.add("empty_value", m["to"].line, "to")
            return None
    if "request" in m and not request:
        return None
    return CampaignSpec(title, request or "", agency, deadline, period, reminders,
                        questionnaire, tuple(units), template, c.file, signer=signer, to=to,
                        recipients=recipients, drafter=drafter, bases=bases,
                        summary_sections=summaries)


def _agency(c: Checker, node: Node) -> Agency | None:
    """Return the agency heading; ``parent`` absent or null: no cơ quan chủ quản."""
    m = c.mapping(node, "agency", _AGENCY_KEYS, _AGENCY_REQUIRED)
    if m is None:
        return None
    name, code, place = (c.text(m, k, "agency") for k in _AGENCY_REQUIRED)
    parent = "" if "parent" not in m or m["parent"].value is None else c.text(m, "parent", "agency")
    if parent is None or not (name and code and place):
        return None
    return Agency(parent, name, code, place)


def _texts(c: Checker, node: Node, where: str) -> list[tuple[int | None, str, str]]:
    """Return (line, field, text) of each non-empty text of a list, or of one text alone."""
    if not isinstance(node.value, list):
        text = c.text({where: node}, where, "")
        return [] if text is None else [(node.line, where, text)]
    found: list[tuple[int | None, str, str]] = []
    for i, item in enumerate(c.items(node, where), 1):
        text = c.text({f"{where}[{i}]": item}, f"{where}[{i}]", "")
        if text is not None:
            found.append((item.line, f"{where}[{i}]", text))
    return found


def _bases(c: Checker, node: Node) -> tuple[str, ...]:
    """Return the documents the report answers, in the order written."""
    return tuple(text for _, _, text in _texts(c, node, "bases"))


def _recipients(c: Checker, node: Node) -> tuple[str, ...]:
    """Return the Nơi nhận as written, without the "- " and ";" people type around them."""
    found = []
    for line, where, text in _texts(c, node, "recipients"):
        item = text.lstrip("-–• ").rstrip(";.,").strip()
        if item.casefold().startswith(_reserved_recipients()):
            c.add("recipient_reserved", line, where, value=text)
        elif item:
            found.append(item)
    return tuple(found)


@cache
def _reserved_recipients() -> tuple[str, ...]:
    """Return the recipients the report writes itself ("như trên", "lưu"), from its words."""
    lines = (texts.render("docx.recipients_same", "plain"),
             texts.render("docx.recipients_archive", "plain", drafter=""))
    return tuple(line.lstrip("-–• ").split(":")[0].rstrip(";.,").strip().casefold()
                 for line in lines)


def _signer(c: Checker, node: Node) -> Signer | None:
    """Return who signs: TM. line, KT./Q./TL./TUQ., the head's title, the own title, the name."""
    m = c.mapping(node, "signer", _SIGNER_KEYS, ("title", "name"))
    if m is None:
        return None
    title, name = c.text(m, "title", "signer"), c.text(m, "name", "signer")
    on_behalf = c.text(m, "on_behalf", "signer") or ""
    if on_behalf:
        rest = on_behalf.removeprefix(_ON_BEHALF).strip() if on_behalf.upper().startswith(
            _ON_BEHALF) else on_behalf
        if not rest:  # "TM." and nothing after it: on behalf of whom?
            c.add("empty_value", m["on_behalf"].line, "signer.on_behalf")
            return None
        on_behalf = f"{_ON_BEHALF} {rest.upper()}"
    authority = ""
    if "authority" in m:
        written = c.text(m, "authority", "signer") or ""
        authority = _authority(written)
        if written and not authority:
            c.add("bad_authority", m["authority"].line, "signer.authority", value=written,
                  allowed=", ".join(AUTHORITIES))
            return None
    if title and _authority(title.split(" ", 1)[0]):
        c.add("title_has_authority", m["title"].line, "signer.title", value=title)
        return None
    deputy = c.text(m, "deputy_title", "signer") or ""
    if authority in ("KT.", "TL.", "TUQ.") and "deputy_title" not in m:
        c.add("deputy_title_required", node.key_line, "signer", authority=authority)
    elif deputy and authority not in ("KT.", "TL.", "TUQ."):
        c.add("deputy_title_unused", m["deputy_title"].line, "signer.deputy_title",
              authority=authority)
    if not (title and name):
        return None
    return Signer(title.upper(), name, on_behalf, authority, deputy.upper())


def _authority(text: str) -> str:
    """Return the Decree 30 authority a text names ("kt", "KT." -> "KT."), or ""."""
    key = text.strip().upper().rstrip(".") + "."
    return key if key in AUTHORITIES else ""


def _summaries(c: Checker, node: Node,
               questionnaire: Questionnaire | None) -> tuple[SummarySection, ...]:
    """Return the parts the coordinator writes, each placed after a part of the questionnaire."""
    parts = [] if questionnaire is None else [s.title for s in questionnaire.sections]
    found = []
    for i, item in enumerate(c.items(node, "summary_sections"), 1):
        where = f"summary_sections[{i}]"
        m = c.mapping(item, where, _SUMMARY_KEYS, ("title", "text"))
        if m is None:
            continue
        title, text = c.text(m, "title", where), c.text(m, "text", where)
        after = c.text(m, "after", where) if "after" in m else None
        if after is not None and questionnaire is not None:
            match = part_titled(after, parts)
            if match is None:
                c.add("summary_after_unknown", m["after"].line, f"{where}.after", value=after,
                      suggestion=suggest(after, parts), parts="; ".join(parts))
                continue
            after = match
        if title and text:
            found.append(SummarySection(title, text, after))
    return tuple(found)


def part_titled(written: str, titles: list[str]) -> str | None:
    """Return the part title a written one names: the same words, its number optional."""
    def key(title: str) -> str:
        return " ".join(_PART_NUMBER.sub("", title).split()).casefold()

    return next((t for t in titles if key(t) == key(written)), None)


def _deadline(c: Checker, node: Node, tz: tzinfo) -> datetime | None:
    """Return the deadline, aware in tz."""
    value = as_datetime(node)
    if value is None:
        c.add("bad_deadline", node.line, "deadline", value=node.text)
        return None
    if isinstance(value, datetime):
        return value.astimezone(tz) if value.tzinfo else value.replace(tzinfo=tz)
    return datetime.combine(value, _OFFICE_CLOSES, tzinfo=tz)


def _day(c: Checker, node: Node, where: str) -> date | None:
    """Return a date (without a time)."""
    value = as_datetime(node)
    if value is None or isinstance(value, datetime):
        c.add("bad_date", node.line, where, value=node.text)
        return None
    return value


def _period(c: Checker, node: Node) -> tuple[date, date] | None:
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


def _reminders(c: Checker, node: Node) -> ReminderPolicy:
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
    if "days_off" in m:
        found["days_off"] = _days_off(c, m["days_off"])
    return ReminderPolicy(**found)


def _days_off(c: Checker, node: Node) -> tuple[date, ...]:
    """Return the campaign's own days off, sorted, without repeats."""
    if isinstance(node.value, list) and not node.value:
        return ()
    days = (_day(c, d, f"reminders.days_off[{i}]")
            for i, d in enumerate(c.items(node, "reminders.days_off"), 1))
    return tuple(sorted({d for d in days if d is not None}))


def _clock(c: Checker, node: Node) -> time | None:
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


def _quiet_hours(c: Checker, node: Node) -> tuple[time, time] | None:
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

    def __init__(self, c: Checker, base: Path | None, within: Path | None) -> None:
        self.c, self.base, self.within = c, base, within

    def questionnaire(self, node: Node) -> Questionnaire | None:
        """Return the questionnaire written inline or in the file named."""
        if isinstance(node.value, dict):
            return Questions(self.c).build(node, "questionnaire")
        path = self._path(node, "questionnaire", (".yaml", ".yml"))
        if path is None:
            return None
        name = PurePath(node.text).as_posix()
        root = read_yaml(path, name, self.c.sink, node.line, "questionnaire", self.c.file)
        return Questions(Checker(name, self.c.sink)).build(root, "") if root else None

    def units(self, node: Node) -> list[Unit] | None:
        """Return the units listed inline or in the CSV / XLSX file named."""
        if isinstance(node.value, list):
            rows = [self._unit_row(item, f"units[{i}]") for i, item in enumerate(node.value, 1)]
            valid = [r for r in rows if r]
            if rows and not valid:
                return None
            return self._build(valid, self.c.file, node.line, "units")
        path = self._path(node, "units", (".csv", ".xlsx"))
        data = None if path is None else read_bytes(
            path, self.c.file, self.c.sink, node.line, "units")
        if path is None or data is None:
            return None
        name = PurePath(node.text).as_posix()
        parse = units_file.parse_xlsx if path.suffix.lower() == ".xlsx" else units_file.parse_csv
        before = self.c.sink.count
        table = parse(data, name, self.c.sink)
        return None if self.c.sink.count > before else self._build(table, name, None, "")

    def template(self, node: Node) -> Path | None:
        """Return the absolute path of the Word template named, which must exist."""
        path = self._path(node, "template", (".docx",))
        if path is not None and not path.is_file():
            self.c.add("file_missing", node.line, "template", path=node.text)
            return None
        return None if path is None else path.resolve()

    def _path(self, node: Node, key: str, suffixes: tuple[str, ...]) -> Path | None:
        """Return the path a key names, relative to the campaign's folder."""
        if not isinstance(node.value, str) or not node.text:
            expected = {"questionnaire": "path_or_mapping", "units": "path_or_list"}
            self.c.add("wrong_type", node.line, key, expected=expected.get(key, "path"))
            return None
        if units_file.find_control(node.text):
            return None  # told where the YAML is read; no file name holds one
        if self.base is None:
            self.c.add("path_not_allowed", node.line, key, path=node.text)
            return None
        if self.within is not None and not inside(self.within, self.base, node.text):
            self.c.add("path_outside", node.line, key, path=node.text)
            return None
        if not node.text.lower().endswith(suffixes):
            self.c.add("bad_extension", node.line, key, path=node.text, allowed=", ".join(suffixes))
            return None
        return self.base / node.text

    def _unit_row(self, node: Node, where: str) -> UnitRow | None:
        """Return one inline unit {code, name, group?, parent?, place?, symbol?}."""
        m = self.c.mapping(node, where, units_file.COLUMNS, ("code", "name"))
        if m is None or "code" not in m or "name" not in m:
            return None
        code, name = self.c.text(m, "code", where), self.c.text(m, "name", where)
        group, place, symbol = (self.c.text(m, k, where) for k in ("group", "place", "symbol"))
        parent = None
        if "parent" in m:
            parent = "" if m["parent"].value is None else units_file.parent_cell(
                self.c.text(m, "parent", where) or "")
        return UnitRow(node.line, where, code, name, group, parent, place,
                       symbol) if code and name else None

    def _build(self, rows: list[UnitRow], file: str, line: int | None,
               where: str) -> list[Unit] | None:
        """Return the units of checked rows, or None after reporting their problems."""
        before = self.c.sink.count
        units = units_file.build_units(rows, file, line, where, self.c.sink)
        return None if self.c.sink.count > before else units
