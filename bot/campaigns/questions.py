"""Check a questionnaire tree, inline in a campaign or in its own file, and build its Questionnaire.

Ids are checked across the whole questionnaire: a ``when`` names an earlier question, and its
values are checked against that question's type and options. Problems are reported through the
file's Checker (bot/campaigns/checks.py), with the field path below the given prefix.

Decisions:
- Condition dates are ``2023-10-31`` or ``31/10/2023``.
- Options, and condition values naming them, match without case and diacritics.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime
from decimal import Decimal
from typing import Any

from bot.campaigns.checks import Checker, Node, as_datetime
from bot.campaigns.units import field_at, suggest
from bot.leads import check_lead, sample_context
from bot.questionnaire import (
    AGGREGATES,
    CHART_TYPES,
    CHOICE_TYPES,
    NUMERIC_TYPES,
    TYPES,
    Condition,
    Question,
    Questionnaire,
    Section,
)

__all__ = ["Questions"]

_QUESTION_KEYS = ("id", "type", "ask", "help", "required", "min", "max", "max_length",
                  "options", "other", "when", "aggregate", "unit", "chart", "report", "weight",
                  "target")
_REPORT_KEYS = ("heading", "lead")
_WEIGHT_TYPES = frozenset({"integer", "number", "money"})
_PERCENT = frozenset({"percent"})
_LENGTH_TYPES = frozenset({"text", "longtext", "list", "documents"})
_ID_RE = re.compile(r"^[a-z0-9_]+$")


class Questions:
    """Checks a questionnaire tree and builds its Questionnaire."""

    def __init__(self, c: Checker) -> None:
        self.c = c
        self.written: set[str] = set()  # every id in the questionnaire
        self.seen: set[str] = set()  # every id met so far, valid or not
        self.lines: dict[str, int] = {}  # line of each valid id met so far
        self.built: dict[str, Question] = {}
        self.weights: list[tuple[str, Node, str]] = []  # (question id, weight node, field)

    def build(self, root: Node, where: str) -> Questionnaire | None:
        """Return the questionnaire, or None after reporting its problems."""
        m = self.c.mapping(root, where, ("sections", "appendix"), ("sections",))
        if m is None or "sections" not in m:
            return None
        before = self.c.sink.count
        nodes = self.c.items(m["sections"], field_at(where, "sections"))
        self._index_ids(nodes)
        sections = [
            self._section(n, field_at(where, f"sections[{i}]"), i - 1)
            for i, n in enumerate(nodes, 1)
        ]
        self._check_weights()
        appendix = self._appendix(m["appendix"], field_at(where, "appendix")) if (
            "appendix" in m) else ()
        if self.c.sink.count > before:
            return None
        return Questionnaire(tuple(s for s in sections if s), appendix=appendix)

    def _appendix(self, node: Node, where: str) -> tuple[str, ...]:
        """Return the ids of the appendix table's columns: numeric questions, each once."""
        ids: list[str] = []
        for i, item in enumerate(self.c.items(node, where), 1):
            at = f"{where}[{i}]"
            qid = item.text if not isinstance(item.value, dict | list) else None
            question = self.built.get(qid or "")
            if not qid:
                self.c.add("wrong_type", item.line, at, expected="text")
            elif qid not in self.written:
                self.c.add("appendix_unknown_id", item.line, at, id=qid,
                           suggestion=suggest(qid, self.lines))
            elif question is not None and question.type not in NUMERIC_TYPES:
                self.c.add("appendix_not_numeric", item.line, at, id=qid, type=question.type)
            elif qid in ids:
                self.c.add("appendix_duplicate", item.line, at, id=qid)
            else:
                ids.append(qid)
        return tuple(ids)

    def _check_weights(self) -> None:
        """Report a ``weight:`` that names no question, or one that is not a count."""
        for qid, node, at in self.weights:
            target = self.built.get(node.text)
            if node.text == qid:
                self.c.add("weight_self", node.line, at, id=qid)
            elif node.text not in self.written:
                self.c.add("weight_unknown_id", node.line, at, id=node.text,
                           suggestion=suggest(node.text, self.lines))
            elif target is not None and target.type not in _WEIGHT_TYPES:
                self.c.add("weight_type", node.line, at, id=node.text, type=target.type)

    def _index_ids(self, sections: list[Node]) -> None:
        """Remember the position of every id written, to tell a later id from a missing one."""
        for section in sections:
            questions = section.value.get("questions") if isinstance(section.value, dict) else None
            for q in questions.value if questions and isinstance(questions.value, list) else []:
                qid = q.value.get("id") if isinstance(q.value, dict) else None
                if qid is not None and qid.text:
                    self.written.add(qid.text)

    def _section(self, node: Node, where: str, number: int) -> Section | None:
        """Return one section and its questions."""
        m = self.c.mapping(node, where, ("title", "questions"), ("title", "questions"))
        if m is None or "questions" not in m:
            return None
        title = self.c.text(m, "title", where)
        if title is not None and title.rstrip().endswith("?"):
            self.c.add("heading_question", m["title"].line, field_at(where, "title"), value=title)
        items = self.c.items(m["questions"], field_at(where, "questions"))
        questions = [
            self._question(q, field_at(where, f"questions[{i}]"), number)
            for i, q in enumerate(items, 1)
        ]
        return Section(title, tuple(q for q in questions if q)) if title else None

    def _question(self, node: Node, where: str, section: int) -> Question | None:
        """Return one question after checking every key it has."""
        m = self.c.mapping(node, where, _QUESTION_KEYS, ("id", "type", "ask"))
        if m is None:
            return None
        before = self.c.sink.count
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
        chart, chart_title = self._chart(m, where, kind)
        heading, lead = self._report(m, where)
        weight, target = self._weight(m, where, kind, qid), self._target_value(m, where, kind)
        self.seen.add(written or "")
        if self.c.sink.count > before or not (qid and kind and ask):
            return None
        question = Question(
            id=qid, type=kind, ask=ask, help=help_, required=required, min=low, max=high,
            max_length=max_length, options=options, other=other, when=when,
            aggregate=aggregate, unit=unit, section=section, chart=chart,
            chart_title=chart_title, heading=heading, lead=lead, weight=weight, target=target)
        problem = check_lead(question)
        if problem is not None:
            lead_node = m["report"].value["lead"]
            self.c.add("report_lead", lead_node.line, field_at(where, "report.lead"),
                       kind=problem.kind, name=problem.name, at_line=problem.line,
                       detail=problem.detail, reason=problem.reason, limit=problem.limit,
                       allowed=", ".join(_lead_names(question)))
            return None
        self.built[qid] = question
        return question

    def _report(self, m: dict[str, Node], where: str) -> tuple[str | None, str | None]:
        """Return the heading and the lead template a question's part of the report has."""
        if "report" not in m:
            return None, None
        at = field_at(where, "report")
        r = self.c.mapping(m["report"], at, _REPORT_KEYS)
        if r is None:
            return None, None
        heading = self.c.text(r, "heading", at)
        if heading is not None and heading.rstrip().endswith("?"):
            self.c.add("heading_question", r["heading"].line, field_at(at, "heading"),
                       value=heading)
        return heading, self.c.text(r, "lead", at)

    def _weight(self, m: dict[str, Node], where: str, kind: str | None,
                qid: str | None) -> str | None:
        """Return the id a percent is weighted by, checked once every question is built."""
        if not self._only_for(m, "weight", where, kind, _PERCENT):
            return None
        text = self.c.text(m, "weight", where)
        if text is not None and kind in _PERCENT:
            self.weights.append((qid or "", m["weight"], field_at(where, "weight")))
        return text

    def _target_value(self, m: dict[str, Node], where: str, kind: str | None) -> Decimal | None:
        """Return the percent a unit reaches its target at (0 to 100)."""
        if not self._only_for(m, "target", where, kind, _PERCENT):
            return None
        node = m["target"]
        if isinstance(node.value, bool) or not isinstance(node.value, int | float):
            self.c.add("wrong_type", node.line, field_at(where, "target"), expected="number")
            return None
        value = Decimal(str(node.value))
        if not value.is_finite():  # .nan, .inf
            self.c.add("wrong_type", node.line, field_at(where, "target"), expected="number")
            return None
        if not 0 <= value <= 100:
            self.c.add("percent_bounds", node.line, field_at(where, "target"), value=str(value))
        return value

    def _id(self, m: dict[str, Node], where: str) -> str | None:
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

    def _type(self, m: dict[str, Node], where: str) -> str | None:
        """Return one of the question types."""
        kind = self.c.text(m, "type", where)
        if kind is not None and kind not in TYPES:
            self.c.add("bad_type", m["type"].line, field_at(where, "type"), value=kind,
                       allowed=", ".join(TYPES), suggestion=suggest(kind, TYPES))
            return None
        return kind

    def _only_for(self, m: dict[str, Node], key: str, where: str, kind: str | None,
                  kinds: frozenset[str]) -> bool:
        """Return whether a key is present, reporting it on a type it does not fit."""
        if key not in m:
            return False
        if kind is not None and kind not in kinds:
            self.c.add("not_for_type", m[key].key_line, field_at(where, key), key=key, type=kind)
        return True

    def _bounds(self, m: dict[str, Node], where: str,
                kind: str | None) -> tuple[Decimal | None, Decimal | None]:
        """Return min and max of a numeric question."""
        low, high = (self._bound(m, key, where, kind) for key in ("min", "max"))
        if low is not None and high is not None and low > high:
            self.c.add("min_above_max", m["min"].line, field_at(where, "min"),
                       min=str(low), max=str(high))
        return low, high

    def _bound(self, m: dict[str, Node], key: str, where: str,
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

    def _max_length(self, m: dict[str, Node], where: str, kind: str | None) -> int | None:
        """Return the longest text allowed for one answer."""
        if not self._only_for(m, "max_length", where, kind, _LENGTH_TYPES):
            return None
        return self.c.integer(m["max_length"], field_at(where, "max_length"), 1)

    def _options(self, m: dict[str, Node], where: str, kind: str | None) -> tuple[str, ...]:
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

    def _option(self, node: Node, where: str, seen: set[str]) -> str | None:
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

    def _when(self, node: Node, where: str, own: str | None) -> Condition | None:
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

    def _target(self, m: dict[str, Node], where: str, own: str | None) -> Question | None:
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

    def _chart(self, m: dict[str, Node], where: str, kind: str | None) -> tuple[bool, str | None]:
        """Return whether a question has a bar chart, and its title: ``chart: true`` or
        ``chart: <title>``, on a number, percent, money, yes/no or choice question."""
        if not self._only_for(m, "chart", where, kind, CHART_TYPES):
            return False, None
        node = m["chart"]
        if isinstance(node.value, bool):
            return node.value, None
        if isinstance(node.value, str) and node.text:
            return True, node.text
        self.c.add("wrong_type", node.line, field_at(where, "chart"), expected="chart")
        return False, None

    def _aggregate(self, m: dict[str, Node], where: str, kind: str | None) -> str:
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


def _lead_names(q: Question) -> list[str]:
    """Return the variables a question's lead may use."""
    return list(sample_context(q))


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


def _condition_value(target: Question, node: Node) -> Any:
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
        day = as_datetime(node)
        return None if day is None or isinstance(day, datetime) else day.isoformat()
    return node.text or None


def _fold(text: str) -> str:
    """Return text without case and diacritics, as contacts' answers are matched."""
    bare = unicodedata.normalize("NFD", text.casefold().replace("đ", "d"))
    return "".join(ch for ch in bare if not unicodedata.combining(ch))
