"""Conversation steps: decided from cached state on the event loop, written by group commit.

The steps decided meanwhile are written together in one transaction in the connection's thread;
should one of them fail, each is read and decided again inside a transaction of its own, as is
a step that was not cached or whose cache went stale.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from queue import SimpleQueue
from typing import TYPE_CHECKING, Any, TypeVar, cast

from bot.cache import Snapshot
from bot.channels.base import Outgoing
from bot.model import Campaign, Changes, ContactState, Session
from bot.store import outbox
from bot.store.outbox import enqueue, enqueue_all, task
from bot.store.sql import (
    _answers,
    _apply,
    _contact,
    _current_campaign,
    _dt,
    _iso,
    _mark_all_processed,
    _mark_processed,
    _step_rows,
    _write_rows,
)

if TYPE_CHECKING:
    from bot.store import Store

T = TypeVar("T")
_STALE = object()  # a cached decision that must be made again from the database


@dataclass(slots=True)
class _Pending:
    """A step decided from the cache, waiting for the group commit."""

    snap: Snapshot
    changes: Changes
    channel: str
    update_key: str | None
    now: datetime
    done: asyncio.Future[Any]
    owed: list[Outgoing] | None = None  # its replies, written to the outbox with its changes


def _completion(conn: sqlite3.Connection, state: ContactState, changes: Changes
                ) -> list[Outgoing]:
    """Return the compile task a submit owes when it is the one that completes its round.

    Decided in the submit's own transaction, so of several units submitting at once exactly
    one owes it.
    """
    if changes.unit_status != "submitted" or state.campaign is None:
        return []
    left = conn.execute(
        "SELECT COUNT(*) FROM campaign_units WHERE campaign_id = ?"
        " AND status NOT IN ('submitted', 'edited')", (state.campaign.id,)).fetchone()[0]
    if left:
        return []
    return [task(state.contact.channel, state.contact.chat_id, "round_complete",
                 campaign=str(state.campaign.id))]


def _notice(state: ContactState, changes: Changes, now: datetime) -> list[Outgoing]:
    """Return the coordinators' notice a submit, or an edit of a reported sheet, owes.

    Decided before the step's changes are applied (it compares with the answers before it) and
    written with them, in the step's own transaction: once per submit or edit.
    """
    if state.campaign is None or state.contact.unit_code is None:
        return []
    unit = state.contact.unit_code
    if changes.unit_status == "submitted" and state.unit_status != "submitted":
        return [task(state.contact.channel, state.contact.chat_id, "submitted",
                     campaign=str(state.campaign.id), unit=unit, at=_iso(now))]
    if state.unit_status not in ("submitted", "edited") or not changes.answers:
        return []
    changed = [qid for qid, (value, _) in changes.answers.items()
               if state.answers.get(qid) != value]
    if not changed:
        return []
    return [task(state.contact.channel, state.contact.chat_id, "submitted",
                 campaign=str(state.campaign.id), unit=unit, at=_iso(now),
                 changed=",".join(changed))]


class _Redelivered(Exception):
    """An incoming of a group commit was processed before: the batch is decided again."""


@dataclass(slots=True)
class _Writes:
    """The rows of a group commit's steps, written together."""

    keys: list[tuple[str, str, str]] = field(default_factory=list)  # processed incoming
    answers: list[tuple[Any, ...]] = field(default_factory=list)
    sessions: list[tuple[Any, ...]] = field(default_factory=list)
    owed: list[tuple[str, list[Outgoing]]] = field(default_factory=list)  # (cause, replies)
    now: datetime | None = None

    def flush(self, conn: sqlite3.Connection) -> bool:
        """Write what was gathered; return False if an incoming or a cause was written before
        (nothing is to be kept then: the caller rolls back)."""
        if not _mark_all_processed(conn, self.keys):
            return False
        _write_rows(conn, self.answers, self.sessions)
        fresh = not self.owed or enqueue_all(conn, self.owed, cast(datetime, self.now))
        self.keys, self.answers, self.sessions, self.owed = [], [], [], []
        return fresh


def _cause(channel: str, update_key: str | None) -> str:
    """Return the outbox cause of a step's replies: its incoming, else a fresh unique one."""
    return f"{channel}:{update_key}" if update_key is not None else f"step:{uuid.uuid4().hex}"


def _same(value: T) -> T:
    return value


def _resolve(done: asyncio.Future[Any], outcome: Any) -> None:
    if done.done():
        return
    if isinstance(outcome, BaseException):
        done.set_exception(outcome)
    else:
        done.set_result(outcome)


