"""The only SQL: rounds, units, contacts, answers and sessions in SQLite through aiosqlite.

Every write is one transaction. A conversation step (`step`) is decided from cached state on
the event loop and written in one hop to the connection's own thread, together with any other
steps decided meanwhile (group commit); its reply is rendered while that runs and returned only
after the COMMIT, so every answer is committed before the reply that confirms it is sent.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import secrets
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from queue import SimpleQueue
from typing import Any, TypeVar, cast

import aiosqlite

from bot.cache import Snapshot, StateCache
from bot.campaign_spec import CampaignSpec
from bot.migrations import MIGRATIONS
from bot.model import (
    Campaign,
    Changes,
    Contact,
    ContactState,
    Invite,
    Session,
    Sheet,
    UnitStatus,
)

T = TypeVar("T")
_STALE = object()  # a cached decision that must be made again from the database
PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",  # WAL + NORMAL: a commit survives a killed process
    "PRAGMA foreign_keys=ON",
    "PRAGMA busy_timeout=10000",
)


def hash_token(token: str) -> str:
    """Return the stored form of an invite token."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    """Return a fresh invite token: 128 random bits, URL-safe (a valid Telegram start parameter)."""
    return secrets.token_urlsafe(16)


_to_json = json.JSONEncoder(ensure_ascii=False).encode  # one encoder, not one per call


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _dt(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


@dataclass(frozen=True)
class CampaignSummary:
    """One line of `campaign list`."""

    id: int
    title: str
    status: str
    deadline: datetime
    units: int
    reported: int


@dataclass(slots=True)
class _Pending:
    """A step decided from the cache, waiting for the group commit."""

    snap: Snapshot
    changes: Changes
    channel: str
    update_key: str | None
    now: datetime
    done: asyncio.Future[Any]


def _resolve(done: asyncio.Future[Any], outcome: Any) -> None:
    if done.done():
        return
    if isinstance(outcome, BaseException):
        done.set_exception(outcome)
    else:
        done.set_result(outcome)


@dataclass(frozen=True)
class HistoryEntry:
    """One stored change of one answer."""

    question_id: str
    value: Any
    raw: str | None
    contact_id: int | None
    at: datetime


class Store:
    """An open database; use `await Store.open(path)` and `await store.close()`."""

    def __init__(self, db: aiosqlite.Connection) -> None:
        self._db = db
        self._specs: dict[int, CampaignSpec] = {}
        self._cache = StateCache()
        self._pending: SimpleQueue[_Pending] = SimpleQueue()
        self._commit_scheduled = False

    @classmethod
    async def open(cls, path: str | Path) -> Store:
        """Open (creating and migrating if needed) the database at `path`."""
        db = await aiosqlite.connect(str(path), isolation_level=None)
        store = cls(db)
        await store._run(_configure)
        await store._run(_migrate)
        return store

    async def close(self) -> None:
        """Close the connection."""
        await self._db.close()

    async def _run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        # aiosqlite runs each call in its own thread; `_execute` queues one callable there, so a
        # whole transaction costs one thread hop instead of one per statement.
        return cast(T, await self._db._execute(fn, self._db._conn))  # type: ignore[no-untyped-call]

    def _submit(self, fn: Callable[[sqlite3.Connection], T]) -> asyncio.Future[T]:
        # What `_execute` does, without the coroutine around it: the call is queued now, so the
        # caller can go on working (rendering the reply) while the thread runs it.
        if not self._db._running or self._db._connection is None:
            raise ValueError("Connection closed")
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._db._tx.put_nowait((future, partial(fn, self._db._conn)))
        return future

    async def transaction(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run `fn(conn)` inside BEGIN IMMEDIATE … COMMIT in the connection's thread."""
        return await self._run(lambda conn: _in_transaction(conn, fn))

    # rounds -------------------------------------------------------------------------------

    async def create_campaign(self, spec: CampaignSpec, now: datetime) -> tuple[int, list[Invite]]:
        """Store a round and its units; return its id and one fresh invite token per unit."""
        invites = [Invite(u.code, u.name, new_token()) for u in spec.units]
        spec_json = json.dumps(spec.to_dict(), ensure_ascii=False, sort_keys=True)

        def write(conn: sqlite3.Connection) -> int:
            cur = conn.execute(
                "INSERT INTO campaigns (title, spec_json, spec_hash, deadline, created_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (spec.title, spec_json, hashlib.sha256(spec_json.encode()).hexdigest(),
                 _iso(spec.deadline), _iso(now)),
            )
            campaign_id = cast(int, cur.lastrowid)
            for position, (unit, invite) in enumerate(zip(spec.units, invites, strict=True)):
                conn.execute(
                    "INSERT INTO units (code, name, grp) VALUES (?, ?, ?) ON CONFLICT(code)"
                    " DO UPDATE SET name = excluded.name, grp = excluded.grp",
                    (unit.code, unit.name, unit.group),
                )
                conn.execute(
                    "INSERT INTO campaign_units (campaign_id, unit_code, position, invite_hash,"
                    " updated_at) VALUES (?, ?, ?, ?, ?)",
                    (campaign_id, unit.code, position, hash_token(invite.token), _iso(now)),
                )
            self._cache.clear()  # units may now have a newer current round
            return campaign_id

        return await self.transaction(write), invites

    async def campaign(self, campaign_id: int) -> Campaign | None:
        """Return a round by id, or None."""
        return await self._run(lambda conn: self._campaign(conn, campaign_id))

    def _campaign(self, conn: sqlite3.Connection, campaign_id: int) -> Campaign | None:
        spec = self._spec(conn, campaign_id)
        row = conn.execute(
            "SELECT status, created_at FROM campaigns WHERE id = ?", (campaign_id,)
        ).fetchone()
        if spec is None or row is None:
            return None
        return Campaign(campaign_id, spec, row[0], cast(datetime, _dt(row[1])))

    def _spec(self, conn: sqlite3.Connection, campaign_id: int) -> CampaignSpec | None:
        # A round's campaign file never changes once created, so it is parsed once.
        spec = self._specs.get(campaign_id)
        if spec is None:
            row = conn.execute(
                "SELECT spec_json FROM campaigns WHERE id = ?", (campaign_id,)
            ).fetchone()
            if row is None:
                return None
            spec = self._specs[campaign_id] = CampaignSpec.from_dict(json.loads(row[0]))
        return spec

    async def campaigns(self) -> list[CampaignSummary]:
        """Return every round, newest first, with its unit and reported counts."""
        rows = await self._db.execute_fetchall(
            "SELECT c.id, c.title, c.status, c.deadline, COUNT(cu.unit_code),"
            " SUM(cu.status IN ('submitted', 'edited')) FROM campaigns c"
            " LEFT JOIN campaign_units cu ON cu.campaign_id = c.id GROUP BY c.id ORDER BY c.id DESC"
        )
        return [
            CampaignSummary(r[0], r[1], r[2], cast(datetime, _dt(r[3])), r[4], r[5] or 0)
            for r in rows
        ]

    async def sheets(self, campaign_id: int) -> list[Sheet]:
        """Return every unit's answers in a round, in the campaign file's unit order."""
        return await self._run(lambda conn: _sheets(conn, campaign_id))

    async def contact_counts(self, campaign_id: int) -> dict[str, int]:
        """Return how many reachable contacts each unit of a round has."""
        rows = await self._db.execute_fetchall(
            "SELECT cu.unit_code, COUNT(c.id) FROM campaign_units cu LEFT JOIN contacts c"
            " ON c.unit_code = cu.unit_code AND c.reachable WHERE cu.campaign_id = ?"
            " GROUP BY cu.unit_code",
            (campaign_id,),
        )
        return {r[0]: r[1] for r in rows}

    async def set_campaign_status(self, campaign_id: int, status: str) -> None:
        """Open or close a round."""
        def write(conn: sqlite3.Connection) -> None:
            conn.execute("UPDATE campaigns SET status = ? WHERE id = ?", (status, campaign_id))
            self._cache.clear()

        await self.transaction(write)

    async def history(self, campaign_id: int, unit_code: str) -> list[HistoryEntry]:
        """Return every stored change of a unit's answers, oldest first."""
        rows = await self._db.execute_fetchall(
            "SELECT question_id, value_json, raw, contact_id, at FROM answer_history"
            " WHERE campaign_id = ? AND unit_code = ? ORDER BY id",
            (campaign_id, unit_code),
        )
        return [HistoryEntry(r[0], json.loads(r[1]), r[2], r[3], cast(datetime, _dt(r[4])))
                for r in rows]

    async def latest_open_campaign(self) -> int | None:
        """Return the newest open round's id, or None."""
        rows = list(await self._db.execute_fetchall(
            "SELECT id FROM campaigns WHERE status = 'open' ORDER BY id DESC LIMIT 1"))
        return None if not rows else int(rows[0][0])

    async def regenerate_invites(self, campaign_id: int) -> list[Invite]:
        """Give every unit of a round a new invite token; the old ones stop working."""

        def write(conn: sqlite3.Connection) -> list[Invite]:
            rows = conn.execute(
                "SELECT u.code, u.name FROM campaign_units cu JOIN units u ON u.code = cu.unit_code"
                " WHERE cu.campaign_id = ? ORDER BY cu.position", (campaign_id,)).fetchall()
            invites = [Invite(code, name, new_token()) for code, name in rows]
            conn.executemany(
                "UPDATE campaign_units SET invite_hash = ? WHERE campaign_id = ? AND unit_code = ?",
                [(hash_token(i.token), campaign_id, i.code) for i in invites])
            return invites

        return await self.transaction(write)

    async def open_campaigns(self) -> list[Campaign]:
        """Return every open round."""
        rows = await self._db.execute_fetchall("SELECT id FROM campaigns WHERE status = 'open'")
        found = [await self.campaign(int(r[0])) for r in rows]
        return [c for c in found if c is not None]

    async def reminders_sent(self, campaign_id: int) -> list[tuple[str, int, str]]:
        """Return (unit code, contact id, slot key) of every reminder logged for a round."""
        rows = await self._db.execute_fetchall(
            "SELECT unit_code, contact_id, slot FROM reminder_log WHERE campaign_id = ?",
            (campaign_id,))
        return [(r[0], int(r[1]), r[2]) for r in rows]

    async def claim_reminder(self, campaign_id: int, unit_code: str, contact_id: int, slot: str,
                             now: datetime) -> bool:
        """Log a reminder right before it leaves; False if it was logged already."""
        return await self.transaction(lambda conn: conn.execute(
            "INSERT OR IGNORE INTO reminder_log (campaign_id, unit_code, contact_id, slot, at)"
            " VALUES (?, ?, ?, ?, ?)", (campaign_id, unit_code, contact_id, slot, _iso(now))
        ).rowcount == 1)

    async def digests_sent(self, campaign_id: int, chat_id: str) -> list[str]:
        """Return the digest slot keys already sent to a coordinator's chat."""
        rows = await self._db.execute_fetchall(
            "SELECT slot FROM digest_log WHERE campaign_id = ? AND chat_id = ?",
            (campaign_id, chat_id))
        return [r[0] for r in rows]

    async def claim_digest(self, campaign_id: int, chat_id: str, slot: str, now: datetime) -> bool:
        """Log a digest before sending it; False if it was already logged."""
        return await self.transaction(lambda conn: conn.execute(
            "INSERT OR IGNORE INTO digest_log (campaign_id, chat_id, slot, at) VALUES (?, ?, ?, ?)",
            (campaign_id, chat_id, slot, _iso(now))).rowcount == 1)

    async def unreachable_contacts(self, campaign_id: int) -> list[tuple[str, str]]:
        """Return (unit code, chat id) of the contacts of a round who blocked the bot."""
        rows = await self._db.execute_fetchall(
            "SELECT c.unit_code, c.chat_id FROM contacts c JOIN campaign_units cu"
            " ON cu.unit_code = c.unit_code WHERE cu.campaign_id = ? AND NOT c.reachable",
            (campaign_id,))
        return [(r[0], r[1]) for r in rows]

    async def return_unit(self, campaign_id: int, unit_code: str, question_ids: list[str],
                          now: datetime) -> bool:
        """Send a unit's sheet back: status returned, named answers cleared, cursors reset."""

        def write(conn: sqlite3.Connection) -> bool:
            found = conn.execute(
                "SELECT 1 FROM campaign_units WHERE campaign_id = ? AND unit_code = ?",
                (campaign_id, unit_code)).fetchone()
            if found is None:
                return False
            for qid in question_ids:
                conn.execute(
                    "DELETE FROM answers WHERE campaign_id = ? AND unit_code = ?"
                    " AND question_id = ?", (campaign_id, unit_code, qid))
                conn.execute(
                    "INSERT INTO answer_history (campaign_id, unit_code, question_id, value_json,"
                    " raw, contact_id, at) VALUES (?, ?, ?, NULL, '/return', NULL, ?)",
                    (campaign_id, unit_code, qid, _iso(now)))
            conn.execute(
                "UPDATE sessions SET mode = 'asking', cursor = NULL, return_mode = NULL,"
                " return_to = NULL, draft_json = NULL WHERE campaign_id = ? AND contact_id IN"
                " (SELECT id FROM contacts WHERE unit_code = ?)", (campaign_id, unit_code))
            _set_status(conn, (campaign_id, unit_code), "returned", None, _iso(now))
            self._cache.clear()
            return True

        return await self.transaction(write)

    async def bound_contacts(self, campaign_id: int) -> list[Contact]:
        """Return the reachable contacts bound to the units of a round."""
        rows = await self._db.execute_fetchall(
            "SELECT c.id, c.channel, c.chat_id, c.user_id, c.unit_code FROM contacts c"
            " JOIN campaign_units cu ON cu.unit_code = c.unit_code"
            " WHERE cu.campaign_id = ? AND c.reachable ORDER BY cu.position, c.id",
            (campaign_id,))
        return [Contact(r[0], r[1], r[2], r[3], r[4]) for r in rows]

    async def mark_unreachable(self, channel: str, chat_id: str) -> Contact | None:
        """Mark a contact unreachable; return it if it was reachable until now."""

        def write(conn: sqlite3.Connection) -> Contact | None:
            row = conn.execute(
                "UPDATE contacts SET reachable = 0 WHERE channel = ? AND chat_id = ? AND reachable"
                " RETURNING id, user_id, unit_code", (channel, chat_id)).fetchone()
            self._cache.clear()
            return None if row is None else Contact(row[0], channel, chat_id, row[1], row[2], False)

        return await self.transaction(write)

    # contacts -----------------------------------------------------------------------------

    async def find_invite(self, token: str) -> tuple[int, str] | None:
        """Return (campaign id, unit code) for an invite token, or None."""
        rows = await self._db.execute_fetchall(
            "SELECT campaign_id, unit_code FROM campaign_units WHERE invite_hash = ?",
            (hash_token(token),),
        )
        found = list(rows)
        return None if not found else (found[0][0], found[0][1])

    async def bind(self, channel: str, chat_id: str, user_id: str | None, unit_code: str,
                   now: datetime) -> Contact:
        """Bind a chat to a unit (creating the contact if new) and mark it reachable."""

        def write(conn: sqlite3.Connection) -> Contact:
            self._cache.clear()
            contact = _contact(conn, channel, chat_id, user_id, now)
            conn.execute(
                "UPDATE contacts SET unit_code = ?, reachable = 1 WHERE id = ?",
                (unit_code, contact.id),
            )
            return Contact(contact.id, channel, chat_id, user_id, unit_code)

        return await self.transaction(write)

    # conversation -------------------------------------------------------------------------

    async def step(
        self,
        channel: str,
        chat_id: str,
        user_id: str | None,
        update_key: str | None,
        decide: Callable[[ContactState], tuple[Changes, Callable[[], T]]],
        now: datetime,
        campaign_id: int | None = None,
    ) -> T:
        """Decide one step from the contact's state, commit its changes, then return its result.

        `decide` returns the changes and a function that makes the result (the reply). When the
        state is cached, `decide` runs here, the write is queued to the connection's thread and
        the result is made while it runs; the transaction only checks that the cache is still
        current before writing. Otherwise (or if it was not) the state is read and decided
        inside the transaction. Either way the result is returned only after the COMMIT.
        """
        try:
            snap = self._cache.snapshot(channel, chat_id, campaign_id)
            if snap is not None:
                changes, finish = decide(snap.state)
                pending = _Pending(snap, changes, channel, update_key, now,
                                   asyncio.get_running_loop().create_future())
                self._pending.put(pending)
                batch = self._schedule_commit()
                try:
                    result = finish()  # rendered while the thread writes
                finally:
                    if batch is not None:
                        await self._finish_commit(batch)
                if await pending.done is not _STALE:
                    return result
            finish = await self.transaction(
                lambda conn: self._read_and_decide(conn, channel, chat_id, user_id, update_key,
                                                   decide, now, campaign_id)
            )
            return finish()
        except BaseException:
            self._cache.clear()  # a rolled-back step may have updated the cache
            raise

    def _schedule_commit(self) -> asyncio.Future[list[tuple[_Pending, Any]]] | None:
        # One group commit at a time is queued in the connection's thread, by the first step
        # that finds none queued; steps decided while it waits join it.
        if self._commit_scheduled:
            return None
        self._commit_scheduled = True
        return self._submit(self._commit_pending)

    async def _finish_commit(self, batch: asyncio.Future[list[tuple[_Pending, Any]]]) -> None:
        try:
            results = await batch
        except BaseException as error:  # the connection failed: fail every waiting step
            self._commit_scheduled = False
            while not self._pending.empty():
                _resolve(self._pending.get_nowait().done, error)
            raise
        for item, outcome in results:  # resolved here, on the loop: no extra wake-up
            _resolve(item.done, outcome)

    def _commit_pending(self, conn: sqlite3.Connection) -> list[tuple[_Pending, Any]]:
        # Group commit: every step decided since the last run is written in one transaction,
        # each inside its own savepoint, and resolved only after the COMMIT.
        self._commit_scheduled = False  # before draining, so a step added later schedules anew
        batch: list[_Pending] = []
        while not self._pending.empty():
            batch.append(self._pending.get_nowait())
        if not batch:
            return []
        outcomes: list[Any] = []
        try:
            conn.execute("BEGIN IMMEDIATE")
            if len(batch) == 1:  # alone, the transaction itself is the step's savepoint
                outcomes.append(self._commit_decided(conn, batch[0]))
            else:
                outcomes += [self._commit_one(conn, item) for item in batch]
            conn.execute("COMMIT")
        except BaseException as error:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            self._cache.clear()
            outcomes = [error] * len(batch)
        return list(zip(batch, outcomes, strict=True))

    def _commit_one(self, conn: sqlite3.Connection, item: _Pending) -> Any:
        conn.execute("SAVEPOINT step")
        try:
            outcome = self._commit_decided(conn, item)
        except Exception as error:
            conn.execute("ROLLBACK TO step")
            self._cache.clear()
            outcome = error
        conn.execute("RELEASE step")
        return outcome

    def _commit_decided(self, conn: sqlite3.Connection, item: _Pending) -> Any:
        snap = item.snap
        if not self._cache_is_fresh(conn) or not self._cache.is_current(snap):
            return _STALE
        if item.update_key is not None and not _mark_processed(conn, item.channel,
                                                               item.update_key, item.now):
            return _STALE  # a redelivered update: decide again, knowing it is a duplicate
        if not item.changes.is_empty():
            _apply(conn, snap.state, item.changes, item.now)
            self._cache.apply(snap.state, item.changes)
        return None

    def _read_and_decide(self, conn: sqlite3.Connection, channel: str, chat_id: str,
                         user_id: str | None, update_key: str | None,
                         decide: Callable[[ContactState], tuple[Changes, Callable[[], T]]],
                         now: datetime, campaign_id: int | None) -> Callable[[], T]:
        duplicate = update_key is not None and not _mark_processed(conn, channel, update_key, now)
        state = self._state(conn, channel, chat_id, user_id, now, campaign_id, duplicate)
        changes, finish = decide(state)
        if not duplicate and not changes.is_empty():
            _apply(conn, state, changes, now)
            self._cache.apply(state, changes)
        return finish

    def _cache_is_fresh(self, conn: sqlite3.Connection) -> bool:
        # A commit by any other connection (another process) changes `data_version`: then
        # nothing cached can be trusted.
        version = conn.execute("PRAGMA data_version").fetchone()[0]
        if version == self._cache.data_version:
            return True
        self._cache.clear()
        self._cache.data_version = version
        return False

    def _state(self, conn: sqlite3.Connection, channel: str, chat_id: str, user_id: str | None,
               now: datetime, campaign_id: int | None, duplicate: bool) -> ContactState:
        self._cache_is_fresh(conn)
        contact = self._cache.contacts.get((channel, chat_id))
        if contact is None:
            contact = _contact(conn, channel, chat_id, user_id, now)
            self._cache.contacts[(channel, chat_id)] = contact
        if campaign_id is None and contact.unit_code is not None:
            campaign_id = _current_campaign(conn, contact.unit_code)
            if campaign_id is not None:
                self._cache.current[contact.unit_code] = campaign_id
        spec = None if campaign_id is None else self._spec(conn, campaign_id)
        if campaign_id is None or spec is None:
            return ContactState(contact, None, None, None, {}, None, duplicate)
        row = conn.execute(
            "SELECT c.status, c.created_at, u.name, cu.status, s.mode, s.cursor,"
            " s.return_mode, s.return_to, s.draft_json FROM campaigns c"
            " LEFT JOIN campaign_units cu ON cu.campaign_id = c.id AND cu.unit_code = ?"
            " LEFT JOIN units u ON u.code = cu.unit_code"
            " LEFT JOIN sessions s ON s.campaign_id = c.id AND s.contact_id = ? WHERE c.id = ?",
            (contact.unit_code, contact.id, campaign_id),
        ).fetchone()
        campaign = Campaign(campaign_id, spec, row[0], cast(datetime, _dt(row[1])))
        if contact.unit_code is None or row[3] is None:
            return ContactState(contact, campaign, None, None, {}, None, duplicate)
        answers = _answers(conn, campaign_id, contact.unit_code)
        session = None if row[4] is None else Session(
            row[4], row[5], row[6], row[7], json.loads(row[8] or "{}"))
        state = ContactState(contact, campaign, row[2], row[3], answers, session, duplicate)
        self._cache.keep(state)
        return state


