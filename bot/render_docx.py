"""Word reports in the format of Decree 30/2020/NĐ-CP: the consolidated BÁO CÁO of a round and
one unit's own BÁO CÁO, rendered with docxtpl from templates a coordinator may restyle in Word.

Templates: templates/word/bao-cao-tong-hop.docx (consolidated; a campaign's ``template:`` or the
``template`` argument replaces it) and templates/word/bao-cao-don-vi.docx (one unit), generated
by scripts/make_word_templates.py. Jinja2 tags follow docxtpl's rules: ``{{ x }}`` inside a run,
``{%p … %}`` / ``{%tr … %}`` / ``{%tc … %}`` alone in their paragraph / row / cell, spaces inside
the delimiters. Values are escaped (``autoescape``), NFC-normalised and stripped of control
characters; a ``\\n`` in a value becomes a line break. An unknown variable is an error.

Template context (both templates unless marked):

=================  ==============================================================================
``draft``          True while not every unit has reported (unit report: while the unit has not
                   submitted); the templates then show "DỰ THẢO" at the top of page 1
``final``          ``not draft``
``issuer``         the body that signs: ``parent`` ("UBND TỈNH QUẢNG NGÃI"), ``name`` (upper
                   case: "SỞ NỘI VỤ", "SỞ XÂY DỰNG"), ``code`` ("SNV": ký hiệu "…/BC-SNV" and
                   "Lưu: VT, SNV."), ``display`` (normal case: "Sở Nội vụ")
``recipient``      normal-case name after "Kính gửi:": the parent agency ("UBND tỉnh Quảng
                   Ngãi") for the consolidated report, the coordinating agency ("Sở Nội vụ") for
                   a unit report
``place``          địa danh ("Quảng Ngãi")
``day``            "05" (two digits); ``month``: "01", "02", "3" … "12" (0 only for 1 and 2);
                   ``year``: "2024"; ``date``: "ngày 05 tháng 01 năm 2024". Consolidated: when
                   the report was generated; unit: when the unit submitted (else generated), in
                   the campaign's time zone
``as_of``          the same day as dd/mm/yyyy
``subject``        trích yếu: the campaign title with typographic quotes
``subject_inline`` the same in lower case and without a leading "Báo cáo", for use
                   inside a sentence ("Trên đây là báo cáo {{ subject_inline }} …")
``request``        the request the report answers ("Công văn số 1918/SNV-TĐKT ngày …")
``period``         ``{start, end}`` as dd/mm/yyyy, or None when the campaign has no period
``unit_count``     units in the round; ``reported_count``: units that reported
``missing``        consolidated: units that have not reported, each ``{name, status}``;
                   ``missing_count``; ``missing_names``: "Sở Tài chính, Sở …"
``sections``       the body: each ``{number, title, heading, clauses}``; heading is
                   "I. ĐẶC ĐIỂM, TÌNH HÌNH"; each clause (khoản) ``{number, label, heading,
                   lines}`` with heading "1. Tổng số tiền …"; each line ``{who, text}``: ``who``
                   is "- Sở Y tế: " for what a unit wrote (else ""), ``text`` the rest
``appendix``       consolidated only: ``columns`` (the first four money / percent / integer /
                   number questions), each ``{number, header: "(1)", label, unit}``; ``rows``,
                   one per unit: ``{index, code, name, status, figures: [str, …], note}``
``signer``         ``{authority: "KT. GIÁM ĐỐC" or "", title: "PHÓ GIÁM ĐỐC", name}``; a unit
                   report takes them from the answers to ``tham_quyen_ky``, ``chuc_vu_ky`` and
                   ``nguoi_ky``; the consolidated one has only the head's title, from the
                   agency's name (docx.signer_titles: "GIÁM ĐỐC" for a Sở)
``unit``           unit report only: ``{code, name, status}``
=================  ==============================================================================

Rendering then adjusts the layout: a paragraph in style "ND30 Line" becomes a centred line 40 %
as long as the text above it (Decree 30: 1/3 to 1/2), "ND30 Line Full" as long as that text
(the line under the Tiêu ngữ); the columns of a table in style "ND30 Appendix Table" are sized
to their content. Widths come from Times New Roman metrics (Liberation Serif has the same).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from docx.oxml.ns import qn
from docx.shared import Twips
from docx.text.parfmt import ParagraphFormat
from docxtpl import DocxTemplate
from jinja2 import Environment, StrictUndefined

from bot import texts
from bot.compile import QuestionSummary, Report, UnitRow, amount_in_words
from bot.display import format_choice, format_document, format_value
from bot.model import REPORTED
from bot.questionnaire import Question, is_empty

__all__ = [
    "CONSOLIDATED_TEMPLATE",
    "UNIT_TEMPLATE",
    "RenderError",
    "consolidated_context",
    "display_name",
    "fix_layout",
    "question_label",
    "render_consolidated",
    "render_unit",
    "signer_title",
    "text_width",
    "typographic_quotes",
    "unit_context",
]

CONSOLIDATED_TEMPLATE = "bao-cao-tong-hop.docx"
UNIT_TEMPLATE = "bao-cao-don-vi.docx"
SIGNER_IDS = {"name": "nguoi_ky", "authority": "tham_quyen_ky", "title": "chuc_vu_ky"}
FIGURE_TYPES = ("money", "percent", "integer", "number")
MAX_FIGURE_COLUMNS = 4

# Style names shared with scripts/make_word_templates.py.
STYLE_LINE = "ND30 Line"
STYLE_LINE_FULL = "ND30 Line Full"
STYLE_APPENDIX_TABLE = "ND30 Appendix Table"
LINE_SHARE = {STYLE_LINE: Decimal("0.4"), STYLE_LINE_FULL: Decimal(1)}
DEFAULT_CELL_MARGIN = 108  # twips, Word's default left and right cell padding
CELL_SLACK = 60  # twips added to a measured cell so a rounding error never wraps a number
MIN_COLUMN = 454  # twips (8 mm)

_W_P, _W_R, _W_T, _W_TBL, _W_TR, _W_TC = (qn(f"w:{t}") for t in ("p", "r", "t", "tbl", "tr", "tc"))
_W_RPR, _W_SZ, _W_B, _W_VAL, _W_W, _W_TYPE = (
    qn(f"w:{t}") for t in ("rPr", "sz", "b", "val", "w", "type"))
_W_TCPR, _W_TCW = qn("w:tcPr"), qn("w:tcW")
_W_PPR, _W_PSTYLE = qn("w:pPr"), qn("w:pStyle")
_TBL_STYLE = f"{qn('w:tblPr')}/{qn('w:tblStyle')}"
_ANY_GRID_SPAN = f".//{qn('w:gridSpan')}"
_CHAR_UNITS: dict[bool, dict[str, int]] = {False: {}, True: {}}  # text_width's, by bold
_PARAGRAPH = re.compile(r"<w:p(?: [^>]*)?>.*?</w:p>", re.DOTALL)  # as docxtpl finds them
_LISTING = "\t\a\n\f"  # what docxtpl's resolve_listing turns into runs
_XML_SPACE = "{http://www.w3.org/XML/1998/namespace}space"
_SPACE_MARK = "reportbot-space"
_PRESERVED_TEXT = '<w:t xml:space="preserve">'
_MARKED_TEXT = f'<w:t {_SPACE_MARK}="">'
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_ROMAN = re.compile(r"^\s*[IVXLC]+\s*[.)]\s*")
_PUNCT_END = (".", "!", "?", "…", ":", ";")
_ROMANS = ("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII", "XIII",
           "XIV", "XV", "XVI", "XVII", "XVIII", "XIX", "XX")

# Advance widths of Times New Roman in 1/1000 em (the Adobe Times metrics; Liberation Serif has
# the same). Vietnamese letters are measured by their base letter. Italic is taken as regular.
_REGULAR = dict(zip(
    " !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`"
    "abcdefghijklmnopqrstuvwxyz{|}~",
    (250, 333, 408, 500, 500, 833, 778, 180, 333, 333, 500, 564, 250, 333, 250, 278, *[500] * 10,
     278, 278, 564, 564, 564, 444, 921, 722, 667, 667, 722, 611, 556, 722, 722, 333, 389, 722,
     611, 889, 722, 722, 556, 722, 667, 556, 611, 722, 722, 944, 722, 722, 611, 333, 278, 333,
     469, 500, 333, 444, 500, 444, 500, 444, 333, 500, 500, 278, 278, 500, 278, 778, 500, 500,
     500, 500, 333, 389, 278, 500, 500, 722, 500, 500, 444, 480, 200, 480, 541),
    strict=True))
_BOLD = dict(zip(
    " !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`"
    "abcdefghijklmnopqrstuvwxyz{|}~",
    (250, 333, 555, 500, 500, 1000, 833, 278, 333, 333, 500, 570, 250, 333, 250, 278,
     *[500] * 10, 333, 333, 570, 570, 570, 500, 930, 722, 667, 722, 722, 667, 611, 778, 778, 389,
     500, 778, 667, 944, 722, 778, 611, 778, 722, 556, 667, 722, 722, 1000, 722, 722, 667, 333,
     278, 333, 581, 500, 333, 500, 556, 444, 556, 444, 333, 500, 556, 278, 333, 556, 278, 833,
     556, 500, 556, 556, 444, 389, 333, 556, 500, 722, 500, 500, 444, 394, 220, 394, 520),
    strict=True))
_EXTRA = {"Đ": "D", "đ": "d", "“": '"', "”": '"', "‘": "'", "’": "'", "–": "-", "—": "-",
          "\u00a0": " "}
_WIDE = {"–": 500, "—": 1000, "…": 1000, "“": 444, "”": 444}


class RenderError(Exception):
    """A template could not be rendered (an unknown variable, a broken tag)."""


def render_consolidated(report: Report, out: Path, template: Path | None = None) -> Path:
    """Write the consolidated BÁO CÁO of a round to `out` and return `out`."""
    path = template or report.spec.template or _word_dir() / CONSOLIDATED_TEMPLATE
    return _render(path, consolidated_context(report), out)


def render_unit(report: Report, unit_code: str, out: Path, template: Path | None = None) -> Path:
    """Write one unit's own BÁO CÁO to `out` and return `out` (KeyError for an unknown code)."""
    path = template or _word_dir() / UNIT_TEMPLATE
    return _render(path, unit_context(report, unit_code), out)


