"""The data of a round as du-lieu.xlsx and du-lieu.csv: one row per unit, one column per question.

CSV cells follow PRODUCT.md, for programs: the machine columns (unit_code, unit_name, status as
its machine value, one column per question id), plain digits with "." as decimal point, ISO
dates, yes/no as "có"/"không", list items joined by " | ". The XLSX is for people: each
question's heading over its id, the status in words, "Có"/"Không", numbers and dates as typed
cells with thousands separators and dd/mm/yyyy, frozen header rows, an autofilter, columns as
wide as their content (long text wraps), a sheet listing the questions and a sheet per list
question. No text cell is ever stored as a formula.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from copy import copy
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font
from openpyxl.styles.cell_style import StyleArray
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from bot import texts
from bot.campaigns.spec import CampaignSpec
from bot.display import format_document
from bot.documents.wording import question_heading, upper_first
from bot.model import Sheet
from bot.parsing.text import clean_value
from bot.questionnaire import Question
from bot.texts import vn_dec, vn_int

JOIN = " | "
FIXED = ("unit_code", "unit_name", "status")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def cell_value(question: Question, value: Any) -> Any:
    """Return a stored answer as a typed spreadsheet value (int, Decimal, date, str, None)."""
    if value is None or value == []:
        return None
    kind = question.type
    if kind in ("integer", "money"):
        return int(value)
    if kind in ("number", "percent"):
        return Decimal(str(value))
    if kind == "date":
        return date.fromisoformat(value)
    if kind == "yesno":
        return texts.render("export.yes" if value else "export.no")
    if kind in ("choice", "multichoice"):
        items = list(value.get("selected") or [])
        return JOIN.join([*items, value["other"]] if value.get("other") else items)
    if kind == "documents":
        return JOIN.join(format_document(d) for d in value)
    if kind == "list":
        return JOIN.join(value)
    if kind == "file":
        return JOIN.join(f["name"] for f in value)
    return str(value)


def csv_text(value: Any) -> str:
    """Return a typed value as a CSV field; text that a spreadsheet would run gets a quote."""
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, date):
        return value.isoformat()
    text = str(value)
    if isinstance(value, str) and text.startswith(FORMULA_START):
        return "'" + text
    return text


def rows(spec: CampaignSpec, sheets: Iterable[Sheet]) -> list[list[Any]]:
    """Return one typed row per unit; answers of hidden questions are left empty."""
    questionnaire = spec.questionnaire
    result = []
    for sheet in sheets:
        shown = {q.id for q in questionnaire.visible(sheet.answers)}
        row: list[Any] = [sheet.code, sheet.name, sheet.status]
        for question in questionnaire.questions:
            value = sheet.answers.get(question.id) if question.id in shown else None
            row.append(cell_value(question, clean_value(value)))
        result.append(row)
    return result


def write_csv(spec: CampaignSpec, sheets: list[Sheet], path: Path) -> Path:
    """Write du-lieu.csv (UTF-8 with BOM so spreadsheet programs read the diacritics)."""
    header = [*FIXED, *(q.id for q in spec.questionnaire.questions)]
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows([csv_text(v) for v in row] for row in rows(spec, sheets))
    return path


@dataclass(frozen=True)
class Column:
    """One spreadsheet column: the title a person reads, the machine name under it (the data
    sheet's second header row, the CSV's header) and the question type that picks its format."""

    title: str
    key: str | None = None
    kind: str = "text"


HEADING_WIDTH = 30  # a longer heading wraps onto more lines instead of widening its column
MIN_WIDTH, MAX_WIDTH = 8, 60  # characters; longer content wraps
MAX_PLACES = 4
DATE_FORMAT = "dd/mm/yyyy"
HEAD = Font(bold=True)
KEY = Font(italic=True, color="595959")
TOP = Alignment(vertical="top")
WRAP = Alignment(vertical="top", wrap_text=True)


def write_xlsx(spec: CampaignSpec, sheets: list[Sheet], path: Path) -> Path:
    """Write du-lieu.xlsx: data sheet, questions sheet, one sheet per list question.

    The data sheet's first row holds each question's heading, the second its id (the CSV's
    header, so a person can match the two files and a filter sits on a row of short names);
    both rows are frozen with the unit's code, name and status.
    """
    book = Workbook(write_only=True)
    questions = spec.questionnaire.questions
    columns = [*(Column(texts.render(f"export.col_{c}"), c) for c in FIXED),
               *(Column(question_heading(q), q.id, q.type) for q in questions)]
    body = [_for_people(spec, row) for row in rows(spec, sheets)]
    _write(book.create_sheet(texts.render("export.sheet_data")), columns, body, frozen=3)
    _questions_sheet(book.create_sheet(texts.render("export.sheet_questions")), spec)
    for question in questions:
        if question.type in ("documents", "list"):
            _list_sheet(book.create_sheet(question.id[:31]), question, sheets, spec)
    book.save(path)
    return path


def _for_people(spec: CampaignSpec, row: list[Any]) -> list[Any]:
    """Return a CSV row as a person reads it: the status in words, "Có"/"Không"."""
    shown = [*row[:2], upper_first(texts.render(f"status.{row[2]}"))]
    for question, value in zip(spec.questionnaire.questions, row[len(FIXED):], strict=True):
        shown.append(upper_first(value) if question.type == "yesno" and value else value)
    return shown


def _write(sheet: WriteOnlyWorksheet, columns: list[Column], body: list[list[Any]],
           frozen: int = 0) -> None:
    """Write a header (two rows when the columns have machine names), then the body, with
    number formats, widths that fit the content, frozen header rows and an autofilter."""
    header_rows = 2 if any(c.key for c in columns) else 1
    formats, wraps = [], []
    for index, column in enumerate(columns):
        values = [row[index] for row in body]
        places = _places(values) if column.kind in ("number", "percent") else 0
        formats.append(_number_format(column.kind, places))
        content = max((_width(v, column.kind, places) for v in values), default=0)
        title = min(len(column.title), HEADING_WIDTH)
        longest_word = max((len(w) for w in column.title.split()), default=0)
        width = max(content, title, longest_word, len(column.key or "")) + 2
        sheet.column_dimensions[get_column_letter(index + 1)].width = min(
            max(width, MIN_WIDTH), MAX_WIDTH)
        wraps.append(content + 2 > MAX_WIDTH)
    last = get_column_letter(len(columns))
    sheet.freeze_panes = f"{get_column_letter(frozen + 1)}{header_rows + 1}"
    sheet.auto_filter.ref = f"A{header_rows}:{last}{header_rows + len(body)}"
    styles = _Styles(sheet)
    sheet.append([styles.cell(c.title, font=HEAD, alignment=WRAP) for c in columns])
    if header_rows == 2:
        sheet.append([styles.cell(c.key, font=KEY) for c in columns])
    for values in body:
        sheet.append([styles.cell(value, number_format=number_format,
                                  alignment=WRAP if wrap else TOP)
                      for value, number_format, wrap in zip(values, formats, wraps, strict=True)])


class _Styles:
    """The style of each (number format, font, alignment) a sheet uses, built once.

    openpyxl looks every style a cell is given up in the workbook's style tables (hashing the
    style objects) once per cell; a column's cells share theirs, so each combination is looked
    up once and its indices copied into the other cells.
    """

    def __init__(self, sheet: WriteOnlyWorksheet) -> None:
        self.sheet = sheet
        # keyed by identity: hashing a Font or an Alignment is what this saves
        self.known: dict[tuple[str | None, int, int], StyleArray] = {}

    def cell(self, value: Any, number_format: str | None = None, font: Font | None = None,
             alignment: Alignment | None = None) -> WriteOnlyCell | None:
        if value is None:
            return None
        cell = WriteOnlyCell(self.sheet, value)
        if isinstance(value, str):
            cell.data_type = "s"  # openpyxl would store "=…" as a formula
            number_format = None
        key = (number_format, id(font), id(alignment))
        style = self.known.get(key)
        if style is None:
            if number_format:
                cell.number_format = number_format
            if font:
                cell.font = font
            if alignment:
                cell.alignment = alignment
            self.known[key] = copy(cell._style)
        else:
            cell._style = copy(style)
        return cell


def _places(values: Iterable[Any]) -> int:
    """Return the decimal places the most precise value of a column needs (at most 4)."""
    places = 0
    for value in values:
        if isinstance(value, Decimal):
            exponent = value.normalize().as_tuple().exponent
            if isinstance(exponent, int):
                places = max(places, -exponent)
    return min(places, MAX_PLACES)


def _number_format(kind: str, places: int) -> str | None:
    """Return the format of a column's numbers and dates; Excel and LibreOffice show the
    separators of the reader's locale: "1.500.000.000", "99,5 %", "15/10/2023" in Vietnamese."""
    decimals = "." + "0" * places if places else ""
    if kind in ("integer", "money"):
        return "#,##0"
    if kind == "number":
        return "#,##0" + decimals
    if kind == "percent":
        return "0" + decimals + '" %"'
    if kind == "date":
        return DATE_FORMAT
    return None


