"""The consolidated figures of a round (a `Report`) and the summary message the coordinator reads.

Pure: no I/O, `now` is passed in. Only reported units (submitted or edited) count, and only their
visible, non-empty answers; each question is summed, averaged, counted or listed as its
`aggregate` says. The summary message is built from paragraphs rendered separately, so it splits
between paragraphs and never inside an HTML tag.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from bot import texts
from bot.campaigns.spec import CampaignSpec
from bot.display import format_document, format_value
from bot.documents.numwords import amount_in_words
from bot.model import REPORTED, Sheet
from bot.parsing.text import clean_value
from bot.questionnaire import LIST_TYPES, NUMERIC_TYPES, TEXT_TYPES, Question, is_empty
from bot.splitting import split_message
from bot.texts import Format

__all__ = [
    "QuestionSummary", "Report", "SectionSummary", "UnitRow", "aggregate", "amount_in_words",
    "summary_message",
]

CENT = Decimal("0.01")
SHOWN = 3  # units per question, document numbers per unit, in the message (the docx has all)
MIN_LIMIT = 200  # a part must hold at least a headline
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
    at_100: int | None = None
    counts: tuple[tuple[str, int], ...] = ()
    others: tuple[tuple[str, str], ...] = ()
    entries: tuple[tuple[str, Any], ...] = ()


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


def _summarize(spec: CampaignSpec, q: Question, reported: Sequence[UnitRow]) -> QuestionSummary:
    """Aggregate the non-empty answers of the reported units to one question."""
    given = [(r.name, r.answers[q.id]) for r in reported if not is_empty(r.answers.get(q.id))]
    values = [v for _, v in given]
    asked = sum(1 for r in reported if spec.questionnaire.is_visible(q, r.answers))
    found: dict[str, Any] = {"asked": asked}
    if q.type in NUMERIC_TYPES or q.type == "date":
        scalars = [_scalar(q, v) for v in values]
        found.update(minimum=min(scalars, default=None), maximum=max(scalars, default=None))
        if q.aggregate == "sum":
            found["total"] = sum(scalars)
        if q.aggregate == "avg" and scalars:
            found["average"] = (sum(scalars) / Decimal(len(scalars))).quantize(CENT, ROUND_HALF_UP)
        if q.type == "percent":
            found["at_100"] = sum(1 for s in scalars if s == 100)
    if q.type in LIST_TYPES:
        found["total"] = sum(len(v) for v in values)
    if q.aggregate == "count":
        found.update(_counts(q, given))
    if q.aggregate == "list":
        found["entries"] = tuple(given)
    return QuestionSummary(q, q.aggregate, len(given), **found)


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
            lines.append(say("compile.question", ask=_shorten(summary.question.ask, 160),
                             answered=summary.answered, asked=summary.asked))
            paragraphs.append(lines + _figures(summary, say))
    return split_message(_join(paragraphs), limit, fmt)


def _figures(s: QuestionSummary, say: Callable[..., str]) -> list[str]:
    """Return the lines that show one question's aggregate."""
    q = s.question
    if not s.answered:
        return [say("compile.nobody")]
    if s.how == "sum" and s.total is not None:
        lines = [say("compile.sum", total=_figure(q, s.total))]
        if q.type == "money" and s.total >= 0:
            lines.append(say("compile.sum_words", words=amount_in_words(int(s.total))))
        return lines
    if s.how == "avg" and s.average is not None:
        return [say("compile.average", average=_figure(q, s.average), answered=s.answered,
                    minimum=_figure(q, s.minimum), maximum=_figure(q, s.maximum), at_100=s.at_100)]
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
