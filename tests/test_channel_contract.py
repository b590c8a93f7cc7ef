"""One contract for every channel (issue #11): what each must do, through its real transport and
a faithful fake of its platform, with the hub's outbox sender in front.

Parametrized over the terminal, Telegram (TelegramTransport against tests/fakebotapi.py on
127.0.0.1), Zalo Bot (ZaloBotTransport against tests/fakezalobot.py), the Zalo OA
(ZaloOATransport against tests/fakezalooa.py) and the recording fake
(bot/channels/fake.py) with Telegram's and Zalo's capabilities. Each channel comes as a
`Platform`: its transport, the people it knows, what each person saw, and its faults (a blocked
person, an answer lost after the message arrived).
"""

from __future__ import annotations

import asyncio
import io
import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import httpx
import pytest
from telegram.error import TimedOut
from telegram.ext import ApplicationBuilder
from telegram.request import HTTPXRequest

from bot import texts
from bot.campaigns.campaign import load_campaign_text
from bot.channels.base import (
    CONSOLE,
    TELEGRAM,
    ZALO_BOT,
    Capabilities,
    ContactUnreachable,
    DeliveryUncertain,
    Incoming,
    Outgoing,
    Transport,
)
from bot.channels.console import ConsoleTransport
from bot.channels.fake import RecordingChannel, RecordingTransport, html_problem
from bot.channels.telegram_transport import TelegramTransport
from bot.channels.zalo_bot import ZaloBotTransport
from bot.channels.zalo_oa_client import ZaloOAClient
from bot.channels.zalo_oa_tokens import TokenChain
from bot.channels.zalo_oa_transport import ZaloOATransport
from bot.config import load
from bot.hub import Hub
from bot.splitting import html_to_plain
from bot.store import Store
from tests.conftest import SMALL_CAMPAIGN, TZ, Clock
from tests.fakebotapi import FakeBotApi
from tests.fakezalobot import FakeZaloBot
from tests.fakezalooa import FakeZaloOA

TOKEN = "123456:TEST-token-abcdefghijklmnopqrstuvwxyz"
COORDINATOR = "boss"
TAG_RE = re.compile(r"</?(b|strong|i|em|u|s|a|code|pre|span)\b[^>]*>")
CHOICES = """\
title: Đợt thử lựa chọn
request: Công văn số 2/SNV ngày 01/10/2023 của Sở Nội vụ
agency: {parent: UBND TỈNH QUẢNG NGÃI, name: SỞ NỘI VỤ, code: SNV, place: Quảng Ngãi}
deadline: 2023-10-31 17:00
questionnaire:
  sections:
    - title: I. Đánh giá
      questions:
        - {id: muc_do, type: choice, ask: "Tự đánh giá?", options: [Hoàn thành tốt, Hoàn thành]}
        - {id: xep_loai, type: choice, ask: "Xếp loại?", options: [Xuất sắc, Khá, Trung bình]}
        - {id: co_vb, type: yesno, ask: "Có ban hành văn bản không?"}
        - {id: ghi_chu, type: text, ask: "Ghi chú?", required: false}
units:
  - {code: SXD, name: Sở Xây dựng}
"""


@dataclass(frozen=True)
class Seen:
    """One message as the person received it."""

    text: str  # what they read (markup rendered)
    raw: str  # what the platform was given
    buttons: tuple[str, ...] = ()
    fell_back: bool = False  # the platform refused the markup; plain text went instead


class Platform(Protocol):
    """A channel's transport with its platform fake, seen from the people's side."""

    transport: Transport

    def person(self, n: int) -> str:
        """Return the chat id of person n, known to the platform (they wrote to the bot)."""
        ...

    def seen(self, chat: str) -> list[Seen]:
        """Return what the person received, in order."""
        ...

    def refusals(self) -> list[str]:
        """Return every send the platform refused."""
        ...

    def block(self, chat: str) -> None:
        """Make the platform answer what it answers once the person blocked the bot."""
        ...

    def lose_next_answer(self) -> None:
        """Deliver the next message, but let its answer never reach the bot (a timeout)."""
        ...


# the terminal ------------------------------------------------------------------------------

