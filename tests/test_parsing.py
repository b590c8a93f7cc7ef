"""Tests for bot/parsing/: tables of accepted and refused input, properties, message catalogue."""

from __future__ import annotations

import contextlib
import datetime
import json
import re
import unicodedata
from collections.abc import Callable
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.parsing import (
    Document,
    ParseError,
    fold,
    normalize_text,
    parse_choice,
    parse_date,
    parse_document,
    parse_integer,
    parse_money,
    parse_multichoice,
    parse_number,
    parse_percent,
    parse_yesno,
)
from bot.paths import templates_dir
from bot.texts import Catalogue, file_size, vn_dec

ROOT = Path(__file__).resolve().parent.parent
MESSAGES = ROOT / "templates" / "messages" / "parsing.yaml"
SOURCES = sorted((ROOT / "bot" / "parsing").glob("*.py"))

OPTIONS = ("Tiền mặt", "Hiện vật", "Ngày công", "Phòng, chống dịch", "Tiền chuyển khoản")
choice = partial(parse_choice, options=OPTIONS, other=False)
choice_other = partial(parse_choice, options=OPTIONS, other=True)
multi = partial(parse_multichoice, options=OPTIONS, other=False)
multi_other = partial(parse_multichoice, options=OPTIONS, other=True)
D = Decimal
day = datetime.date


def error_code(func: Callable[[str], Any], text: str) -> str:
    """Return the ParseError code func raises for text (fail if it accepts it)."""
    with pytest.raises(ParseError) as caught:
        func(text)
    return caught.value.code


# --- fold and normalize_text -------------------------------------------------------------------

FOLDS = [
    ("Bỏ  Qua", "bo qua"),
    ("  XONG ", "xong"),
    ("Quay lại", "quay lai"),
    ("ĐỒNG", "dong"),
    ("đ", "d"),
    ("Kế\thoạch\nsố", "ke hoach so"),
    ("Nghìn", "nghin"),
    ("Ngàn", "ngan"),
    ("Tỷ", "ty"),
    ("Bo\u0309 qua", "bo qua"),  # decomposed input
    ("", ""),
]


@pytest.mark.parametrize(("text", "expected"), FOLDS)
def test_fold(text: str, expected: str) -> None:
    assert fold(text) == expected


NORMALIZED = [
    ("  a  \t b  ", "a b"),
    ("a\r\nb", "a\nb"),
    ("\n\n a \n\n\n\n b \n\n", "a\n\nb"),
    ("Co\u0301", "Có"),
    ("   ", ""),
    ("dòng 1 \n  dòng 2", "dòng 1\ndòng 2"),
]


@pytest.mark.parametrize(("text", "expected"), NORMALIZED)
def test_normalize_text(text: str, expected: str) -> None:
    assert normalize_text(text) == expected


# --- numbers -----------------------------------------------------------------------------------

INTEGERS = [
    ("1.250", 1250),
    ("1 250", 1250),
    ("1250", 1250),
    ("300 người", 300),
    ("45 đơn vị", 45),
    ("12 văn bản", 12),
    ("+5", 5),
    ("-3", -3),
    ("−3", -3),
    ("âm 3", -3),
    ("0", 0),
    ("12.345.678", 12345678),
    ("1,250,000", 1250000),
    ("1 250 000", 1250000),
    ("1.250.000 người", 1250000),
    ("  42  ", 42),
    ("1,0", 1),
    ("1.250,0", 1250),
    ("có 300 người", 300),
    ("Tổng cộng: 17", 17),
    ("17.", 17),
]


@pytest.mark.parametrize(("text", "expected"), INTEGERS)
def test_parse_integer(text: str, expected: int) -> None:
    result = parse_integer(text)
    assert result == expected
    assert type(result) is int


NUMBERS = [
    ("1,5", D("1.5")),
    ("1.234,5", D("1234.5")),
    ("1,234.5", D("1234.5")),
    ("-2,25", D("-2.25")),
    ("3", D(3)),
    ("99.5", D("99.5")),
    ("0,5", D("0.5")),
    ("0.500", D("0.5")),  # a leading zero is never a thousands group
    ("12345.678", D("12345.678")),
    ("1.250", D(1250)),
    ("1 250,75 m2", D("1250.75")),
    ("12.345.678,9", D("12345678.9")),
    ("1,234,567.89", D("1234567.89")),
    ("-0", D(0)),
]


