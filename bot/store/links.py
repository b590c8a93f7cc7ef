"""Download links in the store: a file behind the sha256 of a token, until it expires.

`LinkStore` is reached as `store.links`. Only the token's hash is ever written: a copy of the
database gives no working link. A link is looked up by that hash (the table's primary key), so
no comparison of the secret itself can leak its value through timing.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from bot.store.sql import _iso

if TYPE_CHECKING:
    from bot.store import Store


@dataclass(frozen=True)
class Link:
    """One stored download link: which file, under which name and type, until when."""

    path: Path
    filename: str
    mime: str
    expires_at: datetime


def insert_link(conn: sqlite3.Connection, token_hash: str, link: Link, now: datetime) -> None:
    """Write one link under the hash of its token."""
    conn.execute(
        "INSERT INTO download_links (token_hash, path, filename, mime, created_at, expires_at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (token_hash, str(link.path), link.filename, link.mime, _iso(now), _iso(link.expires_at)),
    )


def find_link(conn: sqlite3.Connection, token_hash: str) -> Link | None:
    """Return the link stored under a token's hash, or None."""
    row = conn.execute(
        "SELECT path, filename, mime, expires_at FROM download_links WHERE token_hash = ?",
        (token_hash,),
    ).fetchone()
    if row is None:
        return None
    return Link(Path(row[0]), row[1], row[2], datetime.fromisoformat(row[3]))


class LinkStore:
    """The download links of one store."""

    def __init__(self, store: Store) -> None:
        self._store = store

    async def add(self, token_hash: str, link: Link, now: datetime) -> None:
        """Store a new link (one transaction)."""
        await self._store.transaction(lambda conn: insert_link(conn, token_hash, link, now))

    async def find(self, token_hash: str) -> Link | None:
        """Return the link stored under a token's hash, or None."""
        return await self._store._run(lambda conn: find_link(conn, token_hash))