class Terminal(io.StringIO):
    """A terminal stream that keeps each write; its reader can go away or stall."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[str] = []
        self.reader_gone = False
        self.stall = 0

    def write(self, text: str) -> int:
        if self.reader_gone:
            raise BrokenPipeError(32, "Broken pipe")
        self.writes.append(text)
        if self.stall:
            self.stall -= 1
            raise TimeoutError("the stream's socket timed out after the write")
        return super().write(text)


class ConsolePlatform:
    def __init__(self) -> None:
        self.terminal = Terminal()
        self.transport: Transport = ConsoleTransport(self.terminal)

    def person(self, n: int) -> str:
        return f"terminal-{n}"

    def seen(self, chat: str) -> list[Seen]:
        return [Seen(w[1:-1], w[1:-1]) for w in self.terminal.writes]  # one person per terminal

    def refusals(self) -> list[str]:
        return []

    def block(self, chat: str) -> None:
        self.terminal.reader_gone = True

    def lose_next_answer(self) -> None:
        self.terminal.stall += 1


# Telegram -----------------------------------------------------------------------------------

class LosingRequest(HTTPXRequest):
    """PTB's own HTTP request, which can lose the answer of a send after it arrived."""

    lose = 0

    async def do_request(self, url: str, method: str, *args: Any,
                         **kwargs: Any) -> tuple[int, bytes]:
        answer = await super().do_request(url, method, *args, **kwargs)
        if self.lose and url.endswith(("/sendMessage", "/sendDocument")):
            self.lose -= 1
            raise TimedOut("the answer was lost after Telegram took the message")
        return answer


class TelegramPlatform:
    def __init__(self, fake: FakeBotApi, transport: TelegramTransport,
                 request: LosingRequest) -> None:
        self.fake = fake
        self.transport: Transport = transport
        self.request = request

    def person(self, n: int) -> str:
        return str(7000 + n)

    def seen(self, chat: str) -> list[Seen]:
        return [Seen(m.text, m.raw_text, _labels(m.reply_markup), m.parse_mode is None)
                for m in self.fake.sent_messages(int(chat)) if m.method == "sendMessage"]

    def refusals(self) -> list[str]:
        return [f"{c.status}: {c.result}" for c in self.fake.calls("sendMessage")
                if c.status != 200]

    def block(self, chat: str) -> None:
        self.fake.blocked_users.add(int(chat))  # 403 "Forbidden: bot was blocked by the user"

    def lose_next_answer(self) -> None:
        self.request.lose += 1


def _labels(markup: dict[str, Any] | None) -> tuple[str, ...]:
    rows = (markup or {}).get("inline_keyboard", [])
    return tuple(button["text"] for row in rows for button in row)


# Zalo Bot -----------------------------------------------------------------------------------

class LosingTransport(httpx.AsyncHTTPTransport):
    """httpx's own transport, which can lose the answer of a send after Zalo took it."""

    lose = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        answer = await super().handle_async_request(request)
        if self.lose and request.url.path.endswith("/sendMessage"):
            self.lose -= 1
            await answer.aclose()
            raise httpx.ReadTimeout("the answer was lost after Zalo took the message")
        return answer


def zalo_transport(fake: FakeZaloBot, losing: LosingTransport) -> Transport:
    """Return ZaloBotTransport pointed at the fake, its answers lost on demand."""
    return ZaloBotTransport(fake.token, base_url=fake.base_url,
                            http=httpx.AsyncClient(transport=losing))


class ZaloPlatform:
    def __init__(self, fake: FakeZaloBot) -> None:
        self.fake = fake
        self.losing = LosingTransport()
        self.transport = zalo_transport(fake, self.losing)

    def person(self, n: int) -> str:
        user = f"{n:020x}"
        self.fake.send_text(user, "Xin chào")  # Zalo lets no bot write first
        self.fake.drain()
        return user

    def seen(self, chat: str) -> list[Seen]:
        # Zalo has no buttons: a reply_markup sent anyway shows up here as unsupported params.
        return [Seen(m.text, m.text, tuple(m.unsupported)) for m in self.fake.sent_messages(chat)]

    def refusals(self) -> list[str]:
        return [f"{c.error_code}: {c.body}" for c in self.fake.calls("sendMessage") if not c.ok]

    def block(self, chat: str) -> None:
        # ZALO.md does not say what Zalo answers once a person blocked the bot; the fake
        # answers 403 "Forbidden" (its docstring says why), as Telegram does.
        self.fake.block(chat)

    def lose_next_answer(self) -> None:
        self.losing.lose += 1


# Zalo OA ------------------------------------------------------------------------------------

class LosingOATransport(httpx.AsyncHTTPTransport):
    """httpx's own transport, which can lose the answer of a cs message after Zalo took it."""

    lose = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        answer = await super().handle_async_request(request)
        if self.lose and request.url.path.endswith("/message/cs"):
            self.lose -= 1
            await answer.aclose()
            raise httpx.ReadTimeout("the answer was lost after Zalo took the message")
        return answer


