"""The consolidated figures of a round (a `Report`) and the summary message the coordinator reads.

Pure: no I/O, `now` is passed in. Only reported units (submitted or edited) count, and only their
visible, non-empty answers; each question is summed, averaged, counted or listed as its
`aggregate` says. The summary message is built from paragraphs rendered separately, so it splits
between paragraphs and never inside an HTML tag.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from typing import Any

from bot import texts
from bot.campaigns.spec import CampaignSpec
from bot.display import format_document, format_value
from bot.documents.numwords import amount_in_words
from bot.documents.wording import question_heading
from bot.leads import LeadError, lead_context, render_lead
from bot.model import REPORTED, Sheet
from bot.parsing import fold
from bot.parsing.text import clean_value
from bot.questionnaire import (
    CHOICE_TYPES,
    LIST_TYPES,
    NUMERIC_TYPES,
    TEXT_TYPES,
    Question,
    is_empty,
)
from bot.splitting import split_message
from bot.texts import Format

__all__ = [
    "QuestionSummary", "Report", "SectionSummary", "UnitRow", "aggregate", "amount_in_words",
    "content", "is_nothing", "summary_message", "written_lead",
]

log = logging.getLogger(__name__)

CENT = Decimal("0.01")
SHOWN = 3  # units per question, document numbers per unit, in the message (the docx has all)
MIN_LIMIT = 200  # a part must hold at least a headline
NOTHING_LENGTH = 60  # the longest text `is_nothing` looks at ("Không có đề xuất, kiến nghị gì.")
SHORT = 120  # characters of a unit's text shown in the message


@dataclass(frozen=True)
class QuestionSummary:
    """What the reported units answered to one question, aggregated as the question says."""

    question: Question
    how: str
    answered: int
    asked: int = 0  # reported units the question was shown to (its `when` held)
    total: int | Decimal | None = None
    average: Decimal | None = None
    minimum: Any | None = None
    maximum: Any | None = None
    reached: int | None = None  # percent with a `target`: units at or above it
    weighted: bool = False  # the average is weighted by the question's `weight` answer
    counts: tuple[tuple[str, int], ...] = ()
    others: tuple[tuple[str, str], ...] = ()
    entries: tuple[tuple[str, Any], ...] = ()
    items: int | None = None  # list types: items, documents with the same number once
    none: tuple[str, ...] = ()  # units that answered "không", "không có" …: no content

    def lead_context(self, report: Report) -> dict[str, Any]:
        """Return the figures a lead template reads (bot/leads.py)."""
        yes = dict(self.counts).get(texts.render("word.yes"), 0) if self.question.type == (
            "yesno") else None
        no = dict(self.counts).get(texts.render("word.no"), 0) if yes is not None else None
        figures = {"sum": self.total if self.question.type not in LIST_TYPES else None,
                   "avg": self.average, "min": self.minimum, "max": self.maximum,
                   "count": self.items, "yes": yes, "no": no, "reached": self.reached}
        return lead_context(
            self.question, reported=len(report.reported), total=len(report.units),
            answered=self.answered, asked=self.asked, nothing=len(self.none), figures=figures,
            options=self.counts if self.question.type in CHOICE_TYPES else (),
            others=len(self.others), weighted=self.weighted)


@dataclass(frozen=True)
class SectionSummary:
    """A section's title and its aggregated questions."""

    title: str
    questions: tuple[QuestionSummary, ...]


@dataclass(frozen=True)
class UnitRow:
    """One unit's line: status, progress and its visible answers."""

    code: str
    name: str
    group: str | None
    status: str
    answered: int
    total: int
    submitted_at: datetime | None
    answers: dict[str, Any]


@dataclass(frozen=True)
class Report:
    """The consolidated figures of a round at one moment."""

    spec: CampaignSpec
    generated_at: datetime
    units: tuple[UnitRow, ...]
    reported: tuple[UnitRow, ...]
    missing: tuple[UnitRow, ...]
    edited: tuple[UnitRow, ...]
    sections: tuple[SectionSummary, ...]

    @property
    def final(self) -> bool:
        """Return whether every unit has reported."""
        return not self.missing


