"""The template context of the Word reports: what the consolidated report of a round and one
unit's own report say, as plain values for docxtpl (the variables are listed in
bot/documents/reports.py)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any

from bot import texts
from bot.campaigns.spec import CampaignSpec, SummarySection
from bot.compile import QuestionSummary, Report, UnitRow, amount_in_words
from bot.display import format_choice, format_document, format_value
from bot.documents.charts import Chart, Charts
from bot.documents.issuers import (
    agency_header,
    signer_lines,
    unit_header,
    unit_signer_lines,
)
from bot.documents.wording import (
    display_name,
    end,
    inline_subject,
    question_label,
    say,
    signer_title,
    strip_end,
    typographic_quotes,
    upper,
    upper_first,
)
from bot.model import REPORTED
from bot.parsing.text import clean_text
from bot.questionnaire import Question, is_empty

__all__ = ["consolidated_context", "unit_context"]

SIGNER_IDS = {"name": "nguoi_ky", "authority": "tham_quyen_ky", "title": "chuc_vu_ky"}
FIGURE_TYPES = ("money", "percent", "integer", "number")
MAX_FIGURE_COLUMNS = 4
_ROMAN = re.compile(r"^\s*[IVXLC]+\s*[.)]\s*")
_ROMANS = ("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII", "XIII",
           "XIV", "XV", "XVI", "XVII", "XVIII", "XIX", "XX")


@lru_cache(maxsize=4096)
def _who(unit: str) -> str:
    """Return "- Sở Y tế: ", put before what a unit wrote; rendered once per unit, not per line."""
    return say("who", unit=unit) + " "


def consolidated_context(report: Report, charts: Charts | None = None) -> dict[str, Any]:
    """Return the template context of the consolidated report (see bot/documents/reports.py).

    With `charts`, ``progress_chart`` and each charted clause's ``chart`` are Chart values,
    numbered in reading order; the renderer turns them into pictures.
    """
    spec = report.spec
    figures = _Figures(charts)
    hints = _hints(report)
    reported = len(report.reported)
    header = agency_header(spec.agency)
    if spec.signer is None:
        signer = _signer([signer_title(spec.agency.name)], "")
    else:
        signer = _signer(signer_lines(spec.signer), spec.signer.name)
    names = [display_name(t, hints) for t in spec.to]
    to = say("to_joined", names=names) if names else ""
    context = _common(report, report.generated_at, hints)
    bases = list(spec.bases)
    if spec.request and _fold(spec.request) not in {_fold(b) for b in bases}:
        bases.append(spec.request)
    context.update(
        draft=not report.final,
        final=report.final,
        issuer={"parent": header.parent, "name": header.name, "code": header.symbol,
                "display": display_name(spec.agency.name, hints)},
        recipient=to,
        to=names,
        to_lines=[] if len(names) < 2 else [
            say("to_item", text=strip_end(n), last=i == len(names) - 1)
            for i, n in enumerate(names)],
        recipients=_recipients(to, spec.recipients, spec.drafter),
        bases=bases,
        basis=_basis(bases),
        reported_count=reported,
        missing=[{"name": r.name, "status": _status(r.status)} for r in report.missing],
        missing_count=len(report.missing),
        missing_names=", ".join(r.name for r in report.missing),
        progress_chart=figures.progress(),
        progress_caption=figures.caption,
        sections=_with_summaries(
            [_consolidated_section(number, s.title, s.questions, report, figures)
             for number, s in enumerate(report.sections)],
            [s.title for s in report.sections], spec.summary_sections),
        appendix=_appendix(report),
        signer=signer,
    )
    cleaned: dict[str, Any] = _clean(context)
    return cleaned


def unit_context(report: Report, unit_code: str) -> dict[str, Any]:
    """Return the template context of one unit's report (KeyError for an unknown code)."""
    row = next((r for r in report.units if r.code == unit_code), None)
    if row is None:
        raise KeyError(unit_code)
    spec = report.spec
    hints = _hints(report)
    context = _common(report, row.submitted_at or report.generated_at, hints)
    answered = {key: _plain(row.answers.get(qid)) for key, qid in SIGNER_IDS.items()}
    signer = _signer(unit_signer_lines(answered["authority"], answered["title"]),
                     answered["name"])
    unit = next((u for u in spec.units if u.code == unit_code), None)
    header = unit_header(unit, spec.agency) if unit is not None else agency_header(
        replace(spec.agency, name=row.name, code=row.code))
    recipient = display_name(spec.agency.name, hints)
    sections: list[dict[str, Any]] = []
    for section in spec.questionnaire.sections:
        shown = [q for q in section.questions
                 if q.id not in SIGNER_IDS.values() and not is_empty(row.answers.get(q.id))]
        items = [_item(n, q, _unit_lines(q, row.answers[q.id])) for n, q in enumerate(shown, 1)]
        if items:
            sections.append(_section(len(sections), section.title, items))
    context.update(
        draft=row.status not in REPORTED,
        final=row.status in REPORTED,
        issuer={"parent": header.parent, "name": header.name, "code": header.symbol,
                "display": row.name},
        place=header.place,
        recipient=recipient,
        to=[recipient],
        to_lines=[],
        recipients=_recipients(recipient, (), None),
        bases=_unit_bases(spec),
        basis=_basis(_unit_bases(spec)),
        reported_count=len(report.reported),
        sections=sections,
        signer=signer,
        unit={"code": row.code, "name": row.name, "status": _status(row.status)},
    )
    cleaned: dict[str, Any] = _clean(context)
    return cleaned


