"""Vietnamese reading of a đồng amount, as written on a report: "Một tỷ, năm trăm triệu đồng".

Every word comes from the catalogue (templates/messages/compile.yaml, keys ``compile.words.*``).
Groups of three digits are read from the top and separated by commas; a group after the first
is read in full ("không trăm linh năm"), so 1_000_005 reads "Một triệu, không trăm linh năm
đồng", the way banks and accountants write it. Amounts of a thousand tỷ and more read the
number of tỷ first ("Một nghìn hai trăm tỷ").
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache, lru_cache

from bot import texts

BILLION = 10**9


@dataclass(frozen=True)
class _Words:
    digits: tuple[str, ...]  # không … chín
    scales: tuple[str, ...]  # "", nghìn, triệu
    billion: str  # tỷ
    hundred: str  # trăm
    ten: str  # mười
    tens: str  # mươi
    odd: str  # linh
    one: str  # mốt (21)
    four: str  # tư (24)
    five: str  # lăm (15, 25)


@cache
def _words() -> _Words:
    def word(key: str) -> str:
        return texts.render(f"compile.words.{key}")

    return _Words(
        digits=tuple(word("digits").split()),
        scales=("", *word("scales").split()),
        billion=word("billion"),
        hundred=word("hundred"),
        ten=word("ten"),
        tens=word("tens"),
        odd=word("odd"),
        one=word("one_after_tens"),
        four=word("four_after_tens"),
        five=word("five_after_ten"),
    )


@lru_cache(maxsize=4096)
def amount_in_words(amount: int) -> str:
    """Return "Một tỷ, năm trăm hai mươi lăm triệu đồng" for 1_525_000_000.

    A pure function of the amount (the shipped catalogue's words), kept for the amounts last
    read: a report reads each total in several places, a confirmation the amount just typed."""
    if amount < 0:
        raise ValueError("amount must not be negative")
    groups = _groups(amount, False) if amount else [_words().digits[0]]
    groups[0] = groups[0][:1].upper() + groups[0][1:]
    return texts.render("compile.words.amount", groups=groups)


def _groups(number: int, full: bool) -> list[str]:
    words = _words()
    if number >= BILLION:
        billions, rest = divmod(number, BILLION)
        head = " ".join(_groups(billions, full))
        return [f"{head} {words.billion}", *_groups(rest, True)]
    groups: list[str] = []
    for scale in range(len(words.scales) - 1, -1, -1):
        value = number // 1000**scale % 1000
        if value:
            reading = _three(value, full or bool(groups))
            groups.append(f"{reading} {words.scales[scale]}".strip())
    return groups


def _three(value: int, full: bool) -> str:
    """Return the reading of 1..999; `full` reads leading zeros ("không trăm linh năm")."""
    words = _words()
    hundreds, tens, units = value // 100, value // 10 % 10, value % 10
    parts: list[str] = []
    if hundreds or full:
        parts += [words.digits[hundreds], words.hundred]
    if tens == 0:
        if units and parts:
            parts.append(words.odd)
        if units:
            parts.append(words.digits[units])
        return " ".join(parts)
    parts += [words.ten] if tens == 1 else [words.digits[tens], words.tens]
    if units == 1 and tens > 1:
        parts.append(words.one)
    elif units == 4 and tens > 1:
        parts.append(words.four)
    elif units == 5:
        parts.append(words.five)
    elif units:
        parts.append(words.digits[units])
    return " ".join(parts)
