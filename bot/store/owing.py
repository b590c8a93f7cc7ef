"""The outbox side of the store: owing messages, draining them, reminders and digests as rows.

`OutboxStore` is reached as `store.outbox`. Every method is one transaction; `wake` tells the
sender that rows were written (it also looks by itself every few seconds, for rows written by
another process).
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import Callable, Sequence
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING

from bot.channels.base import Outgoing
from bot.model import Contact
from bot.store.outbox import (
    OwedRow,
    decode,
    enqueue,
    fail_chat,
    finish,
    pending_chats,
    pending_rows,
    take_committed,
)
from bot.store.sql import _iso, _mark_processed, _to_json

if TYPE_CHECKING:
    from bot.store import Store

ReminderKey = tuple[int, str, int, str]  # campaign, unit, contact id, slot
MARK_AFTER = 0.0  # seconds of sends marked together (a kill may send those again)


def log_reminder(conn: sqlite3.Connection, key: ReminderKey, now: datetime) -> bool:
    """Log one reminder (campaign, unit, contact, slot); False when it was logged before."""
    cur = conn.execute(
        "INSERT OR IGNORE INTO reminder_log (campaign_id, unit_code, contact_id, slot, at)"
        " VALUES (?, ?, ?, ?, ?)", (*key, _iso(now)))
    return bool(cur.rowcount)

class OutboxStore:
    """What the bot owes people, as rows of one store."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._event = asyncio.Event()
        self._sent: dict[int, datetime] = {}  # sent, not yet marked: written by `flush`
        self._flushing: asyncio.Task[None] | None = None
        self._queues: dict[tuple[str, str], list[OwedRow]] = {}  # committed, not yet taken

    def wake(self) -> None:
        """Tell the sender that owed rows were written."""
        self._event.set()

    async def wait(self, seconds: float) -> None:
        """Wait until rows are written or `seconds` pass."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._event.wait(), seconds)
        self._event.clear()

    async def owe(self, cause: str, messages: Sequence[Outgoing], now: datetime,
                  key: tuple[str, str] | None = None,
                  also: Callable[[sqlite3.Connection], None] | None = None) -> bool:
        """Write what a cause owes; with `key` (channel, update key) mark that incoming
        processed in the same transaction (False when it was processed already); `also`
        writes the change that causes it, in that transaction too."""

        def write(conn: sqlite3.Connection) -> bool:
            if key is not None and not _mark_processed(conn, key[0], key[1], now):
                return False
            if also is not None:
                also(conn)
            enqueue(conn, cause, messages, now)
            return True

        done = await self._store.transaction(write)
        self.wake()
        return done

    async def processed(self, channel: str, key: str) -> bool:
        """Return whether an incoming was processed already."""
        rows = await self._store._db.execute_fetchall(
            "SELECT 1 FROM processed_updates WHERE channel = ? AND update_id = ?", (channel, key))
        return bool(list(rows))

    def take(self, channel: str, chat_id: str) -> list[OwedRow]:
        """Return (and forget) the rows committed for one chat since it last took them."""
        self._sort()
        return self._queues.pop((channel, chat_id), [])

    def collect(self) -> set[tuple[str, str]]:
        """Sort the rows committed since the last call by chat; return the chats that have some."""
        self._sort()
        return set(self._queues)

    def _sort(self) -> None:
        # Without the set `collect` returns: a worker's every `take` would build one of every
        # chat owed something, to drop it.
        for row in take_committed(self._store._db._conn):
            self._queues.setdefault((row.channel, row.chat_id), []).append(row)

    def forget(self, channel: str, chat_id: str) -> None:
        """Drop the rows in memory for a chat (it can no longer be reached)."""
        self._sort()
        self._queues.pop((channel, chat_id), None)

    async def waiting_tasks(self, kind: str, campaign_id: int) -> list[OwedRow]:
        """Return the task rows of one kind and round still owed, in every chat, oldest first
        (the notices of submits waiting in their chats' turn when the round completes)."""

        def read(conn: sqlite3.Connection) -> list[OwedRow]:
            rows = conn.execute(
                "SELECT id, cause, channel, chat_id, body_json, attempts, parts_sent FROM outbox"
                " WHERE status = 'pending' AND json_extract(body_json, '$.extra.task') = ?"
                " AND json_extract(body_json, '$.extra.campaign') = ? ORDER BY id",
                (kind, str(campaign_id))).fetchall()
            return [OwedRow(r[0], r[1], r[2], r[3], decode(r[2], r[3], r[4]), r[5], r[6])
                    for r in rows]

        return await self._store._run(read)

    async def sent_to(self, channel: str, per_chat: int) -> list[tuple[OwedRow, datetime]]:
        """Return the last `per_chat` messages sent to each chat of a channel, oldest first,
        with when each was sent (the web page's feed, read again after a restart)."""

        def read(conn: sqlite3.Connection) -> list[tuple[OwedRow, datetime]]:
            rows = conn.execute(
                "SELECT id, cause, chat_id, body_json, sent_at FROM (SELECT id, cause, chat_id,"
                " body_json, sent_at, ROW_NUMBER() OVER (PARTITION BY chat_id ORDER BY id DESC)"
                " AS newest FROM outbox WHERE channel = ? AND status = 'sent'"
                " AND json_extract(body_json, '$.extra.task') IS NULL)"
                " WHERE newest <= ? ORDER BY id", (channel, per_chat)).fetchall()
            return [(OwedRow(r[0], r[1], channel, r[2], decode(channel, r[2], r[3]), 0, 0),
                     datetime.fromisoformat(r[4])) for r in rows]

        return await self._store._run(read)

    async def chats(self) -> list[tuple[str, str]]:
        """Return (channel, chat id) of every chat that is owed something, oldest first."""
        return await self._store._run(pending_chats)

    async def rows(self, channel: str, chat_id: str, limit: int = 20) -> list[OwedRow]:
        """Return the oldest rows owed to one chat (not those sent and about to be marked)."""
        rows = await self._store._run(
            lambda conn: pending_rows(conn, channel, chat_id, limit + len(self._sent)))
        return [row for row in rows if row.id not in self._sent][:limit]

    async def done(self, row_id: int, now: datetime, failed: bool = False) -> None:
        """Mark a row sent (or failed: it will never be sent), now."""
        await self._store.transaction(
            lambda conn: finish(conn, row_id, "failed" if failed else "sent", now))

    def sent(self, row_id: int, now: datetime) -> None:
        """Mark a row sent soon: rows sent meanwhile are marked in one transaction.

        Until then the row is not handed out again; a kill before the mark (at most
        MARK_AFTER seconds of sends) sends it once more after the restart, as a kill during
        its request would.
        """
        self._sent[row_id] = now
        if self._flushing is None or self._flushing.done():
            self._flushing = asyncio.get_running_loop().create_task(self.flush(MARK_AFTER))

    async def flush(self, after: float = 0.0) -> None:
        """Write the marks of the rows sent since the last flush (after `after` seconds)."""
        await asyncio.sleep(after)  # let the sends under way finish first
        while self._sent:
            marks = list(self._sent.items())
            await self._store.transaction(partial(_mark_sent, marks=marks))
            for row_id, _ in marks:
                self._sent.pop(row_id, None)

    async def reopen(self, row_id: int) -> None:
        """Make a row claimed for its request owed again (the platform refused it unsent)."""
        await self._store.transaction(lambda conn: conn.execute(
            "UPDATE outbox SET status = 'pending', sent_at = NULL WHERE id = ?", (row_id,)))

    async def progress(self, row_id: int, parts_sent: int, attempts: int) -> None:
        """Record how many parts of a long message went out, and the attempts so far."""
        await self._store.transaction(lambda conn: conn.execute(
            "UPDATE outbox SET parts_sent = ?, attempts = ? WHERE id = ?",
            (parts_sent, attempts, row_id)))

    async def task_done(self, row: OwedRow, messages: Sequence[Outgoing], now: datetime) -> None:
        """Replace a task row by the messages it produced, in one transaction."""

        def write(conn: sqlite3.Connection) -> None:
            enqueue(conn, f"task:{row.id}", messages, now)
            finish(conn, row.id, "sent", now)

        await self._store.transaction(write)
        self.wake()

    async def unreachable(self, channel: str, chat_id: str, now: datetime,
                          notices: Callable[[Contact], Sequence[Outgoing]]) -> Contact | None:
        """Mark a contact unreachable, drop what it is owed and owe the coordinators one notice.

        Return the contact if it was reachable until now (the notice is written only then).
        """

        def write(conn: sqlite3.Connection) -> Contact | None:
            row = conn.execute(
                "UPDATE contacts SET reachable = 0, unreachable_reason = 'blocked'"
                " WHERE channel = ? AND chat_id = ? AND reachable"
                " RETURNING id, user_id, unit_code, name", (channel, chat_id)).fetchone()
            fail_chat(conn, channel, chat_id, now)
            self._store._cache.clear()
            if row is None:
                return None
            contact = Contact(row[0], channel, chat_id, row[1], row[2], False, row[3])
            enqueue(conn, f"unreachable:{channel}:{chat_id}:{_iso(now)}", notices(contact), now)
            return contact

        contact = await self._store.transaction(write)
        self.wake()
        return contact

    async def outside_window(self, channel: str, chat_id: str, now: datetime) -> None:
        """Mark a contact out of the platform's reply window: what it is owed is dropped (the
        platform refuses it) and it is reachable again as soon as it writes. The coordinators'
        digest names such contacts; no notice each."""

        def write(conn: sqlite3.Connection) -> None:
            conn.execute(
                "UPDATE contacts SET reachable = 0, unreachable_reason = 'window'"
                " WHERE channel = ? AND chat_id = ? AND reachable", (channel, chat_id))
            fail_chat(conn, channel, chat_id, now)
            self._store._cache.clear()

        await self._store.transaction(write)

    async def reminders(self, due: Sequence[tuple[ReminderKey, Outgoing]], now: datetime) -> int:
        """Log and owe each due reminder once per (campaign, unit, contact, slot); return how
        many were new."""

        def write(conn: sqlite3.Connection) -> int:
            new = 0
            for key, message in due:
                if log_reminder(conn, key, now):
                    enqueue(conn, "reminder:" + ":".join(map(str, key)), [message], now)
                    new += 1
            return new

        count = await self._store.transaction(write)
        self.wake()
        return count

    async def digest(self, campaign_id: int, chat_id: str, slot: str, message: Outgoing,
                     now: datetime) -> bool:
        """Log and owe a coordinator's digest once per slot; False if it was owed before."""

        def write(conn: sqlite3.Connection) -> bool:
            cur = conn.execute(
                "INSERT OR IGNORE INTO digest_log (campaign_id, chat_id, slot, at)"
                " VALUES (?, ?, ?, ?)", (campaign_id, chat_id, slot, _iso(now)))
            if cur.rowcount:
                enqueue(conn, f"digest:{campaign_id}:{chat_id}:{slot}", [message], now)
            return bool(cur.rowcount)

        owed = await self._store.transaction(write)
        self.wake()
        return owed


def _mark_sent(conn: sqlite3.Connection, marks: list[tuple[int, datetime]]) -> None:
    # One statement for all the marks (as `finish` does for one): the connection's thread
    # then waits for the event loop's lock once per flush, not once per row.
    conn.execute(
        "UPDATE outbox SET status = 'sent', sent_at = m.at, body_json = CASE WHEN secret"
        " THEN json_set(body_json, '$.text', '') ELSE body_json END FROM (SELECT"
        " json_extract(value, '$[0]') AS id, json_extract(value, '$[1]') AS at"
        " FROM json_each(?)) AS m WHERE outbox.id = m.id",
        (_to_json([[row_id, _iso(at)] for row_id, at in marks]),))