def _signer(lines: list[str], name: str) -> dict[str, Any]:
    """Return the signature block: ``lines`` above the signature, the older ``authority``
    (the lines but the last, one per line) and ``title`` (the last), and the name."""
    return {"lines": lines, "authority": "\n".join(lines[:-1]),
            "title": lines[-1] if lines else "", "name": name}


def _recipients(to: str, others: Sequence[str], drafter: str | None) -> list[str]:
    """Return the Nơi nhận lines: "- Như trên;" when there is a Kính gửi, the campaign's, then
    "- Lưu: VT, <drafter>." (Decree 30, Phụ lục I, II.9)."""
    lines = [say("recipients_same")] if to else []
    lines += [say("recipients_item", text=r) for r in others]
    lines.append(say("recipients_archive", drafter=drafter or ""))
    return lines


def _basis(bases: Sequence[str]) -> str:
    """Return the documents cited after "Thực hiện": "Kế hoạch số …; Công văn số …"."""
    return "; ".join(typographic_quotes(strip_end(b)) for b in bases)


def _unit_bases(spec: CampaignSpec) -> list[str]:
    """Return what a unit's report answers: the campaign's request, else its bases."""
    return [spec.request] if spec.request else list(spec.bases)


def _fold(text: str) -> str:
    return " ".join(strip_end(text).split()).casefold()


def _with_summaries(sections: list[dict[str, Any]], titles: Sequence[str],
                    summaries: Sequence[SummarySection]) -> list[dict[str, Any]]:
    """Return the parts with the coordinator's own placed after the part each names (at the
    end when it names none), numbered again in order; every part gets ``lines``, the
    paragraphs of a written part."""
    for section in sections:
        section.setdefault("lines", [])
    if not summaries:
        return sections
    placed: list[tuple[dict[str, Any], list[dict[str, Any]]]] = [(s, []) for s in sections]
    tail: list[dict[str, Any]] = []
    for summary in summaries:
        part = _section(0, summary.title, [])
        part["lines"] = [_line(p.strip()) for p in summary.text.split("\n") if p.strip()]
        at = next((i for i, t in enumerate(titles) if t == summary.after), None)
        (tail if at is None or at >= len(placed) else placed[at][1]).append(part)
    ordered = [part for section, after in placed for part in (section, *after)] + tail
    for index, part in enumerate(ordered):
        part["number"] = _roman(index + 1)
        part["heading"] = f"{part['number']}. {upper(part['title'])}"
    return ordered


def _common(report: Report, when: datetime, hints: Sequence[str]) -> dict[str, Any]:
    spec = report.spec
    tz = spec.deadline.tzinfo
    local = when.astimezone(tz) if tz is not None else when
    day, month, year = f"{local.day:02d}", _month(local.month), str(local.year)
    subject = typographic_quotes(spec.title)
    return {
        "place": spec.agency.place,
        "day": day,
        "month": month,
        "year": year,
        "date": say("date", day=day, month=month, year=year),
        "as_of": texts.vn_date(local.date()),
        "subject": subject,
        "subject_inline": inline_subject(subject),
        "request": spec.request,
        "period": None if spec.period is None else {
            "start": texts.vn_date(spec.period[0]), "end": texts.vn_date(spec.period[1])},
        "unit_count": len(report.units),
    }


def _month(month: int) -> str:
    """Decree 30: months 1 and 2 get a leading 0, the others do not ("tháng 02", "tháng 10")."""
    return f"{month:02d}" if month <= 2 else str(month)


