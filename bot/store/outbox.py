"""The outbox's SQL: every message the bot owes, written as rows with the change that causes it.

A row is keyed by its cause (the incoming update, the reminder slot, the task that made it) and
its position among that cause's messages, so the same cause can never write it twice. A row is
either a message (text, buttons, a document) or a task: work done later by the sender that
writes more rows (a unit's report after a submit, a compile, a contact's first question).
A row that carried a secret (invite tokens) has its text blanked once sent.
"""

from __future__ import annotations

import json
import sqlite3
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from bot.channels.base import Button, Outgoing
from bot.store.sql import _iso, _mark_processed

__all__ = ["AlreadyProcessed", "OwedRow", "Owing", "decode", "encode", "enqueue", "owing_write",
           "pending_chats", "pending_rows"]
R = TypeVar("R")

TASK = "task"  # Outgoing.extra key naming a task row's kind
SECRET = "secret"  # Outgoing.extra key: the text carries a secret (blanked once sent)
PREPARE = "prepare"  # Outgoing.extra key: the text is made at send time (see bot/outbox.py)
ONCE = "once"  # Outgoing.extra key: "most" for messages sent at most once (see bot/outbox.py)


class AlreadyProcessed(Exception):
    """The incoming that would cause a change was processed before: nothing was done."""


@dataclass(frozen=True)
class Owing:
    """What a change owes: the incoming that causes it (marked processed with it) and the
    messages rendered from its result, all written in the change's own transaction."""

    channel: str
    key: str
    render: Callable[[Any], Sequence[Outgoing]]

    @property
    def cause(self) -> str:
        """Return the outbox cause of the messages: the incoming's channel and key."""
        return f"{self.channel}:{self.key}"


def owing_write(conn: sqlite3.Connection, owing: Owing | None, now: datetime,
                effect: Callable[[sqlite3.Connection], R]) -> R:
    """Run a change with what it owes, inside the caller's transaction.

    Raises AlreadyProcessed, before any change, when the causing incoming was processed.
    """
    if owing is not None and not _mark_processed(conn, owing.channel, owing.key, now):
        raise AlreadyProcessed(owing.key)
    result = effect(conn)
    if owing is not None:
        enqueue(conn, owing.cause, owing.render(result), now)
    return result


@dataclass(frozen=True)
class OwedRow:
    """One owed message (or task) as stored."""

    id: int
    cause: str
    channel: str
    chat_id: str
    message: Outgoing
    attempts: int
    parts_sent: int


def encode(message: Outgoing) -> str:
    """Return the JSON body of an Outgoing."""
    body: dict[str, Any] = {"text": message.text}
    if message.buttons:
        body["buttons"] = [[[b.label, b.data] for b in row] for row in message.buttons]
    if message.document is not None:
        body["document"] = str(message.document)
    extra = {k: v for k, v in message.extra.items() if k != SECRET}
    if extra:
        body["extra"] = extra
    return json.dumps(body, ensure_ascii=False)


def decode(channel: str, chat_id: str, body_json: str) -> Outgoing:
    """Return the Outgoing a row stores."""
    body = json.loads(body_json)
    buttons = tuple(tuple(Button(label, data) for label, data in row)
                    for row in body.get("buttons", ()))
    document = Path(body["document"]) if body.get("document") else None
    return Outgoing(chat_id, body.get("text", ""), buttons, document, channel,
                    dict(body.get("extra", {})))


# Rows written by the transaction under way on a connection, and rows committed since the sender
# last took them: the sender gets new rows from memory, not by asking the database again. Only
# the connection's own thread writes `_written`; `_committed` is handed over at COMMIT.
_written: dict[int, list[OwedRow]] = {}
_committed: dict[int, deque[OwedRow]] = {}


def enqueue(conn: sqlite3.Connection, cause: str, messages: Sequence[Outgoing],
            now: datetime) -> int:
    """Write the messages a cause owes (ignoring those it already wrote); return how many."""
    written = _written.setdefault(id(conn), [])
    count = 0
    for seq, message in enumerate(messages):
        if not (message.text or message.document or message.extra.get(TASK)):
            continue
        cur = conn.execute(
            "INSERT OR IGNORE INTO outbox (cause, seq, channel, chat_id, body_json, secret,"
            " created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (cause, seq, message.channel, message.chat_id, encode(message),
             int(bool(message.extra.get(SECRET))), _iso(now)))
        if cur.rowcount:
            written.append(OwedRow(int(cur.lastrowid or 0), cause, message.channel,
                                   message.chat_id, message, 0, 0))
            count += 1
    return count


_ROW = "(?, ?, ?, ?, ?, ?, ?)"
_ROWS_PER_INSERT = 500  # 3,500 bound values, well under SQLite's limit


