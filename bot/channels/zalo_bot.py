"""The Zalo Bot Platform channel (../shared/ZALO.md §1): long polling or a webhook, and sending.

Receiving: each update is stored in the inbox (keyed by its message_id) before it is acted on,
then handed to the hub and marked processed; an update stored before is never processed again
(a platform that replays read updates, a redelivered webhook, a restart), and at start-up what
was stored but not processed (a kill in between) is processed first. Polls that return at once
are kept >= 1 s apart. Replies leave through the outbox sender and `ZaloBotTransport`: plain
text cut under 2,000 characters, no buttons (the engine numbers the choices), a document as a
download link (or where it lies on the server), each message counted against the month.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import httpx

from bot import texts
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
from bot.channels.zalo_bot_client import (
    NETWORK,
    NO_ANSWER,
    ZaloBotClient,
    ZaloBotError,
    check_token,
)
from bot.channels.zalo_bot_updates import (
    CHANNEL,
    Update,
    ZaloBotWebhook,
    translate,
    unwrap,
    update_key,
)
from bot.config import ConfigError, Settings
from bot.invites import Way, zalo_line
from bot.splitting import split_message

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from bot.hub import Hub

log = logging.getLogger(__name__)
DEFAULT_BASE = "https://bot-api.zaloplatforms.com"
POLL_TIMEOUT = 10  # seconds a poll waits; a stop waits for the poll in flight (see `poll`)
MIN_GAP = 1.0  # seconds between polls that return at once
LINK_ROOM = 600  # characters kept free in a document's message for its link line
CAMPAIGN_DIR = re.compile(r"^dot-(\d+)$")  # the coordinator's outputs/dot-<id>/ folders
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
    documents_as_links = True  # a document goes as a link (or its place on the server)

    def __init__(self, client: ZaloBotClient | str, *, base_url: str = DEFAULT_BASE,
                 http: httpx.AsyncClient | None = None, links: Links | None = None,
                 on_sent: Callable[[], Awaitable[None]] | None = None) -> None:
        self.client = client if isinstance(client, ZaloBotClient) else ZaloBotClient(
            client, base_url, http)
        self.links = links
        self.on_sent = on_sent

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
        """Return a document's caption and the line that gets it: a link, or its place."""
        path = part.document
        assert path is not None
        if self.links is not None:
            url = await self.links.url(path, path.name)
            line = texts.render("zalo.download_link", "plain", name=path.name, url=url)
        else:
            campaign = part.extra.get("campaign") or next(
                (m[1] for m in map(CAMPAIGN_DIR.match, path.parent.parts) if m), None)
            line = texts.render("zalo.file_on_server", "plain", name=path.name, path=str(path),
                                campaign=campaign)
        caption = part.text[:ZALO_BOT.max_length - len(line) - 2].rstrip()
        return f"{caption}\n\n{line}" if caption else line

    async def close(self) -> None:
        """Close the client."""
        await self.client.close()


