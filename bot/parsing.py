"""Read what people type in Vietnamese: numbers, money, percent, dates, yes/no, choices, documents.

Pure functions over str, stdlib only. Every failure is a ParseError whose code names the message
template ``error.<code>`` in templates/messages/parsing.yaml; its params are the template variables.
"""

from __future__ import annotations

import datetime
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Context, Decimal
from functools import lru_cache


class ParseError(ValueError):
    """A typed answer that cannot be read; code names the message shown to the person."""

    def __init__(self, code: str, **params: object) -> None:
        super().__init__(code)
        self.code = code
        self.params: dict[str, object] = params


@dataclass(frozen=True)
class Document:
    """One document reference: kind, number, date and what it is about."""

    kind: str | None
    number: str | None
    date: datetime.date | None
    summary: str


# --- text --------------------------------------------------------------------------------------

_LINE_SPACE_RE = re.compile(r"[^\S\n]+")
_DIGIT_RE = re.compile(r"[0-9]")
_SECOND_NUMBER_RE = re.compile(r"(?<![^\W\d_])[0-9]")  # a digit glued to a letter is a unit: m2


_COMBINING = {cp: None for cp in range(0x10000) if unicodedata.combining(chr(cp))}


def fold(text: str) -> str:
    """Return text lower-cased, without diacritics (đ→d) and with single spaces, for matching."""
    lowered = unicodedata.normalize("NFC", text).lower().replace("đ", "d")
    bare = unicodedata.normalize("NFD", lowered).translate(_COMBINING)
    if not bare.isascii():  # combining marks outside the Basic Multilingual Plane
        bare = "".join(c for c in bare if not unicodedata.combining(c))
    return " ".join(bare.split())


def normalize_text(text: str) -> str:
    """Return NFC text with single spaces, trimmed lines and at most one blank line in a row."""
    lines: list[str] = []
    for line in unicodedata.normalize("NFC", text).splitlines():
        line = _LINE_SPACE_RE.sub(" ", line).strip()
        if line or (lines and lines[-1]):
            lines.append(line)
    return "\n".join(lines).strip("\n")


def _folded(text: str) -> str:
    """Return the folded text, raising empty when nothing is left."""
    folded = fold(text)
    if not folded:
        raise ParseError("empty")
    return folded


# --- numbers -----------------------------------------------------------------------------------

# A space groups digits only when exactly three digits follow, so "300 người" and "1 3" stay apart.
_NUMERAL = r"(?>[0-9]+(?:(?:[.,]| (?=[0-9]{3}(?![0-9])))[0-9]+)*)"
_NUMERAL_RE = re.compile(_NUMERAL)
_GROUPED_RE = re.compile(r"[1-9][0-9]{0,2}(?:[ .,][0-9]{3})+")
_PLAIN_RE = re.compile(r"[0-9]+")
_SIGN_RE = re.compile(r"(?:^|(?<= ))(?P<sign>[-+\u2212\u2013]|am) ?$")
_FILLERS = frozenset(
    {"", "dat", "la", "duoc", "co", "gom", "bang", "tong", "tong cong", "tong so", "so",
     "so luong", "ty le", "ti le", "dat ty le", "so tien", "tong so tien"}
)  # fmt: skip
# Nobody types 60-digit numbers; the cap keeps Decimal arithmetic exact under _CONTEXT.
_MAX_NUMERAL = 60
_CONTEXT = Context(prec=4 * _MAX_NUMERAL, rounding=ROUND_HALF_UP)
_NUMBER_LIMIT = Decimal(10) ** 15


def _decimal_mark(raw: str) -> str:
    """Return the decimal mark of a numeral ("" if it has none)."""
    dots, commas = raw.count("."), raw.count(",")
    if dots and commas:
        return "." if raw.rfind(".") > raw.rfind(",") else ","
    if commas == 1:
        return ","
    if dots == 1 and not _GROUPED_RE.fullmatch(raw):
        return "."
    return ""


