"""Engine transitions as a contact experiences them, through the real store."""

from __future__ import annotations

import ast
from pathlib import Path

from bot.channels.base import TELEGRAM
from bot.engine import Engine
from bot.store import Store
from tests.conftest import Clock, open_chat


async def sheet(store: Store, campaign_id: int, unit: str = "SXD") -> dict[str, object]:
    found = {s.code: s for s in await store.sheets(campaign_id)}
    return {"status": found[unit].status, **found[unit].answers}


async def answer_all(chat, documents: bool = True) -> None:  # type: ignore[no-untyped-def]
    await chat.send("1.250 người")
    await chat.send("có" if documents else "không")
    if documents:
        await chat.send("Kế hoạch số 692/KH-SXD ngày 04/10/2021 tổ chức thực hiện phong trào")
        await chat.send("xong")
    await chat.send("bỏ qua")
    await chat.send("99,5 %")
    await chat.send("1,5 tỷ")
    await chat.send("1, 3")
    await chat.send("2")


async def test_greeting_shows_round_deadline_and_first_question(engine, campaign_id) -> None:
    chat = await open_chat(engine, campaign_id)
    text = chat.replies[0].text
    assert "Sở Xây dựng" in text and "Đợt thử nghiệm" in text
    assert "17:00 ngày 31/10/2023" in text
    assert "Số câu hỏi: 7" in text  # van_ban is hidden until co_vb is answered "có"
    assert "Câu 1/7 · I. Thông tin chung" in text
    assert chat.asked == "so_nguoi"


async def test_bad_input_is_explained_and_asked_again_nothing_stored(engine, store,
                                                                    campaign_id) -> None:
    chat = await open_chat(engine, campaign_id)
    text = await chat.send("khoảng vài trăm")
    assert chat.asked == "so_nguoi"
    assert "Câu 1/7" in text
    assert await sheet(store, campaign_id) == {"status": "not_started"}
    text = await chat.send("0")
    assert "từ 1 người" in text
    assert await sheet(store, campaign_id) == {"status": "not_started"}


async def test_answer_is_stored_and_next_question_follows(engine, store, campaign_id) -> None:
    chat = await open_chat(engine, campaign_id)
    text = await chat.send("1.250 người")
    assert "Đã lưu" in text and "Câu 2/7" in text
    assert await sheet(store, campaign_id) == {"status": "in_progress", "so_nguoi": 1250}


async def test_when_condition_shows_or_hides_a_question(engine, campaign_id) -> None:
    chat = await open_chat(engine, campaign_id)
    await chat.send("12")
    text = await chat.send("có")
    assert chat.asked == "van_ban" and "Câu 3/8" in text
    await chat.send("quay lại")
    text = await chat.send("không")
    assert chat.asked == "ghi_chu" and "Câu 3/7" in text


async def test_documents_are_collected_until_xong(engine, store, campaign_id) -> None:
    chat = await open_chat(engine, campaign_id)
    await chat.send("12")
    await chat.send("có")
    text = await chat.send("Kế hoạch số 692/KH-SXD ngày 04/10/2021 tổ chức thực hiện phong trào")
    assert "Đã lưu mục 1" in text and chat.asked == "van_ban"
    await chat.send("CV 1795/SXD-CCGD ngày 07/9/2021 về việc tăng cường phòng, chống dịch")
    await chat.send("Xong")
    assert chat.asked == "ghi_chu"
    docs = (await sheet(store, campaign_id))["van_ban"]
    assert [d["number"] for d in docs] == ["692/KH-SXD", "1795/SXD-CCGD"]  # type: ignore[index]
    assert docs[0]["kind"] == "Kế hoạch" and docs[0]["date"] == "2021-10-04"  # type: ignore[index]


async def test_required_list_cannot_end_empty(engine, campaign_id) -> None:
    chat = await open_chat(engine, campaign_id)
    await chat.send("12")
    await chat.send("có")
    text = await chat.send("xong")
    assert "ít nhất một mục" in text and chat.asked == "van_ban"


