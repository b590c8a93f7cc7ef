"""What channels received and sent, per channel: the inbox and the monthly message count.

`InboxStore` (reached as `store.inbox`) keeps every update a channel received, keyed by the
platform's own id, before it is acted on: a webhook is acknowledged only after the row is
committed, a poll that removes updates cannot lose one, and an update read again (a platform
that replays, a redelivered webhook) is recognised and never processed twice, also after a
restart. `UsageStore` (`store.usage`) counts the messages a channel sent per calendar month,
for a platform's quota (Zalo Bot's 3,000 a month on the free plan) and /status.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bot.store.sql import _iso

if TYPE_CHECKING:
    from bot.store import Store


class InboxStore:
    """The updates channels received, as rows of one store."""

    def __init__(self, store: Store) -> None:
        self._store = store

    async def put(self, channel: str, key: str, body: dict[str, Any], now: datetime,
                  sender: str | None = None) -> bool:
        """Store one update; return True when it is new (False: received before).

        With `sender` (the chat that wrote), also record when they last wrote and make them
        reachable again if only a closed reply window kept the bot from writing to them.
        """
        text = json.dumps(body, ensure_ascii=False, sort_keys=True)

        def write(conn: sqlite3.Connection) -> bool:
            cur = conn.execute(
                "INSERT OR IGNORE INTO inbox (channel, key, body_json, received_at)"
                " VALUES (?, ?, ?, ?)", (channel, key, text, _iso(now)))
            if cur.rowcount and sender is not None and wrote(conn, channel, sender, now):
                self._store._cache.clear()  # a contact is reachable again
            return bool(cur.rowcount)

        return await self._store.transaction(write)

    async def pending(self, channel: str) -> list[tuple[str, dict[str, Any]]]:
        """Return (key, body) of the updates stored but not processed yet, oldest first."""
        rows = await self._store._db.execute_fetchall(
            "SELECT key, body_json FROM inbox WHERE channel = ? AND processed_at IS NULL"
            " ORDER BY received_at, key", (channel,))
        return [(str(key), json.loads(body)) for key, body in rows]

    async def last_inbound(self, channel: str, chat_id: str) -> datetime | None:
        """Return when a chat last wrote to the bot (None: never, as far as the bot knows)."""
        rows = list(await self._store._db.execute_fetchall(
            "SELECT at FROM last_inbound WHERE channel = ? AND chat_id = ?", (channel, chat_id)))
        return datetime.fromisoformat(rows[0][0]) if rows else None

    async def is_processed(self, channel: str, key: str) -> bool:
        """Return whether an update was stored and processed."""
        rows = await self._store._db.execute_fetchall(
            "SELECT processed_at FROM inbox WHERE channel = ? AND key = ?", (channel, key))
        found = list(rows)
        return bool(found) and found[0][0] is not None

    async def done(self, channel: str, key: str, now: datetime) -> None:
        """Mark an update processed."""

        def write(conn: sqlite3.Connection) -> None:
            conn.execute("UPDATE inbox SET processed_at = ? WHERE channel = ? AND key = ?"
                         " AND processed_at IS NULL", (_iso(now), channel, key))

        await self._store.transaction(write)


class UsageStore:
    """Messages each channel sent per calendar month ("2026-12", in REPORTBOT_TZ)."""

    def __init__(self, store: Store) -> None:
        self._store = store

    async def count(self, channel: str, month: str, messages: int = 1) -> None:
        """Add messages sent by a channel in a month."""

        def write(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT INTO channel_usage (channel, month, messages) VALUES (?, ?, ?)"
                " ON CONFLICT(channel, month)"
                " DO UPDATE SET messages = messages + excluded.messages",
                (channel, month, messages))

        await self._store.transaction(write)

    async def messages_this_month(self, channel: str, month: str) -> int:
        """Return how many messages a channel sent in a month ("YYYY-MM")."""
        rows = await self._store._db.execute_fetchall(
            "SELECT messages FROM channel_usage WHERE channel = ? AND month = ?",
            (channel, month))
        found = list(rows)
        return int(found[0][0]) if found else 0


def wrote(conn: sqlite3.Connection, channel: str, chat_id: str, now: datetime) -> bool:
    """Record that a chat wrote now; return True when a contact kept out only by the reply
    window is reachable again."""
    conn.execute(
        "INSERT INTO last_inbound (channel, chat_id, at) VALUES (?, ?, ?)"
        " ON CONFLICT (channel, chat_id) DO UPDATE SET at = max(at, excluded.at)",
        (channel, chat_id, _iso(now)))
    return bool(conn.execute(
        "UPDATE contacts SET reachable = 1, unreachable_reason = NULL"
        " WHERE channel = ? AND chat_id = ? AND unreachable_reason = 'window'",
        (channel, chat_id)).rowcount)
