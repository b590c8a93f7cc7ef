"""Issue #10: every effect the bot owes is written with the change that causes it, once.

Updates are redelivered the way Telegram redelivers them after a crash (same update id), and a
"crash" is a sender that never ran: a new one on the same database must deliver what is owed."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from bot import outbox
from bot.engine import utc_now
from bot.outbox import Sender
from bot.store import Store
from tests.conftest import SMALL_CAMPAIGN
from tests.test_telegram import ADMIN, Harness, answer_all, create, harness, invite_token

__all__ = ["harness"]  # the fixture, imported for pytest


def new_message(harness: Harness, user: int, text: str) -> dict[str, Any]:
    return {"message": {
        "message_id": harness.update_id + 1, "date": int(time.time()), "text": text,
        "chat": {"id": user, "type": "private"},
        "from": {"id": user, "is_bot": False, "first_name": f"User {user}"},
        "entities": [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
        if text.startswith("/") else []}}


async def test_new_with_its_file_delivered_three_times_creates_one_round(
        harness: Harness) -> None:
    await create(harness)
    payload = {"message": {
        "message_id": 50, "date": int(time.time()), "caption": "/new",
        "caption_entities": [{"type": "bot_command", "offset": 0, "length": 4}],
        "chat": {"id": ADMIN, "type": "private"},
        "from": {"id": ADMIN, "is_bot": False, "first_name": "Điều phối"},
        "document": {"file_id": "dot-2.yaml", "file_unique_id": "d2", "file_name": "dot-2.yaml"},
    }}
    harness.request.files["dot-2.yaml"] = SMALL_CAMPAIGN.replace("Đợt thử nghiệm",
                                                                 "Đợt hai").encode()
    before = len(harness.request.sent(ADMIN))
    await harness.feed(payload)
    for _ in range(2):
        await harness.feed(payload, redeliver=True)
    assert [c.title for c in await harness.store.campaigns()] == ["Đợt hai", "Đợt thử nghiệm"]
    created = [p for p in harness.request.sent(ADMIN)[before:] if "Đã tạo đợt" in p["text"]]
    assert len(created) == 1


async def test_invites_delivered_three_times_make_one_token_set(harness: Harness) -> None:
    await create(harness)
    payload = new_message(harness, ADMIN, "/invites")
    before = len(harness.request.sent(ADMIN))
    await harness.feed(payload)
    sent = harness.request.sent(ADMIN)[before:]
    assert len(sent) == 1 and "SXD" in sent[0]["text"]
    lines = sent[0]["text"].splitlines()
    forwarded = lines[lines.index(next(line for line in lines if line.startswith("SXD"))) + 1]
    for _ in range(2):
        await harness.feed(payload, redeliver=True)
    assert len(harness.request.sent(ADMIN)) == before + 1
    token = forwarded.split("?start=")[1]
    assert "Câu 1/7" in await harness.text(7, f"/start {token}")  # the link forwarded works
    bodies = await harness.store._db.execute_fetchall("SELECT body_json FROM outbox")
    assert not [b for (b,) in bodies if token in b]  # sent, so no longer kept in clear


async def test_a_submit_killed_before_its_report_still_brings_it(harness: Harness) -> None:
    await create(harness)
    await answer_all(harness, 8, "SYT")
    await harness.text(7, f"/start {await invite_token(harness, 'SXD')}")
    for text in ("12", "không", "bỏ qua", "100%", "10tr", "1", "1"):
        await harness.text(7, text)
    real = harness.sender
    harness.sender = Sender(harness.store, {}, real.clock, real.notices)  # "killed": sends nothing
    submit = new_message(harness, 7, "/submit")
    await harness.feed(submit)
    assert not any("Đã gửi báo cáo" in p["text"] for p in harness.request.sent(7)[-1:])
    harness.sender = real  # the restarted process: Telegram redelivers, the sender drains
    await harness.feed(submit, redeliver=True)
    texts = [p["text"] for p in harness.request.sent(7)]
    assert sum("Đã gửi báo cáo" in t for t in texts) == 1
    documents = [p for n, p in harness.request.calls if n == "sendDocument"]
    assert [int(p["chat_id"]) for p in documents].count(7) == 1  # SXD's own report
    assert [int(p["chat_id"]) for p in documents].count(ADMIN) == 3  # compile: chart, docx, xlsx
    assert not await harness.store.outbox.chats()


async def test_a_redelivered_answer_gives_nothing_new(harness: Harness) -> None:
    await create(harness)
    await harness.text(7, f"/start {await invite_token(harness, 'SXD')}")
    payload = new_message(harness, 7, "12")
    await harness.feed(payload)
    count = len(harness.request.sent(7))
    for _ in range(3):
        await harness.feed(payload, redeliver=True)
    assert len(harness.request.sent(7)) == count  # not the current question again


async def test_a_429_for_one_chat_holds_only_that_chat(harness: Harness) -> None:
    await create(harness)
    await harness.text(7, f"/start {await invite_token(harness, 'SXD')}")
    await harness.text(8, f"/start {await invite_token(harness, 'SYT')}")
    harness.request.fail("sendMessage", 7, 429, "Too Many Requests: retry after 2",
                         {"retry_after": 2})
    await harness.feed(new_message(harness, 7, "12"), drain=False)
    await harness.feed(new_message(harness, 8, "34"), drain=False)
    started = time.monotonic()
    await harness.sender.start_workers()
    while not any("Câu 2/7" in p["text"] for p in harness.request.sent(8)):
        assert time.monotonic() - started < 1.5, "chat 8 waited behind chat 7's 429"
        await asyncio.sleep(0.02)
    assert not any("Câu 2/7" in p["text"] for p in harness.request.sent(7))
    await harness.sender.drain()
    assert time.monotonic() - started >= 2  # the held chat waited the time Telegram named
    assert any("Câu 2/7" in p["text"] for p in harness.request.sent(7))


async def test_a_slow_answer_is_waited_for_not_sent_twice(harness: Harness) -> None:
    """Issue #10: a sendMessage answered after PTB's 5 s read timeout was retried."""
    await create(harness)
    await harness.text(7, f"/start {await invite_token(harness, 'SXD')}")
    harness.request.slow["sendMessage"] = 6.0
    await harness.feed(new_message(harness, 7, "12"))
    assert sum("Câu 2/7" in p["text"] for p in harness.request.sent(7)) == 1