@pytest.mark.parametrize(("text", "expected"), NUMBERS)
def test_parse_number(text: str, expected: Decimal) -> None:
    result = parse_number(text)
    assert result == expected
    assert isinstance(result, Decimal)


PERCENTS = [
    ("100%", D(100)),
    ("99,5 %", D("99.5")),
    ("99.5", D("99.5")),
    ("99,5 phần trăm", D("99.5")),
    ("100 phan tram", D(100)),
    ("đạt 100%", D(100)),
    ("Đạt tỷ lệ 87,75%", D("87.75")),
    ("0", D(0)),
    ("0%", D(0)),
    ("50 %", D(50)),
]


@pytest.mark.parametrize(("text", "expected"), PERCENTS)
def test_parse_percent(text: str, expected: Decimal) -> None:
    assert parse_percent(text) == expected


# --- money -------------------------------------------------------------------------------------

MONEY = [
    ("10 triệu", 10_000_000),
    ("10tr", 10_000_000),
    ("10 tr", 10_000_000),
    ("10 tr.", 10_000_000),
    ("10 TRIỆU ĐỒNG", 10_000_000),
    ("10.000.000 đ", 10_000_000),
    ("10.000.000đ", 10_000_000),
    ("10.000.000 đồng", 10_000_000),
    ("10000000 VND", 10_000_000),
    ("10.000.000 vnđ", 10_000_000),
    ("10.000.000 VNĐ", 10_000_000),
    ("10,000,000 dong", 10_000_000),
    ("10 000 000 đồng", 10_000_000),
    ("1,5 tỷ", 1_500_000_000),
    ("1.5 tỷ", 1_500_000_000),
    ("1 tỷ 200 triệu", 1_200_000_000),
    ("2 tỷ 350 triệu 500 nghìn", 2_350_500_000),
    ("500 nghìn", 500_000),
    ("500 ngàn", 500_000),
    ("500 nghin", 500_000),
    ("500k", 500_000),
    ("500K", 500_000),
    ("1,2 triệu", 1_200_000),
    ("12.345.678.000 đồng", 12_345_678_000),
    ("3 ty", 3_000_000_000),
    ("3 ti", 3_000_000_000),
    ("3 tỉ", 3_000_000_000),
    ("7 trieu", 7_000_000),
    ("5000000", 5_000_000),
    ("0", 0),
    ("0 đồng", 0),
    ("1 triệu rưỡi", 1_500_000),
    ("1 triệu 500 đồng", 1_000_500),
    ("999.999.999.999.999 đồng", 999_999_999_999_999),
    ("tổng số tiền: 10 triệu", 10_000_000),
]


@pytest.mark.parametrize(("text", "expected"), MONEY)
def test_parse_money(text: str, expected: int) -> None:
    result = parse_money(text)
    assert result == expected
    assert type(result) is int


# --- dates -------------------------------------------------------------------------------------

DATES = [
    ("04/10/2021", day(2021, 10, 4)),
    ("4/10/2021", day(2021, 10, 4)),
    ("4/10/21", day(2021, 10, 4)),
    ("04-10-2021", day(2021, 10, 4)),
    ("04.10.2021", day(2021, 10, 4)),
    ("4 / 10 / 2021", day(2021, 10, 4)),
    ("2021-10-04", day(2021, 10, 4)),
    ("2021/10/04", day(2021, 10, 4)),
    ("ngày 04 tháng 10 năm 2021", day(2021, 10, 4)),
    ("Ngày 4 tháng 10 năm 2021", day(2021, 10, 4)),
    ("ngay 4 thang 10 nam 2021", day(2021, 10, 4)),
    ("04 tháng 10, 2021", day(2021, 10, 4)),
    ("4 tháng 10 năm 21", day(2021, 10, 4)),
    ("ngày 04/10/2021", day(2021, 10, 4)),
    ("ngày 04/10/2021.", day(2021, 10, 4)),
    ("29/02/2024", day(2024, 2, 29)),
    ("1/1/00", day(2000, 1, 1)),
    ("12/01/2021", day(2021, 1, 12)),  # day first, never month first
]


@pytest.mark.parametrize(("text", "expected"), DATES)
def test_parse_date(text: str, expected: datetime.date) -> None:
    assert parse_date(text) == expected