def aggregate(spec: CampaignSpec, sheets: Sequence[Sheet], now: datetime) -> Report:
    """Return the report of a round from every unit's sheet, units in campaign order."""
    by_code = {s.code: s for s in sheets}
    order = [u.code for u in spec.units] + [s.code for s in sheets]
    names = {u.code: (u.name, u.group) for u in spec.units}
    rows = tuple(_row(spec, code, by_code.get(code), names) for code in dict.fromkeys(order))
    reported = tuple(r for r in rows if r.status in REPORTED)
    sections = []
    for section in spec.questionnaire.sections:
        summaries = tuple(_summarize(spec, q, reported) for q in section.questions
                          if q.aggregate != "none")
        if summaries:
            sections.append(SectionSummary(section.title, summaries))
    return Report(
        spec=spec, generated_at=now, units=rows, reported=reported,
        missing=tuple(r for r in rows if r.status not in REPORTED),
        edited=tuple(r for r in rows if r.status == "edited"), sections=tuple(sections),
    )


def _row(spec: CampaignSpec, code: str, sheet: Sheet | None,
         names: dict[str, tuple[str, str | None]]) -> UnitRow:
    questionnaire = spec.questionnaire
    stored = sheet.answers if sheet else {}
    # Cleaned again here: answers stored before text was cleaned on the way in must not break
    # the summary, the Word reports or a chat message.
    answers = {q.id: clean_value(stored[q.id]) for q in questionnaire.visible(stored)
               if q.id in stored}
    answered, total = questionnaire.progress(stored)
    name, group = (sheet.name, sheet.group) if sheet else names[code]
    return UnitRow(code, name, group, sheet.status if sheet else "not_started", answered, total,
                   sheet.submitted_at if sheet else None, answers)


@cache
def _nothing() -> re.Pattern[str]:
    return re.compile(texts.render("compile.nothing"))


def is_nothing(text: str) -> bool:
    """Return whether a text says there is nothing to report: "Không", "Không có." …"""
    if len(text) > NOTHING_LENGTH:  # a longer text says something
        return False
    return bool(_nothing().match(fold(text).strip(" .!;-–")))


def content(q: Question, value: Any) -> Any:
    """Return an answer without what says "nothing" ("Không có"): None when nothing is left."""
    if is_empty(value):
        return None
    if q.type in TEXT_TYPES:
        return None if is_nothing(str(value)) else value
    if q.type == "list":
        kept = [item for item in value if not is_nothing(str(item))]
        return kept or None
    return value


def _summarize(spec: CampaignSpec, q: Question, reported: Sequence[UnitRow]) -> QuestionSummary:
    """Aggregate the non-empty answers of the reported units to one question."""
    kept = [(r, content(q, r.answers.get(q.id))) for r in reported]
    given = [(r.name, v) for r, v in kept if v is not None]
    values = [v for _, v in given]
    none = tuple(r.name for r, v in kept if v is None and not is_empty(r.answers.get(q.id)))
    asked = sum(1 for r in reported if spec.questionnaire.is_visible(q, r.answers))
    found: dict[str, Any] = {"asked": asked, "none": none}
    if q.type in NUMERIC_TYPES or q.type == "date":
        scalars = [_scalar(q, v) for v in values]
        found.update(minimum=min(scalars, default=None), maximum=max(scalars, default=None))
        if q.type != "date":
            found["total"] = sum(scalars)
            if scalars:
                found.update(_average(spec, q, [(r, v) for r, v in kept if v is not None]))
        if q.type == "percent" and q.target is not None:
            found["reached"] = sum(1 for s in scalars if s >= q.target)
    if q.type in LIST_TYPES:
        found["total"] = found["items"] = _items(q, values)
    if q.aggregate == "count":
        found.update(_counts(q, given))
    if q.aggregate == "list":
        found["entries"] = tuple(given)
    return QuestionSummary(q, q.aggregate, len(given), **found)


def _average(spec: CampaignSpec, q: Question,
             given: Sequence[tuple[UnitRow, Any]]) -> dict[str, Any]:
    """Return the average: weighted by the `weight` answer when every unit gave a positive one,
    else the plain average of the units."""
    scalars = [Decimal(str(_scalar(q, v))) for _, v in given]
    weight = _question(spec, q.weight)
    if weight is not None:
        weights = [r.answers.get(weight.id) for r, _ in given]
        if all(not is_empty(w) and Decimal(str(_scalar(weight, w))) > 0 for w in weights):
            ws = [Decimal(str(_scalar(weight, w))) for w in weights]
            weighted = sum((s * w for s, w in zip(scalars, ws, strict=True)), Decimal(0))
            mean = weighted / sum(ws, Decimal(0))
            return {"average": mean.quantize(CENT, ROUND_HALF_UP), "weighted": True}
    mean = sum(scalars, Decimal(0)) / Decimal(len(scalars))
    return {"average": mean.quantize(CENT, ROUND_HALF_UP)}


