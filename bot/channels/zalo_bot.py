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
import time
from typing import TYPE_CHECKING, Any

import httpx

from bot import texts
from bot.channels.base import ZALO_BOT, Links, Outgoing
from bot.channels.zalo_bot_client import (
    NETWORK,
    NO_ANSWER,
    TIMEOUT,
    ZaloBotClient,
    ZaloBotError,
    check_token,
)
from bot.channels.zalo_bot_transport import (
    DEFAULT_BASE,
    MIN_GAP,
    REFUSED_TOKEN,
    ZaloBotTransport,
    delivery_error,
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
from bot.evidence import Offer, http_download
from bot.invites import Way, zalo_line

if TYPE_CHECKING:
    from bot.hub import Hub
    from bot.web import DownloadLinks, WebServer

__all__ = ["ZaloBotChannel", "ZaloBotTransport", "delivery_error"]

log = logging.getLogger(__name__)
POLL_TIMEOUT = 10  # seconds a poll waits; a stop waits for the poll in flight (see `poll`)


def configure(settings: Settings, hub: Hub,
              web: tuple[WebServer, DownloadLinks] | None) -> ZaloBotChannel:
    """Build the channel: documents as download links and the webhook when the server runs."""
    channel = ZaloBotChannel(settings, hub, web[1] if web else None)
    if web is not None and channel.webhook is not None:
        channel.server = web[0]
        web[0].add_webhook("/zalo", channel.webhook)
    return channel


class ZaloBotChannel:
    """Turns Zalo Bot updates into Incoming for the hub; replies leave through `transport`.

    In webhook mode (settings `zalo_bot_webhook_secret` and `public_url`), `webhook` is the
    handler the HTTP server calls for POST <public>/zalo; otherwise it is None and `run` polls.
    """

    name = CHANNEL
    caps = ZALO_BOT
    monthly_quota = 3000  # messages a month on the free "Basic" plan (ZALO.md §1)

    def __init__(self, settings: Settings, hub: Hub, links: Links | None = None,
                 http: httpx.AsyncClient | None = None) -> None:
        self.settings = settings
        self.hub = hub
        self.http = http or httpx.AsyncClient(timeout=TIMEOUT)  # the client's, and downloads'
        self._own_http = http is None
        self.client = ZaloBotClient(settings.zalo_bot_token, settings.zalo_bot_api_base_url
                                    or DEFAULT_BASE, self.http)
        self.transport = ZaloBotTransport(self.client, links=links, on_sent=self.count_sent)
        self.bot_id: str | None = None
        self.webhook: ZaloBotWebhook | None = None
        self.server: WebServer | None = None  # the HTTP server the webhook is on (configure)
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
        log.info("zalo: running as %s", me.get("account_name") if isinstance(me, dict) else "?")
        if self.webhook is None:
            await self.leave_webhook()

    async def set_webhook(self, stop: asyncio.Event) -> bool:
        """Register <public>/zalo once the HTTP server listens (Zalo may POST at once)."""
        if self.server is not None and not await self.server.wait_listening(stop):
            return False
        url = self.settings.public_url.rstrip("/") + "/zalo"
        await self.call_at_start("setWebhook", url=url,
                                 secret_token=self.settings.zalo_bot_webhook_secret)
        log.info("zalo: webhook set at <public>/zalo")
        return True

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
        if not await self.set_webhook(stop):
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
        offer = None
        if incoming.attachment is not None:  # a picture: its URL (Zalo sends no other file)
            offer = Offer(incoming.attachment.name, None,
                          http_download(self.http, incoming.attachment.file_id))
        await self.hub.receive(incoming, offer=offer)

    # sending ------------------------------------------------------------------------------

    async def count_sent(self) -> None:
        """Count one message sent this month (in REPORTBOT_TZ), for the quota and /status."""
        month = self.hub.engine.clock().astimezone(self.settings.tz).strftime("%Y-%m")
        await self.hub.store.usage.count(CHANNEL, month)

    async def stop(self) -> None:
        """Close the HTTP client if the channel made it."""
        await self.client.close()
        if self._own_http:
            await self.http.aclose()


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