def _configure(conn: sqlite3.Connection) -> None:
    for pragma in PRAGMAS:
        conn.execute(pragma)


def _migrate(conn: sqlite3.Connection) -> None:
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    for number, (_name, script) in enumerate(MIGRATIONS[version:], start=version + 1):
        conn.executescript(f"BEGIN IMMEDIATE;\n{script}\nPRAGMA user_version = {number};\nCOMMIT;")


def _in_transaction(conn: sqlite3.Connection, fn: Callable[[sqlite3.Connection], T]) -> T:
    conn.execute("BEGIN IMMEDIATE")
    try:
        result = fn(conn)
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    return result


def _mark_processed(conn: sqlite3.Connection, channel: str, key: str, now: datetime) -> bool:
    cur = conn.execute(
        "INSERT OR IGNORE INTO processed_updates (channel, update_id, at) VALUES (?, ?, ?)",
        (channel, key, _iso(now)),
    )
    return cur.rowcount == 1


def _contact(conn: sqlite3.Connection, channel: str, chat_id: str, user_id: str | None,
             now: datetime) -> Contact:
    row = conn.execute(
        "SELECT id, user_id, unit_code, reachable FROM contacts WHERE channel = ? AND chat_id = ?",
        (channel, chat_id),
    ).fetchone()
    if row is None:
        cur = conn.execute(
            "INSERT INTO contacts (channel, chat_id, user_id, created_at) VALUES (?, ?, ?, ?)",
            (channel, chat_id, user_id, _iso(now)),
        )
        return Contact(cast(int, cur.lastrowid), channel, chat_id, user_id, None)
    return Contact(row[0], channel, chat_id, row[1], row[2], bool(row[3]))


