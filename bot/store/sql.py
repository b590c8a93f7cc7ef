"""The store's SQL helpers: connection setup, migrations, and the reads and writes of a step.

Plain functions of a `sqlite3.Connection`, run in the connection's own thread by `Store` and
`Steps`; the rows the store returns that `bot.model` does not define; and the conversions
between values and their stored form.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar, cast

from bot.migrations import MIGRATIONS
from bot.model import Changes, Contact, ContactState, Sheet, UnitStatus

T = TypeVar("T")
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


@dataclass(frozen=True)
class HistoryEntry:
    """One stored change of one answer."""

    question_id: str
    value: Any
    raw: str | None
    contact_id: int | None
    at: datetime


def _configure(conn: sqlite3.Connection) -> None:
    for pragma in PRAGMAS:
        conn.execute(pragma)


def _migrate(conn: sqlite3.Connection) -> None:
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    for number, (_name, script) in enumerate(MIGRATIONS[version:], start=version + 1):
        conn.executescript(f"BEGIN IMMEDIATE;\n{script}\nPRAGMA user_version = {number};\nCOMMIT;")


def _in_transaction(conn: sqlite3.Connection, fn: Callable[[sqlite3.Connection], T]) -> T:
    from bot.store import outbox  # the rows it owed are handed over only once committed

    conn.execute("BEGIN IMMEDIATE")
    try:
        result = fn(conn)
    except BaseException:
        conn.execute("ROLLBACK")
        outbox.rolled_back(conn)
        raise
    conn.execute("COMMIT")
    outbox.committed(conn)
    return result


_PROCESSED = "INSERT OR IGNORE INTO processed_updates (channel, update_id, at) VALUES (?, ?, ?)"


def _mark_processed(conn: sqlite3.Connection, channel: str, key: str, now: datetime) -> bool:
    cur = conn.execute(_PROCESSED, (channel, key, _iso(now)))
    return cur.rowcount == 1


def _mark_all_processed(conn: sqlite3.Connection, keys: list[tuple[str, str, str]]) -> bool:
    """Mark (channel, key, at) processed; return whether every one of them was new."""
    return not keys or conn.executemany(_PROCESSED, keys).rowcount == len(keys)


ROWS_PER_STATEMENT = 256  # at most 2,048 bound values, well under SQLite's limit (32,766)


def _insert_rows(conn: sqlite3.Connection, insert: str, rows: Sequence[tuple[Any, ...]]) -> int:
    """Run an INSERT of one VALUES row (`insert`) for every row, as a few multi-row statements;
    return the rows it changed (the outbox's rows of a group commit).

    The rows are inserted in order, each seeing those before it. Each statement holds a power
    of two of rows (100 rows: 64 + 32 + 4), so its text, and the prepared statement the
    connection keeps for it, repeats from one commit to the next (a text per batch size missed
    that cache). Measured in telegram_updates, executemany stays the cheaper way for the
    answers, sessions and processed keys (their upserts and triggers cost more per row as one
    multi-row statement).
    """
    head, _, rest = insert.partition(" VALUES ")
    values, _, tail = rest.partition(")")
    values += ")"
    changed = start = 0
    while start < len(rows):
        size = min(ROWS_PER_STATEMENT, 1 << ((len(rows) - start).bit_length() - 1))
        chunk = rows[start:start + size]
        sql = f"{head} VALUES {', '.join([values] * size)}{tail}"
        changed += conn.execute(sql, [value for row in chunk for value in row]).rowcount
        start += size
    return changed


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


_ANSWER = (  # the answers_* triggers keep the history and bump the sheet's version
    "INSERT INTO answers (campaign_id, unit_code, question_id, value_json, raw, contact_id,"
    " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET"
    " value_json = excluded.value_json, raw = excluded.raw,"
    " contact_id = excluded.contact_id, updated_at = excluded.updated_at")
_SESSION = (
    "INSERT INTO sessions (contact_id, campaign_id, mode, cursor, return_mode, return_to,"
    " draft_json, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET"
    " mode = excluded.mode, cursor = excluded.cursor, return_mode = excluded.return_mode,"
    " return_to = excluded.return_to, draft_json = excluded.draft_json,"
    " updated_at = excluded.updated_at")


def _apply(conn: sqlite3.Connection, state: ContactState, changes: Changes, now: datetime) -> None:
    at = _iso(now)
    answers, sessions = _step_rows(state, changes, at)
    _write_rows(conn, answers, sessions)
    if changes.unit_status is not None and changes.unit_status != state.unit_status:
        assert state.campaign is not None and state.contact.unit_code is not None
        _set_status(conn, (state.campaign.id, state.contact.unit_code), changes.unit_status,
                    state.contact.id, at)


def _step_rows(state: ContactState, changes: Changes, at: str
               ) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Return the answers and session rows a step writes (its unit status is written apart)."""
    assert state.campaign is not None and state.contact.unit_code is not None
    campaign_id, unit, contact_id = state.campaign.id, state.contact.unit_code, state.contact.id
    answers = [(campaign_id, unit, qid, _to_json(value), raw, contact_id, at)
               for qid, (value, raw) in changes.answers.items()]
    session = changes.session
    sessions = [] if session is None else [(
        contact_id, campaign_id, session.mode, session.cursor, session.return_mode,
        session.return_to, _to_json(session.draft) if session.draft else "{}", at)]
    return answers, sessions


def _write_rows(conn: sqlite3.Connection, answers: list[tuple[Any, ...]],
                sessions: list[tuple[Any, ...]]) -> None:
    """Write answers and sessions rows, one statement for each kind (set-based)."""
    if answers:
        conn.executemany(_ANSWER, answers)
    if sessions:
        conn.executemany(_SESSION, sessions)


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