def _numeral_value(raw: str) -> Decimal | None:
    """Return the value of digits with grouping and decimal marks, or None if ill-formed."""
    if len(raw) > _MAX_NUMERAL:
        return None
    mark = _decimal_mark(raw)
    whole, frac = raw.rsplit(mark, 1) if mark else (raw, "")
    if mark and (mark in whole or not _PLAIN_RE.fullmatch(frac)):
        return None
    if not (_PLAIN_RE.fullmatch(whole) or _GROUPED_RE.fullmatch(whole)):
        return None
    digits = re.sub(r"[ .,]", "", whole)
    return Decimal(f"{digits}.{frac}" if frac else digits)


def _split_sign(lead: str) -> tuple[bool, str]:
    """Return whether the words before a number end with a minus, and those words without it."""
    match = _SIGN_RE.search(lead)
    if match is None:
        return False, lead
    return match["sign"] != "+", lead[: match.start()]


def _is_filler(lead: str) -> bool:
    """Return whether the words before a number may be ignored ("đạt", "tổng cộng:")."""
    return lead.strip(" :=") in _FILLERS


def _read_number(text: str) -> Decimal:
    """Return the one number in text, allowing filler words before it and a unit after it."""
    folded = _folded(text)
    match = _NUMERAL_RE.search(folded)
    if match is None:
        raise ParseError("not_a_number")
    negative, lead = _split_sign(folded[: match.start()])
    value = _numeral_value(match.group())
    if value is None or not _is_filler(lead) or _SECOND_NUMBER_RE.search(folded, match.end()):
        raise ParseError("not_a_number")
    return value.copy_negate() if negative and value else value


def _bounded(value: Decimal) -> Decimal:
    """Return value, raising number_too_large beyond what any count or measure needs."""
    if abs(value) >= _NUMBER_LIMIT:
        raise ParseError("number_too_large")
    return value


def parse_integer(text: str) -> int:
    """Read a whole number: "1.250", "1 250", "300 người", "-3"."""
    value = _bounded(_read_number(text))
    if value != value.to_integral_value():
        raise ParseError("not_integer")
    return int(value)


def parse_number(text: str) -> Decimal:
    """Read a decimal number: "1,5", "1.234,5", "-2,25"."""
    return _bounded(_read_number(text))


def parse_percent(text: str) -> Decimal:
    """Read a percentage from 0 to 100: "100%", "99,5 %", "99,5 phần trăm"."""
    value = _read_number(text)
    if not 0 <= value <= 100:
        raise ParseError("percent_out_of_range", value=value)
    return value


# --- money -------------------------------------------------------------------------------------

_SCALES = {"ty": 10**9, "ti": 10**9, "trieu": 10**6, "tr": 10**6, "nghin": 10**3, "ngan": 10**3,
           "k": 10**3}  # fmt: skip
_MONEY_TERM_RE = re.compile(
    rf"(?P<num>{_NUMERAL}) ?(?:(?P<scale>ty|ti|trieu|tr|nghin|ngan|k)(?![^\W_])"
    r"(?: ?(?P<half>ruoi)(?![^\W_]))?)? ?"
)
_CURRENCY_RE = re.compile(r"(?:vnd|dong|d)?\.?")
_MONEY_LIMIT = 10**15


def _money_terms(folded: str, pos: int) -> tuple[list[tuple[Decimal, int]], str]:
    """Return the (amount, scale) terms read from pos ("1 tỷ 200 triệu") and the rest."""
    terms: list[tuple[Decimal, int]] = []
    while match := _MONEY_TERM_RE.match(folded, pos):
        value = _numeral_value(match["num"])
        if value is None:
            raise ParseError("not_money")
        if match["half"]:
            value = _CONTEXT.add(value, Decimal("0.5"))
        terms.append((value, _SCALES.get(match["scale"] or "", 1)))
        pos = match.end()
    return terms, folded[pos:].strip()


