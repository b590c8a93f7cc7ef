"""Small per-channel state that must survive a restart: a quota pause, rotating tokens."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.store import Store


class ChannelState:
    """Values keyed by (channel, key), each written in its own transaction."""

    def __init__(self, store: Store) -> None:
        self._store = store

    async def get(self, channel: str, key: str) -> str | None:
        """Return a value, or None when it was never written (or was cleared)."""
        row = await self._store._run(lambda conn: conn.execute(
            "SELECT value FROM channel_state WHERE channel = ? AND key = ?",
            (channel, key)).fetchone())
        return None if row is None else str(row[0])

    async def put(self, channel: str, key: str, value: str | None, now: datetime) -> None:
        """Write a value (None clears it)."""
        await self._store.transaction(lambda conn: put(conn, channel, key, value, now))


def put(conn: sqlite3.Connection, channel: str, key: str, value: str | None,
        now: datetime) -> None:
    """Write or clear one value inside the caller's transaction."""
    if value is None:
        conn.execute("DELETE FROM channel_state WHERE channel = ? AND key = ?", (channel, key))
        return
    conn.execute(
        "INSERT INTO channel_state (channel, key, value, updated_at) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (channel, key) DO UPDATE SET value = excluded.value,"
        " updated_at = excluded.updated_at", (channel, key, value, now.isoformat()))