async def test_skip_only_optional_questions(engine, store, campaign_id) -> None:
    chat = await open_chat(engine, campaign_id)
    text = await chat.send("Bỏ qua")
    assert "bắt buộc" in text and chat.asked == "so_nguoi"
    await chat.send("12")
    await chat.send("không")
    await chat.send("bo qua")  # typed without diacritics
    assert chat.asked == "ty_le"
    stored = await sheet(store, campaign_id)
    assert "ghi_chu" in stored and stored["ghi_chu"] is None


async def test_back_shows_previous_question_with_its_answer(engine, campaign_id) -> None:
    chat = await open_chat(engine, campaign_id)
    text = await chat.send("quay lại")
    assert "câu đầu tiên" in text and chat.asked == "so_nguoi"
    await chat.send("1.250")
    text = await chat.send("Quay lai")
    assert chat.asked == "so_nguoi" and "1.250 người" in text
    await chat.send("1.300")
    assert chat.asked == "co_vb"  # the next unanswered question, not a repeat


async def test_review_then_submit_refused_while_required_missing(engine, store,
                                                                 campaign_id) -> None:
    chat = await open_chat(engine, campaign_id)
    await chat.send("12")
    text = await chat.send("/submit")
    assert "Chưa thể gửi" in text
    assert "Đơn vị có ban hành văn bản không?" in text and "Số tiền ủng hộ?" in text
    assert "Ghi chú thêm?" not in text  # optional
    assert (await sheet(store, campaign_id))["status"] == "in_progress"
    text = await chat.send("/review")
    assert "BẢNG TRẢ LỜI" in text and "12 người" in text and chat.asked == "co_vb"


async def test_full_round_submit_and_edit_after_submit(engine, store, campaign_id) -> None:
    chat = await open_chat(engine, campaign_id)
    await answer_all(chat)
    assert "BẢNG TRẢ LỜI" in chat.replies[0].text and chat.asked is None
    assert "1.500.000.000 đồng" in chat.replies[0].text
    assert "Hội nghị, Mạng xã hội" in chat.replies[0].text
    text = await chat.send("/submit")
    assert "Đã gửi báo cáo" in text
    assert (await sheet(store, campaign_id))["status"] == "submitted"
    text = await chat.send("/edit")
    assert "Chọn câu cần sửa" in text
    text = await chat.send("6")
    assert chat.asked == "tien" and "1.500.000.000 đồng" in text
    text = await chat.send("2 tỷ")
    assert "đã sửa" in text
    stored = await sheet(store, campaign_id)
    assert stored["status"] == "edited" and stored["tien"] == 2_000_000_000
    await chat.send("/submit")
    assert (await sheet(store, campaign_id))["status"] == "submitted"


async def test_edit_midway_returns_to_where_the_contact_was(engine, campaign_id) -> None:
    chat = await open_chat(engine, campaign_id)
    await chat.send("12")
    await chat.send("không")
    await chat.send("bỏ qua")
    assert chat.asked == "ty_le"
    await chat.send("/edit 1")
    assert chat.asked == "so_nguoi"
    text = await chat.send("15")
    assert chat.asked == "ty_le" and "Câu 4/7" in text


async def test_a_new_process_resumes_where_the_contact_was(store, campaign_id) -> None:
    first = await open_chat(Engine(store, clock=Clock()), campaign_id)
    await first.send("12")
    await first.send("có")
    await first.send("Kế hoạch số 692/KH-SXD ngày 04/10/2021 tổ chức thực hiện")
    restarted = await open_chat(Engine(store, clock=Clock()), campaign_id)
    assert restarted.asked == "van_ban"
    assert "trở lại" in restarted.replies[0].text and "Đã có 1 mục" in restarted.replies[0].text