class ZaloOAPlatform:
    """ZaloOATransport against the fake; people 1-3 wrote just now (the reply window is open)."""

    def __init__(self, fake: FakeZaloOA, store: Store, path: Path) -> None:
        self.fake = fake
        self.losing = LosingOATransport()
        self.http = httpx.AsyncClient(transport=self.losing)
        settings = load({"ZALO_OA_APP_ID": fake.app_id, "ZALO_OA_APP_SECRET": fake.app_secret,
                         "ZALO_OA_ACCESS_TOKEN": fake.access_token,
                         "ZALO_OA_REFRESH_TOKEN": fake.refresh_token,
                         "ZALO_OA_API_BASE_URL": fake.base_url,
                         "ZALO_OAUTH_BASE_URL": fake.base_url, "REPORTBOT_DB": str(path)},
                        env_file=None)
        tokens = TokenChain(settings, store, lambda: datetime.now(UTC), self.http)
        self.transport: Transport = ZaloOATransport(
            ZaloOAClient(fake.base_url, tokens, self.http), store, lambda: datetime.now(UTC),
            TZ)

    @staticmethod
    def user(n: int) -> str:
        return str(2468458835296197900 + n)

    def person(self, n: int) -> str:
        self.fake.send_text(self.user(n), "Xin chào")  # the OA writes only to who wrote
        return self.user(n)

    def seen(self, chat: str) -> list[Seen]:
        return [Seen(m.text, m.text, tuple(b["title"] for b in m.buttons))
                for m in self.fake.sent_messages(chat)]

    def refusals(self) -> list[str]:
        return [f"{c.error}: {c.answer}" for c in self.fake.calls("message") if not c.ok]

    def block(self, chat: str) -> None:
        self.fake.ban(chat)  # -227: banned, or inactive for 45 days

    def lose_next_answer(self) -> None:
        self.losing.lose += 1


# the recording fake -------------------------------------------------------------------------

class RecordingPlatform:
    def __init__(self, name: str, caps: Capabilities) -> None:
        self.recorder = RecordingTransport(name, caps)
        self.transport: Transport = self.recorder

    def person(self, n: int) -> str:
        return f"person-{n}"

    def seen(self, chat: str) -> list[Seen]:
        html = self.recorder.caps.format == "html"
        return [Seen(html_to_plain(p.text) if html else p.text, p.text,
                     tuple(b.label for row in p.buttons for b in row))
                for p in self.recorder.sent if p.chat_id == chat]

    def refusals(self) -> list[str]:
        return [problem for _, problem in self.recorder.refused]

    def block(self, chat: str) -> None:
        self.recorder.block(chat)

    def lose_next_answer(self) -> None:
        self.recorder.fail_next(DeliveryUncertain("no answer"), delivered=True)


# fixtures -----------------------------------------------------------------------------------

CHANNELS = ["console", "telegram",
            "zalo", "zalo_oa",
            "fake-html", "fake-plain"]


@pytest.fixture
def fake_bot_api() -> Iterator[FakeBotApi]:
    with FakeBotApi(token=TOKEN) as fake:
        yield fake


@pytest.fixture(params=CHANNELS)
async def platform(request: pytest.FixtureRequest) -> AsyncIterator[Platform]:
    name: str = request.param
    if name == "console":
        yield ConsolePlatform()
    elif name == "telegram":
        fake: FakeBotApi = request.getfixturevalue("fake_bot_api")
        losing = LosingRequest()
        app = (ApplicationBuilder().token(TOKEN).base_url(fake.base_url)
               .base_file_url(fake.base_file_url).request(losing).updater(None).build())
        await app.initialize()
        yield TelegramPlatform(fake, TelegramTransport(app), losing)
        await app.shutdown()
    elif name == "zalo":
        with FakeZaloBot() as zalo:
            yield ZaloPlatform(zalo)
    elif name == "zalo_oa":
        path: Path = request.getfixturevalue("tmp_path") / "oa-window.sqlite3"
        with FakeZaloOA() as oa:
            store = await Store.open(path)
            for n in (1, 2, 3):
                await store.inbox.put("zalo_oa", f"hello-{n}", {}, datetime.now(UTC),
                                      sender=ZaloOAPlatform.user(n))
            platform = ZaloOAPlatform(oa, store, path)
            yield platform
            await platform.http.aclose()
            await store.close()
    else:
        yield RecordingPlatform("fake", TELEGRAM if name == "fake-html" else ZALO_BOT)


