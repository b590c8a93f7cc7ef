"""The only SQL: rounds, units, contacts, answers and sessions in SQLite through aiosqlite.

Every write is one transaction. A conversation step (`step`) is decided from cached state on
the event loop and written in one hop to the connection's own thread, together with any other
steps decided meanwhile (group commit); its reply is rendered while that runs and returned only
after the COMMIT, so every answer is committed before the reply that confirms it is sent.

`Store` (here) owns the connection, rounds, contacts and the reminder and digest logs;
`steps.Steps` the conversation steps (the cache and the group commit); `sql` the SQL helper
functions both use.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import sqlite3
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any, TypeVar, cast

import aiosqlite

from bot.cache import StateCache
from bot.campaigns.spec import CampaignSpec
from bot.model import Campaign, Changes, Contact, ContactState, Invite, Sheet
from bot.store.channel_state import ChannelState
from bot.store.inbox import InboxStore, UsageStore
from bot.store.links import LinkStore
from bot.store.notices import NoticeStore
from bot.store.outbox import AlreadyProcessed, Owing, forget_connection, owing_write
from bot.store.owing import OutboxStore
from bot.store.sql import (
    PRAGMAS,
    CampaignSummary,
    HistoryEntry,
    _configure,
    _contact,
    _dt,
    _in_transaction,
    _iso,
    _migrate,
    _set_status,
    _sheets,
    hash_token,
    new_token,
)
from bot.store.steps import Steps
from bot.store.web import WebStore

__all__ = ["PRAGMAS", "AlreadyProcessed", "CampaignSummary", "HistoryEntry", "Owing", "Store",
           "hash_token", "new_token"]

T = TypeVar("T")


class Store:
    """An open database; use `await Store.open(path)` and `await store.close()`."""

    def __init__(self, db: aiosqlite.Connection) -> None:
        self._db = db
        self._specs: dict[int, CampaignSpec] = {}
        self._cache = StateCache()
        self._steps = Steps(self)  # decides and commits conversation steps, sharing `_cache`
        self.outbox = OutboxStore(self)  # what the bot owes people, and the tasks it owes
        self.inbox = InboxStore(self)  # what channels received, stored before it is acted on
        self.usage = UsageStore(self)  # messages each channel sent per month (quotas)
        self.state = ChannelState(self)  # per-channel state: a quota pause, rotating tokens
        self.links = LinkStore(self)  # download links: a file behind a token's hash
        self.notices = NoticeStore(self)  # the coordinators' notices of submits, batched
        self.web = WebStore(self)  # the web page's sign-in links and sessions

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
        conn = self._db._connection
        await self._db.close()
        forget_connection(conn)  # rows no sender took are in the database; its id may be reused

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

    async def create_campaign(self, spec: CampaignSpec, now: datetime, owing: Owing | None = None
                              ) -> tuple[int, list[Invite]]:
        """Store a round and its units; return its id and one fresh invite token per unit.

        With `owing`, what the creation owes is rendered from (id, invites) and written with it.
        """
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

        def create(conn: sqlite3.Connection) -> tuple[int, list[Invite]]:
            return write(conn), invites

        return await self._owed(owing, now, create)

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

    async def set_campaign_status(self, campaign_id: int, status: str,
                                  owing: Owing | None = None, now: datetime | None = None) -> None:
        """Open or close a round (with what that owes, rendered from None)."""
        def write(conn: sqlite3.Connection) -> None:
            conn.execute("UPDATE campaigns SET status = ? WHERE id = ?", (status, campaign_id))
            self._cache.clear()

        await self._owed(owing, now, write)

    async def _owed(self, owing: Owing | None, now: datetime | None,
                    effect: Callable[[sqlite3.Connection], T]) -> T:
        """Run a change in one transaction with what it owes, then wake the sender."""
        moment = now or datetime.now(UTC)
        result = await self.transaction(lambda conn: owing_write(conn, owing, moment, effect))
        if owing is not None:
            self.outbox.wake()
        return result

    async def history(self, campaign_id: int, unit_code: str) -> list[HistoryEntry]:
        """Return every stored change of a unit's answers, oldest first."""
        rows = await self._db.execute_fetchall(
            "SELECT question_id, value_json, raw, contact_id, at FROM answer_history"
            " WHERE campaign_id = ? AND unit_code = ? ORDER BY id",
            (campaign_id, unit_code),
        )
        return [HistoryEntry(r[0], json.loads(r[1]), r[2], r[3], cast(datetime, _dt(r[4])))
                for r in rows]

    async def contact_names(self, ids: list[int]) -> dict[int, str]:
        """Return the name, else the user id, of each of these contacts that has one."""
        found: dict[int, str] = {}
        unique = sorted(set(ids))
        for start in range(0, len(unique), 500):
            chunk = unique[start:start + 500]
            rows = await self._db.execute_fetchall(
                "SELECT id, COALESCE(name, user_id) FROM contacts WHERE id IN"
                f" ({', '.join('?' * len(chunk))})", chunk)
            found.update({r[0]: r[1] for r in rows if r[1]})
        return found

    async def latest_open_campaign(self) -> int | None:
        """Return the newest open round's id, or None."""
        rows = list(await self._db.execute_fetchall(
            "SELECT id FROM campaigns WHERE status = 'open' ORDER BY id DESC LIMIT 1"))
        return None if not rows else int(rows[0][0])

    async def newest_campaign(self) -> int | None:
        """Return the newest round's id, open or closed, or None."""
        rows = list(await self._db.execute_fetchall(
            "SELECT id FROM campaigns ORDER BY id DESC LIMIT 1"))
        return None if not rows else int(rows[0][0])

    async def regenerate_invites(self, campaign_id: int, owing: Owing | None = None,
                                 now: datetime | None = None) -> list[Invite]:
        """Give every unit of a round a new invite token; the old ones stop working.

        With `owing` (the /invites message), a redelivered command changes nothing.
        """

        def write(conn: sqlite3.Connection) -> list[Invite]:
            rows = conn.execute(
                "SELECT u.code, u.name FROM campaign_units cu JOIN units u ON u.code = cu.unit_code"
                " WHERE cu.campaign_id = ? ORDER BY cu.position", (campaign_id,)).fetchall()
            invites = [Invite(code, name, new_token()) for code, name in rows]
            conn.executemany(
                "UPDATE campaign_units SET invite_hash = ? WHERE campaign_id = ? AND unit_code = ?",
                [(hash_token(i.token), campaign_id, i.code) for i in invites])
            return invites

        return await self._owed(owing, now, write)

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

    async def digests_sent(self, campaign_id: int, chat_id: str) -> list[str]:
        """Return the digest slot keys already sent to a coordinator's chat."""
        rows = await self._db.execute_fetchall(
            "SELECT slot FROM digest_log WHERE campaign_id = ? AND chat_id = ?",
            (campaign_id, chat_id))
        return [r[0] for r in rows]

    async def unreachable_contacts(self, campaign_id: int, reason: str = "blocked"
                                   ) -> list[tuple[str, str, str | None]]:
        """Return (unit code, chat id, name or None) of the contacts of a round who cannot be
        reached for a reason: "blocked" (they blocked the bot) or "window" (silent too long for
        the OA)."""
        rows = await self._db.execute_fetchall(
            "SELECT c.unit_code, c.chat_id, c.name FROM contacts c JOIN campaign_units cu"
            " ON cu.unit_code = c.unit_code WHERE cu.campaign_id = ? AND NOT c.reachable"
            " AND coalesce(c.unreachable_reason, 'blocked') = ? ORDER BY cu.position, c.id",
            (campaign_id, reason))
        return [(r[0], r[1], r[2]) for r in rows]

    async def return_unit(self, campaign_id: int, unit_code: str, question_ids: list[str],
                          now: datetime, owing: Owing | None = None) -> bool:
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

        return await self._owed(owing, now, write)

    async def bound_contacts(self, campaign_id: int) -> list[Contact]:
        """Return the reachable contacts bound to the units of a round."""
        rows = await self._db.execute_fetchall(
            "SELECT c.id, c.channel, c.chat_id, c.user_id, c.unit_code FROM contacts c"
            " JOIN campaign_units cu ON cu.unit_code = c.unit_code"
            " WHERE cu.campaign_id = ? AND c.reachable ORDER BY cu.position, c.id",
            (campaign_id,))
        return [Contact(r[0], r[1], r[2], r[3], r[4]) for r in rows]

    # contacts -----------------------------------------------------------------------------

    async def asks_for_file(self, channel: str, chat_id: str) -> bool:
        """Return whether a chat is bound to a unit and asked a `file` question now (so a file
        it sends is worth downloading)."""

        def read(conn: sqlite3.Connection) -> bool:
            rows = conn.execute(
                "SELECT s.campaign_id, s.cursor FROM contacts c JOIN sessions s"
                " ON s.contact_id = c.id WHERE c.channel = ? AND c.chat_id = ?"
                " AND c.unit_code IS NOT NULL AND s.mode IN ('asking', 'editing')"
                " AND s.cursor IS NOT NULL", (channel, chat_id)).fetchall()
            for campaign_id, cursor in rows:
                spec = self._spec(conn, campaign_id)
                try:
                    if spec is not None and spec.questionnaire.get(cursor).type == "file":
                        return True
                except KeyError:  # a cursor the questionnaire does not know: not a file
                    continue
            return False

        return await self._run(read)

    async def find_invite(self, token: str) -> tuple[int, str] | None:
        """Return (campaign id, unit code) for an invite token, or None."""
        rows = await self._db.execute_fetchall(
            "SELECT campaign_id, unit_code FROM campaign_units WHERE invite_hash = ?",
            (hash_token(token),),
        )
        found = list(rows)
        return None if not found else (found[0][0], found[0][1])

    async def bind(self, channel: str, chat_id: str, user_id: str | None, unit_code: str,
                   now: datetime, name: str | None = None) -> tuple[Contact, str | None]:
        """Bind a chat to a unit (creating the contact if new) and mark it reachable; `name`
        (the person's name on the platform, if it gives one) is what the web page and /history
        show for the contact, else its user id.

        Return the contact and the unit it answered for until now, if another one: its place in
        that unit's sheets is forgotten, so the new unit's sheet starts clean.
        """

        def write(conn: sqlite3.Connection) -> tuple[Contact, str | None]:
            self._cache.clear()
            contact = _contact(conn, channel, chat_id, user_id, now)
            previous = contact.unit_code if contact.unit_code != unit_code else None
            if previous is not None:
                conn.execute("DELETE FROM sessions WHERE contact_id = ?", (contact.id,))
            conn.execute(
                "UPDATE contacts SET unit_code = ?, reachable = 1, unreachable_reason = NULL,"
                " name = COALESCE(?, name) WHERE id = ?",
                (unit_code, _person(name), contact.id),
            )
            return Contact(contact.id, channel, chat_id, user_id, unit_code), previous

        return await self.transaction(write)

    # conversation -------------------------------------------------------------------------

    def step(self, channel: str, chat_id: str, user_id: str | None, update_key: str | None,
             decide: Callable[[ContactState], tuple[Changes, Callable[[], T]]],
             now: datetime, campaign_id: int | None = None, owe: bool = False
             ) -> Coroutine[Any, Any, T]:
        """Decide one step, commit its changes, then return its result (see `Steps.step`).

        Not a coroutine of its own: it hands over `Steps.step`'s, one layer fewer for every
        step to create and resume."""
        return self._steps.step(channel, chat_id, user_id, update_key, decide, now,
                                campaign_id, owe)


NAME_LENGTH = 64  # characters of a platform's name kept for a contact (Telegram: 64 + 64)


def _person(name: str | None) -> str | None:
    """Return a platform's name for a contact as people should read it: one line, single
    spaces, at most NAME_LENGTH characters; None for a name of nothing (blank, or only
    invisible characters)."""
    words = "".join(c for c in name or "" if c.isprintable() or c.isspace()).split()
    tidy = " ".join(words)[:NAME_LENGTH].strip()
    return tidy or None
