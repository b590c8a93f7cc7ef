"""The Zalo Bot channel against tests/fakezalobot.py, with a real store and a hub."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
import zipfile
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiolimiter import AsyncLimiter

from bot.channels.base import (
    ContactUnreachable,
    MessageRefused,
    Outgoing,
    QuotaExhausted,
    RetryLater,
)
from bot.channels.zalo_bot import ZaloBotChannel, ZaloBotTransport
from bot.config import ConfigError, Settings, load
from bot.evidence import sha256_of
from bot.hub import Hub
from bot.store import Store
from tests.conftest import SMALL_CAMPAIGN, TZ
from tests.fakezalobot import FakeZaloBot

ADMIN = "a0a0a0a0a0a0a0a0a0a0"
ANSWERS = ("12", "không", "bỏ qua", "100%", "10tr", "1, Tọa đàm")
SECRET = "webhook-secret-123"


class FakeLinks:
    """Download links that record what they were asked for."""

    def __init__(self) -> None:
        self.calls: list[tuple[Path, str]] = []

    async def url(self, path: Path, filename: str) -> str:
        self.calls.append((path, filename))
        return f"https://bot.example.gov.vn/files/tok{len(self.calls)}"


class Bot:
    """A Zalo channel with its hub and store, polling (or on a webhook) in the background."""

    def __init__(self, fake: FakeZaloBot, settings: Settings, links: FakeLinks | None) -> None:
        self.fake = fake
        self.settings = settings
        self.links = links
        self.stop = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    async def open(self, min_gap: float = 0.02) -> Bot:
        """Open the store, plug the channel into a hub, start it and run it."""
        self.store = await Store.open(self.settings.db)
        self.hub = Hub(self.store, self.settings)
        self.channel = ZaloBotChannel(self.settings, self.hub, self.links)
        self.channel.min_gap = min_gap
        self.hub.sender.per_chat = 1000  # the pace is measured in benchmarks, not here
        self.hub.sender.overall = {"zalo": AsyncLimiter(10_000, 1)}
        await self.channel.start()
        self.stop = asyncio.Event()
        self.task = asyncio.create_task(self.channel.run(self.stop))
        return self

    async def close(self) -> None:
        """Stop receiving, release the channel and the store."""
        self.stop.set()
        if self.task is not None:
            await asyncio.wait_for(self.task, 10)
        await self.channel.stop()
        await self.store.close()

    async def processed(self, key: str, seconds: float = 10.0) -> None:
        """Wait until the update `key` was processed, then deliver what it owes."""
        deadline = time.monotonic() + seconds
        while not await self.store.inbox.is_processed("zalo", key):
            assert time.monotonic() < deadline, f"update {key} not processed"
            await asyncio.sleep(0.01)
        await self.hub.sender.drain()

    async def say(self, user: str, text: str) -> str:
        """The contact types `text`; return what the bot sent back."""
        before = len(self.fake.sent_messages(user))
        await self.processed(self.fake.send_text(user, text, display_name=f"Người {user[:3]}"))
        return "\n".join(m.text for m in self.fake.sent_messages(user)[before:])

    async def token(self, code: str) -> str:
        invites = await self.store.regenerate_invites(1)
        return next(i.token for i in invites if i.code == code)


async def until(condition: Callable[[], bool], seconds: float = 10.0) -> None:
    """Wait (without blocking the loop) until `condition()` holds."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


def settings_for(fake: FakeZaloBot, tmp_path: Path, **extra: str) -> Settings:
    return load({"ZALO_BOT_TOKEN": fake.token, "ZALO_BOT_API_BASE_URL": fake.base_url,
                 "REPORTBOT_ADMINS": f"zalo:{ADMIN}", "REPORTBOT_DB": str(tmp_path / "z.sqlite3"),
                 "REPORTBOT_DATA_DIR": str(tmp_path / "data"), **extra}, env_file=None)


MakeBot = Callable[..., Awaitable[Bot]]