async def test_a_timed_out_text_is_sent_again_and_a_document_is_not(harness: Harness) -> None:
    await create(harness)
    await harness.text(7, f"/start {await invite_token(harness, 'SXD')}")
    harness.request.slow["sendMessage"] = 60.0  # no answer within the 30 s read timeout
    await harness.feed(new_message(harness, 7, "12"))
    assert sum("Câu 2/7" in p["text"] for p in harness.request.sent(7)) == 2  # at least once
    before = len([c for c in harness.request.calls if c[0] == "sendDocument"])
    harness.request.slow["sendDocument"] = 60.0
    await harness.feed(new_message(harness, ADMIN, "/export"))
    documents = [c for c in harness.request.calls if c[0] == "sendDocument"]
    assert len(documents) == before + 2  # .xlsx (timed out, counted as sent) and .csv: once


async def test_the_compile_goes_out_even_if_the_last_contact_blocks_the_bot(
        harness: Harness) -> None:
    await create(harness)
    await answer_all(harness, 8, "SYT")
    await harness.text(7, f"/start {await invite_token(harness, 'SXD')}")
    for text in ("12", "không", "bỏ qua", "100%", "10tr", "1", "1"):
        await harness.text(7, text)
    for method in ("sendMessage", "sendDocument"):  # blocked: every call to the chat fails
        harness.request.fail(method, 7, 403, "Forbidden: bot was blocked by the user")
    await harness.feed(new_message(harness, 7, "/submit"))
    documents = [int(p["chat_id"]) for n, p in harness.request.calls if n == "sendDocument"]
    assert documents.count(ADMIN) == 3 and 7 not in documents  # chart, docx, xlsx
    notices = [p for p in harness.request.sent(ADMIN) if "Không gửi được" in p["text"]]
    assert len(notices) == 1


async def test_units_submitting_together_owe_one_compile(harness: Harness) -> None:
    """Found by the storm: each submit's follow-up saw the round complete and compiled."""
    await create(harness)
    for user, code in ((7, "SXD"), (8, "SYT")):
        await harness.text(user, f"/start {await invite_token(harness, code)}")
        for text in ("12", "không", "bỏ qua", "100%", "10tr", "1", "1"):
            await harness.text(user, text)
    await harness.feed(new_message(harness, 7, "/submit"), drain=False)
    await harness.feed(new_message(harness, 8, "/submit"), drain=False)
    await harness.sender.drain()
    documents = [int(p["chat_id"]) for n, p in harness.request.calls if n == "sendDocument"]
    assert documents.count(ADMIN) == 3  # tien-do.png, bao-cao-tong-hop.docx, du-lieu.xlsx, once
    assert documents.count(7) == documents.count(8) == 1


async def test_stop_ends_the_sender_while_it_waits_for_rows(
        store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """SIGTERM sets `stop`; the sender must not sit out its look at the database first."""
    monkeypatch.setattr(outbox, "LOOK_EVERY", 3600.0)  # a look far beyond the test's deadline
    waiting = asyncio.Event()
    real_wait = store.outbox.wait

    async def wait(seconds: float) -> None:
        waiting.set()
        await real_wait(seconds)

    monkeypatch.setattr(store.outbox, "wait", wait)
    stop = asyncio.Event()
    running = asyncio.create_task(Sender(store, {}, utc_now, lambda _c: []).run(stop))
    await asyncio.wait_for(waiting.wait(), 10)
    stop.set()
    await asyncio.wait_for(running, 10)
