"""The units taking part in a campaign: read from a CSV or XLSX table, or from campaign YAML rows.

Pure functions over bytes: the caller reads the file and passes its content and its name. Problems
are not raised here but handed to a ``report(code, file, line, field, **params)`` callback, so the
campaign loader can gather every problem of every file before it fails. In a table the line is the
row number in that file and the field is the column name (``code``); in YAML the caller gives the
row's field prefix (``units[3]``).

A table has a header row naming its columns ``code``, ``name`` and optionally ``group``, ``parent``
(the unit's cơ quan chủ quản), ``place`` (its địa danh) and ``symbol`` (the ký hiệu after "BC-")
(any case, any order); bot/documents/issuers.py fills what a row leaves empty. A CSV file is
UTF-8 (a BOM is allowed) separated by ``,``, ``;`` or a tab: whichever of
them the header line holds most, since Excel in a Vietnamese locale writes ``;``. Blank rows are
skipped. An XLSX file is read from its first sheet; numbers in cells become text
(``101.0`` → ``101``).

Decisions:
- What is read is bounded: at most MAX_ROWS units (non-blank rows after the header) and
  MAX_SCANNED_ROWS rows in all; an XLSX workbook of at most MAX_XLSX_BYTES unpacked (its zip
  directory is read before openpyxl opens it) and its first MAX_COLUMNS columns; a CSV cell as
  long as the csv module allows (``cell_too_long`` beyond).
- A formula is read as the value last computed and saved in the workbook (openpyxl's data_only):
  a formula never computed, as in a workbook written by a program, reads as an empty cell.
- A control character in a cell is refused (``control_character``): no document can hold it.
- ``parent`` written as "-" means the unit has no cơ quan chủ quản; left empty, it is derived.
"""

from __future__ import annotations

import csv
import difflib
import io
import re
import unicodedata
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

import openpyxl

COLUMNS = ("code", "name", "group", "parent", "place", "symbol")
HEADER_COLUMNS = ("parent", "place", "symbol")  # optional, for the unit's own report
MAX_ROWS = 10_000
MAX_SCANNED_ROWS = 100_000
MAX_COLUMNS = 50
MAX_XLSX_BYTES = 20_000_000
CODE_RE = re.compile(r"^[A-Za-z0-9_-]+$")
SYMBOL_RE = re.compile(r"^[^\W_]+(?:[-&][^\W_]+)*$")  # ký hiệu: "UBND", "SGDĐT", "CCHC&PC"
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x84\x86-\x9f]")  # no document holds them
# Problem codes this module reports, with their params (see templates/messages/campaign_file.yaml).
PARAMS: dict[str, tuple[str, ...]] = {
    "bad_encoding": (),
    "empty_file": (),
    "bad_xlsx": ("error",),
    "xlsx_too_large": ("limit",),
    "too_many_rows": ("limit",),
    "cell_too_long": ("limit",),
    "control_character": ("char", "column"),  # column: in a YAML line, None in a table
    "missing_columns": ("missing", "found"),
    "unknown_column": ("column", "suggestion", "allowed"),
    "duplicate_column": ("column",),
    "empty_value": (),
    "bad_unit_code": ("value",),
    "bad_symbol": ("value",),
    "duplicate_unit": ("code", "first_line"),
    "no_units": (),
}


class Report(Protocol):
    """Record one problem found in a file."""

    def __call__(
        self, code: str, file: str, line: int | None, field: str, /, **params: object
    ) -> None:
        """Record one problem (see PARAMS for the params of each code)."""


@dataclass(frozen=True)
class Unit:
    """A reporting unit: a department, a district, a school."""

    code: str
    name: str
    group: str | None = None
    parent: str | None = None  # cơ quan chủ quản; None: derived from the name, "" for none
    place: str | None = None
    symbol: str | None = None


@dataclass(frozen=True)
class UnitRow:
    """One unit as written, before its code and name are checked."""

    line: int | None
    where: str  # field prefix: "units[3]" in YAML, "" in a table
    code: str
    name: str
    group: str | None = None
    parent: str | None = None
    place: str | None = None
    symbol: str | None = None


def clean(text: str) -> str:
    """Return text NFC-normalised and stripped."""
    return unicodedata.normalize("NFC", text).strip()


def suggest(word: str, choices: Iterable[str]) -> str | None:
    """Return the choice closest to a misspelt word, if one is close."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return close[0] if close else None


def field_at(where: str, key: str) -> str:
    """Return the dotted field path of a key under a prefix."""
    return f"{where}.{key}" if where else key


def find_control(text: str) -> str | None:
    """Return the first control character in a text (tab and line breaks aside) as U+XXXX."""
    match = _CONTROL.search(text)
    return None if match is None else f"U+{ord(match[0]):04X}"


def decode_utf8(data: bytes, file: str, report: Report) -> str | None:
    """Return the text of UTF-8 bytes (BOM dropped), or report the line that is not UTF-8."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        report("bad_encoding", file, data[: exc.start].count(b"\n") + 1, "")
        return None


def parse_csv(data: bytes, file: str, report: Report) -> list[UnitRow]:
    """Return the rows of a units CSV file."""
    text = decode_utf8(data, file, report)
    if text is None:
        return []
    try:
        filled = _filled(_csv_lines(text), file, report)
    except _CellTooLong as exc:
        report("cell_too_long", file, exc.line, "", limit=csv.field_size_limit())
        return []
    return [] if filled is None else _table_rows(filled, file, report)


