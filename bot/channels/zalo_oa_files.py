"""Files a person sends the OA (`user_send_image`, `user_send_file`): fetched and kept.

Zalo gives a URL; the file is downloaded with httpx (streamed, at most MAX_FILE bytes) into
`<REPORTBOT_DATA_DIR>/files/zalo_oa/<sha256><suffix>` and handed to the engine as an Attachment
whose `file_id` is `sha256:<hex>` (so the answer keeps name, size and the digest; the same file
sent twice is kept once). Nothing here logs a URL (Zalo's file links are bearer links).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

import httpx

from bot.channels.base import Attachment

log = logging.getLogger(__name__)
MAX_FILE = 20 * 1024 * 1024
TIMEOUT = 60.0


class TooBig(Exception):
    """The file is over MAX_FILE (said by Zalo, or found while downloading)."""


class NotFetched(Exception):
    """The file could not be downloaded (the network, an error page)."""


@dataclass(frozen=True)
class Offered:
    """A file an event offers: where it is, and what Zalo says of it."""

    url: str
    name: str
    size: int | None
    image: bool


def offered(message: dict[str, Any], key: str) -> Offered | None:
    """Return the first image or file of an event's `message.attachments`."""
    for item in message.get("attachments") or []:
        payload = item.get("payload") if isinstance(item, dict) else None
        if not isinstance(payload, dict) or not isinstance(payload.get("url"), str):
            continue
        image = item.get("type") == "image"
        name = payload.get("name") if isinstance(payload.get("name"), str) else None
        if not name:
            suffix = PurePosixPath(urlsplit(payload["url"]).path).suffix or ".jpg"
            name = f"anh-{key[:12]}{suffix}" if image else f"tep-{key[:12]}{suffix}"
        size = payload.get("size")
        known = int(size) if isinstance(size, int | str) and str(size).isdigit() else None
        return Offered(payload["url"], name, known, image)
    return None


async def fetch(http: httpx.AsyncClient, file: Offered, folder: Path) -> tuple[Attachment, Path]:
    """Download a file into `folder` by its sha256; return its Attachment and where it lies."""
    if file.size is not None and file.size > MAX_FILE:
        raise TooBig(file.name)
    await asyncio.to_thread(folder.mkdir, parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    handle, temp = tempfile.mkstemp(dir=folder, prefix=".part-")
    try:
        with os.fdopen(handle, "wb") as out:
            async with http.stream("GET", file.url, timeout=TIMEOUT) as answer:
                if answer.status_code != 200:
                    raise NotFetched(f"HTTP {answer.status_code}")
                mime = answer.headers.get("content-type", "").split(";")[0].strip()
                async for chunk in answer.aiter_bytes():
                    size += len(chunk)
                    if size > MAX_FILE:
                        raise TooBig(file.name)
                    digest.update(chunk)
                    out.write(chunk)
        kept = folder / (digest.hexdigest() + PurePosixPath(file.name).suffix.lower())
        os.replace(temp, kept)
    except httpx.HTTPError as error:
        raise NotFetched(type(error).__name__) from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
    mime = mime or ("image/jpeg" if file.image else "application/octet-stream")
    return Attachment(file.name, mime, size, "sha256:" + digest.hexdigest()), kept