async def test_same_message_delivered_twice_changes_nothing(engine, store, campaign_id) -> None:
    chat = await open_chat(engine, campaign_id)
    await chat.send("12", message_id="m1")
    await chat.send("13", message_id="m1")
    assert (await sheet(store, campaign_id))["so_nguoi"] == 12
    assert len(await store.history(campaign_id, "SXD")) == 1
    assert chat.asked == "co_vb"


async def test_contacts_of_one_unit_share_one_sheet(engine, store, campaign_id) -> None:
    alice = await open_chat(engine, campaign_id, chat_id="alice")
    await alice.send("12")
    bob = await open_chat(engine, campaign_id, chat_id="bob")
    assert bob.asked == "co_vb"  # bob continues the shared sheet
    await bob.send("không")
    text = await alice.send("/review")
    assert "Không" in text
    other = await open_chat(engine, campaign_id, unit="SYT", chat_id="carol")
    assert other.asked == "so_nguoi"
    assert (await sheet(store, campaign_id, "SYT")) == {"status": "not_started"}


async def test_every_change_is_kept_in_history(engine, store, campaign_id) -> None:
    chat = await open_chat(engine, campaign_id)
    await chat.send("12")
    await chat.send("quay lại")
    await chat.send("13")
    history = await store.history(campaign_id, "SXD")
    values = [h.value for h in history if h.question_id == "so_nguoi"]
    assert values == [12, 13]


async def test_buttons_answer_and_old_buttons_expire(store, campaign_id) -> None:
    chat = await open_chat(Engine(store, clock=Clock()), campaign_id, caps=TELEGRAM)
    await chat.send("12")
    labels = [b.label for row in chat.replies[0].buttons for b in row]
    assert labels[:2] == ["Có", "Không"]
    text = await chat.send(button="so_nguoi:back")
    assert "không còn hiệu lực" in text and chat.asked == "co_vb"
    await chat.send(button="co_vb:n")
    assert chat.asked == "ghi_chu"
    await chat.send(button="ghi_chu:skip")
    await chat.send("100")
    await chat.send("10tr")
    text = await chat.send(button="hinh_thuc:done")
    assert chat.asked == "hinh_thuc" and "ít nhất một mục" in text
    await chat.send(button="hinh_thuc:t1")
    await chat.send(button="hinh_thuc:t3")
    marked = [b.label for row in chat.replies[0].buttons for b in row]
    assert "✅ Hội nghị" in marked and "✅ Mạng xã hội" in marked and "Báo chí" in marked
    await chat.send(button="hinh_thuc:done")
    assert chat.asked == "muc_do"
    stored = await sheet(store, campaign_id)
    assert stored["hinh_thuc"] == {"selected": ["Hội nghị", "Mạng xã hội"], "other": None}
    await chat.send(button="muc_do:2")
    assert (await sheet(store, campaign_id))["muc_do"] == {"selected": ["Khá"], "other": None}
    assert chat.asked is None  # every question answered: the sheet is shown


async def test_unbound_contact_is_told_what_to_do(engine, campaign_id) -> None:
    from bot.channels.base import CONSOLE, Incoming

    replies = await engine.handle(Incoming("test", "stranger", text="xin chào"), CONSOLE)
    assert "chưa gắn với đơn vị" in replies[0].text
    replies = await engine.handle(Incoming("test", "stranger", text="/start sai-ma"), CONSOLE)
    assert "Mã mời không đúng" in replies[0].text


async def test_invite_token_binds_the_chat(engine, store, spec) -> None:
    from datetime import UTC, datetime

    from bot.channels.base import CONSOLE, Incoming

    _, invites = await store.create_campaign(spec, datetime(2023, 10, 17, tzinfo=UTC))
    token = next(i.token for i in invites if i.code == "SYT")
    replies = await engine.handle(Incoming("test", "dave", text=f"/start {token}"), CONSOLE)
    assert "Sở Y tế" in replies[0].text and replies[0].extra["question"] == "so_nguoi"


