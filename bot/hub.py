"""The hub: the one channel-agnostic place between the channels and everything else.

It owns the engine (contacts' conversations), the coordinator (commands), the follow-ups, one
reminder sweep and one outbox sender for every channel. A channel only translates: it turns
what its platform delivers into an `Incoming` and calls `receive`, and it sends one part of an
owed message through its `transport`. Everything a person is owed is rendered with the
capabilities of the channel that person uses, and leaves through that channel.

    channel --Incoming--> Hub.receive --> coordinator | engine --> outbox rows
    outbox sender --(row's channel)--> channel.transport.send
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, Protocol

from bot import invites, texts
from bot.campaigns.upload import Upload
from bot.channels.base import CONSOLE, Capabilities, Incoming, Outgoing, Transport
from bot.config import ConfigError, Settings
from bot.coordinator import Coordinator, is_coordinator_command
from bot.engine import Engine, split_command, utc_now
from bot.evidence import MAX_BYTES, EvidenceStore, NotFetched, Offer, Refused, TooBig, refusal
from bot.followups import FollowUps
from bot.invites import Way
from bot.model import Contact, Quota
from bot.outbox import Sender
from bot.store import Store
from bot.store.outbox import PREPARE
from bot.sweep import Sweeper

if TYPE_CHECKING:
    from bot.web.auth import LoginLinks

log = logging.getLogger(__name__)
SWEEP_SECONDS = 60.0
Fetch = Callable[[], Awaitable[Upload]]  # downloads a file a coordinator attached


class Channel(Protocol):
    """What the hub needs of a channel."""

    @property
    def name(self) -> str:
        """The channel's name: "telegram", "zalo", "zalo_oa" (a prefix of REPORTBOT_ADMINS)."""
        ...

    @property
    def caps(self) -> Capabilities:
        """What the channel can carry."""
        ...

    @property
    def transport(self) -> Transport:
        """How one part of an owed message leaves."""
        ...

    def invite(self, token: str) -> Way | None:
        """Return how a contact binds to a unit on this channel (a link, or a line to send)."""
        ...

    async def start(self) -> None:
        """Connect to the platform (checks the credentials); may be called again after a failure."""
        ...

    async def run(self, stop: asyncio.Event) -> None:
        """Receive until `stop` is set (long polling, or a webhook's life)."""
        ...

    async def stop(self) -> None:
        """Release the platform's resources."""
        ...