@pytest.fixture
async def make_bot(tmp_path: Path) -> AsyncIterator[MakeBot]:
    """Return a maker of a running bot against a fake started with the options given."""
    opened: list[Bot] = []
    fakes: list[FakeZaloBot] = []

    async def make(links: FakeLinks | None = None, campaign: str = SMALL_CAMPAIGN,
                   min_gap: float = 0.02, env: dict[str, str] | None = None,
                   **options: Any) -> Bot:
        fake = FakeZaloBot(**{"max_poll_wait": 0.5, **options}).start()
        fakes.append(fake)
        bot = await Bot(fake, settings_for(fake, tmp_path, **(env or {})), links).open(min_gap)
        opened.append(bot)
        from bot.campaigns.campaign import load_campaign_text

        spec = load_campaign_text("dot.yaml", campaign, TZ)
        await bot.store.create_campaign(spec, datetime(2023, 10, 17, tzinfo=UTC))
        return bot

    yield make
    for bot in opened:
        await bot.close()
    for fake in fakes:
        assert fake.unsupported_params() == []  # no reply_markup, parse_mode, offset...
        assert {c.method for c in fake.calls()} <= {"getMe", "getUpdates", "setWebhook",
                                                    "deleteWebhook", "getWebhookInfo",
                                                    "sendMessage"}
        fake.stop()


async def answer_all(bot: Bot, user: str, choice: str = "1") -> str:
    for text in ANSWERS:
        await bot.say(user, text)
    await bot.say(user, choice)
    return await bot.say(user, "/submit")


# binding and answering --------------------------------------------------------------------

@pytest.mark.parametrize("errors_http_200", [False, True])
async def test_binds_by_start_or_bare_token_and_choices_by_number_or_label(
        make_bot: MakeBot, errors_http_200: bool) -> None:
    bot = await make_bot(errors_http_200=errors_http_200)
    text = await bot.say("u1", f"/start {await bot.token('SXD')}")
    assert "Sở Xây dựng" in text and "Câu 1/7" in text
    text = await bot.say("u2", await bot.token("SYT"))  # only the token
    assert "Sở Y tế" in text and "Câu 1/7" in text
    assert "Câu 2/7" in await bot.say("u1", "12")
    text = bot.fake.sent_messages("u1")[-1].text
    assert "Trả lời 1 = Có, 2 = Không" in text
    for text in ANSWERS[1:4]:
        await bot.say("u1", text)
    multichoice = await bot.say("u1", ANSWERS[4])
    assert "1. Hội nghị" in multichoice and "3. Mạng xã hội" in multichoice
    choice = await bot.say("u1", ANSWERS[5])
    assert "1. Tốt" in choice and "2. Khá" in choice
    await bot.say("u1", "2")  # by number
    for text in ANSWERS:
        await bot.say("u2", text)
    await bot.say("u2", "Tốt")  # by label
    sheets = {s.code: s.answers for s in await bot.store.sheets(1)}
    assert sheets["SXD"]["muc_do"]["selected"] == ["Khá"]
    assert sheets["SYT"]["muc_do"]["selected"] == ["Tốt"]
    assert sheets["SXD"]["so_nguoi"] == 12 and sheets["SXD"]["co_vb"] is False
    assert all(len(m.text) <= 2000 for m in bot.fake.sent_messages())


async def test_a_wrong_token_is_explained_and_ordinary_words_are_not_tokens(
        make_bot: MakeBot) -> None:
    bot = await make_bot()
    assert "Mã mời không đúng" in await bot.say("u1", "/start khong-dung")
    assert "chưa gắn với đơn vị" in await bot.say("u1", "abcdefghijklmnopqrstuv")


async def test_submit_gets_the_report_as_a_download_link(make_bot: MakeBot) -> None:
    links = FakeLinks()
    bot = await make_bot(links)
    await bot.say(ADMIN, "/status")  # Zalo lets no bot write first: the coordinator writes
    await bot.say("u1", f"/start {await bot.token('SXD')}")
    assert "Đã gửi báo cáo" in await answer_all(bot, "u1")
    await bot.hub.sender.drain()
    report = bot.fake.sent_messages("u1")[-1].text
    assert "https://bot.example.gov.vn/files/tok1" in report and "SXD.docx" in report
    assert links.calls[0][1] == "SXD.docx" and links.calls[0][0].exists()
    await bot.say("u2", f"/start {await bot.token('SYT')}")
    await answer_all(bot, "u2")
    await bot.hub.sender.drain()
    to_admin = "\n".join(m.text for m in bot.fake.sent_messages(ADMIN))
    assert "2/2" in to_admin and ".docx" in to_admin and ".xlsx" in to_admin
    assert "/files/tok" in to_admin and all(p.exists() for p, _ in links.calls)


