"""Download links: an unguessable, expiring `<public>/files/<token>` to one file on the server.

How a channel without documents (Zalo Bot, the OA for .xlsx) hands a person a file. The token
has 256 random bits and only its sha256 is stored (`bot/store/links.py`); a link is found by
that hash, so the clear token exists only in the message that carried it.
"""

from __future__ import annotations

import hashlib
import mimetypes
import os
import secrets
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal

from bot.store import Store
from bot.store.links import Link

MIMES = {
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".zip": "application/zip",
    ".csv": "text/csv; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".pdf": "application/pdf",
}
TOKEN_BYTES = 32
MAX_TOKEN_LENGTH = 128  # a real token has 43 characters; longer ones are not even looked up
Outcome = Literal["ok", "unknown", "expired"]


def guess_mime(filename: str) -> str:
    """Return the Content-Type for a file name (the formats the bot writes first)."""
    suffix = Path(filename).suffix.lower()
    return MIMES.get(suffix) or mimetypes.guess_type(filename)[0] or "application/octet-stream"


def token_hash(token: str) -> str:
    """Return the stored form of a link token."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def new_link(path: Path, filename: str, expires_at: datetime) -> Link:
    """Return the link to store: an absolute path, the NFC name and its type."""
    name = unicodedata.normalize("NFC", filename)
    return Link(Path(os.path.abspath(path)), name, guess_mime(name), expires_at)


@dataclass(frozen=True)
class Found:
    """What a token led to: a live link, an expired one, or nothing."""

    outcome: Outcome
    link: Link | None = None


class DownloadLinks:
    """Makes and resolves download links (the `Links` protocol of bot/channels/base.py)."""

    def __init__(self, store: Store, public_url: str, clock: Callable[[], datetime],
                 ttl: timedelta = timedelta(days=7)) -> None:
        self.store = store
        self.public_url = public_url.rstrip("/")
        self.clock = clock
        self.ttl = ttl

    async def url(self, path: Path, filename: str) -> str:
        """Return a new unguessable, expiring link <public>/files/<token> to one file."""
        token = secrets.token_urlsafe(TOKEN_BYTES)
        now = self.clock()
        link = new_link(path, filename, now + self.ttl)
        await self.store.links.add(token_hash(token), link, now)
        return f"{self.public_url}/files/{token}"

    async def find(self, token: str) -> Found:
        """Return what a token from a URL leads to (any string: garbage is simply unknown)."""
        if not token or len(token) > MAX_TOKEN_LENGTH:
            return Found("unknown")
        link = await self.store.links.find(token_hash(token))
        if link is None:
            return Found("unknown")
        if self.clock() >= link.expires_at:
            return Found("expired", link)
        return Found("ok", link)
