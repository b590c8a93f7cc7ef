"""Day-first dates ("04/10/2021", "ngày 4 tháng 10 năm 2021"): parse_date reads an answer,
match_date finds a date inside a longer line (document references)."""

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


def match_date(folded: str, pos: int) -> tuple[datetime.date, int] | None:
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
    found = match_date(folded, intro.end() if intro else 0)
    if found is None or found[1] != len(folded):
        raise ParseError("not_a_date")
    return found[0]