def test_impossible_date_names_the_date() -> None:
    with pytest.raises(ParseError) as caught:
        parse_date("31/02/2021")
    assert caught.value.params == {"day": 31, "month": 2, "year": 2021}


# --- yes / no ----------------------------------------------------------------------------------

YESNO = [
    ("có", True),
    ("Có", True),
    ("co", True),
    ("CÓ", True),
    ("yes", True),
    ("y", True),
    ("Y", True),
    ("rồi", True),
    ("đã", True),
    ("đúng", True),
    ("ok", True),
    ("OK!", True),
    ("1", True),
    ("có ạ", True),
    ("Có.", True),
    ("có rồi", True),
    ("dạ có", True),
    ("vâng", True),
    ("không", False),
    ("Không", False),
    ("khong", False),
    ("ko", False),
    ("k", False),
    ("no", False),
    ("n", False),
    ("chưa", False),
    ("chưa có", False),
    ("sai", False),
    ("không có", False),
    ("không ạ", False),
    ("dạ không", False),
    ("Chưa.", False),
    ("2", False),
    ("0", False),
]


@pytest.mark.parametrize(("text", "expected"), YESNO)
def test_parse_yesno(text: str, expected: bool) -> None:
    assert parse_yesno(text) is expected


# --- choices -----------------------------------------------------------------------------------

CHOICES = [
    (choice, "2", (("Hiện vật",), None)),
    (choice, "2.", (("Hiện vật",), None)),
    (choice, "số 2", (("Hiện vật",), None)),
    (choice, "So 2", (("Hiện vật",), None)),
    (choice, "2)", (("Hiện vật",), None)),
    (choice, "tiền mặt", (("Tiền mặt",), None)),
    (choice, "TIEN MAT", (("Tiền mặt",), None)),
    (choice, "Tiền mặt.", (("Tiền mặt",), None)),
    (choice, "hiện", (("Hiện vật",), None)),
    (choice, "ngay cong", (("Ngày công",), None)),
    (choice, "2. Hiện vật", (("Hiện vật",), None)),
    (choice, "phòng, chống dịch", (("Phòng, chống dịch",), None)),
    (choice_other, "Quần áo  bảo hộ", ((), "Quần áo bảo hộ")),
    (choice_other, "1", (("Tiền mặt",), None)),
    (multi, "1,3", (("Tiền mặt", "Ngày công"), None)),
    (multi, "1, 3", (("Tiền mặt", "Ngày công"), None)),
    (multi, "1 3", (("Tiền mặt", "Ngày công"), None)),
    (multi, "1; 3", (("Tiền mặt", "Ngày công"), None)),
    (multi, "1\n3", (("Tiền mặt", "Ngày công"), None)),
    (multi, "1 và 3", (("Tiền mặt", "Ngày công"), None)),
    (multi, "1 va 3", (("Tiền mặt", "Ngày công"), None)),
    (multi, "3, 1, 1", (("Tiền mặt", "Ngày công"), None)),
    (multi, "tiền mặt, hiện vật", (("Tiền mặt", "Hiện vật"), None)),
    (multi, "Hiện vật và ngày công", (("Hiện vật", "Ngày công"), None)),
    (multi, "Phòng, chống dịch", (("Phòng, chống dịch",), None)),
    (multi, "phòng, chống dịch, 1", (("Tiền mặt", "Phòng, chống dịch"), None)),
    (multi, "2", (("Hiện vật",), None)),
    (multi, "1, 3,", (("Tiền mặt", "Ngày công"), None)),
    (multi_other, "1, quần áo, 2, sách vở", (("Tiền mặt", "Hiện vật"), "quần áo, sách vở")),
    (multi_other, "quần áo", ((), "quần áo")),
    (multi_other, "quần áo và sách", ((), "quần áo, sách")),
]


@pytest.mark.parametrize(("func", "text", "expected"), CHOICES)
def test_choices(func: Callable[[str], Any], text: str, expected: Any) -> None:
    assert func(text) == expected


def test_choice_errors_name_the_item_and_count() -> None:
    with pytest.raises(ParseError) as caught:
        multi("1, quần áo")
    assert caught.value.params == {"item": "quần áo", "count": 5}


# --- documents ---------------------------------------------------------------------------------