class ZaloBotChannel:
    """Turns Zalo Bot updates into Incoming for the hub; replies leave through `transport`.

    In webhook mode (settings `zalo_bot_webhook_secret` and `public_url`), `webhook` is the
    handler the HTTP server calls for POST <public>/zalo; otherwise it is None and `run` polls.
    """

    name = CHANNEL
    caps = ZALO_BOT

    def __init__(self, settings: Settings, hub: Hub, links: Links | None = None,
                 http: httpx.AsyncClient | None = None) -> None:
        self.settings = settings
        self.hub = hub
        self.client = ZaloBotClient(settings.zalo_bot_token, settings.zalo_bot_api_base_url
                                    or DEFAULT_BASE, http)
        self.transport = ZaloBotTransport(self.client, links=links, on_sent=self.count_sent)
        self.bot_id: str | None = None
        self.webhook: ZaloBotWebhook | None = None
        if settings.zalo_bot_webhook_secret and settings.public_url:
            self.webhook = ZaloBotWebhook(settings.zalo_bot_webhook_secret, self.accept)
        self.arrived = asyncio.Event()
        self.poll_timeout = POLL_TIMEOUT
        self.min_gap = MIN_GAP  # seconds after a poll that returned at once (tests shorten it)
        hub.add(self)

    def invite(self, token: str) -> Way | None:
        """Return the line a contact sends to bind (Zalo has no deep link with a parameter)."""
        return Way(CHANNEL, zalo_line(token))

    # starting -----------------------------------------------------------------------------

    async def start(self) -> None:
        """Check the token, learn the bot's id, then set the webhook or make room to poll.

        Retried while Zalo cannot be reached; only a refused token (401) ends the process.
        """
        check_token(self.settings.zalo_bot_token)
        me = await self.call_at_start("getMe")
        self.bot_id = str(me.get("id")) if isinstance(me, dict) and me.get("id") else None
        if self.webhook is not None:
            url = self.settings.public_url.rstrip("/") + "/zalo"
            await self.call_at_start("setWebhook", url=url,
                                     secret_token=self.settings.zalo_bot_webhook_secret)
            log.info("zalo: webhook set at <public>/zalo")
        else:
            await self.leave_webhook()

    async def call_at_start(self, method: str, **params: Any) -> Any:
        """Call a method, retrying with backoff until Zalo answers; a 401 is a config error."""
        delay = 1.0
        while True:
            try:
                return await self.client.call(method, **params)
            except ZaloBotError as error:
                if error.code == 401:
                    raise ConfigError(REFUSED_TOKEN) from None
                if error.code not in (NETWORK, NO_ANSWER, 429) and error.code < 500:
                    raise
                log.warning("zalo: %s failed at start-up (%s); retrying in %.0f s", method,
                            error, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 60)

    async def leave_webhook(self) -> None:
        """Delete a webhook left set (polling and a webhook exclude each other)."""
        try:
            info = await self.client.call("getWebhookInfo")
        except ZaloBotError as error:  # 404: none set; anything else: the poll will tell
            if error.code != 404:
                log.warning("zalo: getWebhookInfo failed (%s)", error)
            return
        if isinstance(info, dict) and info.get("url"):
            log.warning("zalo: a webhook was set; deleting it to poll")
            await self.call_at_start("deleteWebhook")

    # receiving ----------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Process what was stored and not processed, then receive until `stop` is set."""
        await self.drain()
        if self.webhook is None:
            await self.poll(stop)
            return
        while not stop.is_set():
            await _first(stop, self.arrived)
            self.arrived.clear()
            await self.drain()

    async def poll(self, stop: asyncio.Event) -> None:
        """Long-poll until `stop` is set, one update per answer.

        A poll in flight is waited for, not cancelled: Zalo may remove an update once it is
        read, so an answer thrown away could be an update lost.
        """
        delay = 1.0
        deleted = False
        while not stop.is_set():
            started = time.monotonic()
            try:
                result = await self.client.call("getUpdates", http_timeout=self.poll_timeout + 15,
                                                timeout=str(self.poll_timeout))
                update = unwrap(result)
                if update is not None and await self.accept(update):
                    await self.drain()
                delay = 1.0
            except ZaloBotError as error:
                if error.code == 401:
                    raise ConfigError(REFUSED_TOKEN) from None
                if error.code == 400 and "webhook" in error.description.lower() and not deleted:
                    log.warning("zalo: getUpdates refused while a webhook is set; deleting it")
                    deleted = True
                    await self.forget_webhook()
                    continue
                if error.code != 408:  # 408: an empty poll
                    log.warning("zalo: getUpdates failed (%s); retrying in %.0f s", error, delay)
                    await _sleep_until(stop, delay)
                    delay = min(delay * 2, 60)
            if time.monotonic() - started < MIN_GAP:  # it returned at once
                await _sleep_until(stop, self.min_gap)

    async def forget_webhook(self) -> None:
        """Call deleteWebhook, logging a failure."""
        try:
            await self.client.call("deleteWebhook")
        except ZaloBotError as error:
            log.warning("zalo: deleteWebhook failed (%s)", error)

    async def accept(self, update: Update) -> bool:
        """Store one update in the inbox (committed); return True when it is new."""
        key = update_key(update)
        fresh = await self.hub.store.inbox.put(CHANNEL, key, update, self.hub.engine.clock())
        if fresh:
            self.arrived.set()
        return fresh

    async def drain(self) -> None:
        """Process every update stored and not processed yet, oldest first."""
        for key, update in await self.hub.store.inbox.pending(CHANNEL):
            try:
                await self.process(key, update)
            except Exception as error:  # logged and passed, as a bad update must not block
                log.error("zalo: update %s failed: %s: %s", key, type(error).__name__, error,
                          exc_info=error)
            await self.hub.store.inbox.done(CHANNEL, key, self.hub.engine.clock())

    async def process(self, key: str, update: Update) -> None:
        """Hand one update to the hub, or owe the polite line for what the bot cannot read."""
        received = translate(update, key, self.bot_id)
        if received is None:
            return
        incoming = received.incoming
        if received.unsupported:
            text = texts.render("zalo.unsupported", ZALO_BOT.format)
            await self.hub.engine.owe(incoming, [Outgoing(incoming.chat_id, text,
                                                          channel=CHANNEL)])
            return
        await self.hub.receive(incoming)

    # sending ------------------------------------------------------------------------------

    async def count_sent(self) -> None:
        """Count one message sent this month (in REPORTBOT_TZ), for the quota and /status."""
        month = self.hub.engine.clock().astimezone(self.settings.tz).strftime("%Y-%m")
        await self.hub.store.usage.count(CHANNEL, month)

    async def stop(self) -> None:
        """Close the HTTP client."""
        await self.client.close()


async def _first(stop: asyncio.Event, other: asyncio.Event) -> None:
    """Wait until either event is set."""
    waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(other.wait())]
    _, pending = await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    for waiter in pending:
        waiter.cancel()


async def _sleep_until(stop: asyncio.Event, seconds: float) -> None:
    """Sleep `seconds`, or less if `stop` is set meanwhile."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
