"""Sending on the Zalo OA: one owed part as one cs message, the reply window checked first.

- The window (ZALO.md §2), from when the person last wrote (`store.inbox.last_inbound`): within
  48 h a message is free, 48 h-7 days charged (counted as `zalo_oa:charged` a month, the free
  ones as `zalo_oa`), later — or never having written — `OutsideWindow` without calling Zalo.
- Text cut under 2,000 characters by the one splitter (Zalo refuses longer, it never cuts).
  Buttons as `oa.query.hide` query buttons (at most 5): the payload is `#` + the button's data,
  which comes back as the person's text and the channel turns into `Incoming.button`.
- A document Zalo takes (.pdf/.doc/.docx up to 5 MB) is uploaded and sent as a file message; any
  other (.xlsx, .csv, larger) goes as a download link, or where it lies on the server.
- A reply to a person's message quotes it (`quote_message_id`) when the channel noted that
  message (`replying`): the first part sent to that chat after it, not an at-most-once one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

from bot.channels.base import (
    ZALO_OA,
    ChannelError,
    ContactUnreachable,
    DeliveryUncertain,
    Links,
    MessageRefused,
    Outgoing,
    OutsideWindow,
    QuotaExhausted,
    RetryLater,
    split_parts,
)
from bot.channels.document_links import document_text
from bot.channels.zalo_oa_client import UPLOAD_TYPES, OAError, ZaloOAClient
from bot.splitting import split_message
from bot.store import Store
from bot.store.outbox import ONCE

log = logging.getLogger(__name__)
CHANNEL = "zalo_oa"
FREE = timedelta(hours=48)
CHARGED = timedelta(days=7)
MAX_UPLOAD = 5 * 1024 * 1024
MAX_TITLE = 100
MAX_PAYLOAD = 1000
BUTTON_MARK = "#"  # a query button's payload: "#" + Button.data
LINK_ROOM = 600
Window = Literal["free", "charged", "closed"]


def window_of(last: datetime | None, now: datetime) -> Window:
    """Return what a message to someone who last wrote at `last` is: free, charged or closed."""
    if last is None or now - last > CHARGED:
        return "closed"
    return "free" if now - last <= FREE else "charged"


def delivery_error(error: OAError) -> ChannelError:
    """Return the channel error an OA error code maps onto (none is retried blindly)."""
    code, text = error.code, f"{error.code} {error.message}"
    if code in (-230, -232):
        return OutsideWindow(text)
    if code in (-213, -227):
        return ContactUnreachable(text)
    if code in (-211, -218):
        return QuotaExhausted(text)
    if code == -32:
        return RetryLater(60, text)
    return MessageRefused(text)  # -201, -210 and what ZALO.md does not name


def uploadable(path: Path) -> bool:
    """Return whether the OA takes this file as an upload (PDF/DOC/DOCX up to 5 MB)."""
    try:
        size = path.stat().st_size
    except OSError:
        return False
    return path.suffix.lower() in UPLOAD_TYPES and 0 < size <= MAX_UPLOAD


class ZaloOATransport:
    """Sends one part of an owed message as one cs message, mapping Zalo's errors."""

    name = CHANNEL
    caps = ZALO_OA

    def __init__(self, client: ZaloOAClient, store: Store, clock: Callable[[], datetime],
                 tz: ZoneInfo, links: Links | None = None) -> None:
        self.client = client
        self.store = store
        self.clock = clock
        self.tz = tz
        self.links = links
        self.documents_as_links = links is not None
        self.replying: dict[str, str] = {}  # chat -> msg_id of the message to quote next

    async def window(self, chat_id: str, now: datetime | None = None) -> Window:
        """Return whether a message to this chat now is free, charged or closed."""
        last = await self.store.inbox.last_inbound(CHANNEL, chat_id)
        return window_of(last, now or self.clock())

    def parts(self, message: Outgoing) -> list[Outgoing]:
        """Return the parts: text under 2,000 characters, an uploadable document alone last; a
        document sent as a link shares the last text part when it fits."""
        if message.document is None or uploadable(message.document):
            return split_parts(message, ZALO_OA)
        limit = ZALO_OA.max_length
        cut = split_message(message.text, limit, "plain") if message.text.strip() else []
        last = cut.pop() if cut and len(cut[-1]) <= limit - LINK_ROOM else ""
        return [*(replace(message, text=text, document=None) for text in cut),
                replace(message, text=last, buttons=())]

    async def send(self, part: Outgoing) -> None:
        """Send one part if the window is open; count it as free or charged once Zalo took it."""
        window = await self.window(part.chat_id)
        if window == "closed":
            raise OutsideWindow("no message from this person in the last 7 days")
        message = await self.message(part)
        if message is None:
            return
        quote = self.quote(part)
        if quote is not None:
            message["quote_message_id"] = quote
        try:
            await self.client.send({"recipient": {"user_id": part.chat_id}, "message": message})
        except OAError as error:
            if quote is None or error.code != -201:
                raise delivery_error(error) from None
            log.warning("zalo_oa: the quote was refused; sending without it")
            message.pop("quote_message_id")
            await self.resend(part.chat_id, message)
        await self.count(window)

    async def resend(self, chat_id: str, message: dict[str, Any]) -> None:
        """Send a message once more (without what Zalo refused), mapping its errors."""
        try:
            await self.client.send({"recipient": {"user_id": chat_id}, "message": message})
        except OAError as error:
            raise delivery_error(error) from None

    def quote(self, part: Outgoing) -> str | None:
        """Return the msg_id this part answers (taken once), or None."""
        if part.extra.get(ONCE) == "most" or part.document is not None:
            return None
        return self.replying.pop(part.chat_id, None)

    async def message(self, part: Outgoing) -> dict[str, Any] | None:
        """Return the `message` of a part (None: nothing to send)."""
        if part.document is not None:
            if uploadable(part.document):
                return {"attachment": {"type": "file",
                                       "payload": {"token": await self.upload(part.document)}}}
            return {"text": await self.document_text(part)}
        if not part.text.strip():
            return None
        message: dict[str, Any] = {"text": part.text}
        buttons = [b for row in part.buttons for b in row][:ZALO_OA.max_buttons]
        if buttons:
            message["attachment"] = {"type": "template", "payload": {"buttons": [
                {"title": b.label[:MAX_TITLE], "type": "oa.query.hide",
                 "payload": (BUTTON_MARK + b.data)[:MAX_PAYLOAD]} for b in buttons]}}
        return message

    async def upload(self, path: Path) -> str:
        """Upload a document; nothing reached a person, so every failure may be retried."""
        try:
            return await self.client.upload(path)
        except DeliveryUncertain as error:
            raise RetryLater(0, str(error)) from None
        except OAError as error:
            mapped = delivery_error(error)
            if isinstance(mapped, ContactUnreachable | OutsideWindow):
                raise MessageRefused(str(error)) from None
            raise mapped from None

    async def document_text(self, part: Outgoing) -> str:
        """Return a document as one text: its caption and a link, or its place on the server."""
        return await document_text(part, self.links, ZALO_OA.max_length)

    async def count(self, window: Window) -> None:
        """Count one message this month (REPORTBOT_TZ): free, or charged (48 h-7 days)."""
        month = self.clock().astimezone(self.tz).strftime("%Y-%m")
        key = CHANNEL if window == "free" else f"{CHANNEL}:charged"
        try:
            await self.store.usage.count(key, month)
        except Exception as error:  # a count missed is no reason to send again
            log.error("zalo_oa: message not counted (%s: %s)", type(error).__name__, error)