PLAN = "tổ chức thực hiện Phong trào thi đua đặc biệt"
DOCUMENTS = [
    (
        f"Kế hoạch số 692/KH-SXD ngày 04/10/2021 {PLAN}",
        Document("Kế hoạch", "692/KH-SXD", day(2021, 10, 4), PLAN),
    ),
    (
        "Công văn số 1795/SXD-CCGD ngày 07/9/2021 về việc tăng cường phòng, chống dịch Covid-19",
        Document(
            "Công văn",
            "1795/SXD-CCGD",
            day(2021, 9, 7),
            "về việc tăng cường phòng, chống dịch Covid-19",
        ),
    ),
    (
        "QĐ 1497/QĐ-TTg ngày 10/9/2021 của Thủ tướng Chính phủ",
        Document("Quyết định", "1497/QĐ-TTg", day(2021, 9, 10), "của Thủ tướng Chính phủ"),
    ),
    ("QD 1497/QĐ-TTg", Document("Quyết định", "1497/QĐ-TTg", None, "")),
    ("KH 692/KH-SXD 04/10/2021", Document("Kế hoạch", "692/KH-SXD", day(2021, 10, 4), "")),
    ("CV 1795/SXD-CCGD", Document("Công văn", "1795/SXD-CCGD", None, "")),
    ("CV số 1795/SXD-CCGD", Document("Công văn", "1795/SXD-CCGD", None, "")),
    ("692/KH-SXD", Document("Kế hoạch", "692/KH-SXD", None, "")),
    ("692/kh-SXD", Document("Kế hoạch", "692/KH-SXD", None, "")),
    ("1795/SXD-CCGD", Document("Công văn", "1795/SXD-CCGD", None, "")),
    ("05/BNV-VP", Document("Công văn", "05/BNV-VP", None, "")),
    (
        "Kết luận số 608-KL/TU ngày 01/9/2021 của Ban Thường vụ Tỉnh ủy",
        Document("Kết luận", "608-KL/TU", day(2021, 9, 1), "của Ban Thường vụ Tỉnh ủy"),
    ),
    ("608-KL/TU", Document("Kết luận", "608-KL/TU", None, "")),
    ("1918/SNV-TĐKT", Document("Công văn", "1918/SNV-TĐKT", None, "")),
    ("2231/SNV-CCHC&PC", Document("Công văn", "2231/SNV-CCHC&PC", None, "")),
    ("12/TTr-SXD", Document("Tờ trình", "12/TTr-SXD", None, "")),
    ("12/ttr-SXD", Document("Tờ trình", "12/TTr-SXD", None, "")),
    ("15/CTr-UBND", Document("Chương trình", "15/CTr-UBND", None, "")),
    ("15/CT-UBND", Document("Chỉ thị", "15/CT-UBND", None, "")),
    ("3/QyĐ-UBND", Document("Quy định", "3/QyĐ-UBND", None, "")),
    ("7/HD-SNV", Document("Hướng dẫn", "7/HD-SNV", None, "")),
    ("7/HĐ-SNV", Document("Hợp đồng", "7/HĐ-SNV", None, "")),
    ("7/ĐA-UBND", Document("Đề án", "7/ĐA-UBND", None, "")),
    ("7/DA-UBND", Document("Dự án", "7/DA-UBND", None, "")),
    ("7/CĐ-UBND", Document("Công điện", "7/CĐ-UBND", None, "")),
    ("7/GM-SNV", Document("Giấy mời", "7/GM-SNV", None, "")),
    ("7/TB-SNV", Document("Thông báo", "7/TB-SNV", None, "")),
    ("7/BC-SNV", Document("Báo cáo", "7/BC-SNV", None, "")),
    ("7/NQ-HĐND", Document("Nghị quyết", "7/NQ-HĐND", None, "")),
    ("7/TC-SNV", Document("Thông cáo", "7/TC-SNV", None, "")),
    ("7/PA-SNV", Document("Phương án", "7/PA-SNV", None, "")),
    ("7/BB-SNV", Document("Biên bản", "7/BB-SNV", None, "")),
    ("30/2020/NĐ-CP", Document("Nghị định", "30/2020/NĐ-CP", None, "")),
    (
        "ke hoach so 692/KH-SXD ngay 04 thang 10 nam 2021 to chuc",
        Document("Kế hoạch", "692/KH-SXD", day(2021, 10, 4), "to chuc"),
    ),
    (
        "Quyết định 1477/QĐ-UBND ngày 22 tháng 9 năm 2021 ban hành Kế hoạch",
        Document("Quyết định", "1477/QĐ-UBND", day(2021, 9, 22), "ban hành Kế hoạch"),
    ),
    ("chi thi 15/CT-TTg", Document("Chỉ thị", "15/CT-TTg", None, "")),
    ("thông báo số 7/TB-SNV", Document("Thông báo", "7/TB-SNV", None, "")),
    ("huong dan 7/HD-SNV", Document("Hướng dẫn", "7/HD-SNV", None, "")),
    ("Báo cáo 7/BC-SNV", Document("Báo cáo", "7/BC-SNV", None, "")),
    ("nghi quyet 7/NQ-CP", Document("Nghị quyết", "7/NQ-CP", None, "")),
    ("to trinh 12/TTr-SXD", Document("Tờ trình", "12/TTr-SXD", None, "")),
    ("chuong trinh 15/CTr-UBND", Document("Chương trình", "15/CTr-UBND", None, "")),
    ("cong dien 7/CĐ-UBND", Document("Công điện", "7/CĐ-UBND", None, "")),
    ("Kế hoạch tổ chức hội thi", Document("Kế hoạch", None, None, "tổ chức hội thi")),
    ("Kế hoạch số 12 ngày 1/2/2022", Document("Kế hoạch", "12", day(2022, 2, 1), "")),
    (
        "Công văn số 1795/SXD-CCGD, ngày 07/9/2021, về việc tăng cường.",
        Document("Công văn", "1795/SXD-CCGD", day(2021, 9, 7), "về việc tăng cường"),
    ),
    ("- Kế hoạch 692/KH-SXD", Document("Kế hoạch", "692/KH-SXD", None, "")),
    ("1. Công văn 05/BNV-VP", Document("Công văn", "05/BNV-VP", None, "")),
    ("Quyết định số 1497/QĐ-TTg", Document("Quyết định", "1497/QĐ-TTg", None, "")),
]