def _word_dir() -> Path:
    return texts.templates_dir() / "word"


def _say(key: str, **context: Any) -> str:
    return texts.render(f"docx.{key}", "plain", **context)


@lru_cache(maxsize=4096)
def _who(unit: str) -> str:
    """Return "- Sở Y tế: ", put before what a unit wrote; rendered once per unit, not per line."""
    return _say("who", unit=unit) + " "


# -- context -----------------------------------------------------------------------------------


def consolidated_context(report: Report) -> dict[str, Any]:
    """Return the template context of the consolidated report (see the module docstring)."""
    spec = report.spec
    hints = _hints(report)
    reported = len(report.reported)
    signer = {"authority": "", "title": signer_title(spec.agency.name), "name": ""}
    context = _common(report, report.generated_at, hints)
    context.update(
        draft=not report.final,
        final=report.final,
        issuer={"parent": _upper(spec.agency.parent), "name": _upper(spec.agency.name),
                "code": spec.agency.code, "display": display_name(spec.agency.name, hints)},
        recipient=display_name(spec.agency.parent, hints),
        reported_count=reported,
        missing=[{"name": r.name, "status": _status(r.status)} for r in report.missing],
        missing_count=len(report.missing),
        missing_names=", ".join(r.name for r in report.missing),
        sections=[_consolidated_section(number, s.title, s.questions, report)
                  for number, s in enumerate(report.sections)],
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
    signer = {key: _plain(row.answers.get(qid)) for key, qid in SIGNER_IDS.items()}
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
        issuer={"parent": _upper(spec.agency.parent), "name": _upper(row.name), "code": row.code,
                "display": row.name},
        recipient=display_name(spec.agency.name, hints),
        reported_count=len(report.reported),
        sections=sections,
        signer=signer,
        unit={"code": row.code, "name": row.name, "status": _status(row.status)},
    )
    cleaned: dict[str, Any] = _clean(context)
    return cleaned


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
        "date": _say("date", day=day, month=month, year=year),
        "as_of": texts.vn_date(local.date()),
        "subject": subject,
        "subject_inline": _inline_subject(subject),
        "request": spec.request,
        "period": None if spec.period is None else {
            "start": texts.vn_date(spec.period[0]), "end": texts.vn_date(spec.period[1])},
        "unit_count": len(report.units),
    }


