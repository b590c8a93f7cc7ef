"""Document references ("Kế hoạch số 692/KH-SXD ngày 04/10/2021 …"): the Document value and the
reader. The document kinds and their abbreviations (Decree 30/2020/NĐ-CP) are in
templates/vocabulary/documents.json."""

from __future__ import annotations

import datetime
import json
import re
from dataclasses import dataclass
from functools import lru_cache

from bot.parsing.dates import match_date
from bot.parsing.numbers import PLAIN_RE
from bot.parsing.text import ParseError, fold, normalize_text
from bot.paths import templates_dir

__all__ = ["Document", "parse_document"]


@dataclass(frozen=True)
class Document:
    """One document reference: kind, number, date and what it is about."""

    kind: str | None
    number: str | None
    date: datetime.date | None
    summary: str


_VOCABULARY = json.loads((templates_dir() / "vocabulary" / "documents.json").read_text("utf-8"))
_KINDS: list[str] = _VOCABULARY["kinds"]
_ABBREVIATIONS: dict[str, str] = _VOCABULARY["abbreviations"]  # canonical spelling -> kind
_DEFAULT_KIND: str = _VOCABULARY["default_kind"]  # of a numbered document with no kind named
_ABBREVIATION_SPELLING = {abbr.upper(): abbr for abbr in _ABBREVIATIONS}
_KIND_BY_ABBREVIATION = {abbr.upper(): kind for abbr, kind in _ABBREVIATIONS.items()}
_KIND_WORDS = {fold(kind): kind for kind in _KINDS}
_KIND_WORD_RE = re.compile(
    "|".join(sorted(map(re.escape, _KIND_WORDS), key=len, reverse=True)) + r"(?![^\W_])"
)
_KIND_ABBR_RE = re.compile(r"[^\W\d_]{2,4}(?![^\W\d_])")
_BULLET_RE = re.compile(r"(?:[-+*•–]|[0-9]{1,2}[.)]) ")
_NUMBER_INTRO_RE = re.compile(r" ?:? ?(?P<so>(?:so|no\.?) ?:? ?)?")
_DOC_NUMBER_RE = re.compile(r"(?>[0-9]+[^\W\d_]?(?:[/-][^\W_]+(?:&[^\W_]+)*)*)(?![^\W_])")
_NUMBER_PART_SEP_RE = re.compile(r"([/-])")
_LETTER_RE = re.compile(r"[^\W\d_]")
_DATE_LEAD_RE = re.compile(r" ?[,;]? ?(?:ngay ?:? ?)?")
_SUMMARY_EDGES = " ,;:-–—"


@lru_cache(maxsize=4096)
def _fold_char(char: str) -> str:
    """Return one character folded to exactly one character (itself when it cannot be)."""
    folded = fold(char)
    return folded if len(folded) == 1 else char


def _read_kind(line: str, folded: str) -> tuple[str | None, int, bool]:
    """Return the kind named at the start, where it ends, and whether it was an abbreviation."""
    word = _KIND_WORD_RE.match(folded)
    if word:
        return _KIND_WORDS[word.group()], word.end(), False
    abbr = _KIND_ABBR_RE.match(line)
    kind = _KIND_BY_ABBREVIATION.get(abbr.group().upper()) if abbr else None
    return (kind, abbr.end(), True) if abbr and kind else (None, 0, False)


def _read_number_ref(line: str, folded: str, pos: int) -> tuple[str | None, int]:
    """Return the document number at pos ("số 692/KH-SXD") and where it ends, or (None, pos)."""
    intro = _NUMBER_INTRO_RE.match(folded, pos)
    start = intro.end() if intro else pos
    match = _DOC_NUMBER_RE.match(line, start)
    if match is None:
        return None, pos
    parts = _NUMBER_PART_SEP_RE.split(match.group())
    # Without "số", digits alone (a date, "12/2021") are not a document number.
    if not (intro and intro["so"]) and not any(_LETTER_RE.search(p) for p in parts[2::2]):
        return None, pos
    return match.group(), match.end()


def _number_type(number: str) -> tuple[str, str | None]:
    """Return the number with its type part in canonical case, and the kind that part names."""
    parts = _NUMBER_PART_SEP_RE.split(number)
    for index in range(2, len(parts), 2):
        if PLAIN_RE.fullmatch(parts[index]):
            continue  # the year in "30/2020/NĐ-CP"
        spelling = _ABBREVIATION_SPELLING.get(parts[index].upper())
        if spelling is None:
            return number, None  # an issuer such as "SXD" in "1795/SXD-CCGD"
        parts[index] = spelling
        return "".join(parts), _ABBREVIATIONS[spelling]
    return number, None


def _read_doc_date(folded: str, pos: int, today: datetime.date
                   ) -> tuple[datetime.date | None, int]:
    """Return the date following pos ("ngày 04/10/2021", a bare date) and where it ends."""
    lead = _DATE_LEAD_RE.match(folded, pos)
    found = match_date(folded, lead.end() if lead else pos, today)
    if found is None or _LETTER_RE.match(folded, found[1]):
        return None, pos
    return found


def parse_document(text: str, today: datetime.date | None = None) -> Document:
    """Read a document reference: "Kế hoạch số 692/KH-SXD ngày 04/10/2021 tổ chức …".

    `today` resolves a two-digit year (default: the system's date).
    """
    line = " ".join(normalize_text(text).split())
    if not line:
        raise ParseError("empty")
    line = line[_bullet_end(line) :]
    folded = "".join(map(_fold_char, line))
    kind, pos, abbreviated = _read_kind(line, folded)
    number, pos = _read_number_ref(line, folded, pos)
    if abbreviated and number is None:
        kind, pos = None, 0  # "DA …" opening a sentence is a word, not "Dự án", without a number
    if number is not None:
        number, number_kind = _number_type(number)
        kind = kind or number_kind or _DEFAULT_KIND
    if kind is None:
        raise ParseError("document_unrecognised")
    day, pos = _read_doc_date(folded, pos, today or datetime.date.today())
    summary = line[pos:].strip(_SUMMARY_EDGES).rstrip(".").rstrip(_SUMMARY_EDGES)
    return Document(kind=kind, number=number, date=day, summary=summary)


def _bullet_end(line: str) -> int:
    """Return where a leading list marker ("- ", "1. ") ends, 0 if there is none."""
    bullet = _BULLET_RE.match(line)
    return bullet.end() if bullet and len(line) > bullet.end() else 0