def _money_total(terms: list[tuple[Decimal, int]], currency: bool) -> Decimal:
    """Return the sum of terms whose scales strictly decrease ("2 tỷ 350 triệu")."""
    total, previous = Decimal(0), 0
    for value, scale in terms:
        amount = _CONTEXT.multiply(value, scale)
        # "1 triệu 500" is 1.000.500 or 1.500.000 depending on who says it: refuse it.
        bare_after_scaled = scale == 1 and not currency
        if previous and (scale >= previous or amount >= previous or bare_after_scaled):
            raise ParseError("not_money")
        total, previous = _CONTEXT.add(total, amount), scale
    return total


def parse_money(text: str) -> int:
    """Read an amount in whole đồng: "10 triệu", "10tr", "1,5 tỷ", "500k", "10.000.000 đ"."""
    folded = _folded(text)
    first = _DIGIT_RE.search(folded)
    if first is None:
        raise ParseError("not_money")
    negative, lead = _split_sign(folded[: first.start()])
    if negative:
        raise ParseError("negative_money")
    terms, rest = _money_terms(folded, first.start())
    if not _is_filler(lead) or not terms or not _CURRENCY_RE.fullmatch(rest):
        raise ParseError("not_money")
    total = _money_total(terms, bool(rest.strip(".")))
    if total >= _MONEY_LIMIT:
        raise ParseError("money_too_large")
    return int(_CONTEXT.quantize(total, Decimal(1)))


# --- dates -------------------------------------------------------------------------------------

_DAY, _MONTH = r"(?<![0-9])(?P<d>[0-9]{1,2})", r"(?P<m>[0-9]{1,2})"
_YEAR = r"(?P<y>[0-9]{4}|[0-9]{2})(?![0-9])"
_DATE_FORMS = (
    re.compile(rf"{_DAY} ?(?P<sep>[/.-]) ?{_MONTH} ?(?P=sep) ?{_YEAR}"),
    re.compile(
        rf"(?<![0-9])(?P<y>[0-9]{{4}})(?P<sep>[/.-]){_MONTH}(?P=sep)(?P<d>[0-9]{{1,2}})(?![0-9])"
    ),
    re.compile(rf"{_DAY} ?thang ?{_MONTH} ?,? ?(?:nam ?)?{_YEAR}"),
)
_DATE_INTRO_RE = re.compile(r"(?:ngay ?:? ?)?")


def _match_date(folded: str, pos: int) -> tuple[datetime.date, int] | None:
    """Return the date written at pos of folded text and where it ends, or None."""
    for form in _DATE_FORMS:
        match = form.match(folded, pos)
        if match:
            day, month, year = int(match["d"]), int(match["m"]), int(match["y"])
            year += 2000 if len(match["y"]) == 2 else 0
            try:
                return datetime.date(year, month, day), match.end()
            except ValueError:
                raise ParseError("impossible_date", day=day, month=month, year=year) from None
    return None


def parse_date(text: str) -> datetime.date:
    """Read a day-first date: "04/10/2021", "4-10-21", "2021-10-04", "ngày 4 tháng 10 năm 2021"."""
    folded = _folded(text).rstrip(" .")
    intro = _DATE_INTRO_RE.match(folded)
    found = _match_date(folded, intro.end() if intro else 0)
    if found is None or found[1] != len(folded):
        raise ParseError("not_a_date")
    return found[0]


# --- yes / no ----------------------------------------------------------------------------------

# "1" and "2" follow the numbered fallback the engine offers without buttons: 1 = Có, 2 = Không.
_YES = frozenset(
    {"co", "yes", "y", "roi", "da", "dung", "ok", "oke", "okay", "oki", "vang", "u", "uh", "um",
     "phai", "co roi", "da co", "dung roi", "dung vay", "chinh xac", "dong y", "ok roi", "true",
     "1"}
)  # fmt: skip
_NO = frozenset(
    {"khong", "ko", "k", "kg", "khg", "kh", "hong", "hok", "no", "n", "chua", "chua co", "sai",
     "khong co", "ko co", "k co", "khong phai", "khong dung", "chua dung", "khong dong y",
     "chua roi", "false", "0", "2"}
)  # fmt: skip
_PARTICLES = frozenset({"a", "nhe", "nha", "day", "vay", "chu", "ha"})
_PUNCT_RE = re.compile(r"[^\w\s]+")