def _question(spec: CampaignSpec, qid: str | None) -> Question | None:
    try:
        return None if qid is None else spec.questionnaire.get(qid)
    except KeyError:
        return None


def _items(q: Question, values: Sequence[Any]) -> int:
    """Return the items of list answers; documents with the same number are counted once."""
    if q.type != "documents":
        return sum(len(v) for v in values)
    numbers = {fold(d["number"]) for v in values for d in v if d.get("number")}
    return len(numbers) + sum(1 for v in values for d in v if not d.get("number"))


def _scalar(q: Question, value: Any) -> Any:
    if q.type == "date":
        return date.fromisoformat(value)
    return int(value) if q.type in ("integer", "money") else Decimal(str(value))


def _counts(q: Question, given: Sequence[tuple[str, Any]]) -> dict[str, Any]:
    if q.type == "yesno":
        yes = sum(1 for _, v in given if v is True)
        no = sum(1 for _, v in given if v is False)
        return {"counts": ((texts.render("word.yes"), yes), (texts.render("word.no"), no))}
    if q.type not in ("choice", "multichoice"):
        return {}
    picked = [set(v.get("selected") or ()) for _, v in given]
    return {
        "counts": tuple((o, sum(1 for p in picked if o in p)) for o in q.options),
        "others": tuple((name, v["other"]) for name, v in given if v.get("other")),
    }


def summary_message(report: Report, fmt: Format = "html", limit: int = 4096) -> list[str]:
    """Return the summary message in parts of at most `limit` characters, cut between paragraphs."""
    if limit < MIN_LIMIT:
        raise ValueError(f"limit must be at least {MIN_LIMIT} characters")

    def say(key: str, **context: Any) -> str:
        return texts.render(key, fmt, **context)

    tz = report.spec.deadline.tzinfo
    at = report.generated_at.astimezone(tz) if tz else report.generated_at
    paragraphs = [[
        say("compile.headline", title=_shorten(report.spec.title, 300)),
        say("compile.progress", final=report.final, reported=len(report.reported),
            total=len(report.units), at=at),
    ]]
    if report.missing:
        paragraphs.append([say("compile.missing_head", count=len(report.missing)), *(
            say("compile.missing_unit", name=r.name, status=texts.render(f"status.{r.status}"),
                answered=r.answered, total=r.total) for r in report.missing)])
    if report.edited:
        paragraphs.append([say("compile.edited_head", count=len(report.edited)),
                           *(say("compile.edited_unit", name=r.name) for r in report.edited)])
    if not report.reported:
        paragraphs.append([say("compile.nobody_reported")])
        return split_message(_join(paragraphs), limit, fmt)
    for section in report.sections:
        for number, summary in enumerate(section.questions):
            lines = [say("compile.section", title=section.title)] if number == 0 else []
            heading = _shorten(question_heading(summary.question), 160)
            lines.append(say("compile.question", heading=heading, answered=summary.answered,
                             asked=summary.asked))
            lead = written_lead(summary, report)
            if lead is not None:
                lines.append(say("compile.lead", lead=lead))
            paragraphs.append(lines + _figures(summary, say, lead is not None))
    return split_message(_join(paragraphs), limit, fmt)


def written_lead(s: QuestionSummary, report: Report) -> str | None:
    """Return the question's ``report.lead`` rendered, None without one or when it fails."""
    if s.question.lead is None or not s.answered:
        return None
    try:
        return render_lead(s.question.lead, s.lead_context(report))
    except LeadError as error:  # checked when the campaign was loaded; a stored one may differ
        log.warning("lead of %s not rendered: %s", s.question.id, error)
        return None