def _month(month: int) -> str:
    """Decree 30: months 1 and 2 get a leading 0, the others do not ("tháng 02", "tháng 10")."""
    return f"{month:02d}" if month <= 2 else str(month)


def _status(status: str) -> str:
    return _upper_first(texts.render(f"status.{status}"))


def _hints(report: Report) -> list[str]:
    spec = report.spec
    return [spec.request, spec.title, *(u.name for u in spec.units)]


def _section(index: int, title: str, clauses: list[dict[str, Any]]) -> dict[str, Any]:
    match = _ROMAN.match(title)
    number = match.group(0).strip().rstrip(".)") if match else _roman(index + 1)
    plain = title[match.end():] if match else title
    return {"number": number, "title": plain.strip(), "heading": f"{number}. {_upper(plain)}",
            "clauses": clauses}


def _item(number: int, question: Question, lines: list[dict[str, str]]) -> dict[str, Any]:
    label = question_label(question.ask)
    return {"number": number, "label": label, "heading": f"{number}. {label}", "lines": lines}


def _roman(number: int) -> str:
    return _ROMANS[number - 1] if number <= len(_ROMANS) else str(number)


def _line(text: str, who: str = "") -> dict[str, str]:
    return {"who": who, "text": text}


def _consolidated_section(index: int, title: str, summaries: Iterable[QuestionSummary],
                          report: Report) -> dict[str, Any]:
    items = [_item(n + 1, s.question, _summary_lines(s, report))
             for n, s in enumerate(summaries)]
    return _section(index, title, items)