def enqueue_all(conn: sqlite3.Connection, owed: Sequence[tuple[str, Sequence[Outgoing]]],
                now: datetime) -> bool:
    """Write what several fresh causes owe, a statement per few hundred rows; return False
    if any of their rows existed already (the transaction is then to be rolled back)."""
    at = _iso(now)
    rows = [(cause, seq, message.channel, message.chat_id, encode(message),
             int(bool(message.extra.get(SECRET))), at)
            for cause, messages in owed for seq, message in enumerate(messages)
            if message.text or message.document or message.extra.get(TASK)]
    if not rows:
        return True
    messages = {(cause, seq): message for cause, messages in owed
                for seq, message in enumerate(messages)}
    ids: list[tuple[int, str, int]] = []
    for start in range(0, len(rows), _ROWS_PER_INSERT):
        chunk = rows[start:start + _ROWS_PER_INSERT]
        ids += conn.execute(
            "INSERT OR IGNORE INTO outbox (cause, seq, channel, chat_id, body_json, secret,"
            f" created_at) VALUES {', '.join([_ROW] * len(chunk))} RETURNING id, cause, seq",
            [value for row in chunk for value in row]).fetchall()
    if len(ids) != len(rows):
        return False
    written = _written.setdefault(id(conn), [])
    for row_id, cause, seq in sorted(ids):
        message = messages[(cause, seq)]
        written.append(OwedRow(row_id, cause, message.channel, message.chat_id, message, 0, 0))
    return True


def mark(conn: sqlite3.Connection) -> int:
    """Return how many rows the transaction under way wrote (a savepoint's start)."""
    return len(_written.get(id(conn), ()))


def rolled_back(conn: sqlite3.Connection, to: int = 0) -> None:
    """Forget the rows written since `to` (a ROLLBACK, or a ROLLBACK TO a savepoint)."""
    del _written.get(id(conn), [])[to:]


def committed(conn: sqlite3.Connection) -> None:
    """Hand the rows of a committed transaction to the sender."""
    rows = _written.pop(id(conn), [])
    if rows:
        _committed.setdefault(id(conn), deque()).extend(rows)


def take_committed(conn: object) -> list[OwedRow]:
    """Return (and forget) the rows committed on a connection since the last call."""
    queue = _committed.get(id(conn))
    taken: list[OwedRow] = []
    while queue:
        taken.append(queue.popleft())
    return taken


def forget_connection(conn: object) -> None:
    """Forget what a connection wrote and no sender took (its id may be reused)."""
    _written.pop(id(conn), None)
    _committed.pop(id(conn), None)


def pending_chats(conn: sqlite3.Connection) -> list[tuple[str, str]]:
    """Return (channel, chat id) of every chat with owed rows, oldest first."""
    rows = conn.execute(
        "SELECT channel, chat_id, MIN(id) AS first FROM outbox WHERE status = 'pending'"
        " GROUP BY channel, chat_id ORDER BY first").fetchall()
    return [(r[0], r[1]) for r in rows]


def pending_rows(conn: sqlite3.Connection, channel: str, chat_id: str,
                 limit: int) -> list[OwedRow]:
    """Return the oldest owed rows of one chat, in order."""
    rows = conn.execute(
        "SELECT id, cause, body_json, attempts, parts_sent FROM outbox WHERE status = 'pending'"
        " AND channel = ? AND chat_id = ? ORDER BY id LIMIT ?",
        (channel, chat_id, limit)).fetchall()
    return [OwedRow(r[0], r[1], channel, chat_id, decode(channel, chat_id, r[2]), r[3], r[4])
            for r in rows]


def finish(conn: sqlite3.Connection, row_id: int, status: str, now: datetime) -> None:
    """Mark a row sent or failed; a secret's text is blanked then."""
    conn.execute(
        "UPDATE outbox SET status = ?, sent_at = ?, body_json = CASE WHEN secret"
        " THEN json_set(body_json, '$.text', '') ELSE body_json END WHERE id = ?",
        (status, _iso(now), row_id))


def fail_chat(conn: sqlite3.Connection, channel: str, chat_id: str, now: datetime) -> int:
    """Mark every message owed to a chat failed (the person can no longer be reached).

    Its tasks stay: what they owe others (the compile after a last submit) still goes out.
    """
    ids = [r[0] for r in conn.execute(
        "SELECT id FROM outbox WHERE status = 'pending' AND channel = ? AND chat_id = ?"
        " AND json_extract(body_json, '$.extra.task') IS NULL", (channel, chat_id))]
    for row_id in ids:
        finish(conn, row_id, "failed", now)
    return len(ids)


def task(channel: str, chat_id: str, kind: str, **params: str) -> Outgoing:
    """Return a task row, queued in a chat: work the sender does in its turn (see bot/outbox)."""
    return Outgoing(chat_id, "", channel=channel, extra={TASK: kind, **params})


def secret(message: Outgoing) -> Outgoing:
    """Return the message marked as carrying a secret: its text is blanked once sent."""
    return Outgoing(message.chat_id, message.text, message.buttons, message.document,
                    message.channel, {**message.extra, SECRET: "1"})


def at_most_once(message: Outgoing) -> Outgoing:
    """Return the message marked to be sent at most once (reminders, digests)."""
    return Outgoing(message.chat_id, message.text, message.buttons, message.document,
                    message.channel, {**message.extra, ONCE: "most"})