@pytest.mark.parametrize(("text", "expected"), DOCUMENTS)
def test_parse_document(text: str, expected: Document) -> None:
    assert parse_document(text) == expected


# --- refused input -----------------------------------------------------------------------------

REFUSED = [
    (parse_integer, "", "empty"),
    (parse_integer, "   \n\t", "empty"),
    (parse_integer, "abc", "not_a_number"),
    (parse_integer, "1,5", "not_integer"),
    (parse_integer, "1.5", "not_integer"),
    (parse_integer, "1,250", "not_integer"),  # a single comma is a decimal mark
    (parse_integer, "12 5", "not_a_number"),
    (parse_integer, "1 3", "not_a_number"),
    (parse_integer, "300 người 5 đơn vị", "not_a_number"),
    (parse_integer, "1.2.3", "not_a_number"),
    (parse_integer, "1,25,000", "not_a_number"),
    (parse_integer, "04/10/2021", "not_a_number"),
    (parse_integer, "khoảng ba trăm", "not_a_number"),
    (parse_integer, "10^20", "not_a_number"),
    (parse_integer, "1" + "0" * 20, "number_too_large"),
    (parse_number, "", "empty"),
    (parse_number, "một phẩy năm", "not_a_number"),
    (parse_number, "1,5,6.7", "not_a_number"),
    (parse_number, "1.5.6,7", "not_a_number"),
    (parse_number, "NaN", "not_a_number"),
    (parse_number, "Infinity", "not_a_number"),
    (parse_percent, "", "empty"),
    (parse_percent, "101", "percent_out_of_range"),
    (parse_percent, "100,5%", "percent_out_of_range"),
    (parse_percent, "-1%", "percent_out_of_range"),
    (parse_percent, "abc%", "not_a_number"),
    (parse_percent, "50% đến 60%", "not_a_number"),
    (parse_money, "", "empty"),
    (parse_money, "abc", "not_money"),
    (parse_money, "mười triệu", "not_money"),
    (parse_money, "-5 triệu", "negative_money"),
    (parse_money, "âm 5 triệu", "negative_money"),
    (parse_money, "- 500k", "detached_sign"),
    (parse_money, "1 triệu 500", "not_money"),  # 1.000.500 or 1.500.000? ask again
    (parse_money, "200 triệu 1 tỷ", "not_money"),
    (parse_money, "1 tỷ 1500 triệu", "not_money"),
    (parse_money, "10 triệu 10 triệu", "not_money"),
    (parse_money, "10 triệu abc", "not_money"),
    (parse_money, "500kg", "not_money"),
    (parse_money, "1.2.3 đồng", "not_money"),
    (parse_money, "1.000.000.000.000.000 đồng", "money_too_large"),
    (parse_money, "1000000 tỷ", "money_too_large"),
    (parse_date, "", "empty"),
    (parse_date, "abc", "not_a_date"),
    (parse_date, "4/10", "not_a_date"),
    (parse_date, "04/10/202", "not_a_date"),
    (parse_date, "04/10-2021", "not_a_date"),
    (parse_date, "04/10/2021 abc", "not_a_date"),
    (parse_date, "31/02/2021", "impossible_date"),
    (parse_date, "00/10/2021", "impossible_date"),
    (parse_date, "4/13/2021", "impossible_date"),
    (parse_date, "29/02/2023", "impossible_date"),
    (parse_date, "04/10/0000", "impossible_date"),
    (parse_date, "04/10/1899", "implausible_year"),
    (parse_yesno, "", "empty"),
    (parse_yesno, "có lẽ", "not_yesno"),
    (parse_yesno, "maybe", "not_yesno"),
    (parse_yesno, "ạ", "not_yesno"),
    (parse_yesno, "3", "not_yesno"),
    (choice, "", "empty"),
    (choice, "khác", "unknown_option"),
    (choice, "ab", "unknown_option"),  # prefixes shorter than 3 letters do not count
    (choice, "6", "option_out_of_range"),
    (choice, "0", "option_out_of_range"),
    (choice, "số 9", "option_out_of_range"),
    (choice, "tiền", "ambiguous_option"),
    (choice_other, "7", "option_out_of_range"),
    (choice_other, "   ", "empty"),
    (multi, "", "empty"),
    (multi, " , ; ", "empty"),
    (multi, "1, 9", "option_out_of_range"),
    (multi, "1, quần áo", "unknown_option"),
    (multi, "tiền, 2", "ambiguous_option"),
    (multi_other, "\n", "empty"),
    (parse_document, "", "empty"),
    (parse_document, "hello world", "document_unrecognised"),
    (parse_document, "Đã triển khai xong", "document_unrecognised"),
    (parse_document, "DA Nang 123", "document_unrecognised"),
    (parse_document, "04/10/2021", "document_unrecognised"),
    (parse_document, "692/KH-SXD ngày 31/02/2021", "impossible_date"),
]