def _summary_lines(s: QuestionSummary, report: Report) -> list[dict[str, str]]:
    """Return the paragraphs that show one question's aggregate and what each unit wrote."""
    q = s.question
    reported = len(report.reported)
    given = [(r.name, r.answers[q.id]) for r in report.reported
             if not is_empty(r.answers.get(q.id))]
    if not given:
        return [_line(_say("nobody"))]
    numeric = q.type in FIGURE_TYPES
    lines: list[dict[str, str]] = []
    if s.how == "sum" and s.total is not None and numeric:
        total = _figure(q, s.total)
        if q.type == "money" and s.total >= 0 and s.total == int(s.total):
            total = _say("amount", figure=total, words=amount_in_words(int(s.total)))
        lines.append(_line(_say("sum", total=total, answered=s.answered, reported=reported)))
    elif s.how == "avg" and s.average is not None and numeric:
        low, high = _extremes(q, given)
        lines.append(_line(_say(
            "average", average=_figure(q, s.average), minimum=_figure(q, s.minimum),
            maximum=_figure(q, s.maximum), minimum_by=low, maximum_by=high,
            at_100=s.at_100 if q.type == "percent" else None, answered=s.answered)))
    elif s.how in ("min", "max") and (numeric or q.type == "date"):
        low, high = _extremes(q, given)
        value = s.minimum if s.how == "min" else s.maximum
        lines.append(_line(_say("minimum" if s.how == "min" else "maximum", dates=q.type == "date",
                                value=_figure(q, value), names=low if s.how == "min" else high)))
    elif s.how == "count" and q.type in ("yesno", "choice", "multichoice"):
        return _count_lines(q, given)
    else:
        return _entry_lines(s, q, given, reported)
    if numeric:
        lines.append(_line(_say("detail", items=[
            _say("detail_item", unit=name, value=format_value(q, value)) for name, value in given
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
        lines.append(_line(_say("option", label=label, count=len(names), names=", ".join(names),
                                end="." if last else ";")))
    if others:
        lines.append(_line(_say("others_head")))
        lines += [_line(_end(text), _who(name)) for name, text in others]
    return lines


def _entry_lines(s: QuestionSummary, q: Question, given: Sequence[tuple[str, Any]],
                 reported: int) -> list[dict[str, str]]:
    lines = []
    if q.type in ("documents", "list", "file"):
        count = sum(len(v) for _, v in given)
        lines.append(_line(_say("items", kind=q.type, count=count, units=len(given))))
    elif q.type == "date":
        days = sorted(_scalar(q, v) for _, v in given)
        if days[0] != days[-1]:
            lines.append(_line(_say("range", first=texts.vn_date(days[0]),
                                    last=texts.vn_date(days[-1]))))
    elif s.how != "list":
        lines.append(_line(_say("answered", answered=len(given), reported=reported)))
    entries = s.entries if s.how == "list" and s.entries else tuple(given)
    for name, value in entries:
        # A text of several paragraphs stays several paragraphs: a line break would stretch
        # the justified line before it.
        first, *rest = [p.strip() for p in _entry_text(q, value).split("\n") if p.strip()] or [""]
        lines.append(_line(_end(first) if not rest else first, _who(name)))
        lines += [_line(_end(p) if i == len(rest) - 1 else p) for i, p in enumerate(rest)]
    return lines


def _entry_text(q: Question, value: Any) -> str:
    if q.type == "documents":
        return "; ".join(_strip_end(format_document(d)) for d in value)
    if q.type == "list":
        return "; ".join(_strip_end(str(item)) for item in value)
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
            items.append(_say("other", text=value["other"]))
    elif q.type == "choice":
        return [_line(_end(format_choice(value)))]
    elif q.type == "money" and int(value) >= 0:
        words = amount_in_words(int(value))
        return [_line(_end(_say("amount", figure=format_value(q, value), words=words)))]
    else:
        return [_line(_end(format_value(q, value)))]
    return [_line(_say("dash", text=_strip_end(t), end="." if i == len(items) - 1 else ";"))
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
        return _say("unit_money")
    if q.type == "percent":
        return _say("unit_percent")
    return q.unit or ""


def _cell(q: Question, value: Any) -> str:
    if is_empty(value):
        return ""
    return texts.vn_int(value) if q.type in ("integer", "money") else texts.vn_dec(value)


def _note(row: UnitRow) -> str:
    if row.status in REPORTED and row.submitted_at is not None:
        return _say("note_reported", date=texts.vn_date(row.submitted_at.date()))
    if row.status != "not_started":
        return _say("note_progress", answered=row.answered, total=row.total)
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


# -- words ---------------------------------------------------------------------------------------


def question_label(ask: str) -> str:
    """Return a short title for a question: "Tổng số tiền đơn vị đã ủng hộ …" from its text."""
    text = " ".join(unicodedata.normalize("NFC", ask).split())
    first = re.split(r"\?|(?<=[.!])\s", text, maxsplit=1)[0].strip()
    label = first or text
    for pattern in _label_cuts():
        label = pattern.sub("", label)
    label = " ".join(label.split()).rstrip(" .,;:")
    return _upper_first(label or text)


@cache
def _label_cuts() -> tuple[re.Pattern[str], ...]:
    lines = _say("label_cut").splitlines()
    return tuple(re.compile(line.strip(), re.IGNORECASE) for line in lines if line.strip())


def display_name(name: str, hints: Iterable[str] = ()) -> str:
    """Return an agency name in normal case: "SỞ NỘI VỤ" -> "Sở Nội vụ".

    A name written in normal case is kept. An upper-case one is looked up in the hints (the
    request, the title, the unit names), else rewritten: acronyms kept, "tỉnh", "huyện" … in
    lower case with the place name after them capitalised, otherwise the first two words
    capitalised and the rest in lower case.
    """
    name = " ".join(unicodedata.normalize("NFC", name).split())
    if name != name.upper():
        return name
    folded = name.casefold()
    for hint in hints:
        flat = " ".join(unicodedata.normalize("NFC", hint).split())
        at = flat.casefold().find(folded)
        if at >= 0 and len(flat.casefold()) == len(flat):
            return flat[at:at + len(name)]
    acronyms = set(_say("acronyms").split())
    levels = _say("admin_levels").split("|")
    lowered = name.lower()
    for level in levels:
        found = re.search(rf"(?:^|\s){re.escape(level)}\s", lowered)
        if found:
            head_words = name[:found.start()].split()
            if " ".join(head_words).lower() in _say("plain_heads").split("|"):
                head = [head_words[0].capitalize(), *(w.lower() for w in head_words[1:])]
            else:
                head = _generic_case(head_words, acronyms)
            tail = [w.capitalize() for w in name[found.end():].split()]
            return " ".join([*head, level, *tail])
    return " ".join(_generic_case(name.split(), acronyms))


def _generic_case(words: list[str], acronyms: set[str]) -> list[str]:
    result = []
    for i, word in enumerate(words):
        if word in acronyms:
            result.append(word)
        elif i < 2:
            result.append(word.capitalize())
        else:
            result.append(word.lower())
    return result


def typographic_quotes(text: str) -> str:
    """Return the text with straight double quotes paired as “…” (left as is when unpaired)."""
    if text.count('"') % 2:
        return text
    parts = text.split('"')
    return "".join(p + ("“" if i % 2 == 0 else "”") if i < len(parts) - 1 else p
                   for i, p in enumerate(parts))


def signer_title(agency: str) -> str:
    """Return the head's title for an agency name ("SỞ NỘI VỤ" -> "GIÁM ĐỐC")."""
    name = _upper(" ".join(agency.split()))
    for line in _say("signer_titles").splitlines():
        prefix, _, title = line.partition("=")
        if prefix.strip() and name.startswith(_upper(prefix.strip()) + " "):
            return title.strip()
    return _say("signer_title")


def _inline_subject(subject: str) -> str:
    """Return the subject for use after "Trên đây là báo cáo …", without a second "báo cáo"."""
    word = _say("doc_type_word")
    if subject.casefold().startswith(word.casefold() + " "):
        subject = subject[len(word) + 1:]
    return _lower_first(subject)


def _upper(text: str) -> str:
    return unicodedata.normalize("NFC", text).upper()


def _upper_first(text: str) -> str:
    return text[:1].upper() + text[1:]


def _lower_first(text: str) -> str:
    """Lower the first letter unless the first word is an acronym ("COVID", "UBND")."""
    first = text.split(" ", 1)[0]
    if len(first) > 1 and first.isupper():
        return text
    return text[:1].lower() + text[1:]


def _strip_end(text: str) -> str:
    return text.strip().rstrip(".;,")


def _end(text: str) -> str:
    text = text.strip()
    return text if text.endswith(_PUNCT_END) else text + "."


def _clean(value: Any) -> Any:
    """Return the context with every string NFC-normalised and without control characters."""
    if isinstance(value, str):
        text = value.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")
        return _CONTROL.sub("", unicodedata.normalize("NFC", text))
    if isinstance(value, Mapping):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


# -- rendering and layout ----------------------------------------------------------------------


class _Template(DocxTemplate):  # type: ignore[misc]
    """docxtpl's DocxTemplate, writing the same document in less time."""

    def resolve_listing(self, xml: str) -> str:
        """Turn tab, line-break … characters into runs, only in paragraphs that have some.

        docxtpl rewrites every paragraph, run and text with regular expressions; a paragraph
        without those characters comes out unchanged, so it is passed over as is.
        """
        if not _has_listing(xml):
            return xml
        resolve = super().resolve_listing

        def paragraph(match: re.Match[str]) -> str:
            text = match.group(0)
            return resolve(text) if _has_listing(text) else text

        resolved: str = _PARAGRAPH.sub(paragraph, xml)
        return resolved

    # Moving the parsed body into the document, lxml (6.0) looks up the namespace of every
    # ``xml:space`` attribute again through a cache that grows by one entry each time: quadratic,
    # 0.4 s for the 40,000 texts of a thousand units, 1.4 s for two thousand. So the body is
    # parsed with a plain marker attribute in their place, and ``xml:space`` is set back after
    # the move. A body that already has the marker's name anywhere is left to docxtpl as is.
    _spaces_marked = False

    def fix_tables(self, xml: str) -> Any:
        self._spaces_marked = _SPACE_MARK not in xml
        if self._spaces_marked:
            xml = xml.replace(_PRESERVED_TEXT, _MARKED_TEXT)
        return super().fix_tables(xml)

    def map_tree(self, tree: Any) -> None:
        super().map_tree(tree)
        if self._spaces_marked:
            for t in tree.iter(_W_T):
                if t.get(_SPACE_MARK) is not None:
                    del t.attrib[_SPACE_MARK]
                    t.set(_XML_SPACE, "preserve")


def _has_listing(xml: str) -> bool:
    return any(char in xml for char in _LISTING)


def _render(template: Path, context: dict[str, Any], out: Path) -> Path:
    document = _Template(str(template))
    env = Environment(autoescape=True, undefined=StrictUndefined)
    try:
        document.render(context, jinja_env=env, autoescape=True)
    except Exception as error:  # jinja2 and lxml errors from a template a person edited
        raise RenderError(f"{template.name}: {type(error).__name__}: {error}") from error
    fix_layout(document.docx)
    out.parent.mkdir(parents=True, exist_ok=True)
    document.save(str(out))
    return out


def fix_layout(document: Any) -> None:
    """Size the ND30 lines and the appendix tables of a rendered document."""
    widths = _Metrics(document)
    body = document.element.body
    for p in _line_candidates(body, widths):
        share = LINE_SHARE.get(widths.style_name(p) or "")
        if share is not None:
            _fit_line(p, share, widths, document)
    appendix_id = widths.style_id(STYLE_APPENDIX_TABLE)
    for table in body.iter(_W_TBL):
        style = table.find(_TBL_STYLE)
        if style is not None and style.get(_W_VAL) == appendix_id:
            _fit_columns(table, widths, document)


def _line_candidates(body: Any, widths: _Metrics) -> Iterable[Any]:
    """Return the paragraphs that may be in a line style, in document order: those that name
    one (found without visiting the thousands of others), or all when one is the default."""
    ids = {sid for sid, name in widths.names.items() if name in LINE_SHARE}
    if widths.default_style in ids:
        return body.iter(_W_P)  # type: ignore[no-any-return]
    found: list[Any] = []
    for ref in body.iter(_W_PSTYLE):
        if ref.get(_W_VAL) not in ids:
            continue
        ppr = ref.getparent()
        p = None if ppr is None or ppr.tag != _W_PPR else ppr.getparent()
        if p is not None and p.tag == _W_P and (not found or found[-1] is not p):
            found.append(p)
    return found


@dataclass(frozen=True)
class _Font:
    half_points: int
    bold: bool


class _Metrics:
    """Font sizes of paragraphs, resolved through their styles, and text widths."""

    def __init__(self, document: Any) -> None:
        self.styles: dict[str, Any] = {}
        self.names: dict[str, str] = {}
        for style in document.styles.element.findall(qn("w:style")):
            sid = style.get(qn("w:styleId"))
            name = style.find(qn("w:name"))
            self.styles[sid] = style
            if name is not None:
                self.names[sid] = name.get(qn("w:val"))
        defaults = document.styles.element.find(f"{qn('w:docDefaults')}/{qn('w:rPrDefault')}")
        size = None if defaults is None else defaults.find(f"{qn('w:rPr')}/{qn('w:sz')}")
        self.default_size = 24 if size is None else int(size.get(qn("w:val")))
        self.default_style = next((sid for sid, s in self.styles.items()
                                   if s.get(qn("w:default")) in ("1", "true")
                                   and s.get(qn("w:type")) == "paragraph"), None)
        self._style_chains: dict[str | None, list[Any]] = {}
        self._style_fonts: dict[str | None, tuple[int | None, bool | None]] = {}

    def style_id(self, name: str) -> str | None:
        return next((sid for sid, n in self.names.items() if n == name), None)

    def style_name(self, p: Any) -> str | None:
        sid = self._pstyle(p)
        return None if sid is None else self.names.get(sid)

    def _pstyle(self, p: Any) -> str | None:
        for ppr in p.iterchildren(_W_PPR):  # as p.find("w:pPr/w:pStyle"), without ElementPath
            for ref in ppr.iterchildren(_W_PSTYLE):
                return ref.get(_W_VAL)  # type: ignore[no-any-return]
        return self.default_style

    def font(self, p: Any, run: Any = None) -> _Font:
        """Return the size and weight of a run: its own properties, then its paragraph style's
        and the styles that one is based on, the first found of each winning."""
        size: int | None = None
        bold: bool | None = None
        own = None if run is None else run.find(_W_RPR)
        if own is not None:
            size, bold = _rpr_font(own, size, bold)
        if size is None or bold is None:
            sid = self._pstyle(p)
            if size is None and bold is None:
                found = self._style_fonts.get(sid)
                if found is None:
                    found = self._style_fonts[sid] = self._through_styles(sid, None, None)
                size, bold = found
            else:
                size, bold = self._through_styles(sid, size, bold)
        return _Font(size or self.default_size, bool(bold))

    def _through_styles(self, sid: str | None, size: int | None,
                        bold: bool | None) -> tuple[int | None, bool | None]:
        chain = self._style_chains.get(sid)
        if chain is None:
            chain = self._style_chains[sid] = self._style_chain(sid)
        for rpr in chain:
            size, bold = _rpr_font(rpr, size, bold)
        return size, bold

    def _style_chain(self, sid: str | None) -> list[Any]:
        """Return the run properties of a style and of those it is based on, nearest first."""
        chain = []
        seen: set[str] = set()
        while sid is not None and sid not in seen and sid in self.styles:
            seen.add(sid)
            style = self.styles[sid]
            rpr = style.find(qn("w:rPr"))
            if rpr is not None:
                chain.append(rpr)
            based = style.find(qn("w:basedOn"))
            sid = None if based is None else based.get(qn("w:val"))
        return chain

    def paragraph_width(self, p: Any) -> int:
        """Return the width of a paragraph's text on one line, in twips."""
        return self.measure(p)[0]

    def longest_word(self, p: Any) -> int:
        return self.measure(p)[1]

    def measure(self, p: Any) -> tuple[int, int]:
        """Return the width of a paragraph's text on one line and of its longest word, in twips."""
        total = 0
        best = 0
        for run in p.iter(_W_R):
            font = self.font(p, run)
            text = "".join(t.text or "" for t in run.iter(_W_T))
            total += text_width(text, font.half_points, font.bold)
            for word in text.split():
                best = max(best, text_width(word, font.half_points, font.bold))
        return total, best


def _rpr_font(rpr: Any, size: int | None, bold: bool | None) -> tuple[int | None, bool | None]:
    """Return (size, bold) completed, where still None, from one run-properties element."""
    if size is None:
        sz = rpr.find(_W_SZ)
        if sz is not None:
            size = int(sz.get(_W_VAL))
    if bold is None:
        b = rpr.find(_W_B)
        if b is not None:
            bold = b.get(_W_VAL, "true") not in ("0", "false")
    return size, bold


def text_width(text: str, half_points: int, bold: bool = False) -> int:
    """Return the width of a text in Times New Roman, in twips (1/20 pt)."""
    known = _CHAR_UNITS[bool(bold)]
    units = 0
    for char in unicodedata.normalize("NFC", text):
        width = known.get(char)
        if width is None:
            width = known[char] = _char_units(char, bool(bold))
        units += width
    return units * half_points // 100  # units/1000 em * (half_points/2) pt * 20 twips


def _char_units(char: str, bold: bool) -> int:
    """Return the advance width of one character in 1/1000 em."""
    if char in _WIDE:
        return _WIDE[char]
    base = _EXTRA.get(char) or unicodedata.normalize("NFD", char)[:1]
    return (_BOLD if bold else _REGULAR).get(base, 500)


def _container_width(p: Any, document: Any) -> int:
    """Return the width available to a paragraph: its cell's, else the page's text width."""
    cell = next((a for a in p.iterancestors() if a.tag == qn("w:tc")), None)
    if cell is not None:
        width = cell.find(f"{qn('w:tcPr')}/{qn('w:tcW')}")
        table = next(a for a in cell.iterancestors() if a.tag == qn("w:tbl"))
        left, right = _cell_margins(table)
        if width is not None and width.get(qn("w:type"), "dxa") == "dxa":
            return int(width.get(qn("w:w"))) - left - right
    section = document.sections[-1]
    return int(section.page_width - section.left_margin - section.right_margin) // 635


def _cell_margins(table: Any) -> tuple[int, int]:
    margins = table.find(f"{qn('w:tblPr')}/{qn('w:tblCellMar')}")
    found = []
    for side in ("left", "right"):
        el = None if margins is None else margins.find(qn(f"w:{side}"))
        if el is None and margins is not None:
            el = margins.find(qn("w:start" if side == "left" else "w:end"))
        found.append(DEFAULT_CELL_MARGIN if el is None else int(el.get(qn("w:w"))))
    return found[0], found[1]


def _fit_line(p: Any, share: Decimal, widths: _Metrics, document: Any) -> None:
    """Centre a line paragraph under the paragraph above it, `share` of its text's width."""
    above = p.getprevious()
    while above is not None and above.tag != qn("w:p"):
        above = above.getprevious()
    if above is None:
        return
    available = _container_width(p, document)
    text = min(widths.paragraph_width(above), available)
    if text <= 0:
        return
    length = int(text * share)
    indent = max(0, (available - length) // 2)
    fmt = ParagraphFormat(p)
    fmt.left_indent = Twips(indent)
    fmt.right_indent = Twips(indent)
    fmt.first_line_indent = Twips(0)


def _fit_columns(table: Any, widths: _Metrics, document: Any) -> None:
    """Size the columns of a table to their content, like a browser's automatic table layout."""
    rows = table.findall(_W_TR)
    if not rows:
        return
    cells = [r.findall(_W_TC) for r in rows]
    count = len(cells[0])
    if any(len(c) != count for c in cells) or table.find(_ANY_GRID_SPAN) is not None:
        return  # merged cells: leave the widths a person set
    left, right = _cell_margins(table)
    pad = left + right + CELL_SLACK
    natural = [MIN_COLUMN] * count
    minimum = [MIN_COLUMN] * count
    for row_cells in cells:
        for i, cell in enumerate(row_cells):
            for p in cell.iter(_W_P):
                width, word = widths.measure(p)
                natural[i] = max(natural[i], width + pad)
                minimum[i] = max(minimum[i], word + pad)
    total = _container_width(table, document)
    columns = _distribute(total, natural, minimum)
    grid = table.find(qn("w:tblGrid"))
    for col in list(grid):
        grid.remove(col)
    for width in columns:
        grid.append(_el("w:gridCol", {"w:w": str(width)}))
    written = [str(width) for width in columns]
    for row_cells in cells:
        for text, cell in zip(written, row_cells, strict=True):
            tcpr = cell.find(_W_TCPR)
            if tcpr is None:
                tcpr = _el("w:tcPr")
                cell.insert(0, tcpr)
            tcw = tcpr.find(_W_TCW)
            if tcw is None:
                tcw = _el("w:tcW")
                tcpr.insert(0, tcw)
            tcw.set(_W_W, text)
            tcw.set(_W_TYPE, "dxa")
    tblw = table.find(f"{qn('w:tblPr')}/{qn('w:tblW')}")
    if tblw is not None:
        tblw.set(qn("w:w"), str(sum(columns)))
        tblw.set(qn("w:type"), "dxa")


def _distribute(total: int, natural: list[int], minimum: list[int]) -> list[int]:
    """Return column widths adding up to `total`: natural widths if they fit, else each column's
    longest word plus a share of the rest in proportion to how much more it would like."""
    if sum(natural) <= total:
        extra = total - sum(natural)
        wide = sum(n - m for n, m in zip(natural, minimum, strict=True)) or sum(natural)
        keys = [n - m for n, m in zip(natural, minimum, strict=True)]
        if not any(keys):
            keys = natural
        result = [n + extra * k // wide for n, k in zip(natural, keys, strict=True)]
    elif sum(minimum) <= total:
        extra = total - sum(minimum)
        want = [n - m for n, m in zip(natural, minimum, strict=True)]
        result = [m + extra * w // (sum(want) or 1) for m, w in zip(minimum, want, strict=True)]
    else:
        result = [m * total // sum(minimum) for m in minimum]
    result[-1] += total - sum(result)
    return result


def _el(tag: str, attrs: Mapping[str, str] | None = None) -> Any:
    from docx.oxml import OxmlElement

    element = OxmlElement(tag)
    for key, value in (attrs or {}).items():
        element.set(qn(key), value)
    return element