def _current_campaign(conn: sqlite3.Connection, unit_code: str) -> int | None:
    row = conn.execute(
        "SELECT c.id FROM campaigns c JOIN campaign_units cu ON cu.campaign_id = c.id"
        " WHERE cu.unit_code = ? ORDER BY c.status = 'open' DESC, c.id DESC LIMIT 1",
        (unit_code,),
    ).fetchone()
    return None if row is None else int(row[0])


def _answers(conn: sqlite3.Connection, campaign_id: int, unit_code: str) -> dict[str, Any]:
    rows = conn.execute(
        "SELECT question_id, value_json FROM answers WHERE campaign_id = ? AND unit_code = ?",
        (campaign_id, unit_code),
    )
    return {qid: json.loads(value) for qid, value in rows}


def _apply(conn: sqlite3.Connection, state: ContactState, changes: Changes, now: datetime) -> None:
    assert state.campaign is not None and state.contact.unit_code is not None
    sheet = (state.campaign.id, state.contact.unit_code)
    at = _iso(now)
    for qid, (value, raw) in changes.answers.items():
        conn.execute(  # the answers_* triggers keep the history and bump the sheet's version
            "INSERT INTO answers (campaign_id, unit_code, question_id, value_json, raw, contact_id,"
            " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET"
            " value_json = excluded.value_json, raw = excluded.raw,"
            " contact_id = excluded.contact_id, updated_at = excluded.updated_at",
            (*sheet, qid, _to_json(value), raw, state.contact.id, at),
        )
    if changes.session is not None:
        _save_session(conn, state.contact.id, state.campaign.id, changes.session, at)
    if changes.unit_status is not None and changes.unit_status != state.unit_status:
        _set_status(conn, sheet, changes.unit_status, state.contact.id, at)