async def test_without_links_the_coordinator_is_told_where_the_files_are(
        make_bot: MakeBot) -> None:
    bot = await make_bot(None)
    await bot.say("u1", f"/start {await bot.token('SXD')}")
    await answer_all(bot, "u1")
    await bot.hub.sender.drain()
    report = bot.fake.sent_messages("u1")[-1].text
    assert "Bản Word báo cáo của đơn vị" in report  # a contact is not shown server paths
    assert ".docx" not in report and "reportbot" not in report
    await bot.say(ADMIN, "/compile")
    await bot.hub.sender.drain()
    told = "\n".join(m.text for m in bot.fake.sent_messages(ADMIN))
    assert "bao-cao-tong-hop.docx" in told and "reportbot compile 1 --out" in told


async def test_a_photo_answers_a_file_question(make_bot: MakeBot) -> None:
    with_file = SMALL_CAMPAIGN.replace(
        "        - {id: so_nguoi,",
        '        - {id: anh, type: file, ask: "Ảnh minh chứng?", required: false}\n'
        "        - {id: so_nguoi,")
    bot = await make_bot(campaign=with_file)
    assert "Ảnh minh chứng?" in await bot.say("u1", f"/start {await bot.token('SXD')}")
    photo = b"\x89PNG\r\n\x1a\n" + b"png" * 2000
    key = bot.fake.send_image("u1", bot.fake.host_photo(photo, "image/png"), "Ảnh hội nghị",
                              fields=["photo_url"])
    await bot.processed(key)
    assert "Đã lưu mục 1" in bot.fake.sent_messages("u1")[-1].text
    stored = (await bot.store.sheets(1))[0].answers["anh"]
    digest = hashlib.sha256(photo).hexdigest()
    assert (sha256_of(stored[0]), stored[0]["size"]) == (digest, len(photo))
    assert stored[0]["name"].endswith(".png") and stored[0]["mime"] == "image/png"
    assert (bot.settings.data_dir / "files" / f"{digest}.png").read_bytes() == photo
    gone = bot.fake.send_image("u1", bot.fake.base_url + "/cdn/gone.jpg")
    await bot.processed(gone)
    assert "chưa tải được tệp" in bot.fake.sent_messages("u1")[-1].text
    assert len((await bot.store.sheets(1))[0].answers["anh"]) == 1


async def test_stickers_and_unsupported_get_the_polite_line_bots_are_dropped(
        make_bot: MakeBot) -> None:
    bot = await make_bot()
    for key in (bot.fake.send_sticker("u1"), bot.fake.send_unsupported("u1")):
        await bot.processed(key)
    sent = bot.fake.sent_messages("u1")
    assert len(sent) == 2 and all("chưa đọc được loại tin nhắn này" in m.text for m in sent)
    await bot.processed(bot.fake.send_text("b0b0b0", "/start x", is_bot=True))
    await bot.processed(bot.fake.send_text(bot.fake.bot_id, "tôi là bot"))
    assert bot.fake.sent_messages("b0b0b0") == [] and len(bot.fake.sent_messages()) == 2


async def test_a_long_review_is_split_under_2000(make_bot: MakeBot) -> None:
    bot = await make_bot()
    await bot.say("u1", f"/start {await bot.token('SXD')}")
    await bot.say("u1", "12")
    await bot.say("u1", "có")
    for i in range(6):
        await bot.say("u1", f"Kế hoạch số {i + 1}/KH-SXD ngày 04/10/2021 " + "nội dung " * 60)
    before = len(bot.fake.sent_messages("u1"))
    await bot.say("u1", "/review")
    parts = bot.fake.sent_messages("u1")[before:]
    assert len(parts) >= 2 and all(0 < len(p.text) <= 2000 for p in parts)
    month = datetime.now(TZ).strftime("%Y-%m")
    assert await bot.store.usage.messages_this_month("zalo", month) == len(
        bot.fake.sent_messages())


# delivery semantics -----------------------------------------------------------------------

