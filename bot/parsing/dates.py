"""Day-first dates ("04/10/2021", "ngày 4 tháng 10 năm 2021"): parse_date reads an answer,
match_date finds a date inside a longer line (document references).

A two-digit year is the year ending in those digits nearest to today ("99" is 1999 and "21" is
2021 in 2026; at equal distance, the past one). A year before 1900 or after 2100 is refused
as a typing mistake: no report of a government unit speaks of it.
"""

from __future__ import annotations

import datetime
import re

from bot.parsing.text import ParseError
from bot.parsing.text import folded as _folded

__all__ = ["match_date", "parse_date"]

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
FIRST_YEAR, LAST_YEAR = 1900, 2100


def full_year(digits: str, today: datetime.date) -> int:
    """Return the year written with four digits, or with two: the nearest such year to today."""
    if len(digits) != 2:
        return int(digits)
    century = today.year // 100 * 100
    candidates = (century - 100 + int(digits), century + int(digits), century + 100 + int(digits))
    return min(candidates, key=lambda year: (abs(year - today.year), year))


def match_date(folded: str, pos: int, today: datetime.date) -> tuple[datetime.date, int] | None:
    """Return the date written at pos of folded text and where it ends, or None."""
    for form in _DATE_FORMS:
        match = form.match(folded, pos)
        if match:
            day, month = int(match["d"]), int(match["m"])
            year = full_year(match["y"], today)
            try:
                found = datetime.date(year, month, day)
            except ValueError:
                raise ParseError("impossible_date", day=day, month=month, year=year) from None
            if not FIRST_YEAR <= year <= LAST_YEAR:
                raise ParseError("implausible_year", year=year)
            return found, match.end()
    return None


def parse_date(text: str, today: datetime.date | None = None) -> datetime.date:
    """Read a day-first date: "04/10/2021", "4-10-21", "2021-10-04", "ngày 4 tháng 10 năm 2021".

    `today` resolves a two-digit year (default: the system's date).
    """
    folded = _folded(text).rstrip(" .")
    intro = _DATE_INTRO_RE.match(folded)
    found = match_date(folded, intro.end() if intro else 0, today or datetime.date.today())
    if found is None or found[1] != len(folded):
        raise ParseError("not_a_date")
    return found[0]
