"""A channel whose message quota is spent (Zalo Bot's 3,000 a month) pauses instead of looping.

Nothing is lost: what is owed stays owed, also what was claimed at most once, and goes out
when a probe gets through; the coordinators are told once per pause, where they can read it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.channels.base import (
    TELEGRAM,
    ZALO_BOT,
    ZALO_OA,
    Capabilities,
    Outgoing,
    QuotaExhausted,
)
from bot.outbox import Sender
from bot.store import Store
from bot.store.outbox import at_most_once

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


class Platform:
    """A transport whose platform refuses every send while its quota is spent."""

    def __init__(self, name: str, caps: Capabilities) -> None:
        self.name, self.caps = name, caps
        self.spent = False
        self.calls = 0
        self.delivered: list[Outgoing] = []

    def parts(self, message: Outgoing) -> list[Outgoing]:
        return [message]

    async def send(self, part: Outgoing) -> None:
        self.calls += 1
        if self.spent:
            raise QuotaExhausted("Quota exceeded")
        self.delivered.append(part)


def notices(paused: str) -> list[Outgoing]:
    return [Outgoing("tg-admin", f"{paused} spent", channel="telegram"),
            Outgoing("zalo-admin", f"{paused} back", channel="zalo")]


def sender(store: Store, zalo: Platform, telegram: Platform) -> Sender:
    return Sender(store, {"zalo": zalo, "telegram": telegram}, lambda: NOW, lambda _c: [],
                  per_chat=1000, overall=10_000, quota_notices=notices)


@pytest.fixture
async def store(tmp_path: Path) -> Store:
    return await Store.open(tmp_path / "q.sqlite3")


async def test_a_spent_quota_pauses_the_channel_and_nothing_owed_is_lost(store: Store) -> None:
    zalo, telegram = Platform("zalo", ZALO_BOT), Platform("telegram", TELEGRAM)
    zalo.spent = True
    for chat in ("a", "b", "c"):
        await store.outbox.owe(f"q:{chat}", [Outgoing(chat, f"Câu 2 cho {chat}", channel="zalo")],
                               NOW)
    await store.outbox.owe("r:a", [at_most_once(Outgoing("a", "Nhắc", channel="zalo"))], NOW)
    first = sender(store, zalo, telegram)
    await first.drain()
    assert zalo.calls == 1  # one refused send, then the whole channel waits: no loop
    assert [m.text for m in telegram.delivered] == ["zalo spent"]

    restarted = sender(store, zalo, telegram)  # a restart probes once, tells nobody again
    await restarted.drain()
    assert zalo.calls == 2 and len(telegram.delivered) == 1

    zalo.spent = False  # the month turned; the next probe is due
    restarted.paused["zalo"] = 0.0
    await restarted.drain()
    texts = sorted(m.text for m in zalo.delivered)
    assert texts == sorted(["Câu 2 cho a", "Câu 2 cho b", "Câu 2 cho c", "Nhắc", "zalo back"])
    assert len(telegram.delivered) == 1
    await restarted.drain()
    assert len(zalo.delivered) == 5  # sent once each
    assert await store.state.get("zalo", "quota_paused") is None
    await store.close()


async def test_a_pause_on_one_channel_does_not_hold_the_other(store: Store) -> None:
    zalo, telegram = Platform("zalo", ZALO_BOT), Platform("telegram", TELEGRAM)
    zalo.spent = True
    await store.outbox.owe("z", [Outgoing("a", "Zalo", channel="zalo")], NOW)
    await store.outbox.owe("t", [Outgoing("b", "Telegram", channel="telegram")], NOW)
    await sender(store, zalo, telegram).drain()
    assert "Telegram" in [m.text for m in telegram.delivered]
    assert not zalo.delivered
    await store.close()


async def test_a_document_refused_for_a_spent_quota_goes_out_when_the_channel_sends_again(
        store: Store, tmp_path: Path) -> None:
    report = tmp_path / "bao-cao-tong-hop.docx"
    report.write_bytes(b"PK docx")
    oa, telegram = Platform("zalo_oa", ZALO_OA), Platform("telegram", TELEGRAM)
    oa.spent = True  # ChannelDown / QuotaExhausted: nothing was delivered
    await store.outbox.owe("c:1", [Outgoing("admin", "", document=report, channel="zalo_oa")],
                           NOW)
    paused = Sender(store, {"zalo_oa": oa, "telegram": telegram}, lambda: NOW, lambda _c: [],
                    per_chat=1000, overall=10_000)
    await paused.drain()
    assert oa.calls == 1 and oa.delivered == []
    oa.spent = False
    restarted = Sender(store, {"zalo_oa": oa, "telegram": telegram}, lambda: NOW,
                       lambda _c: [], per_chat=1000, overall=10_000)
    restarted.paused["zalo_oa"] = 0.0  # the probe is due
    await restarted.drain()
    assert [m.document for m in oa.delivered] == [report]  # owed still, sent once
    await store.close()