def _status(status: str) -> str:
    return upper_first(texts.render(f"status.{status}"))


def _hints(report: Report) -> list[str]:
    spec = report.spec
    return [spec.request, spec.title, *(u.name for u in spec.units)]


def _section(index: int, title: str, clauses: list[dict[str, Any]]) -> dict[str, Any]:
    match = _ROMAN.match(title)
    number = match.group(0).strip().rstrip(".)") if match else _roman(index + 1)
    plain = title[match.end():] if match else title
    return {"number": number, "title": plain.strip(), "heading": f"{number}. {upper(plain)}",
            "clauses": clauses}


def _item(number: int, question: Question, lines: list[dict[str, str]]) -> dict[str, Any]:
    label = question_label(question.ask)
    return {"number": number, "label": label, "heading": f"{number}. {label}", "lines": lines}


def _roman(number: int) -> str:
    return _ROMANS[number - 1] if number <= len(_ROMANS) else str(number)


def _line(text: str, who: str = "") -> dict[str, str]:
    return {"who": who, "text": text}


class _Figures:
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


def _consolidated_section(index: int, title: str, summaries: Iterable[QuestionSummary],
                          report: Report, figures: _Figures) -> dict[str, Any]:
    items = []
    for n, s in enumerate(summaries):
        item = _item(n + 1, s.question, _summary_lines(s, report))
        item["chart"] = figures.question(s.question.id)
        item["caption"] = figures.caption
        items.append(item)
    return _section(index, title, items)


def _summary_lines(s: QuestionSummary, report: Report) -> list[dict[str, str]]:
    """Return the paragraphs that show one question's aggregate and what each unit wrote."""
    q = s.question
    reported = len(report.reported)
    given = [(r.name, r.answers[q.id]) for r in report.reported
             if not is_empty(r.answers.get(q.id))]
    if not given:
        return [_line(say("nobody"))]
    numeric = q.type in FIGURE_TYPES
    lines: list[dict[str, str]] = []
    if s.how == "sum" and s.total is not None and numeric:
        total = _figure(q, s.total)
        if q.type == "money" and s.total >= 0 and s.total == int(s.total):
            total = say("amount", figure=total, words=amount_in_words(int(s.total)))
        lines.append(_line(say("sum", total=total, answered=s.answered, reported=reported)))
    elif s.how == "avg" and s.average is not None and numeric:
        low, high = _extremes(q, given)
        lines.append(_line(say(
            "average", average=_figure(q, s.average), minimum=_figure(q, s.minimum),
            maximum=_figure(q, s.maximum), minimum_by=low, maximum_by=high,
            at_100=s.at_100 if q.type == "percent" else None, answered=s.answered)))
    elif s.how in ("min", "max") and (numeric or q.type == "date"):
        low, high = _extremes(q, given)
        value = s.minimum if s.how == "min" else s.maximum
        lines.append(_line(say("minimum" if s.how == "min" else "maximum", dates=q.type == "date",
                                value=_figure(q, value), names=low if s.how == "min" else high)))
    elif s.how == "count" and q.type in ("yesno", "choice", "multichoice"):
        return _count_lines(q, given)
    else:
        return _entry_lines(s, q, given, reported)
    if numeric:
        lines.append(_line(say("detail", items=[
            say("detail_item", unit=name, value=format_value(q, value)) for name, value in given
        ])))
    return lines


def _extremes(q: Question, given: Sequence[tuple[str, Any]]) -> tuple[str, str]:
    """Return the names of the units with the lowest and with the highest value."""
    values = [(name, _scalar(q, v)) for name, v in given]
    low = min(v for _, v in values)
    high = max(v for _, v in values)
    return (", ".join(n for n, v in values if v == low),
            ", ".join(n for n, v in values if v == high))


def _scalar(q: Question, value: Any) -> Any:
    if q.type == "date":
        return date.fromisoformat(str(value))
    return int(value) if q.type in ("integer", "money") else Decimal(str(value))


def _count_lines(q: Question, given: Sequence[tuple[str, Any]]) -> list[dict[str, str]]:
    if q.type == "yesno":
        options = [(texts.render("word.yes"), [n for n, v in given if v is True]),
                   (texts.render("word.no"), [n for n, v in given if v is False])]
    else:
        options = [(o, [n for n, v in given if o in (v.get("selected") or ())])
                   for o in q.options]
    others = [(n, str(v["other"])) for n, v in given
              if isinstance(v, dict) and v.get("other")]
    lines = []
    for i, (label, names) in enumerate(options):
        last = i == len(options) - 1 and not others
        lines.append(_line(say("option", label=label, count=len(names), names=", ".join(names),
                                end="." if last else ";")))
    if others:
        lines.append(_line(say("others_head")))
        lines += [_line(end(text), _who(name)) for name, text in others]
    return lines


