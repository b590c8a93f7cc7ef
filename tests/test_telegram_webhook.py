"""Telegram's webhook on the bot's HTTP server: POST /telegram checked, processed, then answered."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import httpx

from bot.channels.telegram_webhook import SECRET_HEADER, TelegramWebhook, telegram_webhook_loop
from bot.web import WebServer
from tests import test_telegram
from tests.test_telegram import Harness

harness = test_telegram.harness  # the same fixture: a channel over a recording request

SECRET = "s3cret-Token_1"
USER = 8


def whoami(update_id: int) -> bytes:
    """Return the body Telegram POSTs for a typed /whoami."""
    return json.dumps({"update_id": update_id, "message": {
        "message_id": update_id, "date": int(time.time()), "text": "/whoami",
        "entities": [{"type": "bot_command", "offset": 0, "length": 7}],
        "chat": {"id": USER, "type": "private"},
        "from": {"id": USER, "is_bot": False, "first_name": "An"}}}).encode()


def replies(harness: Harness) -> list[str]:
    return [str(p["text"]) for p in harness.request.sent(USER)]


async def test_a_wrong_or_missing_secret_is_403_and_nothing_is_processed(
        harness: Harness) -> None:
    hook = TelegramWebhook(harness.channel, SECRET)
    assert await hook({SECRET_HEADER: "wrong"}, whoami(1)) == (403, {"ok": False})
    assert (await hook({}, whoami(1)))[0] == 403
    assert (await hook({SECRET_HEADER: SECRET + "x"}, whoami(1)))[0] == 403
    await harness.sender.drain()
    assert replies(harness) == []
    # the same update with the right secret is new to the bot: nothing was marked processed
    assert (await hook({SECRET_HEADER: SECRET}, whoami(1)))[0] == 200
    await harness.sender.drain()
    assert len(replies(harness)) == 1


async def test_a_body_that_is_no_update_is_400(harness: Harness) -> None:
    hook = TelegramWebhook(harness.channel, SECRET)
    for body in (b"{not json", b"[1, 2]", b'{"message": {}}', b"\xff\xfe", b'"text"'):
        assert (await hook({SECRET_HEADER: SECRET}, body))[0] == 400, body
    await harness.sender.drain()
    assert replies(harness) == []


async def test_the_200_comes_after_the_update_is_processed_and_committed(
        harness: Harness) -> None:
    """Served for real: when Telegram reads 200 the reply is already owed (committed)."""
    server = WebServer("127.0.0.1", 0)
    stop = asyncio.Event()
    receive = telegram_webhook_loop(harness.channel, server, "https://bot.example.vn/rb/", SECRET)
    serving = asyncio.create_task(server.serve(stop))
    receiving = asyncio.create_task(receive(stop))
    try:
        assert await asyncio.wait_for(server.wait_listening(stop), 10)
        url = f"http://127.0.0.1:{server.port}/telegram"
        async with httpx.AsyncClient() as client:
            refused = await client.post(url, content=whoami(5), headers={SECRET_HEADER: "no"})
            answer = await client.post(url, content=whoami(5), headers={SECRET_HEADER: SECRET})
            again = await client.post(url, content=whoami(5), headers={SECRET_HEADER: SECRET})
        assert refused.status_code == 403
        assert (answer.status_code, answer.json()) == (200, {"ok": True})
        assert again.status_code == 200  # a redelivery is acknowledged...
        assert replies(harness) == []  # nothing was sent yet: the sender has not run
        await harness.sender.drain()  # what the 200 promised is in the outbox
        sent = replies(harness)
        assert len(sent) == 1 and "Mã người dùng" in sent[0]  # ...and answered once
        calls = [p for n, p in harness.request.calls if n == "setWebhook"]
        assert calls == [{"url": "https://bot.example.vn/rb/telegram", "secret_token": SECRET,
                          "allowed_updates": ["message", "callback_query"]}]
    finally:
        stop.set()
        await asyncio.wait_for(asyncio.gather(serving, receiving), 15)


async def test_polling_deletes_a_webhook_left_behind(harness: Harness) -> None:
    stop = asyncio.Event()
    stop.set()  # one pass: the deletion comes before the first getUpdates
    await harness.channel.poll(stop)
    names: list[Any] = [n for n, _p in harness.request.calls]
    assert "deleteWebhook" in names
