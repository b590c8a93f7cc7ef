"""Issue #9, item 1: a value the parser is not sure of is refused with a reason, never stored as
something else. Each row is an input that was once stored wrong ("10tr" as 10, "1e6" as 1,
"31/12/99" as 2099); the tests name the refusal, or the value a Vietnamese reader means."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from decimal import Decimal
from functools import partial
from typing import Any

import pytest

from bot.parsing import (
    ParseError,
    parse_choice,
    parse_date,
    parse_document,
    parse_integer,
    parse_money,
    parse_number,
    parse_percent,
)

TODAY = datetime.date(2026, 12, 1)
OPTIONS = ("Tiền mặt", "Hiện vật", "Ngày công")


def refusal(func: Callable[[str], Any], text: str) -> str:
    """Return the ParseError code for text; fail when the text is accepted."""
    with pytest.raises(ParseError) as caught:
        value = func(text)
        pytest.fail(f"{text!r} was accepted as {value!r}")
    return caught.value.code


SCALED = ["10tr", "10 triệu", "10 trieu", "5 nghìn người", "5 ngàn", "3k", "2 tỷ", "2 tỉ",
          "3 trăm", "5 chục", "1,5 triệu"]  # fmt: skip


@pytest.mark.parametrize("text", SCALED)
@pytest.mark.parametrize("parser", [parse_integer, parse_number, parse_percent])
def test_a_scale_word_is_not_dropped(parser: Callable[[str], Any], text: str) -> None:
    assert refusal(parser, text) == "scale_word"


def test_the_scale_refusal_shows_the_full_number() -> None:
    with pytest.raises(ParseError) as caught:
        parse_integer("10 triệu")
    assert caught.value.params["full"] == 10_000_000


@pytest.mark.parametrize("text", ["300 trường", "12 trạm y tế", "4 kg", "12 km", "3 ti vi"])
def test_words_that_only_start_like_a_scale_are_units(text: str) -> None:
    assert parse_integer(text) == int(text.split()[0])


@pytest.mark.parametrize("text", ["1e6", "2e3", "1E6", "1.5e3", "2e+3", "3e-2"])
@pytest.mark.parametrize("parser", [parse_integer, parse_number, parse_money])
def test_an_exponent_is_refused(parser: Callable[[str], Any], text: str) -> None:
    assert refusal(parser, text) in ("exponent", "not_money")


def test_an_exponent_in_a_percent_is_refused() -> None:
    assert refusal(parse_percent, "1e2") == "exponent"


@pytest.mark.parametrize("text", ["95%", "95 %", "95 phần trăm"])
@pytest.mark.parametrize("parser", [parse_integer, parse_number])
def test_a_percent_is_not_a_count(parser: Callable[[str], Any], text: str) -> None:
    assert refusal(parser, text) == "percent_sign"


@pytest.mark.parametrize("text", ["45 người", "12 đơn vị", "3 lần"])
def test_a_count_is_not_a_percent(text: str) -> None:
    assert refusal(parse_percent, text) == "percent_unit"


@pytest.mark.parametrize(("text", "expected"), [("100% cán bộ", 100), ("đạt 99,5 %.", 99.5)])
def test_a_percent_sign_may_be_followed_by_words(text: str, expected: float) -> None:
    assert parse_percent(text) == Decimal(str(expected))


@pytest.mark.parametrize("text", ["- 300 người", "– 12"])
def test_a_detached_dash_is_not_a_minus(text: str) -> None:
    assert refusal(parse_integer, text) == "detached_sign"


@pytest.mark.parametrize("text", ["10,5", "10,4 đ", "1,2345678 triệu", "1.000.000,50 đồng"])
def test_money_has_no_fraction_of_a_dong(text: str) -> None:
    assert refusal(parse_money, text) == "money_fraction"


TWO_DIGIT_YEARS = [
    ("31/12/99", datetime.date(1999, 12, 31)),
    ("4/10/21", datetime.date(2021, 10, 4)),
    ("1/1/00", datetime.date(2000, 1, 1)),
    ("1/1/50", datetime.date(2050, 1, 1)),
    ("1/1/77", datetime.date(1977, 1, 1)),
    ("4 tháng 10 năm 21", datetime.date(2021, 10, 4)),
]


@pytest.mark.parametrize(("text", "expected"), TWO_DIGIT_YEARS)
def test_a_two_digit_year_is_the_nearest_one(text: str, expected: datetime.date) -> None:
    assert parse_date(text, TODAY) == expected


def test_a_two_digit_year_in_a_document_is_the_nearest_one() -> None:
    document = parse_document("Kế hoạch số 12/KH-UBND ngày 4/10/99 về phòng, chống dịch", TODAY)
    assert document.date == datetime.date(1999, 10, 4)


@pytest.mark.parametrize("text", ["04/10/1021", "2221-01-01", "ngày 1 tháng 1 năm 1800"])
def test_a_year_no_report_speaks_of_is_refused(text: str) -> None:
    assert refusal(partial(parse_date, today=TODAY), text) == "implausible_year"


@pytest.mark.parametrize("text", ["1, 2", "1 và 3", "1;2"])
def test_several_numbers_are_not_an_other_answer(text: str) -> None:
    assert refusal(partial(parse_choice, options=OPTIONS, other=True), text) == "single_choice"
