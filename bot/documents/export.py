"""The data of a round as du-lieu.xlsx and du-lieu.csv: one row per unit, one column per question.

CSV cells follow PRODUCT.md: plain digits with "." as decimal point, ISO dates, yes/no as
"có"/"không", list items joined by " | ". The XLSX has typed number and date cells, a frozen
header, a sheet listing the questions and a sheet per list question. No text cell is ever
stored as a formula.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.worksheet.worksheet import Worksheet

from bot import texts
from bot.campaigns.spec import CampaignSpec
from bot.display import format_document
from bot.model import Sheet
from bot.parsing.text import clean_value
from bot.questionnaire import Question

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


def write_xlsx(spec: CampaignSpec, sheets: list[Sheet], path: Path) -> Path:
    """Write du-lieu.xlsx: data sheet, questions sheet, one sheet per list question."""
    book = Workbook()
    data = book.active
    assert data is not None
    data.title = texts.render("export.sheet_data")
    _fill(data, [*FIXED, *(q.id for q in spec.questionnaire.questions)], rows(spec, sheets))
    data.freeze_panes = "D2"
    _questions_sheet(book.create_sheet(texts.render("export.sheet_questions")), spec)
    for question in spec.questionnaire.questions:
        if question.type in ("documents", "list"):
            _list_sheet(book.create_sheet(question.id[:31]), question, sheets, spec)
    book.save(path)
    return path


def _fill(sheet: Worksheet, header: list[str], body: Iterable[list[Any]]) -> None:
    sheet.append(header)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for values in body:
        sheet.append(values)
    for row in sheet.iter_rows(min_row=1):
        for cell in row:
            if isinstance(cell.value, str):
                cell.data_type = "s"  # openpyxl would store "=…" as a formula
            elif isinstance(cell.value, date):
                cell.number_format = "DD/MM/YYYY"
    sheet.freeze_panes = "A2"


def _questions_sheet(sheet: Worksheet, spec: CampaignSpec) -> None:
    header = [texts.render(f"export.col_{c}") for c in ("id", "section", "ask", "type", "unit")]
    body = [
        [q.id, spec.questionnaire.sections[q.section].title, q.ask, q.type, q.unit]
        for q in spec.questionnaire.questions
    ]
    _fill(sheet, header, body)


def _list_sheet(sheet: Worksheet, question: Question, sheets: list[Sheet],
                spec: CampaignSpec) -> None:
    body: list[list[Any]] = []
    for unit in sheets:
        if not spec.questionnaire.is_visible(question, unit.answers):
            continue
        for item in clean_value(unit.answers.get(question.id) or []):
            body.append([unit.code, unit.name, *_item_cells(question, item)])
    columns = ("kind", "number", "date", "summary") if question.type == "documents" else ("item",)
    _fill(sheet, ["unit_code", "unit_name", *columns], body)


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

