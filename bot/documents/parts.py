"""The body of the consolidated report: one mục per section, one khoản per question, and the
appendix table.

Each khoản opens with one or two lead sentences built from the aggregates (the question's
``report.lead`` when the campaign file writes one, else the type's default from
templates/messages/docx.yaml): how many units, the total, the spread. Then the units' own words,
attributed ("- Sở Y tế: …") and grouped by the units' ``group`` in roster order when the
reported units belong to more than one group; document lists merged into one list in date order,
each document once with the units that reported it. Answers that say there is nothing
("Không", "Không có") are counted, never listed as content.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from bot import texts
from bot.compile import (
    CENT,
    QuestionSummary,
    Report,
    UnitRow,
    amount_in_words,
    content,
    written_lead,
)
from bot.display import format_document, format_value
from bot.documents.wording import end, lower_first, question_heading, say, strip_end, upper
from bot.leads import display_unit
from bot.model import REPORTED
from bot.parsing import fold
from bot.questionnaire import CHOICE_TYPES, NUMERIC_TYPES, Question, is_empty

if TYPE_CHECKING:
    from bot.documents.charts import Chart, Charts

__all__ = ["Numbering", "appendix", "item", "line", "roman", "section", "sections"]

FIGURE_TYPES = ("money", "percent", "integer", "number")
PORTRAIT_COLUMNS = 4  # figure columns beside TT, Đơn vị, Ghi chú on a portrait A4 page
LANDSCAPE_COLUMNS = 8  # on a landscape one: the most the default appendix takes
_ROMAN = re.compile(r"^\s*[IVXLC]+\s*[.)]\s*")
_ROMANS = ("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII", "XIII",
           "XIV", "XV", "XVI", "XVII", "XVIII", "XIX", "XX")
_STOPS = re.compile(r"(?:\s*\.){2,}$")
_LETTERS = "abcdđeghiklmnopqrstuvxy"


@lru_cache(maxsize=4096)
def _who(unit: str) -> str:
    """Return "- Sở Y tế: ", put before what a unit wrote; rendered once per unit, not per line."""
    return say("who", unit=unit) + " "


def section(index: int, title: str, clauses: list[dict[str, Any]]) -> dict[str, Any]:
    """Return a mục: its Roman number (written or counted), title and khoản."""
    match = _ROMAN.match(title)
    number = match.group(0).strip().rstrip(".)") if match else roman(index + 1)
    plain = title[match.end():] if match else title
    return {"number": number, "title": plain.strip(), "heading": f"{number}. {upper(plain)}",
            "clauses": clauses}


def item(number: int, question: Question, lines: list[dict[str, str]]) -> dict[str, Any]:
    """Return a khoản: "1. <the question's report heading>" and its paragraphs."""
    label = question_heading(question)
    return {"number": number, "label": label, "heading": f"{number}. {label}",
            "lines": [ln for ln in lines if ln["text"].strip(" -–") or ln["who"]]}


def roman(number: int) -> str:
    """Return the Roman numeral of a mục: I, II … XX (then Arabic digits)."""
    return _ROMANS[number - 1] if number <= len(_ROMANS) else str(number)


def line(text: str, who: str = "") -> dict[str, str]:
    """Return one paragraph; a sentence never ends in two full stops."""
    tail = text[-12:].replace(" ", "")
    return {"who": who, "text": _STOPS.sub(".", text) if ".." in tail else text}


class Numbering:
    """Numbers the charts of a report in reading order: "Biểu đồ 1", "Biểu đồ 2" …"""

    def __init__(self, charts: Charts | None) -> None:
        self.charts = charts
        self.count = 0
        self.caption = ""

    def progress(self) -> Chart | None:
        return self._number(None if self.charts is None else self.charts.progress)

    def question(self, qid: str) -> Chart | None:
        return self._number(None if self.charts is None else self.charts.questions.get(qid))

    def _number(self, chart: Chart | None) -> Chart | None:
        self.caption = ""
        if chart is not None:
            self.count += 1
            figure = texts.render("chart.figure", number=self.count)
            self.caption = texts.render("chart.caption", figure=figure, note=chart.note)
        return chart


def sections(report: Report, figures: Numbering) -> list[dict[str, Any]]:
    """Return the mục of the consolidated report, each khoản with its chart when it has one."""
    in_appendix = {q.id for q in _appendix_questions(report)}
    result = []
    for index, s in enumerate(report.sections):
        items = []
        for n, summary in enumerate(s.questions):
            clause = item(n + 1, summary.question, _summary_lines(summary, report, in_appendix))
            clause["chart"] = figures.question(summary.question.id)
            clause["caption"] = figures.caption
            items.append(clause)
        result.append(section(index, s.title, items))
    return result


def _summary_lines(s: QuestionSummary, report: Report,
                   in_appendix: set[str]) -> list[dict[str, str]]:
    """Return the lead of one khoản, then the lines of what the units reported."""
    q = s.question
    given = list(_given(s, report))
    if not given:
        if s.none:
            return [line(say("lead_none_only", count=len(s.none), reported=len(report.reported),
                             names=", ".join(s.none)))]
        return [line(say("nobody"))]
    lead = written_lead(s, report) or _default_lead(s, report, given, q.id in in_appendix)
    return [line(end(lead)), *_details(s, report, given, q.id in in_appendix)]


def _given(s: QuestionSummary, report: Report) -> Iterable[tuple[UnitRow, Any]]:
    """Return the reported units with content for the question, in roster order."""
    for r in report.reported:
        value = content(s.question, r.answers.get(s.question.id))
        if value is not None:
            yield r, value


def _default_lead(s: QuestionSummary, report: Report, given: Sequence[tuple[UnitRow, Any]],
                  in_appendix: bool) -> str:
    q = s.question
    common = {"answered": s.answered, "reported": len(report.reported),
              "nothing": len(s.none), "nothing_names": ", ".join(s.none)}
    if q.type in NUMERIC_TYPES:
        low, high = _extremes(q, given)
        spread = {"minimum": _figure(q, s.minimum), "maximum": _figure(q, s.maximum),
                  "minimum_by": low, "maximum_by": high, "appendix": in_appendix}
        if s.how == "avg" and s.average is not None:
            return say("lead_average", average=_figure(q, s.average), weighted=s.weighted,
                       base=_base(report, q), reached=s.reached,
                       target=None if q.target is None else texts.vn_dec(q.target),
                       **spread, **common)
        if s.how in ("min", "max"):
            value = s.minimum if s.how == "min" else s.maximum
            return say("minimum" if s.how == "min" else "maximum", dates=False,
                       value=_figure(q, value), names=low if s.how == "min" else high)
        total = _figure(q, s.total)
        if q.type == "money" and s.total is not None and s.total >= 0:
            total = say("amount", figure=total, words=amount_in_words(int(s.total)))
        return say("lead_sum", total=total, **spread, **common)
    if q.type == "date":
        days = sorted(_scalar(q, v) for _, v in given)
        return say("lead_dates", first=texts.vn_date(days[0]), last=texts.vn_date(days[-1]),
                   **common)
    if q.type == "yesno":
        return say("lead_yesno", yes=[r.name for r, v in given if v is True],
                   no=[r.name for r, v in given if v is False], **common)
    if q.type in CHOICE_TYPES:
        return say("lead_choice", multi=q.type == "multichoice", **common)
    if q.type in ("documents", "list", "file"):
        return say("lead_items", kind=q.type, count=s.items or 0, **common)
    return say("lead_text", **common)


def _base(report: Report, q: Question) -> str:
    """Return what a weighted percent is weighted by, inside a sentence."""
    try:
        weight = report.spec.questionnaire.get(q.weight or "")
    except KeyError:
        return ""
    return lower_first(question_heading(weight))


def _details(s: QuestionSummary, report: Report, given: Sequence[tuple[UnitRow, Any]],
             in_appendix: bool) -> list[dict[str, str]]:
    """Return the lines after the lead: options, documents, or what each unit wrote."""
    q = s.question
    if q.type in NUMERIC_TYPES:
        if in_appendix or len(given) < 2:
            return []
        return [line(say("detail", items=[
            say("detail_item", unit=r.name, value=format_value(q, v)) for r, v in given]))]
    if q.type == "yesno":
        return []
    if q.type in CHOICE_TYPES:
        return _option_lines(q, given)
    if q.type == "documents":
        return _document_lines(given)
    return _grouped(report, [(r, _entry_paragraphs(q, v)) for r, v in given])


def _option_lines(q: Question, given: Sequence[tuple[UnitRow, Any]]) -> list[dict[str, str]]:
    options = [(o, [r.name for r, v in given if o in (v.get("selected") or ())])
               for o in q.options]
    others = [(r, str(v["other"])) for r, v in given if isinstance(v, dict) and v.get("other")]
    lines = []
    for i, (label, names) in enumerate(options):
        last = i == len(options) - 1 and not others
        lines.append(line(say("option", label=label, count=len(names), names=", ".join(names),
                              end="." if last else ";")))
    if others:
        lines.append(line(say("others_head")))
        lines += [line(end(text), _who(r.name)) for r, text in others]
    return lines


def _document_lines(given: Sequence[tuple[UnitRow, Any]]) -> list[dict[str, str]]:
    """Return every document once, in date order (undated last), with the units that sent it."""
    merged: dict[str, tuple[dict[str, Any], list[str]]] = {}
    for r, docs in given:
        for n, doc in enumerate(docs):
            key = fold(doc["number"]) if doc.get("number") else f"{r.code}#{n}"
            if key not in merged:
                merged[key] = (doc, [])
            if r.name not in merged[key][1]:
                merged[key][1].append(r.name)
    ordered = sorted(merged.values(), key=lambda e: (e[0].get("date") or "9999", 0))
    return [line(say("document", text=strip_end(format_document(doc)), units=", ".join(units),
                     end="." if i == len(ordered) - 1 else ";"))
            for i, (doc, units) in enumerate(ordered)]


def _entry_paragraphs(q: Question, value: Any) -> list[str]:
    """Return one unit's answer as paragraphs (a text of several stays several)."""
    if q.type == "list":
        return ["; ".join(strip_end(str(v)) for v in value)]
    if q.type == "file":
        return [", ".join(f["name"] for f in value)]
    if q.type == "date":
        return [texts.vn_date(value)]
    return [p.strip() for p in str(value).split("\n") if p.strip()]