@pytest.mark.parametrize(("func", "text", "code"), REFUSED)
def test_refused(func: Callable[[str], Any], text: str, code: str) -> None:
    assert error_code(func, text) == code


# --- properties --------------------------------------------------------------------------------

TOKENS = [
    "0", "1", "5", "12", "250", "1.250", "1,5", "000", ".", ",", " ", "-", "+", "%", "/", "&",
    "đ", "đồng", "vnđ", "VND", "triệu", "tr", "tỷ", "tỉ", "nghìn", "ngàn", "k", "rưỡi", "âm",
    "ngày", "tháng", "năm", "có", "không", "ạ", "số", "KH", "QĐ", "/KH-SXD", "-KL/TU",
    "Kế hoạch", "về việc", "và", "\n", "\t", "Ạ", "ơ", "ư", "\u0301", "\u00a0", "phần trăm",
    "31/02/2021", "04/10/2021", "9" * 70,
]  # fmt: skip
mixed_text = st.lists(st.sampled_from(TOKENS), max_size=14).map("".join) | st.lists(
    st.sampled_from(TOKENS), max_size=14
).map(" ".join)
any_text = st.text() | mixed_text

TOTAL_PARSERS: dict[str, tuple[Callable[[str], Any], type | tuple[type, ...]]] = {
    "integer": (parse_integer, int),
    "number": (parse_number, Decimal),
    "percent": (parse_percent, Decimal),
    "money": (parse_money, int),
    "date": (parse_date, datetime.date),
    "yesno": (parse_yesno, bool),
    "choice": (choice, tuple),
    "choice_other": (choice_other, tuple),
    "multichoice": (multi, tuple),
    "multichoice_other": (multi_other, tuple),
    "document": (parse_document, Document),
    "fold": (fold, str),
    "normalize_text": (normalize_text, str),
}