def _figures(s: QuestionSummary, say: Callable[..., str], led: bool = False) -> list[str]:
    """Return the lines that show one question's aggregate (after a written lead, only the
    lists: the lead says the figures)."""
    q = s.question
    if not s.answered:
        return [say("compile.nobody")]
    if led and (q.type in NUMERIC_TYPES or q.type == "yesno"):
        return []
    if s.how == "sum" and s.total is not None:
        lines = [say("compile.sum", total=_figure(q, s.total))]
        if q.type == "money" and s.total >= 0:
            lines.append(say("compile.sum_words", words=amount_in_words(int(s.total))))
        return lines
    if s.how == "avg" and s.average is not None:
        return [say("compile.average", average=_figure(q, s.average), answered=s.answered,
                    minimum=_figure(q, s.minimum), maximum=_figure(q, s.maximum),
                    reached=s.reached, weighted=s.weighted,
                    target=None if q.target is None else texts.vn_dec(q.target))]
    if s.how in ("min", "max"):
        value = s.minimum if s.how == "min" else s.maximum
        key = "compile.minimum" if s.how == "min" else "compile.maximum"
        return [say(key, value=_figure(q, value), dates=q.type == "date")]
    if s.how == "count":
        return _count_lines(s, say)
    return _entry_lines(s, say) if s.how == "list" else []


def _count_lines(s: QuestionSummary, say: Callable[..., str]) -> list[str]:
    q = s.question
    if q.type == "yesno":
        return [say("compile.yesno", counts=s.counts)]
    lines = [say("compile.option", label=label, count=n) for label, n in s.counts]
    if q.type in LIST_TYPES:
        lines.append(say("compile.items", kind=q.type, count=s.total, units=s.answered))
    if s.others:
        lines.append(say("compile.others_head"))
        lines += _capped([(name, _shorten(text, SHORT), 0) for name, text in s.others], say)
    return lines


def _entry_lines(s: QuestionSummary, say: Callable[..., str]) -> list[str]:
    q = s.question
    lines = []
    if q.type in LIST_TYPES:
        lines.append(say("compile.items", kind=q.type, count=s.total, units=s.answered))
    if q.type == "date" and s.minimum != s.maximum:
        lines.append(say("compile.range", first=_figure(q, s.minimum), last=_figure(q, s.maximum)))
    return lines + _capped([(name, *_entry_text(q, value)) for name, value in s.entries], say)


def _entry_text(q: Question, value: Any) -> tuple[str, int]:
    """Return a short text for one unit's value and how many more items it has."""
    if q.type == "documents":
        refs = [d.get("number") or _shorten(format_document(d), 40) for d in value]
        return ", ".join(refs[:SHOWN]), max(0, len(refs) - SHOWN)
    if q.type == "list":
        return _shorten(value[0], SHORT), len(value) - 1
    if q.type in TEXT_TYPES:
        return _shorten(value, SHORT), 0
    return _shorten(format_value(q, value), SHORT), 0


def _capped(entries: Sequence[tuple[str, str, int]], say: Callable[..., str]) -> list[str]:
    lines = [say("compile.entry", unit=unit, text=text, more=more)
             for unit, text, more in entries[:SHOWN]]
    if len(entries) > SHOWN:
        lines.append(say("compile.more", count=len(entries) - SHOWN))
    return lines


def _figure(q: Question, value: Any) -> str:
    """Return a figure as people read it: 1.525.000.000 đồng, 99,73 %, 4.281 người."""
    if isinstance(value, date):
        return texts.vn_date(value)
    if isinstance(value, int):
        return format_value(q, value) if q.type in ("integer", "money") else texts.vn_int(value)
    return format_value(q, str(value)) if q.type in ("number", "percent") else _decimal(q, value)


def _decimal(q: Question, value: Decimal) -> str:
    number = texts.vn_dec(value)
    if q.type == "money":
        return texts.render("word.money", amount=number)
    return f"{number} {q.unit}" if q.unit else number


def _shorten(text: str, size: int) -> str:
    """Return the text on one line, cut at a word before `size` characters with "…"."""
    flat = " ".join(str(text).split())
    if len(flat) <= size:
        return flat
    cut = flat.rfind(" ", 0, size)
    return flat[: cut if cut > size // 2 else size - 1].rstrip(" ,;:.") + "…"


def _join(paragraphs: Sequence[Sequence[str]]) -> str:
    """Return paragraphs of lines as one message: lines by a break, paragraphs by a blank line."""
    return "\n\n".join("\n".join(lines) for lines in paragraphs)
