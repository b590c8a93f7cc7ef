"""Issue #9, items 2 and 9: the confirmation says what was understood, in the same message as the
next question; a keyword typed where text is asked is checked; no ".." and no empty "→ "."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.campaigns.campaign import load_campaign_text
from bot.engine import Engine
from bot.store import Store
from tests.conftest import TZ, open_chat

EVERY_TYPE = """\
title: Đợt kiểm tra xác nhận
request: Công văn số 2/SNV-TĐKT ngày 01/10/2023 của Sở Nội vụ
agency: {parent: UBND TỈNH QUẢNG NGÃI, name: SỞ NỘI VỤ, code: SNV, place: Quảng Ngãi}
deadline: 2023-10-31 17:00
questionnaire:
  sections:
    - title: I. Chung
      questions:
        - {id: ghi_chu, type: text, ask: "Thuận lợi?"}
        - {id: so_nguoi, type: integer, ask: "Số người?", unit: người}
        - {id: dien_tich, type: number, ask: "Diện tích?", unit: ha}
        - {id: ty_le, type: percent, ask: "Tỷ lệ tiêm?"}
        - {id: tien, type: money, ask: "Số tiền ủng hộ?"}
        - {id: ngay, type: date, ask: "Ngày triển khai?"}
        - {id: co_vb, type: yesno, ask: "Có văn bản không?"}
        - {id: muc_do, type: choice, ask: "Tự đánh giá?", options: [Tốt, Khá, Trung bình]}
        - {id: van_ban, type: documents, ask: "Các văn bản?"}
        - {id: anh, type: file, ask: "Ảnh minh chứng?", required: false}
units:
  - {code: SXD, name: Sở Xây dựng}
"""


@pytest.fixture
async def round_id(store: Store) -> int:
    spec = load_campaign_text("every.yaml", EVERY_TYPE, TZ)
    created, _ = await store.create_campaign(spec, datetime(2023, 10, 17, tzinfo=UTC))
    return created


CONFIRMATIONS = [
    ("1.250", "✔️ Đã lưu: 1.250 người.", "Câu 3/10"),
    ("12,5 ha", "✔️ Đã lưu: 12,5 ha.", "Câu 4/10"),
    ("99.5", "✔️ Đã lưu: 99,5 %.", "Câu 5/10"),
    ("1,5 tỷ", "✔️ Đã lưu: 1.500.000.000 đồng (một tỷ, năm trăm triệu đồng).", "Câu 6/10"),
    ("4/10/21", "✔️ Đã lưu: ngày 04/10/2021.", "Câu 7/10"),
    ("ừ", "✔️ Đã lưu: Có.", "Câu 8/10"),
    ("khá", "✔️ Đã lưu: Khá.", "Câu 9/10"),
]


async def test_each_converted_answer_is_shown_as_understood(engine: Engine,
                                                            round_id: int) -> None:
    chat = await open_chat(engine, round_id)
    assert "✔️ Đã lưu." in await chat.send("Được sự quan tâm của lãnh đạo")
    for typed, confirmation, following in CONFIRMATIONS:
        text = await chat.send(typed)  # Chat.send asserts one message: no extra message
        assert text.startswith(confirmation + "\n\n" + following), (typed, text)


async def test_a_document_item_is_shown_as_understood(engine: Engine, round_id: int) -> None:
    chat = await open_chat(engine, round_id)
    for typed, _, _ in [("x", "", ""), *CONFIRMATIONS]:
        await chat.send(typed)
    text = await chat.send("KH 692/KH-SXD ngày 4/10/2021 tổ chức thực hiện phong trào.")
    assert text.startswith("✔️ Đã lưu mục 1: Kế hoạch số 692/KH-SXD ngày 04/10/2021 tổ chức"
                           " thực hiện phong trào. Gửi mục tiếp theo")


async def test_a_keyword_where_text_is_asked_is_checked_first(engine: Engine, store: Store,
                                                              round_id: int) -> None:
    chat = await open_chat(engine, round_id)
    text = await chat.send("Xong")
    assert "«Xong»" in text and "gõ lại" in text and chat.asked == "ghi_chu"
    assert (await store.sheets(round_id))[0].answers == {}
    text = await chat.send("xong")
    assert "✔️ Đã lưu." in text and chat.asked == "so_nguoi"
    assert (await store.sheets(round_id))[0].answers == {"ghi_chu": "xong"}


async def test_a_real_answer_after_the_keyword_check_is_stored(engine: Engine, store: Store,
                                                               round_id: int) -> None:
    chat = await open_chat(engine, round_id)
    await chat.send("xoá")
    await chat.send("Đoàn kết, thống nhất")
    assert (await store.sheets(round_id))[0].answers == {"ghi_chu": "Đoàn kết, thống nhất"}


async def test_an_answer_ending_in_a_full_stop_is_shown_without_two(engine: Engine,
                                                                    round_id: int) -> None:
    chat = await open_chat(engine, round_id)
    await chat.send("Được sự quan tâm.")
    text = await chat.send("quay lại")
    assert "Trả lời hiện tại: Được sự quan tâm. Gửi" in text
    assert ".." not in text


async def test_an_empty_file_answer_shows_no_bare_arrow(engine: Engine, round_id: int) -> None:
    chat = await open_chat(engine, round_id)
    for typed in ["x", "1", "1", "1", "1", "1/1/2021", "có", "1",
                  "KH 1/KH-SXD ngày 1/1/2021 về X", "xong", "xong"]:
        await chat.send(typed)
    text = await chat.send("/review")
    assert "→ \n" not in text + "\n" and "→ (bỏ qua)" in text