@dataclass
class Plugged:
    """A transport plugged into the hub as a channel (no invite links, nothing to run)."""

    transport: Transport

    @property
    def name(self) -> str:
        return self.transport.name

    @property
    def caps(self) -> Capabilities:
        return self.transport.caps

    def invite_url(self, token: str) -> str | None:
        return None

    async def start(self) -> None:
        """Nothing to connect."""

    async def run(self, stop: asyncio.Event) -> None:
        await stop.wait()

    async def stop(self) -> None:
        """Nothing to release."""


class Rig:
    """The hub with the channel under test; the coordinators sit on a recording desk."""

    def __init__(self, platform: Platform, store: Store, hub: Hub, desk: RecordingChannel):
        self.platform = platform
        self.store = store
        self.hub = hub
        self.desk = desk
        self.name = platform.transport.name
        self.caps = platform.transport.caps
        self.counter = 0

    async def owe(self, message: Outgoing) -> None:
        """Owe one message as the bot does, and let the sender deliver everything owed."""
        self.counter += 1
        await self.store.outbox.owe(f"test:{self.counter}", [message], datetime.now(UTC))
        await self.hub.sender.drain()

    async def say(self, chat: str, text: str) -> Seen:
        """Let a person type one message; return the last message they got back."""
        self.counter += 1
        await self.hub.receive(Incoming(self.name, chat, chat, text=text,
                                        message_id=f"m{self.counter}"))
        await self.hub.sender.drain()
        return self.platform.seen(chat)[-1]

    async def round(self, yaml_text: str) -> tuple[int, str]:
        """Create a round; return its id and the first unit's invite token."""
        spec = load_campaign_text("dot.yaml", yaml_text, TZ)
        campaign_id, invites = await self.store.create_campaign(spec, datetime.now(UTC))
        return campaign_id, invites[0].token


@pytest.fixture
async def rig(platform: Platform, tmp_path: Path) -> AsyncIterator[Rig]:
    settings = load({"REPORTBOT_DB": str(tmp_path / "c.sqlite3"),
                     "REPORTBOT_DATA_DIR": str(tmp_path / "data")}, env_file=None)
    settings = replace(settings, admins=frozenset({f"desk:{COORDINATOR}"}))
    store = await Store.open(settings.db)
    hub = Hub(store, settings, clock=Clock())
    desk = RecordingChannel("desk", CONSOLE)
    hub.add(Plugged(platform.transport))
    hub.add(desk)
    hub.sender.per_chat, hub.sender.rate = 100_000, 100_000  # pacing is measured elsewhere
    yield Rig(platform, store, hub, desk)
    await store.close()


# the message far over the limit -------------------------------------------------------------

def long_sheet(caps: Capabilities) -> str:
    """Return a review sheet, rendered for the channel, at least twice its limit long."""
    rows = 12
    while True:
        sheet = _sheet(caps, rows)
        if len(sheet) > 2 * caps.max_length:
            return sheet
        rows *= 2


def _sheet(caps: Capabilities, count: int) -> str:
    rows = [{"number": i, "ask": f"Kết quả thực hiện nhiệm vụ số {i} của đơn vị?",
             "value": None if i % 9 == 0 else
             f"Kế hoạch số {i}/KH-SXD <Tọa đàm & hội thảo> về phòng, chống dịch Covid-19 "
             "trên địa bàn tỉnh Quảng Ngãi; đã triển khai đầy đủ, đúng tiến độ.",
             "required": True, "missing": i % 9 == 0} for i in range(1, count + 1)]
    sections = [{"title": f"Phần {k // 10 + 1}. Kết quả phòng, chống dịch",
                 "rows": rows[k:k + 10]} for k in range(0, count, 10)]
    return texts.render("engine.review", caps.format, sections=sections, missing=1,
                        submitted=False, unit="Sở Xây dựng", title="Đợt thử", buttons=False)


def squash(text: str) -> str:
    return "".join(text.split())


async def test_a_message_far_over_the_limit_arrives_whole_in_parts_within_it(rig: Rig) -> None:
    chat = rig.platform.person(1)
    sheet = long_sheet(rig.caps)
    await rig.owe(Outgoing(chat, sheet, channel=rig.name))
    seen = rig.platform.seen(chat)
    assert len(seen) >= 3
    assert all(len(part.raw) <= rig.caps.max_length for part in seen)
    shown = html_to_plain(sheet) if rig.caps.format == "html" else sheet
    assert squash("".join(part.text for part in seen)) == squash(shown)  # nothing lost, in order
    assert rig.platform.refusals() == []


