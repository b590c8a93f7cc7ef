"""The Zalo OA channel against tests/fakezalooa.py: receiving (signed webhook, inbox, once),
answering (buttons, typing, numbered lines, files), documents (uploads and links)."""

from __future__ import annotations

import asyncio
import io
import time
from pathlib import Path

import pytest
from docx import Document

from bot.channels.zalo_oa import ZaloOAChannel
from tests.conftest import SMALL_CAMPAIGN, TZ
from tests.fakezalooa import new_user_id
from tests.zalo_oa_rig import ADMIN, DESK, Bot, FileHost, MakeBot, file_host, make_bot

__all__ = ["file_host", "make_bot"]  # fixtures

USER = "2468458835296197922"
ANSWERS = ("12", "không", "bỏ qua", "100%", "10tr", "1, Tọa đàm")


def event(fake_app_id: str, user: str, text: str, msg_id: str) -> dict[str, object]:
    return {"app_id": fake_app_id, "event_name": "user_send_text", "timestamp": "1699003881354",
            "sender": {"id": user}, "recipient": {"id": "579745863508352884"},
            "message": {"msg_id": msg_id, "text": text}, "user_id_by_app": "1"}


# receiving ----------------------------------------------------------------------------------

async def test_a_signature_wrong_missing_or_made_with_the_oa_id_is_refused(
        make_bot: MakeBot) -> None:
    bot = await make_bot()
    fake = bot.fake
    body = event(fake.app_id, USER, "xin chào", "m-good")
    good = await asyncio.to_thread(fake.post_signed, body)
    assert good.status == 200
    await bot.processed("m-good")  # the fake counts no interaction for a hand-made event:
    assert bot.fake.sent_messages(USER) == []  # no message in the window to answer it
    text = await bot.say(USER, "xin chào")
    refused = [await asyncio.to_thread(fake.post_signed, {**body, "message": {
                   "msg_id": "m-wrong", "text": "x"}}, key="not-the-key"),
               await asyncio.to_thread(fake.post_unsigned, {**body, "message": {
                   "msg_id": "m-none", "text": "x"}}),
               await asyncio.to_thread(fake.post_signed, {**body, "message": {
                   "msg_id": "m-oa", "text": "x"}}, app_id=fake.oa_id)]
    assert [d.status for d in refused] == [403, 401, 403]
    for key in ("m-wrong", "m-none", "m-oa"):
        assert not await bot.store.inbox.is_processed("zalo_oa", key)
    assert await bot.store.inbox.pending("zalo_oa") == []
    assert "chưa gắn với đơn vị" in text


async def test_the_200_is_answered_fast_while_processing_is_slow(
        make_bot: MakeBot, monkeypatch: pytest.MonkeyPatch) -> None:
    bot = await make_bot()
    real = bot.hub.receive

    async def slow(*args: object, **kwargs: object) -> None:
        await asyncio.sleep(3)  # longer than Zalo's 2 s
        await real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(bot.hub, "receive", slow)
    started = time.monotonic()
    first = await asyncio.to_thread(bot.fake.send_text, USER, "xin chào")
    second = await asyncio.to_thread(bot.fake.send_text, USER, "xin chào lần nữa")
    delivered = [await asyncio.to_thread(bot.fake.wait_for_delivery,
                                         lambda d, key=key: d.msg_id == key) for key in
                 (first, second)]
    assert all(d.ok and d.elapsed is not None and d.elapsed < 0.5 for d in delivered)
    assert time.monotonic() - started < 2.5  # both answered while the first is processed
    await bot.processed(second, 15)
    assert all(d.attempt == 1 for d in bot.fake.deliveries())  # no redelivery


async def test_a_redelivered_event_is_processed_once_also_after_a_restart(
        make_bot: MakeBot) -> None:
    bot = await make_bot()
    await bot.say(USER, f"/start {await bot.token('SXD')}")
    key = await asyncio.to_thread(bot.fake.send_text, USER, "12")
    await bot.processed(key)
    await asyncio.to_thread(bot.fake.send_text, USER, "12", msg_id=key)  # Zalo sends it again
    await asyncio.to_thread(bot.fake.wait_idle)
    await bot.close()
    again = await make_bot(fake=bot.fake)
    await asyncio.to_thread(bot.fake.send_text, USER, "12", msg_id=key)
    await asyncio.to_thread(bot.fake.wait_idle)
    await again.hub.sender.drain()
    texts = [m.text for m in bot.fake.sent_messages(USER)]
    assert sum("Câu 2/7" in t for t in texts) == 1
    assert (await again.store.sheets(1))[0].answers == {"so_nguoi": 12}