async def test_a_message_that_is_only_a_valid_invite_token_binds_like_start(
        engine, store, spec) -> None:
    from datetime import UTC, datetime

    from bot.channels.base import CONSOLE, Incoming

    _, invites = await store.create_campaign(spec, datetime(2023, 10, 17, tzinfo=UTC))
    token = next(i.token for i in invites if i.code == "SYT")
    replies = await engine.handle(Incoming("test", "erin", text=f" {token} "), CONSOLE)
    assert "Sở Y tế" in replies[0].text and replies[0].extra["question"] == "so_nguoi"
    replies = await engine.handle(Incoming("test", "fay", text=token[::-1]), CONSOLE)
    assert "chưa gắn với đơn vị" in replies[0].text  # the shape alone binds nothing


async def test_closed_round_refuses_changes(engine, store, campaign_id) -> None:
    chat = await open_chat(engine, campaign_id)
    await store.set_campaign_status(campaign_id, "closed")
    text = await chat.send("12")
    assert "đã kết thúc" in text
    assert await sheet(store, campaign_id) == {"status": "not_started"}


def test_engine_imports_no_platform() -> None:
    source = Path("bot/engine.py").read_text(encoding="utf-8")
    imported = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add((node.module or "").split(".")[0])
    assert not imported & {"telegram", "httpx", "aiohttp", "requests", "aiosqlite", "sqlite3"}


async def test_opening_another_units_invite_starts_that_units_sheet(engine, store,
                                                                    campaign_id) -> None:
    """Issue #9 item 5: a contact of a submitted unit who opens another unit's invite."""
    tokens = {i.code: i.token for i in await store.regenerate_invites(campaign_id)}
    chat = await open_chat(engine, campaign_id, unit="SYT")
    await answer_all(chat)
    assert "Đã gửi báo cáo" in await chat.send("/submit")
    text = await chat.send(f"/start {tokens['SXD']}")
    assert "trả lời cho Sở Xây dựng" in text and "SYT" in text
    assert "Câu 1/7" in text and chat.asked == "so_nguoi"
    text = await chat.send("40")
    assert "Đã lưu: 40 người" in text
    assert (await sheet(store, campaign_id, "SXD"))["so_nguoi"] == 40
    assert (await sheet(store, campaign_id, "SYT"))["status"] == "submitted"


async def test_the_submit_time_is_local(store, campaign_id) -> None:
    """Issue #9 item 6: 11:41 UTC is 18:41 in Asia/Ho_Chi_Minh, the time a contact reads."""
    from datetime import UTC, datetime

    engine = Engine(store, clock=lambda: datetime(2023, 10, 20, 11, 41, tzinfo=UTC))
    chat = await open_chat(engine, campaign_id)
    await answer_all(chat)
    assert "lúc 18:41" in await chat.send("/submit")


def test_every_time_in_a_template_goes_through_the_local_filter() -> None:
    """Issue #9 item 6: no template formats a time itself (strftime would show UTC)."""
    root = Path(__file__).resolve().parent.parent / "templates" / "messages"
    for path in root.glob("*.yaml"):
        assert "strftime" not in path.read_text(encoding="utf-8"), path.name


async def test_the_greeting_counts_the_questions_the_next_line_counts(engine, campaign_id) -> None:
    """Issue #9 item 9: "Số câu hỏi" is the y of the "Câu x/y" that follows, and says that a
    conditional question may add to it."""
    import re

    chat = await open_chat(engine, campaign_id)
    text = chat.replies[0].text
    total = re.search(r"Số câu hỏi: (\d+)", text)
    following = re.search(r"Câu \d+/(\d+)", text)
    assert total and following and total[1] == following[1] == "7"
    assert "có thể thêm tối đa 1 câu" in text
    await chat.send("12")
    await chat.send("có")  # van_ban opens
    text = await chat.send("/start")
    total, following = re.search(r"Số câu hỏi: (\d+)", text), re.search(r"Câu \d+/(\d+)", text)
    assert total and following and total[1] == following[1] == "8"
    assert "có thể thêm" not in text
