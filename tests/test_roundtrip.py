"""Issue #9: for every answer type, value → the ways people write it → parse → the same value;
and no typed text ever gives a value outside the type's (and the question's) range."""

from __future__ import annotations

import contextlib
import datetime
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.display import format_document
from bot.parsing import ParseError, fold
from bot.questionnaire import Question, parse_answer
from bot.texts import vn_dec, vn_int

TODAY = datetime.date(2026, 12, 1)
OPTIONS = ("Tiền mặt", "Hiện vật", "Ngày công", "Phòng, chống dịch", "Khác nữa")


def q(kind: str, **fields: Any) -> Question:
    return Question(id="x", type=kind, ask="?", **fields)


def parse(question: Question, text: str) -> Any:
    return parse_answer(question, text, TODAY)


def spaced(n: int) -> str:
    return f"{n:,}".replace(",", " ")


@given(n=st.integers(-(10**12), 10**12), unit=st.sampled_from(["", " người", " đơn vị"]),
       lead=st.sampled_from(["", "tổng cộng: ", "có "]))
def test_integer_round_trips(n: int, unit: str, lead: str) -> None:
    forms = [str(n), vn_int(n), f"-{spaced(-n)}" if n < 0 else spaced(n)]
    if n >= 0:
        forms += [lead + vn_int(n) + unit, f"{n:,}" if n >= 1_000_000 else str(n)]
    for text in forms:
        assert parse(q("integer"), text) == n, text


@given(value=st.decimals(min_value=-(10**9), max_value=10**9, places=3),
       unit=st.sampled_from(["", " ha", " km"]))
def test_number_round_trips(value: Decimal, unit: str) -> None:
    assert Decimal(parse(q("number"), vn_dec(value) + unit)) == value
    plain = format(value.normalize(), "f").replace(".", ",")
    assert Decimal(parse(q("number"), plain)) == value


@given(value=st.decimals(min_value=0, max_value=100, places=2),
       form=st.sampled_from(["{}%", "{} %", "{} phần trăm", "đạt {}%", "{}"]))
def test_percent_round_trips(value: Decimal, form: str) -> None:
    assert Decimal(parse(q("percent"), form.format(vn_dec(value)))) == value