@pytest.mark.parametrize("name", TOTAL_PARSERS)
@settings(max_examples=300)
@given(text=any_text)
def test_parsers_return_a_value_or_raise_parse_error(name: str, text: str) -> None:
    func, kind = TOTAL_PARSERS[name]
    try:
        result = func(text)
    except ParseError as error:
        assert isinstance(error.code, str) and isinstance(error.params, dict)
        return
    assert isinstance(result, kind)


@given(text=any_text)
def test_percent_is_within_range(text: str) -> None:
    with contextlib.suppress(ParseError):
        assert 0 <= parse_percent(text) <= 100


@given(text=any_text)
def test_money_is_never_negative(text: str) -> None:
    with contextlib.suppress(ParseError):
        assert 0 <= parse_money(text) < 10**15


@given(text=any_text)
def test_normalize_text_is_idempotent(text: str) -> None:
    once = normalize_text(text)
    assert normalize_text(once) == once
    assert "\n\n\n" not in once


@given(n=st.integers(min_value=0, max_value=10**12 - 1))
def test_dotted_integers_round_trip(n: int) -> None:
    dotted = f"{n:,}".replace(",", ".")
    assert parse_money(dotted + " đồng") == n
    assert parse_money(dotted) == n
    assert parse_integer(dotted) == n
    assert parse_integer(f"{n:,}".replace(",", " ")) == n
    assert parse_integer(str(n)) == n


@given(n=st.integers(min_value=1_000_000, max_value=10**12 - 1))
def test_english_grouping_round_trips(n: int) -> None:
    assert parse_integer(f"{n:,}") == n
    assert parse_money(f"{n:,} VND") == n


@given(n=st.integers(min_value=0, max_value=999), scale=st.sampled_from(["tỷ", "triệu", "nghìn"]))
def test_scaled_money_round_trips(n: int, scale: str) -> None:
    factor = {"tỷ": 10**9, "triệu": 10**6, "nghìn": 10**3}[scale]
    assert parse_money(f"{n} {scale}") == n * factor


@given(value=st.decimals(min_value=-(10**9), max_value=10**9, places=3))
def test_vietnamese_decimals_round_trip(value: Decimal) -> None:
    assert parse_number(vn_dec(value)) == value


@given(value=st.decimals(min_value=0, max_value=100, places=2))
def test_percent_round_trips(value: Decimal) -> None:
    assert parse_percent(vn_dec(value) + "%") == value


@given(date=st.dates(min_value=day(1900, 1, 1), max_value=day(2100, 12, 31)))
def test_dates_round_trip(date: datetime.date) -> None:
    assert parse_date(f"{date.day:02}/{date.month:02}/{date.year:04}") == date
    assert parse_date(f"{date.day}-{date.month}-{date.year:04}") == date
    assert parse_date(date.isoformat()) == date
    assert parse_date(f"ngày {date.day} tháng {date.month} năm {date.year:04}") == date


@given(index=st.integers(min_value=0, max_value=len(OPTIONS) - 1))
def test_choice_by_number_and_label_round_trips(index: int) -> None:
    label = OPTIONS[index]
    assert choice(str(index + 1)) == ((label,), None)
    assert choice(fold(label).upper()) == ((label,), None)


@given(picked=st.sets(st.integers(min_value=0, max_value=len(OPTIONS) - 1), min_size=1))
def test_multichoice_by_numbers_round_trips(picked: set[int]) -> None:
    expected = tuple(OPTIONS[i] for i in sorted(picked))
    assert multi(", ".join(str(i + 1) for i in picked)) == (expected, None)
    assert multi(", ".join(OPTIONS[i] for i in picked)) == (expected, None)


# --- messages ----------------------------------------------------------------------------------