def _grouped(report: Report, entries: Sequence[tuple[UnitRow, list[str]]]
             ) -> list[dict[str, str]]:
    """Return each unit's paragraphs, attributed, under its group's name when the units
    belong to several groups; groups and units in roster order."""
    by_group: dict[str | None, list[tuple[UnitRow, list[str]]]] = {
        g: [] for g in dict.fromkeys(r.group for r in report.units)}
    for r, paragraphs in entries:
        if paragraphs:
            by_group.setdefault(r.group, []).append((r, paragraphs))
    groups = [(g, members) for g, members in by_group.items() if members]
    lines: list[dict[str, str]] = []
    for n, (group, members) in enumerate(groups):
        if len(groups) > 1:
            lines.append(line(say("group", letter=_LETTERS[n % len(_LETTERS)],
                                  group=group or say("no_group"))))
        for r, paragraphs in members:
            first, *rest = paragraphs
            lines.append(line(end(first) if not rest else first, _who(r.name)))
            lines += [line(end(p) if i == len(rest) - 1 else p) for i, p in enumerate(rest)]
    return lines


def _extremes(q: Question, given: Sequence[tuple[UnitRow, Any]]) -> tuple[str, str]:
    """Return the names of the units with the lowest and with the highest value."""
    values = [(r.name, _scalar(q, v)) for r, v in given]
    low = min(v for _, v in values)
    high = max(v for _, v in values)
    return (", ".join(n for n, v in values if v == low),
            ", ".join(n for n, v in values if v == high))


