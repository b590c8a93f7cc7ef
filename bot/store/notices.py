"""The coordinators' pending notices of submits and edits, owed to the outbox in batches.

`NoticeStore` is reached as `store.notices`. A notice is recorded once per cause (the task row
of the submit or edit); a batch of them is owed to the outbox and marked in one transaction, so
a kill before that transaction leaves them all pending and a kill after it leaves them all owed
as messages: none is lost, none told twice.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from bot.channels.base import Outgoing
from bot.store.outbox import enqueue
from bot.store.sql import _iso

if TYPE_CHECKING:
    from bot.store import Store


@dataclass(frozen=True)
class Notice:
    """One submit (no `changed`) or one edit after submitting, not yet told."""

    id: int
    campaign_id: int
    unit: str
    at: datetime
    changed: tuple[str, ...]  # the question ids an edit changed


class NoticeStore:
    """Pending notices of one store."""

    def __init__(self, store: Store) -> None:
        self._store = store

    async def record(self, cause: str, campaign_id: int, unit: str, at: datetime,
                     changed: Sequence[str], due: datetime) -> bool:
        """Record a notice once per cause; return False when that cause recorded it before."""
        cur = await self._store.transaction(lambda conn: conn.execute(
            "INSERT OR IGNORE INTO notices (cause, campaign_id, unit_code, at, changed, due_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (cause, campaign_id, unit, _iso(at), ",".join(changed), _iso(due))))
        return bool(cur.rowcount)

    async def next_due(self) -> datetime | None:
        """Return when the first pending notice is due, or None when none is pending."""
        row = await self._store._run(lambda conn: conn.execute(
            "SELECT MIN(due_at) FROM notices WHERE sent_at IS NULL").fetchone())
        return None if row[0] is None else datetime.fromisoformat(row[0])

    async def pending(self) -> list[Notice]:
        """Return every pending notice, oldest first."""
        rows = await self._store._run(lambda conn: conn.execute(
            "SELECT id, campaign_id, unit_code, at, changed FROM notices WHERE sent_at IS NULL"
            " ORDER BY at, id").fetchall())
        return [Notice(r[0], r[1], r[2], datetime.fromisoformat(r[3]),
                       tuple(filter(None, r[4].split(",")))) for r in rows]

    async def owe(self, notices: Sequence[Notice], messages: Sequence[Outgoing],
                  now: datetime) -> bool:
        """Owe the messages telling these notices and mark them told, in one transaction;
        return False (nothing written) when one of them is told already or another became
        pending meanwhile: the caller reads them again."""
        ids = sorted(n.id for n in notices)

        def write(conn: sqlite3.Connection) -> bool:
            found = [r[0] for r in conn.execute(
                "SELECT id FROM notices WHERE sent_at IS NULL ORDER BY id")]
            if found != ids:
                return False
            conn.executemany("UPDATE notices SET sent_at = ? WHERE id = ?",
                             [(_iso(now), notice_id) for notice_id in ids])
            enqueue(conn, f"notices:{ids[0]}:{ids[-1]}", messages, now)
            return True

        if not ids:
            return True
        done = await self._store.transaction(write)
        self._store.outbox.wake()
        return done
