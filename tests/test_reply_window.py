"""A person outside a platform's reply window (the Zalo OA may not write to someone silent for
7 days) is not written to, is named for the coordinators, and is back as soon as they write."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.campaigns.campaign import load_campaign_text
from bot.channels.base import TELEGRAM, ZALO_BOT, Outgoing, OutsideWindow
from bot.channels.fake import RecordingChannel
from bot.config import load
from bot.hub import Hub
from bot.outbox import Sender
from bot.store import Store
from tests.conftest import SMALL_CAMPAIGN, TZ

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


class ClosedWindow:
    """A transport whose platform refuses every send: the person wrote too long ago."""

    name, caps = "zalo_oa", ZALO_BOT

    def __init__(self) -> None:
        self.calls = 0

    def parts(self, message: Outgoing) -> list[Outgoing]:
        return [message]

    async def send(self, part: Outgoing) -> None:
        self.calls += 1
        raise OutsideWindow("-230 User has not interacted with the OA in the past 7 days")


async def test_outside_the_window_the_contact_waits_until_they_write(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "w.sqlite3")
    await store.create_campaign(load_campaign_text("c.yaml", SMALL_CAMPAIGN, TZ), NOW)
    await store.bind("zalo_oa", "2468", "2468", "SXD", NOW)
    for n in (1, 2):
        await store.outbox.owe(f"r{n}", [Outgoing("2468", f"Nhắc {n}", channel="zalo_oa")], NOW)
    transport = ClosedWindow()
    sender = Sender(store, {"zalo_oa": transport}, lambda: NOW, lambda _c: [], per_chat=1000,
                    overall=10_000)
    await sender.drain()
    assert transport.calls == 1  # the second is not tried: the chat is out of the window
    assert await store.contact_counts(1) == {"SXD": 0, "SYT": 0}
    assert await store.unreachable_contacts(1, "window") == [("SXD", "2468", None)]
    assert await store.unreachable_contacts(1) == []  # not blocked: no notice, the digest
    assert not await store.outbox.chats()  # nothing left owed to that chat

    later = NOW + timedelta(days=9)
    await store.inbox.put("zalo_oa", "msg-1", {"text": "chào"}, later, sender="2468")
    assert await store.inbox.last_inbound("zalo_oa", "2468") == later
    assert await store.contact_counts(1) == {"SXD": 1, "SYT": 0}  # back as soon as they wrote
    await store.close()


async def test_a_blocked_contact_stays_blocked_when_an_event_arrives(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "b.sqlite3")
    await store.create_campaign(load_campaign_text("c.yaml", SMALL_CAMPAIGN, TZ), NOW)
    await store.bind("zalo_oa", "77", "77", "SXD", NOW)
    await store.outbox.unreachable("zalo_oa", "77", NOW, lambda _c: [])
    await store.inbox.put("zalo_oa", "receipt-1", {"event": "seen"}, NOW, sender="77")
    assert await store.contact_counts(1) == {"SXD": 0, "SYT": 0}
    await store.close()


class OfficialAccount(RecordingChannel):
    """A recording channel with a reply window: chat "silent" last wrote 8 days ago."""

    def __init__(self) -> None:
        super().__init__("zalo_oa", ZALO_BOT)

    async def window(self, chat_id: str, now: datetime) -> str:
        return "closed" if chat_id == "silent" else "free"


async def test_the_sweep_does_not_try_a_closed_window_and_the_digest_names_it(
        tmp_path: Path) -> None:
    settings = load({"REPORTBOT_DB": str(tmp_path / "s.sqlite3"),
                     "REPORTBOT_ADMINS": "telegram:900"}, env_file=None)
    hub = Hub(await Store.open(settings.db), settings)
    hub.add(OfficialAccount())
    hub.add(RecordingChannel("telegram", TELEGRAM))
    store = hub.store
    created = datetime(2023, 10, 17, tzinfo=UTC)
    await store.create_campaign(load_campaign_text("c.yaml", SMALL_CAMPAIGN, TZ), created)
    for chat in ("silent", "talking"):
        await store.bind("zalo_oa", chat, chat, "SXD", created)
    due = datetime(2023, 10, 31, 8, 5, tzinfo=TZ)  # the reminder of the deadline's morning
    assert await hub.sweeper.sweep(due) == 1
    assert [r.message.chat_id for r in await store.outbox.rows("zalo_oa", "talking")]
    assert not await store.outbox.rows("zalo_oa", "silent")
    digest = (await store.outbox.rows("telegram", "900"))[0].message.text
    assert "Không liên lạc được qua Zalo OA vì quá 7 ngày chưa nhắn (1 đầu mối)" in digest
    assert "SXD · Sở Xây dựng (mã người dùng silent)" in digest
    assert "chặn bot" not in digest  # not listed as blocked
    await store.close()