def _scalar(q: Question, value: Any) -> Any:
    if q.type == "date":
        return date.fromisoformat(str(value))
    return int(value) if q.type in ("integer", "money") else Decimal(str(value))


def _figure(q: Question, value: Any) -> str:
    """Return an aggregate as people read it: 1.525.000.000 đồng, 99,4 %, 4.281 người."""
    if value is None:
        return ""
    if isinstance(value, date):
        return texts.vn_date(value)
    if q.type in ("integer", "money") and (isinstance(value, int) or value == int(value)):
        return format_value(q, int(value))
    if q.type == "money":
        return texts.render("word.money", amount=texts.vn_dec(value))
    if q.type == "integer":
        number = texts.vn_dec(value)
        return f"{number} {q.unit}" if q.unit else number
    return format_value(q, str(value))


# -- the appendix table -------------------------------------------------------------------------


def _appendix_questions(report: Report) -> list[Question]:
    """Return the appendix's columns: those the questionnaire names, else every numeric
    question that fits a landscape page."""
    questionnaire = report.spec.questionnaire
    if questionnaire.appendix:
        return [questionnaire.get(qid) for qid in questionnaire.appendix]
    return [q for q in questionnaire.questions
            if q.type in FIGURE_TYPES and q.aggregate != "none"][:LANDSCAPE_COLUMNS]