async def test_replayed_updates_are_processed_once(make_bot: MakeBot) -> None:
    bot = await make_bot(delivery="replay", replay_ttl=None)
    await bot.say("u1", f"/start {await bot.token('SXD')}")
    await bot.say("u1", "12")
    await asyncio.sleep(0.3)  # the fake hands both out again and again meanwhile
    await bot.hub.sender.drain()
    assert max(bot.fake.times_delivered(m) for m in bot.fake._history) >= 3
    assert len(bot.fake.sent_messages("u1")) == 2
    assert (await bot.store.sheets(1))[0].answers == {"so_nguoi": 12}


async def test_an_update_stored_but_not_processed_is_processed_after_restart(
        make_bot: MakeBot, monkeypatch: pytest.MonkeyPatch) -> None:
    bot = await make_bot()
    await bot.say("u1", f"/start {await bot.token('SXD')}")

    async def killed(_self: ZaloBotChannel) -> None:  # the process dies right after the store
        return None

    with monkeypatch.context() as patch:
        patch.setattr(ZaloBotChannel, "drain", killed)
        key = bot.fake.send_text("u1", "12")
        deadline = time.monotonic() + 10
        while not await bot.store.inbox.pending("zalo"):
            assert time.monotonic() < deadline
            await asyncio.sleep(0.01)
        await bot.close()
    assert bot.fake.pending_updates() == []  # consumed: only the inbox has it now
    again = await Bot(bot.fake, bot.settings, None).open()
    try:
        await again.processed(key)
        assert "Câu 2/7" in bot.fake.sent_messages("u1")[-1].text
        assert (await again.store.sheets(1))[0].answers == {"so_nguoi": 12}
    finally:
        await again.close()
    bot.task = None
    bot.store = await Store.open(bot.settings.db)  # closed by the fixture


@pytest.mark.parametrize("empty_poll", ["timeout", "ok_empty"])
async def test_polls_that_return_at_once_are_a_second_apart(make_bot: MakeBot,
                                                             empty_poll: str) -> None:
    bot = await make_bot(min_gap=1.0, max_poll_wait=0.0, empty_poll=empty_poll)
    bot.fake.send_text("u1", "xin chào")
    await until(lambda: len(bot.fake.polls()) >= 3)
    gaps = bot.fake.gaps_after_immediate_polls()
    assert len(gaps) >= 2 and min(gaps) >= 1.0


async def test_html_429_from_the_proxy_and_5xx_are_waited_out(make_bot: MakeBot) -> None:
    bot = await make_bot()
    bot.fake.fail_next("getUpdates", 429, html=True)
    bot.fake.fail_next("getUpdates", 502)
    assert "chưa gắn với đơn vị" in await bot.say("u1", "xin chào")
    bot.fake.fail_next("sendMessage", 429, html=True, chat_id="u1")
    bot.fake.fail_next("sendMessage", 503, chat_id="u1")
    assert "chưa gắn với đơn vị" in await bot.say("u1", "xin chào lần nữa")


async def test_a_spent_quota_pauses_sending_without_a_retry_loop(make_bot: MakeBot) -> None:
    bot = await make_bot(monthly_quota=1)
    await bot.say("u1", "xin chào")
    await bot.say("u1", "xin chào lần nữa")
    await bot.hub.sender.drain()
    refused = [c for c in bot.fake.calls("sendMessage") if not c.ok]
    assert len(bot.fake.sent_messages("u1")) == 1 and len(refused) == 1
    assert "zalo" in bot.hub.sender.paused


async def test_a_webhook_left_set_is_deleted_to_poll(make_bot: MakeBot) -> None:
    bot = await make_bot()

    def set_webhook() -> None:
        bot.fake.handle_http("POST", f"/bot{bot.fake.token}/setWebhook", "application/json",
                             json.dumps({"url": "https://127.0.0.1:9/zalo",
                                         "secret_token": SECRET}).encode())

    set_webhook()  # getUpdates answers 400 "webhook is set": the poll deletes it
    await until(lambda: bool(bot.fake.calls("deleteWebhook")))
    assert "chưa gắn với đơn vị" in await bot.say("u1", "xin chào")
    set_webhook()  # found at start-up through getWebhookInfo
    await bot.channel.leave_webhook()
    assert len(bot.fake.calls("deleteWebhook")) == 2 and bot.fake.webhook is None


# errors on sending ------------------------------------------------------------------------