def parse_yesno(text: str) -> bool:
    """Read yes or no: "có", "ko", "rồi", "chưa có", "Có ạ."."""
    words = _PUNCT_RE.sub(" ", _folded(text)).split()
    while len(words) > 1 and words[-1] in _PARTICLES:
        words.pop()
    if len(words) > 1 and words[0] == "da":  # polite "dạ" before the real answer
        words.pop(0)
    key = " ".join(words)
    if key in _YES:
        return True
    if key in _NO:
        return False
    raise ParseError("not_yesno")


# --- choices -----------------------------------------------------------------------------------

_OPTION_NUMBER_RE = re.compile(r"(?:(?:so|chon|phuong an|lua chon) ?)?#? ?(?P<n>[0-9]{1,9})\)?")
_NUMBERED_LABEL_RE = re.compile(r"(?P<n>[0-9]{1,9})[.)] ?(?P<label>.+)")
_SPACED_NUMBERS_RE = re.compile(r"[0-9]{1,9}(?: [0-9]{1,9})+")
_ITEM_SEP_RE = re.compile(r"([,;\n]| (?:và|va) )", re.IGNORECASE)


def _key(text: str) -> str:
    """Return the form in which a typed item and an option label are compared."""
    return fold(text).strip(" .,;:!?")


def _match_option(item: str, options: Sequence[str]) -> int | None:
    """Return the index of the option an item names by label, number or prefix; None if none."""
    key, keys = _key(item), [_key(option) for option in options]
    if key in keys:
        return keys.index(key)
    number = _OPTION_NUMBER_RE.fullmatch(key)
    if number and options:
        if 1 <= int(number["n"]) <= len(options):
            return int(number["n"]) - 1
        raise ParseError("option_out_of_range", item=item, count=len(options))
    numbered = _NUMBERED_LABEL_RE.fullmatch(key)
    if numbered and keys[int(numbered["n"]) - 1 : int(numbered["n"])] == [_key(numbered["label"])]:
        return int(numbered["n"]) - 1
    hits = [i for i, option_key in enumerate(keys) if len(key) >= 3 and option_key.startswith(key)]
    if len(hits) > 1:
        raise ParseError("ambiguous_option", item=item, count=len(options))
    return hits[0] if hits else None


def parse_choice(
    text: str, options: Sequence[str], other: bool
) -> tuple[tuple[str, ...], str | None]:
    """Read one option by number or label; unmatched text is the "other" answer if allowed."""
    typed = normalize_text(text)
    if not typed:
        raise ParseError("empty")
    index = _match_option(typed, options)
    if index is not None:
        return (options[index],), None
    if other:
        return (), typed
    raise ParseError("unknown_option", item=typed, count=len(options))


def _items(typed: str, options: Sequence[str]) -> list[str]:
    """Split a multichoice answer into items, keeping labels that contain a separator whole."""
    if _SPACED_NUMBERS_RE.fullmatch(typed):
        return typed.split()
    tokens = _ITEM_SEP_RE.split(typed)  # piece, separator, piece, ...
    labels = {_key(option) for option in options}
    widest = 1 + max((len(_ITEM_SEP_RE.findall(option)) for option in options), default=0)
    count, items, i = len(tokens) // 2 + 1, [], 0
    while i < count:
        spans = range(min(count, i + widest), i + 1, -1)
        j = next((j for j in spans if _key("".join(tokens[2 * i : 2 * j - 1])) in labels), i + 1)
        items.append("".join(tokens[2 * i : 2 * j - 1]).strip())
        i = j
    return [item for item in items if item]