def _width(value: Any, kind: str, places: int) -> int:
    """Return how many characters a cell shows (its longest line)."""
    if value is None:
        return 0
    if isinstance(value, int):
        return len(vn_int(value))
    if isinstance(value, Decimal):
        return len(vn_dec(value, places)) + (2 if kind == "percent" else 0)
    if isinstance(value, date):
        return len(DATE_FORMAT)
    return max(len(line) for line in str(value).splitlines() or [""])


def _questions_sheet(sheet: WriteOnlyWorksheet, spec: CampaignSpec) -> None:
    columns = [Column(texts.render(f"export.col_{c}"))
               for c in ("id", "heading", "section", "ask", "type", "unit")]
    body = [
        [q.id, question_heading(q), spec.questionnaire.sections[q.section].title, q.ask, q.type,
         q.unit]
        for q in spec.questionnaire.questions
    ]
    _write(sheet, columns, body)


def _list_sheet(sheet: WriteOnlyWorksheet, question: Question, sheets: list[Sheet],
                spec: CampaignSpec) -> None:
    body: list[list[Any]] = []
    for unit in sheets:
        if not spec.questionnaire.is_visible(question, unit.answers):
            continue
        for item in clean_value(unit.answers.get(question.id) or []):
            body.append([unit.code, unit.name, *_item_cells(question, item)])
    names = ("kind", "number", "date", "summary") if question.type == "documents" else ("item",)
    columns = [Column(texts.render("export.col_unit_code")),
               Column(texts.render("export.col_unit_name")),
               *(Column(texts.render(f"export.col_{n}"), kind="date" if n == "date" else "text")
                 for n in names)]
    _write(sheet, columns, body)


def _item_cells(question: Question, item: Any) -> list[Any]:
    if question.type != "documents":
        return [item]
    day = date.fromisoformat(item["date"]) if item.get("date") else None
    return [item.get("kind"), item.get("number"), day, item.get("summary")]


def export(spec: CampaignSpec, sheets: list[Sheet], out: Path) -> tuple[Path, Path]:
    """Write both data files into `out` and return their paths."""
    out.mkdir(parents=True, exist_ok=True)
    xlsx = write_xlsx(spec, sheets, out / "du-lieu.xlsx")
    return xlsx, write_csv(spec, sheets, out / "du-lieu.csv")

