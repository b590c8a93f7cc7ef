"""Files a person sends the OA (`user_send_image`, `user_send_file`): what an event offers.

Zalo gives a URL; a contact's file is downloaded and kept by the evidence store (bot/evidence.py,
by the hub), a coordinator's campaign file is downloaded into memory. Nothing here logs a URL
(Zalo's file links are bearer links).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import urlsplit

from bot.evidence import Download, Offer


@dataclass(frozen=True)
class Offered:
    """A file an event offers: where it is, and what Zalo says of it."""

    url: str
    name: str
    size: int | None
    image: bool

    def offer(self, download: Download) -> Offer:
        """Return the offer the hub keeps as evidence."""
        return Offer(self.name, self.size, download)


def offered(message: dict[str, Any], key: str) -> Offered | None:
    """Return the first image or file of an event's `message.attachments`."""
    for item in message.get("attachments") or []:
        payload = item.get("payload") if isinstance(item, dict) else None
        if not isinstance(payload, dict) or not isinstance(payload.get("url"), str):
            continue
        image = item.get("type") == "image"
        name = payload.get("name") if isinstance(payload.get("name"), str) else None
        if not name:
            suffix = PurePosixPath(urlsplit(payload["url"]).path).suffix  # else by content
            name = f"anh-{key[:12]}{suffix}" if image else f"tep-{key[:12]}{suffix}"
        size = payload.get("size")
        known = int(size) if isinstance(size, int | str) and str(size).isdigit() else None
        return Offered(payload["url"], name, known, image)
    return None