class Steps:
    """The conversation steps of one `Store`, sharing its state cache."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._cache = store._cache
        self._pending: SimpleQueue[_Pending] = SimpleQueue()
        self._commit_scheduled = False

    async def step(
        self,
        channel: str,
        chat_id: str,
        user_id: str | None,
        update_key: str | None,
        decide: Callable[[ContactState], tuple[Changes, Callable[[], T]]],
        now: datetime,
        campaign_id: int | None = None,
        owe: bool = False,
    ) -> T:
        """Decide one step from the contact's state, commit its changes, then return its result.

        With `owe`, the result is the step's replies (a list of Outgoing): they are rendered
        before the write and written to the outbox in the same transaction as the changes; an
        incoming processed before gives nothing new (an empty list).

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
                if owe:  # the replies are part of the write
                    result = finish()
                    pending.owed = cast(list[Outgoing], result)
                    finish = partial(_same, result)  # the turn's state is not kept past here
                self._pending.put(pending)
                batch = self._schedule_commit()
                try:
                    if not owe:
                        result = finish()  # rendered while the thread writes
                finally:
                    if batch is not None:
                        await self._finish_commit(batch)
                if await pending.done is not _STALE:
                    self._woke(owe)
                    return result
            # A partial, not a lambda: a closure would make cells for these names at every
            # step's start, kept (and seen by the garbage collector) while the step waits.
            finish = await self._store.transaction(partial(
                self._read_and_decide, channel=channel, chat_id=chat_id, user_id=user_id,
                update_key=update_key, decide=decide, now=now, campaign_id=campaign_id, owe=owe))
            self._woke(owe)
            return finish()
        except BaseException:
            self._cache.clear()  # a rolled-back step may have updated the cache
            raise

    def _woke(self, owe: bool) -> None:
        if owe:
            self._store.outbox.wake()

    def _schedule_commit(self) -> asyncio.Future[list[tuple[_Pending, Any]]] | None:
        # One group commit at a time is queued in the connection's thread, by the first step
        # that finds none queued; steps decided while it waits join it.
        if self._commit_scheduled:
            return None
        self._commit_scheduled = True
        return self._store._submit(self._commit_pending)

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
        # Group commit: every step decided since the last run is written in one transaction
        # and resolved only after the COMMIT.
        self._commit_scheduled = False  # before draining, so a step added later schedules anew
        batch: list[_Pending] = []
        while not self._pending.empty():
            batch.append(self._pending.get_nowait())
        if not batch:
            return []
        outcomes: list[Any] = []
        try:
            conn.execute("BEGIN IMMEDIATE")
            self._cache_is_fresh(conn)  # once: the write lock keeps other writers out until COMMIT
            outcomes = self._commit_all(conn, batch)
            conn.execute("COMMIT")
            outbox.committed(conn)
        except BaseException as error:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            outbox.rolled_back(conn)
            self._cache.clear()
            outcomes = [error] * len(batch)
        return list(zip(batch, outcomes, strict=True))

    def _commit_all(self, conn: sqlite3.Connection, batch: list[_Pending]) -> list[Any]:
        # Each step is checked and decided on its own, in order, but what the steps write is
        # gathered and written set by set (a statement per table, not per step). No savepoint
        # per step (the thread's every statement waits for the event loop's lock): should a
        # step fail, or an incoming of the batch turn out to be a redelivery, the transaction
        # starts over and every step of the batch is read and decided again in a transaction
        # of its own, so only the failing one fails and a duplicate gives nothing new.
        try:
            writes = _Writes()
            outcomes = [self._gather(conn, item, writes) for item in batch]
            if writes.flush(conn):
                return outcomes
        except _Redelivered:
            pass
        except Exception:
            if len(batch) == 1:  # alone, its failure is the step's own
                raise
        conn.execute("ROLLBACK")
        outbox.rolled_back(conn)
        self._cache.clear()  # also makes every snapshot of the batch stale
        conn.execute("BEGIN IMMEDIATE")
        return [_STALE] * len(batch)

    def _gather(self, conn: sqlite3.Connection, item: _Pending, writes: _Writes) -> Any:
        snap, changes = item.snap, item.changes
        if not self._cache.is_current(snap):  # also after another process wrote: then it is empty
            return _STALE
        if changes.unit_status is not None:
            # Rare (a sheet's first answer, a submit): written at once, after the steps before
            # it, so that a submit's count of the units left sees every one of them.
            if not writes.flush(conn):
                raise _Redelivered
            return self._commit_decided(conn, item)
        at = _iso(item.now)
        if item.update_key is not None:
            writes.keys.append((item.channel, item.update_key, at))
        if item.owed:
            item.owed = [*item.owed, *_notice(snap.state, changes, item.now)]
        if not changes.is_empty():
            answers, sessions = _step_rows(snap.state, changes, at)
            writes.answers += answers
            writes.sessions += sessions
            self._cache.apply(snap.state, changes)
        if item.owed:
            writes.owed.append((_cause(item.channel, item.update_key), item.owed))
            writes.now = item.now
        return None

    def _commit_decided(self, conn: sqlite3.Connection, item: _Pending) -> Any:
        snap = item.snap
        if item.update_key is not None and not _mark_processed(conn, item.channel,
                                                               item.update_key, item.now):
            return _STALE  # a redelivered update: decide again, knowing it is a duplicate
        notice = _notice(snap.state, item.changes, item.now) if item.owed else []
        if not item.changes.is_empty():
            _apply(conn, snap.state, item.changes, item.now)
            self._cache.apply(snap.state, item.changes)
        if item.owed:
            cause = _cause(item.channel, item.update_key)
            enqueue(conn, cause, [*item.owed, *notice,
                                  *_completion(conn, snap.state, item.changes)], item.now)
        return None

    def _read_and_decide(self, conn: sqlite3.Connection, channel: str, chat_id: str,
                         user_id: str | None, update_key: str | None,
                         decide: Callable[[ContactState], tuple[Changes, Callable[[], T]]],
                         now: datetime, campaign_id: int | None,
                         owe: bool = False) -> Callable[[], T]:
        duplicate = update_key is not None and not _mark_processed(conn, channel, update_key, now)
        if duplicate and owe:  # its replies were written with it: sent, or still owed
            return lambda: cast(T, [])
        state = self._state(conn, channel, chat_id, user_id, now, campaign_id, duplicate)
        changes, finish = decide(state)
        notice = _notice(state, changes, now) if owe and not duplicate else []
        if not duplicate and not changes.is_empty():
            _apply(conn, state, changes, now)
            self._cache.apply(state, changes)
        if owe:
            result = finish()
            owed = [*cast(list[Outgoing], result), *notice, *_completion(conn, state, changes)]
            enqueue(conn, _cause(channel, update_key), owed, now)
            return lambda: result
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
        spec = None if campaign_id is None else self._store._spec(conn, campaign_id)
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
