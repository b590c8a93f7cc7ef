"""Sending on the Zalo Bot Platform: one owed part as one sendMessage, Zalo's errors mapped.

Plain text cut under 2,000 characters, never buttons (the engine numbers the choices when a
channel has none), a document as a download link (or, without a public URL, where it lies on
the server and how an operator gets the outputs), each message Zalo took counted once.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace

import httpx

from bot.channels.base import (
    ZALO_BOT,
    ChannelError,
    ContactUnreachable,
    DeliveryUncertain,
    Links,
    MessageRefused,
    Outgoing,
    QuotaExhausted,
    RetryLater,
)
from bot.channels.document_links import document_text
from bot.channels.zalo_bot_client import NETWORK, NO_ANSWER, ZaloBotClient, ZaloBotError
from bot.channels.zalo_bot_updates import CHANNEL
from bot.splitting import split_message

log = logging.getLogger(__name__)
DEFAULT_BASE = "https://bot-api.zaloplatforms.com"
MIN_GAP = 1.0  # seconds: the wait a proxy's 429 page asks for (and between immediate polls)
LINK_ROOM = 600  # characters kept free in a document's message for its link line
REFUSED_TOKEN = "Zalo refused ZALO_BOT_TOKEN (401 Unauthorized)"


def delivery_error(error: ZaloBotError) -> ChannelError:
    """Return the channel error a failed send maps onto."""
    code, text = error.code, f"{error.code} {error.description}"
    if error.html:  # the proxy's page: nothing reached Zalo
        return RetryLater(MIN_GAP, f"HTTP {code} page from the proxy")
    if code == NO_ANSWER:
        return DeliveryUncertain(error.description)
    if code == 429 and "quota" in error.description.lower():
        return QuotaExhausted(text)
    if code in (NETWORK, 408, 429) or code >= 500:
        return RetryLater(0, text)
    if code == 401:
        return RetryLater(60, REFUSED_TOKEN)
    lowered = error.description.lower()
    # ZALO.md does not say what a blocked bot meets: a 403 is assumed; a chat_id Zalo does not
    # know (never wrote, or gone) answers 400 "The chat_id is invalid".
    if code == 403 or (code == 400 and "chat_id" in lowered and "invalid" in lowered):
        return ContactUnreachable(text)
    return MessageRefused(text)


class ZaloBotTransport:
    """Sends one part of an owed message with sendMessage, mapping Zalo's errors."""

    name = CHANNEL
    caps = ZALO_BOT

    def __init__(self, client: ZaloBotClient | str, *, base_url: str = DEFAULT_BASE,
                 http: httpx.AsyncClient | None = None, links: Links | None = None,
                 on_sent: Callable[[], Awaitable[None]] | None = None) -> None:
        self.client = client if isinstance(client, ZaloBotClient) else ZaloBotClient(
            client, base_url, http)
        self.links = links
        self.on_sent = on_sent
        # With links a document goes as one; without, the coordinator is told where files are
        # (a document owed while links existed still names its place on the server).
        self.documents_as_links = links is not None

    def parts(self, message: Outgoing) -> list[Outgoing]:
        """Return the text cut under 2,000 characters; a document last, with room for its link."""
        limit = ZALO_BOT.max_length
        cut = split_message(message.text, limit, "plain") if message.text.strip() else []
        if message.document is None:
            return [replace(message, text=text, buttons=()) for text in cut]
        last = cut.pop() if cut and len(cut[-1]) <= limit - LINK_ROOM else ""
        return [*(replace(message, text=text, document=None, buttons=()) for text in cut),
                replace(message, text=last, buttons=())]

    async def send(self, part: Outgoing) -> None:
        """Send one part as one message; count it once Zalo took it."""
        text = await self.document_text(part) if part.document is not None else part.text
        if not text.strip():
            return
        try:
            await self.client.call("sendMessage", chat_id=part.chat_id, text=text)
        except ZaloBotError as error:
            raise delivery_error(error) from None
        if self.on_sent is not None:
            try:
                await self.on_sent()
            except Exception as error:  # a count missed is no reason to send again
                log.error("zalo: message not counted (%s: %s)", type(error).__name__, error)

    async def document_text(self, part: Outgoing) -> str:
        """Return a document as one text: its caption and a link, or its place on the server."""
        return await document_text(part, self.links, ZALO_BOT.max_length)

    async def close(self) -> None:
        """Close the client."""
        await self.client.close()