async def test_an_event_stored_but_not_processed_is_processed_after_a_restart(
        make_bot: MakeBot, monkeypatch: pytest.MonkeyPatch) -> None:
    bot = await make_bot()
    await bot.say(USER, f"/start {await bot.token('SXD')}")

    async def killed(_self: ZaloOAChannel) -> None:  # the process dies right after the store
        return None

    with monkeypatch.context() as patch:
        patch.setattr(ZaloOAChannel, "drain", killed)
        key = await asyncio.to_thread(bot.fake.send_text, USER, "12")
        await asyncio.to_thread(bot.fake.wait_idle)
        assert [k for k, _ in await bot.store.inbox.pending("zalo_oa")] == [key]
        await bot.close()
    again = await make_bot(fake=bot.fake)
    await again.processed(key)
    assert "Câu 2/7" in bot.fake.sent_messages(USER)[-1].text
    assert (await again.store.sheets(1))[0].answers == {"so_nguoi": 12}


async def test_follow_is_greeted_and_receipts_echoes_and_unfollow_are_not_answered(
        make_bot: MakeBot) -> None:
    bot = await make_bot()
    user = await asyncio.to_thread(bot.fake.follow)
    [greeting] = await bot.sent_to(user)
    assert "/start" in greeting and "mã mời" in greeting
    sent = bot.fake.sent_messages(user)[0].message_id
    await asyncio.to_thread(bot.fake.received, user, [sent])
    await asyncio.to_thread(bot.fake.seen, user, [sent])
    await asyncio.to_thread(bot.fake.unfollow, user)
    await asyncio.to_thread(bot.fake.wait_idle)
    await asyncio.sleep(0.1)
    await bot.hub.sender.drain()
    assert len(bot.fake.sent_messages(user)) == 1  # the greeting's echo was dropped too
    assert all(d.ok for d in bot.fake.deliveries())
    sticker = await bot.after(USER, lambda: bot.fake.send_event(USER, "user_send_sticker", {
        "attachments": [{"type": "sticker", "payload": {"id": "1", "url": "x"}}]}) or "")
    assert "chưa đọc được loại tin nhắn này" in sticker[0]


# answering ----------------------------------------------------------------------------------

SEVEN = SMALL_CAMPAIGN.replace(
    "options: [Tốt, Khá]", "options: [Tốt, Khá, Đạt, Chưa đạt, Yếu, Kém, Rất kém]")


async def test_binds_taps_yes_no_types_a_choice_and_seven_options_come_numbered(
        make_bot: MakeBot) -> None:
    bot = await make_bot(campaign=SEVEN)
    text = await bot.say(USER, f"/start {await bot.token('SXD')}")
    assert "Sở Xây dựng" in text and "Câu 1/7" in text
    other = "2468458835296197923"
    assert "Sở Y tế" in await bot.say(other, await bot.token("SYT"))  # only the token
    assert "Câu 2/7" in await bot.say(USER, "12")
    asked = bot.fake.sent_messages(USER)[-1]
    assert [b["title"] for b in asked.buttons] == ["Có", "Không", "« Quay lại"]
    assert all(b["type"] == "oa.query.hide" for b in asked.buttons)
    assert "Trả lời 1 = Có" not in asked.text
    tapped = await bot.tap(USER, "Không")  # the tap: a user_send_text of its payload
    assert "Câu 3/7" in tapped
    assert "Đã lưu: Không." in tapped  # hidden buttons show nothing: the reply names the pick
    for answer in ANSWERS[2:5]:
        await bot.say(USER, answer)
    multichoice = bot.fake.sent_messages(USER)[-1]
    assert [b["title"] for b in multichoice.buttons] == [
        "Hội nghị", "Báo chí", "Mạng xã hội", "Xong", "« Quay lại"]
    choice = await bot.say(USER, ANSWERS[5])  # typing works where buttons are offered
    assert "1. Tốt" in choice and "7. Rất kém" in choice
    assert bot.fake.sent_messages(USER)[-1].buttons == ()  # 7 options: numbered lines
    await bot.say(USER, "3")
    sheet = (await bot.store.sheets(1))[0].answers
    assert sheet["co_vb"] is False and sheet["muc_do"]["selected"] == ["Đạt"]
    assert sheet["hinh_thuc"]["selected"] == ["Tọa đàm"] or "Hội nghị" in str(sheet["hinh_thuc"])
    quoted = [m for m in bot.fake.sent_messages(USER) if m.quote_message_id]
    assert quoted and all(len(m.text) <= 2000 for m in bot.fake.sent_messages())


WITH_FILE = SMALL_CAMPAIGN.replace(
    "        - {id: so_nguoi,",
    '        - {id: anh, type: file, ask: "Ảnh hoặc tệp minh chứng?", required: false}\n'
    "        - {id: so_nguoi,")