@given(n=st.integers(0, 10**15 - 1), currency=st.sampled_from(["", " đồng", "đ", " VNĐ"]))
def test_money_round_trips(n: int, currency: str) -> None:
    assert parse(q("money"), vn_int(n) + currency) == n
    for scale, word in ((10**9, "tỷ"), (10**6, "triệu"), (10**3, "nghìn")):
        if n and n % (scale // 1000 if scale > 1000 else 1) == 0 and n // scale < 10**6:
            written = vn_dec(Decimal(n) / scale) + " " + word
            assert parse(q("money"), written) == n, written


@given(n=st.integers(1, 999), m=st.integers(0, 999))
def test_composed_money_round_trips(n: int, m: int) -> None:
    text = f"{n} tỷ {m} triệu" if m else f"{n} tỷ"
    assert parse(q("money"), text) == n * 10**9 + m * 10**6


@given(day=st.dates(min_value=datetime.date(1900, 1, 1), max_value=datetime.date(2100, 12, 31)))
def test_date_round_trips(day: datetime.date) -> None:
    iso = day.isoformat()
    for text in (f"{day.day:02}/{day.month:02}/{day.year}", f"{day.day}-{day.month}-{day.year}",
                 iso, f"ngày {day.day} tháng {day.month} năm {day.year}"):
        assert parse(q("date"), text) == iso, text
    if abs(day.year - TODAY.year) < 50:  # a two-digit year is the nearest such year
        assert parse(q("date"), f"{day.day}/{day.month}/{day.year % 100:02}") == iso


@given(value=st.booleans(), polite=st.sampled_from(["", " ạ", "."]))
def test_yesno_round_trips(value: bool, polite: str) -> None:
    words = ["có", "Có", "rồi", "đúng"] if value else ["không", "ko", "chưa", "Không"]
    for word in words:
        assert parse(q("yesno"), word + polite) is value


@given(index=st.integers(0, len(OPTIONS) - 1))
def test_choice_round_trips(index: int) -> None:
    question = q("choice", options=OPTIONS)
    expected = {"selected": [OPTIONS[index]], "other": None}
    for text in (str(index + 1), OPTIONS[index], fold(OPTIONS[index]).upper()):
        assert parse(question, text) == expected, text


@given(picked=st.sets(st.integers(0, len(OPTIONS) - 1), min_size=1))
def test_multichoice_round_trips(picked: set[int]) -> None:
    question = q("multichoice", options=OPTIONS)
    expected = {"selected": [OPTIONS[i] for i in sorted(picked)], "other": None}
    for joined in (", ".join(str(i + 1) for i in picked), "; ".join(OPTIONS[i] for i in picked)):
        assert parse(question, joined) == expected, joined


KINDS = ["Kế hoạch", "Công văn", "Quyết định", "Thông báo", "Chỉ thị", "Báo cáo"]
SUMMARIES = st.text(alphabet="abcdeghiklmnopqrstuvxyàáảãạăâđêôơư ", min_size=3, max_size=60)


@given(kind=st.sampled_from(KINDS), number=st.integers(1, 9999),
       issuer=st.sampled_from(["KH-SXD", "SXD-CCGD", "QĐ-UBND", "UBND-KT"]),
       day=st.dates(min_value=datetime.date(1990, 1, 1), max_value=datetime.date(2030, 12, 31)),
       summary=SUMMARIES.map(lambda s: " ".join(s.split())).filter(lambda s: len(s) >= 3
                                                                  and s[0].isalpha()))
def test_document_round_trips(kind: str, number: int, issuer: str, day: datetime.date,
                              summary: str) -> None:
    value = parse(q("documents"), f"{kind} số {number}/{issuer} ngày {day:%d/%m/%Y} {summary}")
    assert value["number"] == f"{number}/{issuer}" and value["date"] == day.isoformat()
    assert value["summary"] == summary.strip()
    assert parse(q("documents"), format_document(value)) == value  # shown, then typed again


@given(text=st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")),
                    min_size=1, max_size=400).map(lambda s: " ".join(s.split())).filter(bool))
def test_text_round_trips(text: str) -> None:
    assert parse(q("text"), text) == parse(q("text"), parse(q("text"), text))


# --- nothing out of range ------------------------------------------------------------------

TOKENS = ["0", "5", "12", "1.250", "1,5", "99,5", "100", "101", "-", "+", "%", "/", "đồng", "tr",
          "triệu", "tỷ", "k", "nghìn", "e", "1e3", "ngày", "tháng", "năm", "1999", "99", "31",
          "12", " ", "phần trăm", "người", "âm", "có", "không", ",", ".", "\n"]  # fmt: skip
typed = st.lists(st.sampled_from(TOKENS), max_size=10).map("".join) | st.lists(
    st.sampled_from(TOKENS), max_size=10).map(" ".join) | st.text(max_size=40)


@settings(max_examples=400)
@given(text=typed)
def test_no_typed_text_gives_a_value_out_of_range(text: str) -> None:
    checks = {
        q("integer", min=Decimal(1), max=Decimal(1000)): lambda v: 1 <= v <= 1000,
        q("number", min=Decimal(0)): lambda v: Decimal(v) >= 0,
        q("percent"): lambda v: 0 <= Decimal(v) <= 100,
        q("money"): lambda v: isinstance(v, int) and 0 <= v < 10**15,
        q("date"): lambda v: "1900-01-01" <= v <= "2100-12-31",
        q("choice", options=OPTIONS): lambda v: set(v["selected"]) <= set(OPTIONS),
        q("multichoice", options=OPTIONS): lambda v: v["selected"]
        and set(v["selected"]) <= set(OPTIONS),
        q("yesno"): lambda v: isinstance(v, bool),
    }
    for question, within in checks.items():
        with contextlib.suppress(ParseError):
            value = parse(question, text)
            assert within(value), (question.type, text, value)