class Hub:
    """Routes every incoming and owns what every channel shares."""

    def __init__(self, store: Store, settings: Settings,
                 clock: Callable[[], datetime] = utc_now) -> None:
        self.store = store
        self.settings = settings
        self.channels: dict[str, Channel] = {}
        self.engine = Engine(store, clock, durable=True)
        self.evidence = EvidenceStore(settings.data_dir)
        self.coordinator = Coordinator(store, self.engine, settings.tz, self.invite_ways,
                                       settings.data_dir)
        self.sweeper = Sweeper(store, settings.tz, self.caps_of, self.coordinator_chats(),
                               self.window)
        self.coordinator.sweeper = self.sweeper
        self.coordinator.caps_of = self.caps_of
        self.coordinator.quotas = self.quotas
        self.coordinator.deliveries.takes_documents = self.takes_documents
        self.followups = FollowUps(self.coordinator, self.coordinator_chats(), self.caps_of,
                                   settings.notice_window)
        self.transports: dict[str, Transport] = {}
        self.sender = Sender(store, self.transports, clock, self.notices, self.followups,
                             quota_notices=self.quota_notices, prepare=self.prepare,
                             batches=self.followups.notices)
        self.login_links: LoginLinks | None = None  # the web page's sign-in (add_web)

    def add(self, channel: Channel) -> None:
        """Plug a channel in: its incoming come here, its rows leave through its transport."""
        self.channels[channel.name] = channel
        self.transports[channel.name] = channel.transport

    def add_web(self, channel: Channel, login_links: LoginLinks) -> None:
        """Plug the web page in: its actions' replies land on it, /web signs in to it."""
        self.add(channel)
        self.login_links = login_links
        self.coordinator.web_pages = True

    async def prepare(self, message: Outgoing) -> Outgoing:
        """Make a message's text at send time: the sign-in link of /web."""
        if not message.extra.get(PREPARE):  # the only kind: WEB_LOGIN (bot/web/auth.py)
            return message
        if self.login_links is None:  # owed while the page was on, sent after it was turned off
            text = texts.render("coordinator.web_unavailable", self.caps_of(message.channel).format)
            return replace(message, text=text, extra={})
        return await self.login_links.prepare(message)

    def caps_of(self, channel: str) -> Capabilities:
        """Return what a channel can carry (the terminal's plain text for an unknown one)."""
        found = self.channels.get(channel)
        return found.caps if found is not None else CONSOLE

    def invite_ways(self, token: str) -> list[Way]:
        """Return how a unit's contacts bind on each running channel (one line when none)."""
        ways = invites.merged([channel.invite(token) for channel in self.channels.values()])
        return ways or [Way("any", invites.zalo_line(token))]

    def takes_documents(self, channel: str) -> bool:
        """Return whether a channel delivers documents: as files, or as download links."""
        found = self.channels.get(channel)
        return found is not None and (found.caps.documents or bool(
            getattr(found.transport, "documents_as_links", False)))

    def coordinator_chats(self) -> list[tuple[str, str]]:
        """Return (channel, user id) of every coordinator (private chats: chat id = user id)."""
        return sorted((entry.partition(":")[0], entry.partition(":")[2])
                      for entry in self.settings.admins)

    def is_coordinator(self, channel: str, user_id: str | None) -> bool:
        """Return whether a person is a coordinator on this channel."""
        return user_id is not None and f"{channel}:{user_id}" in self.settings.admins

    # receiving ------------------------------------------------------------------------------

    async def receive(self, incoming: Incoming, fetch: Fetch | None = None,
                      offer: Offer | None = None) -> None:
        """Route one incoming: a coordinator's command (or file), or a contact's message.

        `fetch` downloads a coordinator's file (a campaign); `offer` is how to download a file a
        contact sent, kept as evidence before the answer that names it is stored.
        """
        caps = self.caps_of(incoming.channel)
        coordinator = self.is_coordinator(incoming.channel, incoming.user_id)
        if is_coordinator_command(incoming.text) or (fetch is not None and coordinator):
            await self.command(incoming, caps, coordinator, fetch)
            return
        if coordinator and split_command(incoming.text)[0] == "web":  # a contact's: unknown
            await self.coordinator.handle(incoming, caps)
            return
        if offer is not None and incoming.attachment is not None:
            kept = await self.keep_file(incoming, offer, caps)
            if kept is None:
                return
            incoming = kept
        replies = await self.engine.handle(incoming, caps)
        if replies and coordinator and split_command(incoming.text)[0] == "help":
            help_text = texts.render("coordinator.help", caps.format)
            await self.store.outbox.owe(
                f"{incoming.channel}:{incoming.chat_id}:{incoming.message_id}/help",
                [Outgoing(incoming.chat_id, help_text, channel=incoming.channel)],
                self.engine.clock())

    async def keep_file(self, incoming: Incoming, offer: Offer,
                        caps: Capabilities) -> Incoming | None:
        """Keep the file a contact sent; return the incoming naming the kept file, or None
        when it was refused (the contact is told why, once).

        A message answered before (a redelivery, a restart) is not downloaded again: the engine
        recognises it and only shows where the contact is; nor is a file sent by someone not
        bound, or not at a `file` question (the engine says what it expects instead).
        """
        if await self.engine.processed(incoming) or not await self.store.asks_for_file(
                incoming.channel, incoming.chat_id):
            return incoming
        try:
            kept = await self.evidence.keep(offer)
        except Refused as error:
            log.log(logging.WARNING if error.code == "failed" else logging.INFO,
                    "%s: file of message %s not kept (%s)", incoming.channel,
                    incoming.message_id, error.code)
            await self.engine.owe(incoming, [Outgoing(incoming.chat_id, refusal(error, caps.format),
                                                      channel=incoming.channel)])
            return None
        return replace(incoming, attachment=kept.attachment)

    async def command(self, incoming: Incoming, caps: Capabilities, coordinator: bool,
                      fetch: Fetch | None) -> None:
        """Run a coordinator's command, or refuse it politely to anyone else."""
        if not coordinator:
            name = split_command(incoming.text)[0] or "new"
            text = texts.render("coordinator.refused", caps.format, command=name)
            await self.engine.owe(incoming, [Outgoing(incoming.chat_id, text,
                                                      channel=incoming.channel)])
            return
        upload = None
        if fetch is not None and not await self.store.outbox.processed(
                incoming.channel, str(incoming.message_id)):
            try:
                upload = await fetch()
            except (TooBig, NotFetched) as error:
                log.warning("%s: campaign file not downloaded (%s)", incoming.channel,
                            type(error).__name__)
                name = incoming.attachment.name if incoming.attachment else ""
                text = texts.render("coordinator.upload_failed", caps.format, name=name,
                                    too_big=isinstance(error, TooBig),
                                    limit=MAX_BYTES // (1024 * 1024))
                await self.engine.owe(incoming, [Outgoing(incoming.chat_id, text,
                                                          channel=incoming.channel)])
                return
        await self.coordinator.handle(incoming, caps, upload)

    def notices(self, contact: Contact) -> list[Outgoing]:
        """Return the coordinators' notice that a contact can no longer be reached."""
        notices = []
        for channel, chat in self.coordinator_chats():
            if (channel, chat) == (contact.channel, contact.chat_id):
                continue
            text = texts.render("coordinator.unreachable", self.caps_of(channel).format,
                                unit=contact.unit_code or "?", chat_id=contact.chat_id,
                                person=contact.name)
            notices.append(Outgoing(chat, text, channel=channel))
        return notices

    async def window(self, channel: str, chat_id: str, now: datetime) -> str:
        """Return a chat's reply window: "open" (none), "free", "charged" or "closed"."""
        found = self.channels.get(channel)
        window = getattr(found, "window", None)
        return "open" if window is None else str(await window(chat_id, now))

    async def quotas(self) -> list[Quota]:
        """Return this month's messages of every running channel that counts them: against a
        monthly quota (Zalo Bot), or free and charged (the Zalo OA's reply window)."""
        month = self.engine.clock().astimezone(self.settings.tz).strftime("%Y-%m")
        found = []
        for name, channel in self.channels.items():
            limit = getattr(channel, "monthly_quota", None)
            charged = getattr(channel, "counts_charged", False)
            if limit or charged:
                sent = await self.store.usage.messages_this_month(name, month)
                extra = await self.store.usage.messages_this_month(f"{name}:charged", month)
                found.append(Quota(name, month, sent, limit or 0, extra if charged else None))
        return found

    def quota_notices(self, paused: str) -> list[Outgoing]:
        """Return the coordinators' notices that a channel's message quota is spent.

        Those on another channel read it at once; those on the paused channel when it sends
        again (their notice waits in the outbox like every other message there).
        """
        notices = []
        for channel, chat in self.coordinator_chats():
            key = "coordinator.quota_back" if channel == paused else "coordinator.quota_spent"
            name = texts.render(f"channel_name.{paused}", "plain")
            text = texts.render(key, self.caps_of(channel).format, channel=name)
            notices.append(Outgoing(chat, text, channel=channel))
        return notices

    # running --------------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Run every channel, the reminder sweep and the sender until `stop` is set.

        A channel's loop that fails is logged and started again with backoff; it never takes
        the others down.
        """
        loops = [self.keep(channel.name, partial(self.start_and_run, channel), stop)
                 for channel in self.channels.values()]
        tasks = [asyncio.create_task(work)
                 for work in (*loops, self.remind(stop), self.sender.run(stop))]
        try:
            await asyncio.gather(*tasks)
        finally:  # one failed for good (a refused token): the others end too, cleanly
            stop.set()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def start_and_run(self, channel: Channel, stop: asyncio.Event) -> None:
        """Connect a channel, then receive until `stop` (one channel's wait holds no other)."""
        await channel.start()
        await channel.run(stop)

    async def keep(self, name: str, loop: Callable[[asyncio.Event], Awaitable[None]],
                   stop: asyncio.Event) -> None:
        """Run one channel's loop until `stop`, restarting it with backoff when it fails."""
        delay = 1.0
        while not stop.is_set():
            try:
                await loop(stop)
                return
            except ConfigError:  # a refused token: the operator must act, nothing to retry
                raise
            except Exception as error:
                log.error("channel %s failed (%s: %s); restarting in %.0f s", name,
                          type(error).__name__, error, delay)
                await _sleep_until(stop, delay)
                delay = min(delay * 2, 60)

    async def remind(self, stop: asyncio.Event, every: float = SWEEP_SECONDS) -> None:
        """Owe due reminders and digests at start-up and then every minute until `stop`."""
        while not stop.is_set():
            try:
                owed = await self.sweeper.sweep(self.engine.clock())
                if owed:
                    log.info("owed %d reminders", owed)
            except Exception as error:  # a failed sweep is retried at the next tick
                log.error("reminder sweep failed: %s: %s", type(error).__name__, error)
            await _sleep_until(stop, every)


async def _sleep_until(stop: asyncio.Event, seconds: float) -> None:
    """Sleep `seconds`, or less if `stop` is set meanwhile."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