async def test_a_photo_and_a_file_answer_a_file_question_and_are_kept(
        make_bot: MakeBot, file_host: FileHost) -> None:
    bot = await make_bot(campaign=WITH_FILE)
    assert "minh chứng" in await bot.say(USER, f"/start {await bot.token('SXD')}")
    photo = b"\xff\xd8\xff" + b"anh" * 1000
    url = file_host.put("/anh1.jpg", photo, "image/jpeg")
    saved = await bot.after(USER, lambda: bot.fake.send_image(USER, url))
    assert "Đã lưu mục 1" in saved[-1]
    pdf = b"%PDF-1.4 " + b"x" * 5000
    url = file_host.put("/kh.pdf", pdf, "application/pdf")
    saved = await bot.after(USER, lambda: bot.fake.send_file(USER, url, "Kế hoạch 12.pdf",
                                                             len(pdf)))
    assert "Đã lưu mục 2" in saved[-1]
    big = await bot.after(USER, lambda: bot.fake.send_file(USER, url, "to.pdf", 21 * 2**20))
    assert "lớn hơn 20 MB" in big[-1]
    fake_pdf = file_host.put("/gia.pdf", b"<html>error page</html>", "application/pdf")
    wrong = await bot.after(USER, lambda: bot.fake.send_file(USER, fake_pdf, "gia.pdf", 22))
    assert "không nhận tệp «gia.pdf»" in wrong[-1]
    items = (await bot.store.sheets(1))[0].answers["anh"]
    assert [(i["name"], i["size"], i["mime"]) for i in items] == [
        (items[0]["name"], len(photo), "image/jpeg"),
        ("Kế hoạch 12.pdf", len(pdf), "application/pdf")]
    import hashlib

    folder = bot.settings.data_dir / "files"
    for item, content, suffix in ((items[0], photo, ".jpg"), (items[1], pdf, ".pdf")):
        digest = hashlib.sha256(content).hexdigest()
        assert item["file_id"] == f"sha256:{digest}"
        assert (folder / f"{digest}{suffix}").read_bytes() == content


async def answer_all(bot: Bot, user: str) -> str:
    for text in ANSWERS:
        await bot.say(user, text)
    await bot.say(user, "1")
    return await bot.say(user, "/submit")


async def test_submit_sends_the_docx_as_an_uploaded_file_and_the_xlsx_as_a_link(
        make_bot: MakeBot) -> None:
    bot = await make_bot()
    await bot.say(ADMIN, "/status")  # the OA writes only to those who wrote
    await bot.say(USER, f"/start {await bot.token('SXD')}")
    assert "Đã gửi báo cáo" in await answer_all(bot, USER)
    await bot.hub.sender.drain()
    filed = await asyncio.to_thread(bot.fake.wait_for_sent, USER, lambda m: m.file is not None)
    assert filed.file is not None and filed.file.name == "SXD.docx" and filed.text == ""
    document = Document(io.BytesIO(filed.file.content))
    assert "Sở Xây dựng".upper() in "\n".join(p.text for p in document.paragraphs).upper()
    other = "2468458835296197923"
    await bot.say(other, f"/start {await bot.token('SYT')}")
    await answer_all(bot, other)
    await bot.say(ADMIN, "/compile")
    await bot.hub.sender.drain()
    to_admin = bot.fake.sent_messages(ADMIN)
    assert any(m.file is not None and m.file.name.endswith(".docx") for m in to_admin)
    links = [m.text for m in to_admin if ".xlsx" in m.text and "/files/" in m.text]
    assert links and all(link.count("https://bot.example.gov.vn/files/") >= 1 for link in links)


async def test_a_long_review_is_split_under_2000_and_never_refused(make_bot: MakeBot) -> None:
    bot = await make_bot()
    await bot.say(USER, f"/start {await bot.token('SXD')}")
    await bot.say(USER, "12")
    await bot.say(USER, "có")
    for i in range(6):
        await bot.say(USER, f"Kế hoạch số {i + 1}/KH-SXD ngày 04/10/2021 " + "nội dung " * 60)
    before = len(bot.fake.sent_messages(USER))
    await bot.say(USER, "/review")
    parts = bot.fake.sent_messages(USER)[before:]
    assert len(parts) >= 2 and all(0 < len(p.text) <= 2000 for p in parts)
    assert all(c.ok for c in bot.fake.calls("message"))


async def test_without_a_public_url_the_channel_refuses_to_start(tmp_path: Path) -> None:
    from bot.config import ConfigError
    from bot.hub import Hub
    from bot.store import Store
    from tests.fakezalooa import FakeZaloOA
    from tests.zalo_oa_rig import settings_for

    with FakeZaloOA() as fake:
        settings = settings_for(fake, tmp_path, REPORTBOT_PUBLIC_URL="")
        store = await Store.open(settings.db)
        channel = ZaloOAChannel(settings, Hub(store, settings))
        with pytest.raises(ConfigError, match="REPORTBOT_PUBLIC_URL") as error:
            await channel.start()
        assert "\n" not in str(error.value)
        await channel.stop()
        await store.close()
    assert new_user_id().isdigit() and DESK


async def test_status_shows_the_months_free_and_charged_oa_messages(make_bot: MakeBot) -> None:
    bot = await make_bot()
    await bot.say(USER, f"/start {await bot.token('SXD')}")
    await bot.say(USER, "12")
    free = len(bot.fake.sent_messages(USER))
    status = await bot.say(ADMIN, "/status")
    month = bot.clock().astimezone(TZ).strftime("%m/%Y")
    assert f"Zalo OA tháng {month}: {free} tin miễn phí" in status
    assert "0 tin tính phí" in status
