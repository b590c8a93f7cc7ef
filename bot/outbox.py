"""The outbox sender: delivers what the bot owes, chat by chat, in order, within each pace.

Every owed message is a row written with the change that caused it (bot/store/owing.py). One
worker per chat sends that chat's rows in id order; chats do not wait on each other: a 429 for
one chat holds that chat only, while the overall pace of each channel is shared. A row is marked
sent only after the platform answered, so a restart continues with what is unsent.

What each call guarantees on the wire:
- A text part is sent **at least once**: a kill after the platform accepted it and before it is
  marked sent (the request's own round trip) sends it again after the restart, and so does a
  timeout (no answer within the transport's read timeout): the part is retried, since a question
  lost is worse than a question twice. Nothing newer goes to that chat before it, so a contact
  never gets an older question after a newer one. A long message is sent part by part and the
  parts already sent are recorded, so a retry resends only the part in flight.
- A document, a reminder and a digest are sent **at most once**: each is recorded as sent right
  before its request, so a kill during the request loses it rather than sending it twice, and a
  timeout counts as sent (logged). Two copies of a report, or two reminders for one slot, are
  worse than one lost in a window the size of one request: a report can be asked for again
  (/compile), and the next reminder slot comes. A 429 is retried in the same process (nothing
  was delivered).
- `RetryLater` (429, 5xx, network): that chat waits the time named (or backs off) and retries.
- `ContactUnreachable` (blocked): the contact is marked unreachable, what it is owed is dropped
  and the coordinators are owed one notice, all in one transaction.
- `MessageRefused` (a 400): logged and marked failed; the chat goes on with the next row.
- `OutsideWindow` (the Zalo OA may not write to someone silent for 7 days): the contact is
  marked out of the window and what it is owed dropped, in one transaction; the digest names it,
  and it is reachable again when it writes.
- `QuotaExhausted` (Zalo Bot's monthly plan spent): nothing was delivered, so the row stays
  owed (a claimed at-most-once row is reopened). The whole channel pauses: no chat of it is
  started again until a probe every QUOTA_PROBE seconds, one chat at a time, gets through. The
  pause is kept in the database (a restart probes once instead of every chat) and the
  coordinators are owed one notice per pause, on every channel (those on the paused channel
  get theirs when it sends again). `ChannelDown` (the Zalo OA's tokens refused) pauses the
  same way, but the channel tells the coordinators itself (what the operator must do).
- A row marked `prepare` (the sign-in link of /web) holds no secret: `prepare` makes its text
  right before it is sent (the link's token is drawn then), again if it is sent again.
- A task row (a unit's report after a submit, a compile, a contact's first question of a new
  round) is run by the `tasks` runner; what it produces replaces it in one transaction, and
  the run is keyed by the row, so a task run twice after a kill owes nothing twice.
- `batches` (the coordinators' notices of submits, bot/notices.py) owe their rows when they are
  due: the sender asks them at every turn, and wakes when the next one is due.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from functools import partial
from typing import Protocol

from aiolimiter import AsyncLimiter

from bot.channels.base import (
    ChannelDown,
    ContactUnreachable,
    DeliveryUncertain,
    MessageRefused,
    Outgoing,
    OutsideWindow,
    QuotaExhausted,
    RetryLater,
    Transport,
)
from bot.model import Contact
from bot.store import Store
from bot.store.channel_state import put as state_put
from bot.store.outbox import ONCE, PREPARE, TASK, OwedRow

log = logging.getLogger(__name__)
LOOK_EVERY = 5.0  # seconds between looks for rows another process wrote
GATHER = 0.005  # after a wake-up, let the steps under way owe their rows too
MAX_ATTEMPTS = 8
PAGE = 20  # rows read from the database at a time
BACKOFF_CAP = 60.0
QUOTA_PROBE = 1800.0  # seconds between probes of a channel whose quota is spent
PAUSED = "quota_paused"  # channel_state key: when the pause began (ISO)


class TaskRunner(Protocol):
    """Runs a task row and returns the messages it owes."""

    async def run(self, row: OwedRow) -> Sequence[Outgoing]:
        """Do the task; return what it owes (written in place of the task)."""
        ...


class Batches(Protocol):
    """Rows owed later, in batches: asked at every turn of the sender."""

    async def flush_due(self, now: datetime) -> float | None:
        """Owe what is due now; return the seconds until more is due (None: nothing waits)."""
        ...


class Sender:
    """Drains the outbox through each channel's transport."""

    def __init__(self, store: Store, transports: Mapping[str, Transport],
                 clock: Callable[[], datetime], notices: Callable[[Contact], list[Outgoing]],
                 tasks: TaskRunner | None = None, per_chat: float = 1.0,
                 overall: float = 30.0,
                 quota_notices: Callable[[str], list[Outgoing]] | None = None,
                 prepare: Callable[[Outgoing], Awaitable[Outgoing]] | None = None,
                 batches: Batches | None = None) -> None:
        self.store = store
        self.batches = batches
        self.prepare = prepare  # makes a message's text at send time (a sign-in link)
        self.transports = transports
        self.clock = clock
        self.notices = notices
        self.tasks = tasks
        self.per_chat = per_chat
        self.rate = overall
        self.overall: dict[str, AsyncLimiter] = {}  # per channel, made at its first send
        self.last_sent: dict[tuple[str, str], float] = {}
        self.workers: dict[tuple[str, str], asyncio.Task[None]] = {}
        self.handled: set[int] = set()  # rows this process delivered (memory and database)
        self.quota_notices = quota_notices
        self.paused: dict[str, float] = {}  # channel -> monotonic time of its next probe
        self.probes: dict[str, str] = {}  # paused channel -> the one chat that may try now

    async def run(self, stop: asyncio.Event) -> None:
        """Start a worker for every chat that is owed something, until `stop` is set.

        New rows come from memory as their transactions commit; the database is looked at
        at start-up (rows a killed process left) and every few seconds.
        """
        looked = 0.0
        await self.load_pauses()
        while not stop.is_set():
            wait = LOOK_EVERY
            try:
                wait = min(wait, await self.flush_batches())
                scan = time.monotonic() - looked >= LOOK_EVERY
                await self.start_workers(scan)
                looked = time.monotonic() if scan else looked
            except Exception as error:  # the database is busy or gone for a moment
                log.error("outbox: %s: %s", type(error).__name__, error)
            await self.idle(stop, wait)
            await asyncio.sleep(GATHER)  # rows owed meanwhile are started together
        for worker in list(self.workers.values()):
            worker.cancel()
        await asyncio.gather(*self.workers.values(), return_exceptions=True)
        await self.store.outbox.flush()

    async def idle(self, stop: asyncio.Event, seconds: float | None = None) -> None:
        """Wait until rows are owed, `seconds` pass (the next look by default, or a batch
        due), or `stop` is set (SIGTERM ends the process at once, not after the look)."""
        seconds = LOOK_EVERY if seconds is None else seconds
        waits = [asyncio.ensure_future(self.store.outbox.wait(seconds)),
                 asyncio.ensure_future(stop.wait())]
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiting in waits:
                waiting.cancel()
            await asyncio.gather(*waits, return_exceptions=True)

    async def flush_batches(self) -> float:
        """Owe the batches due now; return the seconds until the next is due (LOOK_EVERY at
        most)."""
        if self.batches is None:
            return LOOK_EVERY
        wait = await self.batches.flush_due(self.clock())
        return LOOK_EVERY if wait is None else min(LOOK_EVERY, wait)

    async def start_workers(self, scan: bool = True) -> None:
        """Start a worker for each chat owed something that has none running."""
        owed = {key: False for key in self.store.outbox.collect()}
        if scan:
            owed.update({key: True for key in await self.store.outbox.chats()})
        for key, from_db in owed.items():
            if key not in self.workers and (key[0] in self.transports or self.tasks):
                if key[0] in self.paused and not self.probe(*key):
                    continue
                self.workers[key] = asyncio.create_task(self.work(*key, from_db))

    def probe(self, channel: str, chat_id: str) -> bool:
        """Return whether this chat of a paused channel may try now (one chat per probe)."""
        if time.monotonic() < self.paused[channel]:
            return False
        self.paused[channel] = time.monotonic() + QUOTA_PROBE
        self.probes[channel] = chat_id
        return True

    def held(self, channel: str, chat_id: str) -> bool:
        """Return whether a chat must not send now: its channel is paused and it is no probe."""
        return channel in self.paused and self.probes.get(channel) != chat_id

    async def load_pauses(self) -> None:
        """Resume the pauses a previous process recorded: each channel probes once at start."""
        for channel in self.transports:
            if await self.store.state.get(channel, PAUSED) is not None:
                self.paused[channel] = 0.0

    async def drain(self) -> None:
        """Deliver everything owed now, including what that produces (tests, one-shot runs)."""
        if not self.paused:
            await self.load_pauses()
        while True:
            await self.flush_batches()
            await self.start_workers()
            if not self.workers:
                await self.store.outbox.flush()
                return
            await asyncio.gather(*self.workers.values(), return_exceptions=True)

    async def work(self, channel: str, chat_id: str, from_db: bool = False) -> None:
        """Send one chat's rows in order until none is left."""
        try:
            while True:
                rows: list[OwedRow] = []
                if from_db:  # rows left by a killed process are older than any in memory
                    rows = await self.store.outbox.rows(channel, chat_id, PAGE)
                    from_db = len(rows) == PAGE  # more left there: memory waits its turn
                if not from_db:
                    rows += self.store.outbox.take(channel, chat_id)
                rows = sorted({row.id: row for row in rows if row.id not in self.handled}
                              .values(), key=lambda row: row.id)
                if not rows:
                    return
                for row in rows:
                    self.handled.add(row.id)
                    try:
                        outcome = await self.deliver(row)
                    except BaseException:
                        self.handled.discard(row.id)  # still owed: the next look retries it
                        raise
                    if outcome == "paused":  # still owed; the database keeps the rest
                        self.handled.discard(row.id)
                        return
                    if outcome == "unreachable":
                        self.store.outbox.forget(channel, chat_id)
                        return
        except Exception as error:  # logged; the next look starts the chat again
            log.error("outbox: chat %s: %s: %s", chat_id, type(error).__name__, error)
            await asyncio.sleep(1)
        finally:
            self.workers.pop((channel, chat_id), None)

    async def deliver(self, row: OwedRow) -> str:
        """Deliver one row; return "done", "unreachable" (the chat) or "paused" (the channel)."""
        if row.message.extra.get(TASK):
            await self.run_task(row)
            return "done"
        transport = self.transports.get(row.channel)
        if transport is None:
            log.error("outbox: row %d is for channel %r, which is not running", row.id,
                      row.channel)
            await self.store.outbox.done(row.id, self.clock(), failed=True)
            return "done"
        message = row.message
        if self.prepare is not None and message.extra.get(PREPARE):
            message = await self.prepare(message)
        parts = transport.parts(message)
        sent, attempts = row.parts_sent, row.attempts
        at_most_once = row.message.extra.get(ONCE) == "most"
        while sent < len(parts):
            claim = None  # recorded after the pace, right before the request
            if at_most_once and sent == row.parts_sent:
                claim = partial(self.store.outbox.done, row.id, self.clock())
            elif parts[sent].document is not None and not at_most_once:
                claim = partial(self.store.outbox.progress, row.id, sent + 1, attempts)
            outcome = await self.send_part(transport, row, parts[sent], attempts, claim)
            if outcome == "unreachable":
                return outcome
            if outcome == "paused":  # nothing was delivered: what was claimed is owed again
                if claim is not None and at_most_once:
                    await self.store.outbox.reopen(row.id)
                elif claim is not None:
                    await self.store.outbox.progress(row.id, sent, attempts)
                return outcome
            if outcome == "refused":
                await self.store.outbox.done(row.id, self.clock(), failed=True)
                return "done"
            if outcome == "retry":
                attempts += 1
                if attempts >= MAX_ATTEMPTS:
                    log.error("outbox: row %d to %s failed %d times; giving up", row.id,
                              row.chat_id, attempts)
                    await self.store.outbox.done(row.id, self.clock(), failed=True)
                    return "done"
                continue
            sent += 1
            if sent < len(parts):
                await self.store.outbox.progress(row.id, sent, attempts)
        if not at_most_once:
            self.store.outbox.sent(row.id, self.clock())
        return "done"

    async def send_part(self, transport: Transport, row: OwedRow, part: Outgoing,
                        attempts: int,
                        claim: Callable[[], Awaitable[None]] | None = None) -> str:
        """Send one part within the pace: "sent", "retry", "refused", "unreachable" or "paused".

        `claim`, if given, records the part as sent right before its request (at most once):
        a kill then loses it rather than sending it twice.
        """
        if not getattr(transport, "local", False):  # the web page's feed is not paced
            await self.pace(transport.name, row.chat_id)
        if self.held(transport.name, row.chat_id):  # paused while this chat waited its turn
            return "paused"
        if claim is not None:
            if part.document is not None:  # an operator can tell a document lost at a kill
                log.info("outbox: row %d: document %s to chat %s claimed (at most once)",
                         row.id, part.document.name, row.chat_id)
            await claim()
        try:
            await transport.send(part)
        except RetryLater as error:
            wait = error.seconds if error.seconds > 0 else min(2.0 ** attempts, BACKOFF_CAP)
            log.warning("outbox: chat %s waits %.1f s (%s)", row.chat_id, wait, error)
            await asyncio.sleep(wait)
            return "retry"
        except DeliveryUncertain as error:
            if part.document is not None or row.message.extra.get(ONCE) == "most":
                # at most once (a document, a reminder, a digest): may have arrived, never twice
                log.warning("outbox: row %d to %s timed out (%s); counted as sent", row.id,
                            row.chat_id, error)
                return "sent"
            log.warning("outbox: message to %s timed out (%s); sending it again", row.chat_id,
                        error)
            return "retry"
        except MessageRefused as error:
            log.error("outbox: row %d to %s refused: %s", row.id, row.chat_id, error)
            return "refused"
        except OutsideWindow as error:
            await self.store.outbox.outside_window(row.channel, row.chat_id, self.clock())
            log.warning("outbox: chat %s is outside the reply window (%s)", row.chat_id, error)
            return "unreachable"
        except QuotaExhausted as error:
            await self.pause(transport.name, str(error),
                             tell=not isinstance(error, ChannelDown))
            return "paused"
        except ContactUnreachable:
            contact = await self.store.outbox.unreachable(row.channel, row.chat_id,
                                                          self.clock(), self.notices)
            log.warning("outbox: chat %s cannot be reached%s", row.chat_id,
                        "" if contact is None else f" (unit {contact.unit_code})")
            return "unreachable"
        if claim is not None and part.document is not None:
            log.info("outbox: row %d: document %s to chat %s sent", row.id, part.document.name,
                     row.chat_id)
        if self.paused.pop(transport.name, None) is not None:
            self.probes.pop(transport.name, None)
            log.warning("outbox: channel %s sends again", transport.name)
            await self.store.state.put(transport.name, PAUSED, None, self.clock())
        return "sent"

    async def pause(self, channel: str, reason: str, tell: bool = True) -> None:
        """Stop sending on a channel whose quota is spent; owe the coordinators one notice
        (unless `tell` is False: the channel told them why itself)."""
        first = channel not in self.paused  # else another chat or a probe met it already
        self.paused[channel] = time.monotonic() + QUOTA_PROBE
        self.probes.pop(channel, None)
        if not first or await self.store.state.get(channel, PAUSED) is not None:
            return  # told already
        now = self.clock()
        log.error("outbox: channel %s paused (%s); probing every %.0f min", channel, reason,
                  QUOTA_PROBE / 60)
        notices = self.quota_notices(channel) if self.quota_notices and tell else []
        await self.store.outbox.owe(f"quota:{channel}:{now.isoformat()}", notices, now,
                                    also=partial(state_put, channel=channel, key=PAUSED,
                                                 value=now.isoformat(), now=now))

    async def pace(self, channel: str, chat_id: str) -> None:
        """Wait until a message may go to this chat: its own pace, then the channel's."""
        key = (channel, chat_id)
        wait = self.last_sent.get(key, 0.0) + 1 / self.per_chat - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        limiter = self.overall.get(channel)
        if limiter is None:
            limiter = self.overall[channel] = AsyncLimiter(1, 1 / self.rate)
        await limiter.acquire()
        self.last_sent[key] = time.monotonic()

    async def run_task(self, row: OwedRow) -> None:
        """Run a task row and put what it owes in its place."""
        if self.tasks is None:
            return
        try:
            produced = await self.tasks.run(row)
        except sqlite3.OperationalError as error:  # locked, busy: not the task's fault
            log.warning("outbox: task %d (%s) stays owed: %s", row.id,
                        row.message.extra.get(TASK), error)
            raise  # the chat's worker stops; its next look runs the task again
        except Exception as error:
            log.error("outbox: task %d (%s) failed: %s: %s", row.id, row.message.extra.get(TASK),
                      type(error).__name__, error, exc_info=error)
            await self.store.outbox.done(row.id, self.clock(), failed=True)
            return
        await self.store.outbox.task_done(row, produced, self.clock())