@pytest.mark.parametrize("errors_http_200", [False, True])
async def test_send_errors_map_onto_the_channel_errors(errors_http_200: bool) -> None:
    with FakeZaloBot(errors_http_200=errors_http_200) as fake:
        fake.send_text("u1", "xin chào")
        transport = ZaloBotTransport(fake.token, base_url=fake.base_url)
        part = Outgoing("u1", "Câu 1/7", channel="zalo")
        cases: list[tuple[int, bool, type[Exception]]] = [
            (429, False, QuotaExhausted), (429, True, RetryLater), (500, False, RetryLater),
            (400, False, MessageRefused), (401, False, RetryLater)]
        for code, html, expected in cases:
            fake.fail_next("sendMessage", code, html=html)
            with pytest.raises(expected):
                await transport.send(part)
        with pytest.raises(ContactUnreachable):
            await transport.send(Outgoing("never-wrote", "x", channel="zalo"))
        fake.block("u1")
        with pytest.raises(ContactUnreachable):
            await transport.send(part)
        await transport.close()
        assert fake.sent_messages() == []


async def test_a_refused_or_malformed_token_is_one_line(tmp_path: Path) -> None:
    with FakeZaloBot() as fake:
        for token, words in (("", "not set"), ("not-a-token", "malformed"),
                             ("1459232241454765289:WrongSecret-123", "refused")):
            settings = load({"ZALO_BOT_TOKEN": token, "ZALO_BOT_API_BASE_URL": fake.base_url,
                             "REPORTBOT_DB": str(tmp_path / "t.sqlite3")}, env_file=None)
            store = await Store.open(settings.db)
            channel = ZaloBotChannel(settings, Hub(store, settings), None)
            with pytest.raises(ConfigError, match=words) as error:
                await channel.start()
            assert "ZALO_BOT_TOKEN" in str(error.value) and (
                not token or token not in str(error.value))
            await channel.stop()
            await store.close()