async def test_markup_is_never_broken_and_never_reaches_the_person_raw(rig: Rig) -> None:
    chat = rig.platform.person(1)
    await rig.owe(Outgoing(chat, long_sheet(rig.caps), channel=rig.name))
    seen = rig.platform.seen(chat)
    if rig.caps.format == "html":
        assert [html_problem(part.raw) for part in seen] == [None] * len(seen)
        assert not any(part.fell_back for part in seen)
    assert not any(TAG_RE.search(part.text) for part in seen)
    assert all("<Tọa đàm & hội thảo>" in part.text for part in seen if "/KH-SXD" in part.text)


# the gate: at most once for reminders, at least once for the rest --------------------------

async def test_a_reminder_whose_answer_was_lost_is_not_sent_again_but_a_text_is(
        rig: Rig) -> None:
    campaign_id, token = await rig.round(SMALL_CAMPAIGN)
    chat = rig.platform.person(1)
    await rig.say(chat, f"/start {token}")
    campaign = await rig.store.campaign(campaign_id)
    assert campaign is not None
    [reminder] = await rig.hub.sweeper.remind_now(campaign, rig.hub.engine.clock())
    [contact] = await rig.store.bound_contacts(campaign_id)
    before = len(rig.platform.seen(chat))
    rig.platform.lose_next_answer()
    assert await rig.store.outbox.reminders(
        [((campaign_id, "SXD", contact.id, "test-slot"), reminder)], datetime.now(UTC)) == 1
    await rig.hub.sender.drain()
    assert [s.raw for s in rig.platform.seen(chat)[before:]] == [reminder.text]
    rig.platform.lose_next_answer()
    await rig.owe(Outgoing(chat, "Câu 2/7 · Đơn vị có ban hành văn bản không?", channel=rig.name))
    again = [s.text for s in rig.platform.seen(chat)[before + 1:]]
    assert again == ["Câu 2/7 · Đơn vị có ban hành văn bản không?"] * 2  # at least once


# numbered choices where there are no buttons ------------------------------------------------

async def test_choices_are_buttons_or_numbered_lines_and_a_number_or_label_answers(
        rig: Rig) -> None:
    campaign_id, token = await rig.round(CHOICES)
    chat = rig.platform.person(1)
    asked = await rig.say(chat, f"/start {token}")
    if rig.caps.buttons:
        assert asked.buttons[:2] == ("Hoàn thành tốt", "Hoàn thành")
        assert "1. Hoàn thành tốt" not in asked.text
    else:
        assert asked.buttons == ()
        assert "1. Hoàn thành tốt" in asked.text and "2. Hoàn thành" in asked.text
    asked = await rig.say(chat, "1")
    assert "Xếp loại?" in asked.text and ("3. Trung bình" in asked.text) != rig.caps.buttons
    asked = await rig.say(chat, "khá")
    assert "Có ban hành văn bản không?" in asked.text
    if rig.caps.buttons:
        assert asked.buttons[:2] == ("Có", "Không")
    else:
        assert asked.buttons == () and "1 = Có, 2 = Không" in asked.text
    await rig.say(chat, "2")
    [sheet] = await rig.store.sheets(campaign_id)
    assert sheet.answers == {"muc_do": {"selected": ["Hoàn thành tốt"], "other": None},
                             "xep_loai": {"selected": ["Khá"], "other": None},
                             "co_vb": False}


# blocked ------------------------------------------------------------------------------------

async def test_a_blocked_bot_raises_contact_unreachable(rig: Rig) -> None:
    chat = rig.platform.person(1)
    rig.platform.block(chat)
    with pytest.raises(ContactUnreachable):
        await rig.platform.transport.send(Outgoing(chat, "Câu 1/7", channel=rig.name))


async def test_a_blocked_contact_becomes_unreachable_and_coordinators_hear_once(
        rig: Rig) -> None:
    campaign_id, token = await rig.round(SMALL_CAMPAIGN)
    chat = rig.platform.person(1)
    assert "Câu 1/7" in (await rig.say(chat, f"/start {token}")).text
    rig.platform.block(chat)
    await rig.say(chat, "12")  # the reply to this answer meets the block
    await rig.owe(Outgoing(chat, "Câu 3/7", channel=rig.name))  # and so does the next one
    assert (await rig.store.contact_counts(campaign_id))["SXD"] == 0
    notices = rig.desk.transport.texts(COORDINATOR)
    assert len(notices) == 1 and "SXD" in notices[0]