def parse_xlsx(data: bytes, file: str, report: Report) -> list[UnitRow]:
    """Return the rows of the first sheet of a units XLSX workbook."""
    if _unpacked_size(data) > MAX_XLSX_BYTES:
        report("xlsx_too_large", file, None, "", limit=MAX_XLSX_BYTES)
        return []
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        try:
            rows = workbook.worksheets[0].iter_rows(values_only=True, max_col=MAX_COLUMNS)
            filled = _filled((
                (number, [_cell_text(v) for v in values]) for number, values in enumerate(rows, 1)
            ), file, report)
        finally:
            workbook.close()
    except Exception as exc:  # a broken upload may fail anywhere inside openpyxl
        report("bad_xlsx", file, None, "", error=str(exc) or type(exc).__name__)
        return []
    return [] if filled is None else _table_rows(filled, file, report)


def build_units(rows: Sequence[UnitRow], file: str, line: int | None, where: str,
                report: Report) -> list[Unit]:
    """Check codes and names of the rows and return the units; line and where locate "none"."""
    if not rows:
        report("no_units", file, line, where)
    first: dict[str, int | None] = {}
    units = []
    for row in rows:
        _check_row(row, first, file, report)
        units.append(Unit(row.code, row.name, row.group or None, row.parent, row.place or None,
                          row.symbol or None))
    return units


def _check_row(row: UnitRow, first: dict[str, int | None], file: str, report: Report) -> None:
    """Report a bad or repeated code and an empty name; remember the code's line."""
    code_field = field_at(row.where, "code")
    if not row.code:
        report("empty_value", file, row.line, code_field)
    elif not CODE_RE.match(row.code):
        report("bad_unit_code", file, row.line, code_field, value=row.code)
    elif row.code in first:
        report("duplicate_unit", file, row.line, code_field, code=row.code,
               first_line=first[row.code])
    else:
        first[row.code] = row.line
    if not row.name:
        report("empty_value", file, row.line, field_at(row.where, "name"))
    if row.symbol and (not SYMBOL_RE.match(row.symbol) or row.symbol.upper().startswith("BC-")):
        # "BC-" is the report's own part of the ký hiệu: "…/BC-SXD" from the symbol "SXD"
        report("bad_symbol", file, row.line, field_at(row.where, "symbol"), value=row.symbol)


class _CellTooLong(Exception):
    """A CSV cell longer than the csv module reads, on the record starting at a line."""

    def __init__(self, line: int) -> None:
        super().__init__(line)
        self.line = line


def _csv_lines(text: str) -> Iterator[tuple[int, list[str]]]:
    """Yield each CSV record with the line it starts on."""
    head = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = max(",;\t", key=head.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    start = 1
    try:
        for record in reader:
            yield start, record
            start = reader.line_num + 1
    except csv.Error as exc:  # the only one a default reader raises: a field over the limit
        raise _CellTooLong(start) from exc


def _unpacked_size(data: bytes) -> int:
    """Return the size a workbook's zip directory declares unpacked (0 if it is no zip)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, EOFError, ValueError):
        return 0  # openpyxl tells what is wrong with it


def _cell_text(value: object) -> str:
    """Return an XLSX cell value as text."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _filled(lines: Iterable[tuple[int, list[str]]], file: str,
            report: Report) -> list[tuple[int, list[str]]] | None:
    """Return the non-blank rows, cleaned; None after reporting a table past the limits."""
    filled = []
    for scanned, (number, cells) in enumerate(lines, 1):
        cleaned = [clean(c) for c in cells]
        if any(cleaned):
            filled.append((number, cleaned))
        if len(filled) > MAX_ROWS + 1 or scanned > MAX_SCANNED_ROWS:
            report("too_many_rows", file, None, "", limit=MAX_ROWS)
            return None
    return filled


def _table_rows(filled: list[tuple[int, list[str]]], file: str, report: Report) -> list[UnitRow]:
    """Return the unit rows of a table whose first non-blank row is the header."""
    if not filled:
        report("empty_file", file, None, "")
        return []
    header_line, header = filled[0]
    for number, cells in filled:
        for position, cell in enumerate(cells):
            char = find_control(cell)
            if char is not None:
                name = header[position] if number != header_line and position < len(header) else ""
                report("control_character", file, number, name, char=char, column=None)
    columns = _columns(header, header_line, file, report)
    if columns is None:
        return []
    return [_table_row(n, cells, columns) for n, cells in filled[1:]]


def _columns(header: list[str], line: int, file: str, report: Report) -> dict[str, int] | None:
    """Return the position of each known column, or None if code or name is missing."""
    names = [h.casefold() for h in header]
    columns: dict[str, int] = {}
    for position, name in enumerate(names):
        if name in columns:
            report("duplicate_column", file, line, "", column=header[position])
        elif name in COLUMNS:
            columns[name] = position
        elif name:
            report("unknown_column", file, line, "", column=header[position],
                   suggestion=suggest(name, COLUMNS), allowed=", ".join(COLUMNS))
    missing = [c for c in ("code", "name") if c not in columns]
    if missing:
        report("missing_columns", file, line, "", missing=", ".join(missing),
               found=", ".join(h for h in header if h))
        return None
    return columns


def _table_row(line: int, cells: list[str], columns: dict[str, int]) -> UnitRow:
    """Return one table row as a UnitRow."""
    def cell(name: str) -> str:
        position = columns.get(name)
        return cells[position] if position is not None and position < len(cells) else ""

    return UnitRow(line, "", cell("code"), cell("name"), cell("group") or None,
                   parent_cell(cell("parent")), cell("place") or None, cell("symbol") or None)


def parent_cell(parent: str) -> str | None:
    """Return a written parent: "-" means no chủ quản (""), an empty one derives it (None)."""
    if parent in ("-", "–", "—"):
        return ""
    return parent or None
