"""The Zalo Official Account channel (../shared/ZALO.md §2): a signed webhook and cs messages.

Receiving: the OA has no polling, so it needs the bot's HTTP server (REPORTBOT_PUBLIC_URL): the
webhook `ZaloOAWebhook` stores each event in the inbox and answers 200 (zalo_oa_webhook); this
channel's loop processes what was stored and not processed yet — at start-up too, so an event
stored before a kill is processed after the restart — each one once:
- `user_send_text` goes to the hub as typed text, or as `Incoming.button` when it is the payload
  of one of the bot's query buttons (`#` + the button's data, zalo_oa_transport);
- `user_send_image` / `user_send_file` go to the hub with how to download them (zalo_oa_files):
  a contact's file is kept as evidence (bot/evidence.py), a coordinator's read as a campaign;
- `follow` is greeted with how to bind (`/start <token>`, or the token alone);
- other things a person sends get a polite line; `unfollow` is only stored: the next message
  to that person meets -213 and the sender marks them unreachable then (a person can follow
  again without the bot having dropped them first).
Sending: `ZaloOATransport` (the reply window, buttons, uploads, links); tokens:
`TokenChain` (zalo_oa_tokens). When Zalo refuses the tokens, OA sending pauses and the
coordinators on the other channels are told once per chain.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from datetime import datetime
from typing import TYPE_CHECKING, Any

import httpx

from bot import texts
from bot.campaigns.upload import Upload
from bot.channels.base import ZALO_OA, Attachment, Incoming, Links, Outgoing
from bot.channels.zalo_oa_client import ZaloOAClient
from bot.channels.zalo_oa_files import offered
from bot.channels.zalo_oa_tokens import TokenChain, fingerprint
from bot.channels.zalo_oa_transport import (
    BUTTON_MARK,
    CHANNEL,
    Window,
    ZaloOATransport,
    window_of,
)
from bot.channels.zalo_oa_webhook import USER_EVENTS, Event, ZaloOAWebhook, person
from bot.config import ConfigError, Settings
from bot.evidence import http_download, read_offer
from bot.invites import Way, zalo_line

if TYPE_CHECKING:
    from bot.hub import Fetch, Hub
    from bot.web import DownloadLinks, WebServer

__all__ = ["ZaloOAChannel", "ZaloOATransport", "configure"]

log = logging.getLogger(__name__)
PATH = "/zalo-oa"
BUTTON_RE = re.compile(r"^#[a-z0-9_]+:[A-Za-z0-9_]+$")
REQUIRED = ("ZALO_OA_APP_SECRET", "ZALO_OA_SECRET_KEY", "ZALO_OA_REFRESH_TOKEN")


def configure(settings: Settings, hub: Hub,
              web: tuple[WebServer, DownloadLinks] | None) -> ZaloOAChannel:
    """Build the channel; its webhook goes on the HTTP server (none: `start` refuses)."""
    channel = ZaloOAChannel(settings, hub, web[1] if web else None)
    if web is not None:
        web[0].add_webhook(PATH, channel.webhook)
        channel.served = True
    return channel


class ZaloOAChannel:
    """Turns OA events into Incoming for the hub; replies leave through `transport`."""

    counts_charged = True  # /status shows the month's free and charged messages

    name = CHANNEL
    caps = ZALO_OA

    def __init__(self, settings: Settings, hub: Hub, links: Links | None = None,
                 http: httpx.AsyncClient | None = None) -> None:
        self.settings = settings
        self.hub = hub
        self.http = http or httpx.AsyncClient(timeout=30.0)
        self._own_http = http is None
        self.tokens = TokenChain(settings, hub.store, hub.engine.clock, self.http, self.down)
        client = ZaloOAClient(settings.zalo_oa_api_base_url, self.tokens, self.http)
        self.transport = ZaloOATransport(client, hub.store, hub.engine.clock, settings.tz, links)
        self.webhook = ZaloOAWebhook(settings.zalo_oa_app_id, settings.zalo_oa_secret_key,
                                     self.accept)
        self.served = False  # the webhook is on the bot's HTTP server (configure)
        self.arrived = asyncio.Event()
        hub.add(self)

    def invite(self, token: str) -> Way | None:
        """Return the line a contact sends to bind (the same as on the Zalo Bot)."""
        return Way("zalo", zalo_line(token))

    async def window(self, chat_id: str, now: datetime) -> Window:
        """Return whether a message to this chat at `now` is "free", "charged" or "closed"."""
        return window_of(await self.hub.store.inbox.last_inbound(CHANNEL, chat_id), now)

    # starting -----------------------------------------------------------------------------

    async def start(self) -> None:
        """Check the settings (one line naming what is missing) and load the token chain."""
        if not self.settings.public_url:
            raise ConfigError("ZALO_OA_APP_ID is set but REPORTBOT_PUBLIC_URL is not: the"
                              " Official Account delivers only through the webhook"
                              " <public>/zalo-oa")
        missing = [key for key in REQUIRED if not getattr(self.settings, key.lower())]
        if missing:
            raise ConfigError(f"ZALO_OA_APP_ID is set but {', '.join(missing)} not"
                              " (see .env.example)")
        await self.tokens.load()
        log.info("zalo_oa: webhook at <public>%s", PATH)

    async def down(self) -> None:
        """Tell the coordinators on the other channels, once a chain, that the OA stopped."""
        notices = [Outgoing(chat, texts.render("zalo_oa.down", self.hub.caps_of(channel).format),
                            channel=channel)
                   for channel, chat in self.hub.coordinator_chats() if channel != CHANNEL]
        origin = fingerprint(self.settings.zalo_oa_refresh_token)[:16]
        await self.hub.store.outbox.owe(f"zalo_oa:down:{origin}", notices,
                                        self.hub.engine.clock())

    # receiving ----------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Process what was stored and not processed, then each new event, until `stop`."""
        await self.drain()
        while not stop.is_set():
            await _first(stop, self.arrived)
            self.arrived.clear()
            await self.drain()

    async def accept(self, key: str, event: Event, sender: str | None) -> bool:
        """Store one event (committed, with when its sender wrote); True when it is new."""
        fresh = await self.hub.store.inbox.put(CHANNEL, key, event, self.hub.engine.clock(),
                                               sender=sender)
        if fresh:
            self.arrived.set()
        return fresh

    async def drain(self) -> None:
        """Process every event stored and not processed yet, oldest first."""
        for key, event in await self.hub.store.inbox.pending(CHANNEL):
            try:
                await self.process(key, event)
            except Exception as error:  # logged and passed: a bad event must not block
                log.error("zalo_oa: event %s failed: %s: %s", key, type(error).__name__, error,
                          exc_info=error)
            await self.hub.store.inbox.done(CHANNEL, key, self.hub.engine.clock())

    async def process(self, key: str, event: Event) -> None:
        """Hand one event to the hub, greet a follower, or owe the polite line."""
        chat, name = person(event), str(event.get("event_name", ""))
        if chat is None or name == "unfollow":
            return
        base = Incoming(CHANNEL, chat, chat, message_id=key)
        found = event.get("message")
        message: dict[str, Any] = found if isinstance(found, dict) else {}
        if name == "follow":
            await self.owe(base, "zalo_oa.follow")
        elif name == "user_send_text" and isinstance(message.get("text"), str):
            await self.text(base, message["text"])
        elif name in ("user_send_image", "user_send_file") and offered(message, key):
            await self.file(base, message, key)
        elif name in USER_EVENTS:
            await self.owe(base, "zalo_oa.unsupported")

    async def text(self, base: Incoming, text: str) -> None:
        """Hand typed text, or a tapped query button, to the hub."""
        if BUTTON_RE.match(text.strip()):
            await self.hub.receive(_with(base, button=text.strip()[len(BUTTON_MARK):]))
            return
        self.transport.replying[base.chat_id] = str(base.message_id)
        await self.hub.receive(_with(base, text=text))

    async def file(self, base: Incoming, message: dict[str, Any], key: str) -> None:
        """Hand a file a person sent to the hub: a contact's is kept as evidence there (or
        refused with the reason), a coordinator's is read as a campaign file."""
        found = offered(message, key)
        assert found is not None
        offer = found.offer(http_download(self.http, found.url))
        caption = message.get("text") if isinstance(message.get("text"), str) else None
        attachment = Attachment(found.name, "", found.size or 0, found.url)
        incoming = _with(base, text=caption, attachment=attachment)
        self.transport.replying[base.chat_id] = key

        async def upload() -> Upload:
            return Upload(found.name, await read_offer(offer))

        fetcher: Fetch | None = upload if not found.image else None
        await self.hub.receive(incoming, fetcher, offer)

    async def owe(self, base: Incoming, key: str, **context: Any) -> None:
        """Owe one message of the catalogue as the answer to an event."""
        text = texts.render(key, ZALO_OA.format, **context)
        await self.hub.engine.owe(base, [Outgoing(base.chat_id, text, channel=CHANNEL)])

    async def stop(self) -> None:
        """Close the HTTP client if the channel made it."""
        if self._own_http:
            await self.http.aclose()


def _with(base: Incoming, **fields: Any) -> Incoming:
    return Incoming(base.channel, base.chat_id, base.user_id, message_id=base.message_id,
                    **fields)


async def _first(stop: asyncio.Event, other: asyncio.Event) -> None:
    """Wait until either event is set."""
    waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(other.wait())]
    _, pending = await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    for waiter in pending:
        waiter.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.gather(*pending, return_exceptions=True)
