"""The reminder sweep: every minute (and at start-up) owe what `bot.reminders` says is due.

Each reminder and digest is logged and written to the outbox in one transaction (unique per
campaign, unit, contact and slot), so overlapping sweeps and restarts never owe one twice; the
outbox sender delivers them within the platform's pace. Free of any platform: the channel passes
its capabilities and the coordinators' chats.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, tzinfo

from bot.channels.base import Capabilities, Outgoing
from bot.coordinator import unit_table
from bot.model import REPORTED, Campaign, UnitProgress
from bot.reminders import contact_text, digest_due, digest_text, plan
from bot.store import Store
from bot.store.outbox import at_most_once

log = logging.getLogger(__name__)
# (channel, chat id, now) -> "open" (no window), "free", "charged" or "closed"
Window = Callable[[str, str, datetime], Awaitable[str]]


class Sweeper:
    """Sends due reminders and digests for every open round."""

    def __init__(self, store: Store, tz: tzinfo, caps_of: Callable[[str], Capabilities],
                 coordinators: list[tuple[str, str]], window: Window | None = None) -> None:
        self.store = store
        self.tz = tz
        self.caps_of = caps_of  # each message is rendered for the recipient's channel
        self.coordinators = coordinators  # (channel, chat id)
        self.window = window  # the reply window of a chat (the Zalo OA has one)

    async def sweep(self, now: datetime) -> int:
        """Owe everything due now; return how many contact reminders were owed."""
        sent = 0
        for campaign in await self.store.open_campaigns():
            sent += await self.remind_due(campaign, now)
            await self.digest(campaign, now)
        return sent

    async def remind_due(self, campaign: Campaign, now: datetime) -> int:
        """Owe the due reminders of one round."""
        rows = await self.progress(campaign)
        contacts = await self.contacts(campaign, now)
        spec = campaign.spec
        due = plan(now, campaign.id, spec.deadline, spec.reminders, self.tz,
                   {r.code: r.status for r in rows}, contacts,
                   await self.store.reminders_sent(campaign.id), since=campaign.created_at)
        by_code = {r.code: r for r in rows}
        channels = {contact_id: channel for found in contacts.values()
                    for contact_id, channel, _chat in found}
        owed = [((campaign.id, r.unit_code, r.contact_id, r.slot.key),
                 self.message(campaign, by_code[r.unit_code], channels[r.contact_id], r.chat_id,
                              now)) for r in due]
        return await self.store.outbox.reminders(owed, now) if owed else 0

    async def remind_now(self, campaign: Campaign, now: datetime) -> list[Outgoing]:
        """Return a reminder for every contact of every late unit (/remind owes them)."""
        return [message for _code, _contact_id, message in await self.due_now(campaign, now)]

    async def due_now(self, campaign: Campaign, now: datetime
                      ) -> list[tuple[str, int, Outgoing]]:
        """Return (unit code, contact id, reminder) for every contact of every late unit."""
        reminders = []
        rows = {r.code: r for r in await self.progress(campaign)}
        for code, contacts in (await self.contacts(campaign, now)).items():
            row = rows.get(code)
            if row is None or row.status in REPORTED:
                continue
            reminders += [(code, contact_id, self.message(campaign, row, channel, chat_id, now))
                          for contact_id, channel, chat_id in contacts]
        return reminders

    def message(self, campaign: Campaign, row: UnitProgress, channel: str, chat_id: str,
                now: datetime) -> Outgoing:
        """Return the reminder for one contact, rendered for the contact's channel."""
        text = contact_text(self.caps_of(channel).format, now, campaign.spec.deadline, self.tz,
                            title=campaign.spec.title, unit=row.name, status=row.status,
                            answered=row.answered, total=row.total)
        return at_most_once(Outgoing(chat_id, text, channel=channel))

    async def digest(self, campaign: Campaign, now: datetime) -> None:
        """Owe the coordinators' digest when its slot is due."""
        spec = campaign.spec
        for channel, chat in self.coordinators:
            caps = self.caps_of(channel)
            slot = digest_due(now, spec.deadline, spec.reminders, self.tz,
                              await self.store.digests_sent(campaign.id, chat),
                              since=campaign.created_at)
            if slot is None:
                continue
            text = digest_text(caps.format, now, spec.deadline, self.tz,
                               campaign_id=campaign.id, title=spec.title,
                               rows=await self.progress(campaign),
                               unreachable=await self.store.unreachable_contacts(campaign.id),
                               outside_window=await self.store.unreachable_contacts(
                                   campaign.id, "window"),
                               limit=caps.max_length)
            message = at_most_once(Outgoing(chat, text, channel=channel))
            await self.store.outbox.digest(campaign.id, chat, slot.key, message, now)

    async def progress(self, campaign: Campaign) -> list[UnitProgress]:
        """Return every unit's progress in a round."""
        return await unit_table(self.store, campaign)

    async def contacts(self, campaign: Campaign, now: datetime
                       ) -> dict[str, list[tuple[int, str, str]]]:
        """Return the reachable contacts of each unit of a round.

        A contact whose reply window is closed (the Zalo OA may not write to someone silent
        for 7 days) is not tried: it is marked so, and the digest names it.
        """
        found: dict[str, list[tuple[int, str, str]]] = {}
        for contact in await self.store.bound_contacts(campaign.id):
            if contact.unit_code is None:
                continue
            if self.window is not None and await self.window(
                    contact.channel, contact.chat_id, now) == "closed":
                await self.store.outbox.outside_window(contact.channel, contact.chat_id, now)
                continue
            found.setdefault(contact.unit_code, []).append(
                (contact.id, contact.channel, contact.chat_id))
        return found