async def test_the_token_never_reaches_a_log_line(make_bot: MakeBot,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    bot = await make_bot()
    bot.fake.fail_next("getUpdates", 500)
    await bot.say("u1", f"/start {await bot.token('SXD')}")
    bot.fake.fail_next("sendMessage", 400, chat_id="u1")
    await bot.say("u1", "12")
    secret = bot.fake.token.split(":", 1)[1]
    assert caplog.records and secret not in caplog.text


# webhook ----------------------------------------------------------------------------------

class Relay:
    """A tiny HTTP server on 127.0.0.1 that hands each POST to the channel's webhook."""

    def __init__(self) -> None:
        self.channel: ZaloBotChannel | None = None

    async def open(self) -> int:
        self.server = await asyncio.start_server(self.handle, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        headers = {k.strip(): v.strip() for k, _, v in (h.partition(":") for h in head[1:] if h)}
        body = await reader.readexactly(int(headers.get("Content-Length", "0")))
        assert self.channel is not None and self.channel.webhook is not None
        status, answer = await self.channel.webhook(headers, body)
        data = json.dumps(answer).encode()
        writer.write(f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n"
                     f"Content-Length: {len(data)}\r\nConnection: close\r\n\r\n".encode()
                     + data)
        await writer.drain()
        writer.close()


@pytest.fixture
async def hooked(make_bot: MakeBot) -> AsyncIterator[Bot]:
    """A bot in webhook mode, its webhook reachable through a relay."""
    relay = Relay()
    port = await relay.open()
    bot = await make_bot(env={"REPORTBOT_PUBLIC_URL": f"https://127.0.0.1:{port}",
                              "ZALO_BOT_WEBHOOK_SECRET": SECRET})
    relay.channel = bot.channel
    yield bot
    relay.server.close()


async def test_webhook_is_set_and_refuses_a_wrong_or_missing_secret(hooked: Bot) -> None:
    await until(lambda: hooked.fake.webhook is not None)  # set once the loop runs
    assert hooked.fake.webhook is not None and hooked.fake.webhook["secret_token"] == SECRET
    assert hooked.fake.webhook["url"].endswith("/zalo") and not hooked.fake.polls()
    update = {"event_name": "message.text.received", "message": {
        "from": {"id": "u9", "display_name": "X", "is_bot": False},
        "chat": {"id": "u9", "chat_type": "PRIVATE"}, "text": "/start x",
        "message_id": "m1", "date": 1750316131602}}
    for secret in ("wrong-secret-1", None):
        delivery = await asyncio.to_thread(hooked.fake.post_to_webhook, update, secret=secret)
        assert delivery.status == 403
    assert await hooked.store.inbox.pending("zalo") == []
    assert not await hooked.store.inbox.is_processed("zalo", "m1")
    broken = await asyncio.to_thread(hooked.fake.post_to_webhook, b"<html>", secret=SECRET)
    assert broken.status == 400


async def test_webhook_takes_wrapped_and_flat_bodies_and_a_redelivery_once(hooked: Bot) -> None:
    fake = hooked.fake
    first = fake.send_text("u1", f"/start {await hooked.token('SXD')}")
    second = fake.send_text("u1", "12")
    await hooked.processed(first)
    await hooked.processed(second)
    fake.replay([second])
    await until(lambda: len(fake.deliveries()) == 3)
    await hooked.hub.sender.drain()
    shapes = [d.shape for d in fake.deliveries()]
    assert {"wrapped", "flat"} <= set(shapes) and all(d.status == 200 for d in fake.deliveries())
    assert len(fake.sent_messages("u1")) == 2
    assert "Câu 2/7" in fake.sent_messages("u1")[-1].text
    assert (await hooked.store.sheets(1))[0].answers == {"so_nguoi": 12}


async def test_status_shows_the_messages_sent_this_month_against_the_plan(
        make_bot: MakeBot) -> None:
    bot = await make_bot()
    await bot.say("u1", f"/start {await bot.token('SXD')}")
    await bot.say("u1", "12")
    sent_before = bot.fake.quota_used  # the /status answer is counted once it left
    status = await bot.say(ADMIN, "/status")
    month = datetime.now(TZ).strftime("%Y-%m")
    shown = f"{month[5:]}/{month[:4]}"
    assert f"Zalo Bot: đã gửi {sent_before}/3.000 tin nhắn trong tháng {shown}" in status
    assert "hết hạn mức" not in status
    await bot.store.usage.count("zalo", month, 3000 - sent_before - 1)
    status = await bot.say(ADMIN, "/status")
    assert f"đã gửi 3.000/3.000 tin nhắn trong tháng {shown} — đã hết hạn mức" in status


async def test_new_on_zalo_says_where_a_campaign_file_can_be_sent(make_bot: MakeBot) -> None:
    bot = await make_bot()
    answer = await bot.say(ADMIN, "/new")
    assert "reportbot campaign create" in answer and "Telegram" in answer
    assert [c.title for c in await bot.store.campaigns()] == ["Đợt thử nghiệm"]


async def test_the_photo_goes_into_minh_chung_zip_sent_as_a_link(make_bot: MakeBot) -> None:
    links = FakeLinks()
    with_file = SMALL_CAMPAIGN.replace(
        "        - {id: so_nguoi,",
        '        - {id: anh, type: file, ask: "Ảnh minh chứng?", required: false}\n'
        "        - {id: so_nguoi,")
    bot = await make_bot(links, campaign=with_file)
    await bot.say(ADMIN, "/status")  # Zalo lets no bot write first: the coordinator writes
    await bot.say("u1", f"/start {await bot.token('SXD')}")
    photo = b"\xff\xd8\xff\xe0" + b"hoi nghi" * 500
    await bot.processed(bot.fake.send_photo("u1", photo, "Ảnh hội nghị"))
    assert "Đã lưu mục 1" in bot.fake.sent_messages("u1")[-1].text
    await bot.say("u1", "xong")
    assert "Đã gửi báo cáo" in await answer_all(bot, "u1")
    await bot.say(ADMIN, "/compile")
    await bot.hub.sender.drain()
    zipped = [path for path, name in links.calls if name == "minh-chung.zip"]
    assert len(zipped) == 1
    told = "\n".join(m.text for m in bot.fake.sent_messages(ADMIN))
    assert "minh-chung.zip" in told and "/files/tok" in told
    with zipfile.ZipFile(zipped[0]) as bundle:
        [name] = bundle.namelist()
        assert name.startswith("minh-chung/SXD/anh-") and name.endswith(".jpg")
        assert bundle.read(name) == photo