TYPES = (
    "integer", "number", "percent", "money", "date", "yesno", "choice", "multichoice",
    "documents", "list", "text", "longtext", "file",
)  # fmt: skip
# One input per code, so each message is rendered with the params the error really carries.
TRIGGERS: dict[str, tuple[Callable[[str], Any], str]] = {
    "empty": (parse_integer, ""),
    "not_a_number": (parse_integer, "abc"),
    "not_integer": (parse_integer, "1,5"),
    "number_too_large": (parse_number, "9" * 20),
    "percent_out_of_range": (parse_percent, "100,5"),
    "not_money": (parse_money, "abc"),
    "negative_money": (parse_money, "-5 triệu"),
    "money_too_large": (parse_money, "1000000 tỷ"),
    "not_a_date": (parse_date, "abc"),
    "impossible_date": (parse_date, "31/02/2021"),
    "not_yesno": (parse_yesno, "có lẽ"),
    "unknown_option": (choice, "khác"),
    "option_out_of_range": (choice, "9"),
    "ambiguous_option": (choice, "tiền"),
    "document_unrecognised": (parse_document, "hello"),
    "scale_word": (parse_integer, "10 triệu"),
    "exponent": (parse_number, "1e6"),
    "percent_sign": (parse_integer, "95%"),
    "percent_unit": (parse_percent, "45 người"),
    "detached_sign": (parse_integer, "- 3"),
    "money_fraction": (parse_money, "10,5 đồng"),
    "implausible_year": (parse_date, "04/10/1021"),
    "single_choice": (choice_other, "1, 3"),
}


def messages() -> dict[str, str]:
    """Return the parsing message catalogue as loaded by PyYAML."""
    data = yaml.safe_load(MESSAGES.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def source_codes() -> set[str]:
    """Return every ParseError code written in the modules of bot/parsing/."""
    source = "\n".join(path.read_text(encoding="utf-8") for path in SOURCES)
    return set(re.findall(r'ParseError\(\s*"([a-z_]+)"', source))


def test_every_code_has_a_message() -> None:
    codes, keys = source_codes(), set(messages())
    assert len(codes) >= 10
    assert {f"error.{code}" for code in codes} <= keys
    assert {key for key in keys if key.startswith("error.")} == {f"error.{c}" for c in codes}


def test_every_type_has_a_hint() -> None:
    keys = set(messages())
    assert {f"hint.{kind}" for kind in TYPES} <= keys
    assert not keys & {"error.below_min", "error.above_max", "error.too_long"}


def test_messages_are_nfc_vietnamese() -> None:
    for key, text in messages().items():
        assert isinstance(text, str) and text.strip(), key
        assert unicodedata.normalize("NFC", text) == text, key


def test_triggers_cover_every_code() -> None:
    assert set(TRIGGERS) == source_codes()


@pytest.mark.parametrize("code", sorted(TRIGGERS))
@pytest.mark.parametrize("fmt", ["plain", "html"])
def test_messages_render_with_the_error_params(code: str, fmt: Any) -> None:
    func, text = TRIGGERS[code]
    with pytest.raises(ParseError) as caught:
        func(text)
    assert caught.value.code == code
    rendered = Catalogue(ROOT / "templates").render(f"error.{code}", fmt, **caught.value.params)
    assert rendered and "{" not in rendered


@pytest.mark.parametrize("kind", TYPES)
def test_hints_render_without_params(kind: str) -> None:
    assert Catalogue(ROOT / "templates").render(f"hint.{kind}").startswith("Ví dụ:")


def test_every_document_abbreviation_expands_to_a_listed_kind() -> None:
    vocabulary = json.loads((templates_dir() / "vocabulary" / "documents.json").read_text("utf-8"))
    kinds = set(vocabulary["kinds"])
    assert vocabulary["default_kind"] in kinds
    for abbreviation, kind in vocabulary["abbreviations"].items():
        assert kind in kinds, abbreviation
        assert unicodedata.is_normalized("NFC", abbreviation + kind), abbreviation
        parsed = parse_document(f"{abbreviation} số 12/{abbreviation}-UBND ngày 01/02/2023 về X")
        assert (parsed.kind, parsed.number) == (kind, f"12/{abbreviation}-UBND"), abbreviation


@pytest.mark.parametrize(("size", "said"), [
    (0, ""), (1, "1 KB"), (1024, "1 KB"), (1025, "2 KB"), (10_251, "11 KB"),
    (1024 * 1023, "1.023 KB"), (1024 * 1023 + 1, "1 MB"), (1024 * 1024, "1 MB"),
    (1_300_000, "1,2 MB"), (25 * 1024 * 1024, "25 MB"),
])
def test_a_file_size_is_said_as_people_read_it(size: int, said: str) -> None:
    # rounded up in KB (a 1-byte file is "1 KB", never "0 KB"); from 1.024 KB on, in MB
    assert file_size(size) == said
