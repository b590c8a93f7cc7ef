"""The web page as a channel: what the bot owes a coordinator's web chat lands on the page.

An action on the page is a coordinator's command from the chat `web`/<coordinator> (for
example `web`/`telegram:123`), run by the same Coordinator as a command typed in chat. What
it owes that chat (the reply, a compile's summary and files) goes through the outbox like any
message and is "sent" by `FeedTransport`: kept in memory, newest last, for the page to show.
The feed is a view of the outbox: after a restart it is read again from the messages the
outbox sent to each web chat (the last KEEP of each; a file no longer on disk is left out).
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from bot.channels.base import Capabilities, Outgoing
from bot.invites import Way
from bot.store import Store

WEB = "web"
WEB_CAPS = Capabilities(buttons=False, documents=True, max_length=1_000_000, format="html",
                        uploads=True)
KEEP = 60  # entries kept per coordinator


@dataclass(frozen=True)
class Entry:
    """One message the page shows: a text (Telegram-style HTML, ours) or a file."""

    id: int
    at: datetime
    text: str
    document: Path | None


class FeedTransport:
    """Delivers a web chat's messages into memory (never fails, never paced)."""

    caps = WEB_CAPS
    local = True  # the sender does not pace it: nothing leaves the process

    def __init__(self, clock: Callable[[], datetime], name: str = WEB) -> None:
        self.name = name  # another name: the demo's simulated contacts' messages stay here
        self.clock = clock
        self.entries: dict[str, deque[Entry]] = {}
        self.counts: dict[str, int] = {}
        # Ids from the start's microsecond: a link kept from before a restart (a smaller id)
        # finds nothing rather than another file of the same coordinator.
        self.ids = itertools.count(time.time_ns() // 1000)
        self.changed = asyncio.Condition()
        self.restored: dict[str, list[Entry]] = {}  # read from the outbox at start

    def parts(self, message: Outgoing) -> list[Outgoing]:
        """Return the message as one part (a page has no length limit)."""
        return [message]

    async def send(self, part: Outgoing) -> None:
        """Keep one message for its coordinator's page."""
        entry = Entry(next(self.ids), self.clock(), part.text, part.document)
        self.entries.setdefault(part.chat_id, deque(maxlen=KEEP)).append(entry)
        self.counts[part.chat_id] = self.counts.get(part.chat_id, 0) + 1
        async with self.changed:
            self.changed.notify_all()

    async def restore(self, store: Store) -> None:
        """Put back what this feed showed before a restart, before what came since."""
        for row, at in await store.outbox.sent_to(self.name, KEEP):
            message = row.message
            if not message.text and (message.document is None or not message.document.is_file()):
                continue
            entry = Entry(next(self.ids), at, message.text, message.document)
            self.restored.setdefault(row.chat_id, []).append(entry)
        for owner, old in self.restored.items():
            self.entries[owner] = deque([*old, *self.entries.get(owner, ())], maxlen=KEEP)

    def count(self, owner: str) -> int:
        """Return how many messages a coordinator's page has received (a mark to wait from)."""
        return self.counts.get(owner, 0)

    def recent(self, owner: str) -> list[Entry]:
        """Return a coordinator's messages, newest first."""
        return list(reversed(self.entries.get(owner, ())))

    def find(self, owner: str, entry_id: int) -> Entry | None:
        """Return one of a coordinator's entries by id (another's is never found)."""
        return next((e for e in self.entries.get(owner, ()) if e.id == entry_id), None)

    async def wait(self, owner: str, count: int, seconds: float) -> bool:
        """Wait until a coordinator's page has received `count` messages (False: not in time)."""

        async def reached() -> None:
            async with self.changed:
                await self.changed.wait_for(lambda: self.count(owner) >= count)

        try:
            await asyncio.wait_for(reached(), seconds)
        except TimeoutError:
            return False
        return True


class WebChannel:
    """The hub's view of the web page: a channel that receives nothing by itself."""

    name = WEB
    caps = WEB_CAPS

    def __init__(self, clock: Callable[[], datetime], store: Store | None = None) -> None:
        self.transport = FeedTransport(clock)
        self.store = store
        self.started = False

    def invite(self, token: str) -> Way | None:
        """Contacts do not bind on the web page."""
        return None

    async def start(self) -> None:
        """Read the feed again from the outbox (nothing to connect to)."""
        if self.store is not None and not self.started:  # once: a later start reads nothing
            await self.transport.restore(self.store)
            self.started = True

    async def run(self, stop: asyncio.Event) -> None:
        """The page is served by the HTTP server; wait for the end."""
        await stop.wait()

    async def stop(self) -> None:
        """Nothing to release."""
