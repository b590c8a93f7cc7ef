"""Follow-ups: work owed as task rows, done by the outbox sender in the chat's turn.

A task is written with the change that owes it (a submit, a command) and run later, so slow
work (a compile) never holds up the reply that confirms the change, and a kill at any moment
neither loses it nor does it twice: what a task owes replaces it in one transaction, and a
contact's question it asks is a conversation step keyed by the task's row.

- ``after_submit`` (in the contact's chat): the unit's own report to that contact.
- ``round_complete`` (in the chat of the contact whose submit completed the round, decided in
  that submit's transaction): the compile to every coordinator, on their own channels.
- ``submitted`` (in the chat of the contact who submitted, or edited a reported sheet, written in
  that step's transaction): records the coordinators' notice (unit, time, what changed), told
  with the others pending in one message when the first of them is due (bot/notices.py).
- ``compile`` (in the coordinator's chat): /compile; with ``final``, the kept compile of /close.
- ``export`` (in the coordinator's chat): /export.
- ``open`` (in a contact's chat): the contact's current question (after /return).
- ``open_round`` (in the coordinator's chat): the first question to every contact already bound
  to a unit of a new round.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from itertools import groupby

from bot.channels.base import Capabilities, Incoming, Outgoing
from bot.coordinator import Coordinator
from bot.model import Campaign, Contact
from bot.notices import WINDOW, Notices, notice_of
from bot.store.outbox import TASK, OwedRow

log = logging.getLogger(__name__)


class FollowUps:
    """Runs the task rows of one store (the outbox sender's `TaskRunner`)."""

    def __init__(self, coordinator: Coordinator, coordinators: Sequence[tuple[str, str]],
                 caps_of: Callable[[str], Capabilities], notice_window: float = WINDOW) -> None:
        self.coordinator = coordinator
        self.store = coordinator.store
        self.engine = coordinator.engine
        self.coordinators = list(coordinators)  # (channel, chat id)
        self.caps_of = caps_of
        self.notices = Notices(self.store, self.coordinators, caps_of, notice_window)
        coordinator.followups = self

    async def run(self, row: OwedRow) -> Sequence[Outgoing]:
        """Run one task row; return what it owes."""
        return await self.perform(row.message.extra, row.channel, row.chat_id, _key(row))

    async def perform(self, params: Mapping[str, str], channel: str, chat: str,
                      key: str | None) -> list[Outgoing]:
        """Do one task for a chat; `key` makes the conversation steps it runs exactly once."""
        campaign = await self.store.campaign(int(params["campaign"]))
        if campaign is None:
            return []
        kind, caps = params[TASK], self.caps_of(channel)
        deliveries = self.coordinator.deliveries
        if kind == "after_submit":
            return await deliveries.unit_report(campaign, params["unit"], chat, channel, caps)
        if kind == "submitted":
            if key is None:  # no outbox (the terminal): told at once
                return self.notices.messages(campaign, [notice_of(params)])
            await self.notices.record(params, key)
            return []
        if kind == "round_complete":
            return await self.round_complete(campaign)
        if kind == "compile":
            await self.tell_pending(campaign)  # the submits before the report, as at the end
            folder = self.coordinator.data_dir / "outputs" / f"dot-{campaign.id}" / "final" \
                if params.get("final") else None
            return await deliveries.compile(campaign, [chat], channel, caps, folder)
        if kind == "export":
            return await deliveries.export(campaign, chat, channel, caps)
        if kind == "open":
            return await self.open(Contact(0, channel, chat, None, None), campaign, key)
        if kind == "open_round":
            replies: list[Outgoing] = []
            for contact in await self.store.bound_contacts(campaign.id):
                replies += await self.open(contact, campaign,
                                           None if key is None else f"{key}:{contact.id}")
            return replies
        raise ValueError(f"unknown task {kind!r}")

    async def round_complete(self, campaign: Campaign) -> list[Outgoing]:
        """The compile to every coordinator, each on their own channel (every unit reported),
        after the notices still pending: the submits are read before the report."""
        await self.tell_pending(campaign)
        replies: list[Outgoing] = []
        for name, group in groupby(sorted(self.coordinators), key=lambda c: c[0]):
            replies += await self.coordinator.deliveries.compile(
                campaign, [chat_id for _, chat_id in group], name, self.caps_of(name))
        return replies

    async def tell_pending(self, campaign: Campaign) -> None:
        """Tell the coordinators every notice still pending, before a compile of the round."""
        try:
            # A submit's notice task may still wait in its own chat (behind that unit's .docx):
            # recorded now, under the key its task records it with, so it is told here, once.
            for row in await self.store.outbox.waiting_tasks("submitted", campaign.id):
                await self.notices.record(row.message.extra, _key(row))
            await self.notices.flush(self.engine.clock())
        except sqlite3.Error as error:  # they stay pending; the sender tells them when due
            log.warning("notices not told before the compile of round %d: %s", campaign.id,
                        error)

    async def open(self, contact: Contact, campaign: Campaign, key: str | None) -> list[Outgoing]:
        """Ask a contact where they are in a round (a durable engine owes it itself)."""
        opened = Incoming(contact.channel, contact.chat_id, user_id=contact.user_id,
                          message_id=key)
        replies = await self.engine.handle(opened, self.caps_of(contact.channel), campaign.id)
        return [] if self.engine.durable else replies


def _key(row: OwedRow) -> str:
    """The key of a task row's effects: what it records or asks is done once per row."""
    return f"task{row.id}"
