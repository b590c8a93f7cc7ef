"""The web page's sign-in links and sessions in the store (reached as `store.web`).

Only the sha256 of a token or a cookie is ever written: a copy of the database signs nobody in.
Each is looked up by that hash (the primary key), so no comparison of the secret itself can leak
its value through timing. Spending a link and opening its session is one transaction.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Literal

from bot.store.sql import _iso

if TYPE_CHECKING:
    from bot.store import Store

LoginOutcome = Literal["ok", "unknown", "used", "expired"]


@dataclass(frozen=True)
class Login:
    """What a sign-in token leads to."""

    outcome: LoginOutcome
    owner: str = ""


def _login(conn: sqlite3.Connection, token_hash: str, now: datetime) -> Login:
    row = conn.execute("SELECT owner, expires_at, used_at FROM web_logins WHERE token_hash = ?",
                       (token_hash,)).fetchone()
    if row is None:
        return Login("unknown")
    if row[2] is not None:
        return Login("used", row[0])
    if now >= datetime.fromisoformat(row[1]):
        return Login("expired", row[0])
    return Login("ok", row[0])


class WebStore:
    """Sign-in links and sessions of one store."""

    def __init__(self, store: Store) -> None:
        self._store = store

    async def add_login(self, token_hash: str, owner: str, now: datetime,
                        expires_at: datetime) -> None:
        """Store a new sign-in link."""
        await self._store.transaction(lambda conn: conn.execute(
            "INSERT INTO web_logins (token_hash, owner, created_at, expires_at)"
            " VALUES (?, ?, ?, ?)", (token_hash, owner, _iso(now), _iso(expires_at))))

    async def login(self, token_hash: str, now: datetime) -> Login:
        """Return what a sign-in token leads to (nothing is spent)."""
        return await self._store._run(lambda conn: _login(conn, token_hash, now))

    async def spend_login(self, token_hash: str, session_hash: str, now: datetime,
                          expires_at: datetime) -> Login:
        """Spend a live sign-in link and open its session, in one transaction."""

        def write(conn: sqlite3.Connection) -> Login:
            found = _login(conn, token_hash, now)
            if found.outcome != "ok":
                return found
            conn.execute("UPDATE web_logins SET used_at = ? WHERE token_hash = ?",
                         (_iso(now), token_hash))
            conn.execute("INSERT INTO web_sessions (token_hash, owner, created_at, expires_at)"
                         " VALUES (?, ?, ?, ?)",
                         (session_hash, found.owner, _iso(now), _iso(expires_at)))
            return found

        return await self._store.transaction(write)

    async def session(self, session_hash: str, now: datetime) -> str | None:
        """Return the coordinator of a live session, or None."""
        rows = await self._store._run(lambda conn: conn.execute(
            "SELECT owner FROM web_sessions WHERE token_hash = ? AND ended_at IS NULL"
            " AND expires_at > ?", (session_hash, _iso(now))).fetchall())
        return str(rows[0][0]) if rows else None

    async def round_contacts(self, campaign_id: int) -> list[RoundContact]:
        """Return every contact bound to a unit of a round, reachable or not."""
        return await self._store._run(lambda conn: round_contacts(conn, campaign_id))

    async def last_activity(self, campaign_id: int) -> dict[str, datetime]:
        """Return when each unit's answers of a round last changed."""
        return await self._store._run(lambda conn: last_activity(conn, campaign_id))

    async def end_session(self, session_hash: str, now: datetime) -> None:
        """End one session (Đăng xuất)."""
        await self._store.transaction(lambda conn: conn.execute(
            "UPDATE web_sessions SET ended_at = ? WHERE token_hash = ? AND ended_at IS NULL",
            (_iso(now), session_hash)))



def end_sessions(conn: sqlite3.Connection, owner: str, now: datetime) -> int:
    """End every live session of a coordinator (/web off), inside the caller's transaction;
    the sign-in links sent and not yet used are spent too, so none of them signs in after."""
    conn.execute(
        "UPDATE web_logins SET used_at = ? WHERE owner = ? AND used_at IS NULL"
        " AND expires_at > ?", (_iso(now), owner, _iso(now)))
    return conn.execute(
        "UPDATE web_sessions SET ended_at = ? WHERE owner = ? AND ended_at IS NULL"
        " AND expires_at > ?", (_iso(now), owner, _iso(now))).rowcount


@dataclass(frozen=True)
class RoundContact:
    """One contact of a unit, as the round page lists it."""

    unit_code: str
    channel: str
    name: str | None
    reachable: bool
    reason: str | None  # why not: "blocked" or "window"


def round_contacts(conn: sqlite3.Connection, campaign_id: int) -> list[RoundContact]:
    """Return every contact bound to a unit of a round, reachable or not."""
    rows = conn.execute(
        "SELECT c.unit_code, c.channel, COALESCE(c.name, c.user_id), c.reachable,"
        " c.unreachable_reason FROM contacts c JOIN campaign_units cu ON cu.unit_code = c.unit_code"
        " WHERE cu.campaign_id = ? ORDER BY cu.position, c.id", (campaign_id,)).fetchall()
    return [RoundContact(r[0], r[1], r[2], bool(r[3]),
                         None if r[3] else (r[4] or "blocked")) for r in rows]


def last_activity(conn: sqlite3.Connection, campaign_id: int) -> dict[str, datetime]:
    """Return when each unit's answers of a round last changed."""
    rows = conn.execute("SELECT unit_code, MAX(at) FROM answer_history WHERE campaign_id = ?"
                        " GROUP BY unit_code", (campaign_id,)).fetchall()
    return {r[0]: datetime.fromisoformat(r[1]) for r in rows if r[1]}