def _save_session(conn: sqlite3.Connection, contact_id: int, campaign_id: int, session: Session,
                  at: str) -> None:
    conn.execute(
        "INSERT INTO sessions (contact_id, campaign_id, mode, cursor, return_mode, return_to,"
        " draft_json, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET"
        " mode = excluded.mode, cursor = excluded.cursor, return_mode = excluded.return_mode,"
        " return_to = excluded.return_to, draft_json = excluded.draft_json,"
        " updated_at = excluded.updated_at",
        (contact_id, campaign_id, session.mode, session.cursor, session.return_mode,
         session.return_to, _to_json(session.draft) if session.draft else "{}", at),
    )


def _set_status(conn: sqlite3.Connection, sheet: tuple[int, str], status: UnitStatus,
                contact_id: int | None, at: str) -> None:
    conn.execute(
        "UPDATE campaign_units SET status = ?, updated_at = ?,"
        " submitted_at = CASE WHEN ? = 'submitted' THEN ? ELSE submitted_at END"
        " WHERE campaign_id = ? AND unit_code = ?",
        (status, at, status, at, *sheet),
    )
    conn.execute(
        "INSERT INTO unit_events (campaign_id, unit_code, status, contact_id, at)"
        " VALUES (?, ?, ?, ?, ?)",
        (*sheet, status, contact_id, at),
    )


def _sheets(conn: sqlite3.Connection, campaign_id: int) -> list[Sheet]:
    units = conn.execute(
        "SELECT u.code, u.name, u.grp, cu.status, cu.submitted_at FROM campaign_units cu"
        " JOIN units u ON u.code = cu.unit_code WHERE cu.campaign_id = ? ORDER BY cu.position",
        (campaign_id,),
    ).fetchall()
    answers: dict[str, dict[str, Any]] = {u[0]: {} for u in units}
    for code, qid, value in conn.execute(
        "SELECT unit_code, question_id, value_json FROM answers WHERE campaign_id = ?",
        (campaign_id,),
    ):
        answers[code][qid] = json.loads(value)
    return [Sheet(u[0], u[1], u[2], u[3], answers[u[0]], _dt(u[4])) for u in units]