def appendix(report: Report) -> dict[str, Any]:
    """Return the appendix table: reported units with their figures, a total row, and the
    units that have not reported named apart (no figures, not in the total)."""
    questions = _appendix_questions(report)
    summaries = {s.question.id: s for sec in report.sections for s in sec.questions}
    columns = []
    for i, q in enumerate(questions):
        s = summaries.get(q.id)
        columns.append({"number": i + 1, "header": f"({i + 1})",
                        "label": question_heading(q), "unit": display_unit(q),
                        "total_note": _total_note(report, q, s)})
    rows = [{"index": i + 1, "code": r.code, "name": r.name,
             "figures": [_cell(q, r.answers.get(q.id)) for q in questions], "note": _note(r)}
            for i, r in enumerate(report.reported)]
    totals = [_total(report, q, summaries.get(q.id)) for q in questions]
    missing = [say("appendix_missing_unit", name=r.name, status=texts.render(f"status.{r.status}"),
                   answered=r.answered, total=r.total, started=r.status != "not_started")
               for r in report.missing]
    return {"columns": columns, "rows": rows, "totals": totals,
            "landscape": len(columns) > PORTRAIT_COLUMNS,
            "missing": missing,
            "missing_text": say("appendix_missing", units=missing) if missing else ""}


def _total(report: Report, q: Question, s: QuestionSummary | None) -> str:
    """Return a column's figure in the total row: the sum, or a percent's average."""
    values = [r.answers.get(q.id) for r in report.reported]
    numbers = [Decimal(str(v)) for v in values if not is_empty(v)]
    if not numbers:
        return ""
    if q.type == "percent":
        average = s.average if s is not None and s.average is not None else (
            sum(numbers, Decimal(0)) / len(numbers)).quantize(CENT, ROUND_HALF_UP)
        return texts.vn_dec(average)
    total = sum(numbers, Decimal(0))
    return texts.vn_int(total) if q.type in ("integer", "money") else texts.vn_dec(total)


def _total_note(report: Report, q: Question, s: QuestionSummary | None) -> str:
    if q.type != "percent":
        return ""
    if s is not None and s.weighted:
        return say("total_weighted", base=_base(report, q))
    return say("total_average")


def _cell(q: Question, value: Any) -> str:
    if is_empty(value):
        return ""
    return texts.vn_int(value) if q.type in ("integer", "money") else texts.vn_dec(value)


def _note(row: UnitRow) -> str:
    if row.status in REPORTED and row.submitted_at is not None:
        return say("note_reported", date=texts.vn_date(row.submitted_at.date()),
                   edited=row.status == "edited")
    return ""
