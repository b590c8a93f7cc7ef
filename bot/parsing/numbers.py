"""Numbers as people type them: whole numbers, decimals, percent and money in đồng."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Context, Decimal

from bot.parsing.text import ParseError, lowered_text
from bot.parsing.text import folded as _folded

__all__ = ["PLAIN_RE", "parse_integer", "parse_money", "parse_number", "parse_percent"]

# A space groups digits only when exactly three digits follow, so "300 người" and "1 3" stay apart.
_NUMERAL = r"(?>[0-9]+(?:(?:[.,]| (?=[0-9]{3}(?![0-9])))[0-9]+)*)"
_NUMERAL_RE = re.compile(_NUMERAL)
_GROUPED_RE = re.compile(r"[1-9][0-9]{0,2}(?:[ .,][0-9]{3})+")
PLAIN_RE = re.compile(r"[0-9]+")
_SIGN_RE = re.compile(r"(?:^|(?<= ))(?P<sign>[-+\u2212\u2013]|am) ?$")
_FILLERS = frozenset(
    {"", "dat", "la", "duoc", "co", "gom", "bang", "tong", "tong cong", "tong so", "so",
     "so luong", "ty le", "ti le", "dat ty le", "so tien", "tong so tien"}
)  # fmt: skip
# Nobody types 60-digit numbers; the cap keeps Decimal arithmetic exact under _CONTEXT.
_MAX_NUMERAL = 60
_CONTEXT = Context(prec=4 * _MAX_NUMERAL, rounding=ROUND_HALF_UP)
_NUMBER_LIMIT = Decimal(10) ** 15
_SECOND_NUMBER_RE = re.compile(r"(?<![^\W\d_])[0-9]")  # a digit glued to a letter is a unit: m2
# What follows a count or measure and would change its value if it were dropped. "trăm"/"chục"
# only with their diacritics: "trạm", "chúc" fold to the same letters.
_SCALE_WORDS = {"tỷ": 10**9, "tỉ": 10**9, "ty": 10**9, "triệu": 10**6, "trieu": 10**6,
                "tr": 10**6, "nghìn": 10**3, "nghin": 10**3, "ngàn": 10**3, "ngan": 10**3,
                "k": 10**3, "trăm": 100, "chục": 10}  # fmt: skip
_SCALE_WORD_RE = re.compile(
    r" ?\.?(?P<word>" + "|".join(sorted(_SCALE_WORDS, key=len, reverse=True)) + r")(?![^\W_])"
)
_EXPONENT_RE = re.compile(r"[0-9] ?e ?[-+]?[0-9]")
_PERCENT_AFTER_RE = re.compile(r" ?(?:%|phan tram(?![^\W_]))")


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
    if mark and (mark in whole or not PLAIN_RE.fullmatch(frac)):
        return None
    if not (PLAIN_RE.fullmatch(whole) or _GROUPED_RE.fullmatch(whole)):
        return None
    digits = re.sub(r"[ .,]", "", whole)
    return Decimal(f"{digits}.{frac}" if frac else digits)


def _split_sign(lead: str) -> tuple[bool, str]:
    """Return whether the words before a number end with a minus, and those words without it.

    A dash set apart from the digits ("- 300") is a list bullet as often as a minus: refused.
    """
    match = _SIGN_RE.search(lead)
    if match is None:
        return False, lead
    negative = match["sign"] != "+"
    if negative and match["sign"] != "am" and match.group().endswith(" "):
        raise ParseError("detached_sign")
    return negative, lead[: match.start()]


def _is_filler(lead: str) -> bool:
    """Return whether the words before a number may be ignored ("đạt", "tổng cộng:")."""
    return lead.strip(" :=") in _FILLERS


def _read_number(text: str, percent: bool = False) -> Decimal:
    """Return the one number in text, allowing filler words before it and a unit after it.

    Refused rather than misread: a scale word after it ("10 triệu" is not 10), an exponent
    ("1e6" is not 1), a percent sign where a count is asked (or a unit where a percent is) and a
    dash set apart from the digits.
    """
    lowered = lowered_text(text)
    folded = _folded(lowered)
    if _EXPONENT_RE.search(folded):
        raise ParseError("exponent")
    match = _NUMERAL_RE.search(folded)
    if match is None:
        raise ParseError("not_a_number")
    negative, lead = _split_sign(folded[: match.start()])
    value = _numeral_value(match.group())
    if value is None or not _is_filler(lead) or _SECOND_NUMBER_RE.search(folded, match.end()):
        raise ParseError("not_a_number")
    _check_after(lowered, folded, match.end(), value, percent)
    return value.copy_negate() if negative and value else value


def _check_after(lowered: str, folded: str, end: int, value: Decimal, percent: bool) -> None:
    """Refuse what follows a number when dropping it would change the number's meaning."""
    scale = _SCALE_WORD_RE.match(lowered, end) if len(lowered) == len(folded) else None
    scale = scale or _SCALE_WORD_RE.match(folded, end)
    if scale and scale["word"] in _SCALE_WORDS:
        full = _CONTEXT.multiply(value, _SCALE_WORDS[scale["word"]])
        raise ParseError("scale_word", word=scale["word"], full=full.normalize())
    sign = _PERCENT_AFTER_RE.match(folded, end)
    if percent and sign is None and folded[end:].strip(" .!"):
        raise ParseError("percent_unit")
    if not percent and sign is not None:
        raise ParseError("percent_sign")


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
    value = _read_number(text, percent=True)
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
_DIGIT_RE = re.compile(r"[0-9]")


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
    if _EXPONENT_RE.search(folded):
        raise ParseError("exponent")
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
    if total != total.to_integral_value():  # "10,5" or "1,2345678 triệu": not rounded silently
        raise ParseError("money_fraction", value=total.normalize())
    return int(total)