def _entry_lines(s: QuestionSummary, q: Question, given: Sequence[tuple[str, Any]],
                 reported: int) -> list[dict[str, str]]:
    lines = []
    if q.type in ("documents", "list", "file"):
        count = sum(len(v) for _, v in given)
        lines.append(_line(say("items", kind=q.type, count=count, units=len(given))))
    elif q.type == "date":
        days = sorted(_scalar(q, v) for _, v in given)
        if days[0] != days[-1]:
            lines.append(_line(say("range", first=texts.vn_date(days[0]),
                                    last=texts.vn_date(days[-1]))))
    elif s.how != "list":
        lines.append(_line(say("answered", answered=len(given), reported=reported)))
    entries = s.entries if s.how == "list" and s.entries else tuple(given)
    for name, value in entries:
        # A text of several paragraphs stays several paragraphs: a line break would stretch
        # the justified line before it.
        first, *rest = [p.strip() for p in _entry_text(q, value).split("\n") if p.strip()] or [""]
        lines.append(_line(end(first) if not rest else first, _who(name)))
        lines += [_line(end(p) if i == len(rest) - 1 else p) for i, p in enumerate(rest)]
    return lines


def _entry_text(q: Question, value: Any) -> str:
    if q.type == "documents":
        return "; ".join(strip_end(format_document(d)) for d in value)
    if q.type == "list":
        return "; ".join(strip_end(str(item)) for item in value)
    if q.type in ("text", "longtext"):
        return str(value)
    return format_value(q, value)


def _unit_lines(q: Question, value: Any) -> list[dict[str, str]]:
    """Return the paragraphs of one unit's answer in its own report."""
    if q.type in ("text", "longtext"):
        return [_line(p.strip()) for p in str(value).split("\n") if p.strip()]
    if q.type == "documents":
        items = [format_document(d) for d in value]
    elif q.type == "list":
        items = [str(item) for item in value]
    elif q.type == "multichoice":
        items = list(value.get("selected") or [])
        if value.get("other"):
            items.append(say("other", text=value["other"]))
    elif q.type == "choice":
        return [_line(end(format_choice(value)))]
    elif q.type == "money" and int(value) >= 0:
        words = amount_in_words(int(value))
        return [_line(end(say("amount", figure=format_value(q, value), words=words)))]
    else:
        return [_line(end(format_value(q, value)))]
    return [_line(say("dash", text=strip_end(t), end="." if i == len(items) - 1 else ";"))
            for i, t in enumerate(items)]


def _appendix(report: Report) -> dict[str, Any]:
    questions = [q for q in report.spec.questionnaire.questions
                 if q.type in FIGURE_TYPES and q.aggregate != "none"][:MAX_FIGURE_COLUMNS]
    columns = [{"number": i + 1, "header": f"({i + 1})", "label": question_label(q.ask),
                "unit": _column_unit(q)} for i, q in enumerate(questions)]
    rows = [{"index": i + 1, "code": r.code, "name": r.name, "status": _status(r.status),
             "figures": [_cell(q, r.answers.get(q.id)) for q in questions], "note": _note(r)}
            for i, r in enumerate(report.units)]
    return {"columns": columns, "rows": rows}


def _column_unit(q: Question) -> str:
    if q.type == "money":
        return say("unit_money")
    if q.type == "percent":
        return say("unit_percent")
    return q.unit or ""


def _cell(q: Question, value: Any) -> str:
    if is_empty(value):
        return ""
    return texts.vn_int(value) if q.type in ("integer", "money") else texts.vn_dec(value)


def _note(row: UnitRow) -> str:
    if row.status in REPORTED and row.submitted_at is not None:
        return say("note_reported", date=texts.vn_date(row.submitted_at.date()))
    if row.status != "not_started":
        return say("note_progress", answered=row.answered, total=row.total)
    return ""


def _figure(q: Question, value: Any) -> str:
    """Return an aggregate as people read it: 1.525.000.000 đồng, 99,4 %, 4.281 người."""
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


def _plain(value: Any) -> str:
    return "" if is_empty(value) else str(value).strip()


def _clean(value: Any) -> Any:
    """Return the context with every string cleaned (`clean_text`) and tabs as spaces."""
    if isinstance(value, str):
        return clean_text(value).replace("\t", " ")
    if isinstance(value, Mapping):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value