def parse_multichoice(
    text: str, options: Sequence[str], other: bool
) -> tuple[tuple[str, ...], str | None]:
    """Read several options ("1, 3", "1 và 3", labels); unmatched items form the other text."""
    typed = normalize_text(text)
    try:
        whole = _match_option(typed, options) if typed else None
    except ParseError:
        whole = None
    if whole is not None:
        return (options[whole],), None
    picked: set[int] = set()
    others: dict[str, str] = {}
    for item in _items(typed, options):
        index = _match_option(item, options)
        if index is not None:
            picked.add(index)
        elif other:
            others.setdefault(_key(item), item)
        else:
            raise ParseError("unknown_option", item=item, count=len(options))
    if not picked and not others:
        raise ParseError("empty")
    selected = tuple(option for i, option in enumerate(options) if i in picked)
    return selected, ", ".join(others.values()) or None


# --- documents ---------------------------------------------------------------------------------

_KINDS = (
    "Kế hoạch", "Quyết định", "Công văn", "Chỉ thị", "Thông báo", "Hướng dẫn", "Báo cáo",
    "Nghị quyết", "Tờ trình", "Chương trình", "Kết luận", "Công điện", "Quy định", "Quy chế",
    "Thông cáo", "Phương án", "Đề án", "Dự án", "Biên bản", "Hợp đồng", "Giấy mời", "Thông tư",
    "Thông tư liên tịch", "Nghị định", "Giấy giới thiệu", "Giấy ủy quyền",
)  # fmt: skip
# Keys are the canonical spelling (Decree 30/2020/NĐ-CP); lookups go through upper case.
_ABBREVIATIONS = {
    "QĐ": "Quyết định", "QD": "Quyết định", "KH": "Kế hoạch", "CV": "Công văn",
    "TB": "Thông báo", "BC": "Báo cáo", "HD": "Hướng dẫn", "CT": "Chỉ thị", "NQ": "Nghị quyết",
    "TTr": "Tờ trình", "CTr": "Chương trình", "KL": "Kết luận", "QyĐ": "Quy định",
    "QYD": "Quy định", "QC": "Quy chế", "TC": "Thông cáo", "PA": "Phương án", "ĐA": "Đề án",
    "DA": "Dự án", "BB": "Biên bản", "HĐ": "Hợp đồng", "CĐ": "Công điện", "CD": "Công điện",
    "GM": "Giấy mời", "GGT": "Giấy giới thiệu", "GUQ": "Giấy ủy quyền", "TT": "Thông tư",
    "TTLT": "Thông tư liên tịch", "NĐ": "Nghị định", "ND": "Nghị định",
}  # fmt: skip
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
        if _PLAIN_RE.fullmatch(parts[index]):
            continue  # the year in "30/2020/NĐ-CP"
        spelling = _ABBREVIATION_SPELLING.get(parts[index].upper())
        if spelling is None:
            return number, None  # an issuer such as "SXD" in "1795/SXD-CCGD"
        parts[index] = spelling
        return "".join(parts), _ABBREVIATIONS[spelling]
    return number, None


def _read_doc_date(folded: str, pos: int) -> tuple[datetime.date | None, int]:
    """Return the date following pos ("ngày 04/10/2021", a bare date) and where it ends."""
    lead = _DATE_LEAD_RE.match(folded, pos)
    found = _match_date(folded, lead.end() if lead else pos)
    if found is None or _LETTER_RE.match(folded, found[1]):
        return None, pos
    return found


def parse_document(text: str) -> Document:
    """Read a document reference: "Kế hoạch số 692/KH-SXD ngày 04/10/2021 tổ chức …"."""
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
        kind = kind or number_kind or "Công văn"
    if kind is None:
        raise ParseError("document_unrecognised")
    day, pos = _read_doc_date(folded, pos)
    summary = line[pos:].strip(_SUMMARY_EDGES).rstrip(".").rstrip(_SUMMARY_EDGES)
    return Document(kind=kind, number=number, date=day, summary=summary)


def _bullet_end(line: str) -> int:
    """Return where a leading list marker ("- ", "1. ") ends, 0 if there is none."""
    bullet = _BULLET_RE.match(line)
    return bullet.end() if bullet and len(line) > bullet.end() else 0
