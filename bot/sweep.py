"""The reminder sweep: every minute (and at start-up) send what `bot.reminders` says is due.

Each reminder and digest is logged before it is sent (unique per campaign, unit, contact and
slot), so overlapping sweeps and restarts never send one twice. Free of any platform: the
channel passes its capabilities, a `send` coroutine and the coordinators' chats.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime, tzinfo

from bot.channels.base import Capabilities, Outgoing
from bot.coordinator import unit_table
from bot.model import REPORTED, Campaign, UnitProgress
from bot.reminders import contact_text, digest_due, digest_text, plan
from bot.store import Store

log = logging.getLogger(__name__)
Send = Callable[[Outgoing], Awaitable[None]]


class Sweeper:
    """Sends due reminders and digests for every open round."""

    def __init__(self, store: Store, tz: tzinfo, caps: Capabilities, send: Send,
                 coordinators: list[str], channel: str) -> None:
        self.store = store
        self.tz = tz
        self.caps = caps
        self.send = send
        self.coordinators = coordinators
        self.channel = channel

    async def sweep(self, now: datetime) -> int:
        """Send everything due now; return how many contact reminders went out."""
        sent = 0
        for campaign in await self.store.open_campaigns():
            sent += await self.remind_due(campaign, now)
            await self.digest(campaign, now)
        return sent

    async def remind_due(self, campaign: Campaign, now: datetime) -> int:
        """Send the due reminders of one round."""
        rows = await self.progress(campaign)
        contacts = await self.contacts(campaign)
        spec = campaign.spec
        due = plan(now, campaign.id, spec.deadline, spec.reminders, self.tz,
                   {r.code: r.status for r in rows}, contacts,
                   await self.store.reminders_sent(campaign.id), since=campaign.created_at)
        by_code = {r.code: r for r in rows}
        claimed: list[bool] = []
        for reminder in due:
            key = (campaign.id, reminder.unit_code, reminder.contact_id, reminder.slot.key)

            async def claim(key: tuple[int, str, int, str] = key) -> bool:
                claimed.append(await self.store.claim_reminder(*key, now))
                return claimed[-1]

            message = self.message(campaign, by_code[reminder.unit_code], reminder.chat_id, now)
            await self.send(replace(message, gate=claim))
        return sum(claimed)

    async def remind_now(self, campaign: Campaign, now: datetime) -> int:
        """Remind every contact of every late unit now (/remind); return how many."""
        count = 0
        rows = {r.code: r for r in await self.progress(campaign)}
        for code, contacts in (await self.contacts(campaign)).items():
            row = rows.get(code)
            if row is None or row.status in REPORTED:
                continue
            for _contact_id, _channel, chat_id in contacts:
                await self.send(self.message(campaign, row, chat_id, now))
                count += 1
        return count

    def message(self, campaign: Campaign, row: UnitProgress, chat_id: str,
                now: datetime) -> Outgoing:
        """Return the reminder text for one contact."""
        text = contact_text(self.caps.format, now, campaign.spec.deadline, self.tz,
                            title=campaign.spec.title, unit=row.name, status=row.status,
                            answered=row.answered, total=row.total)
        return Outgoing(chat_id, text, channel=self.channel)

    async def digest(self, campaign: Campaign, now: datetime) -> None:
        """Send the coordinators' digest when its slot is due."""
        spec = campaign.spec
        for chat in self.coordinators:
            slot = digest_due(now, spec.deadline, spec.reminders, self.tz,
                              await self.store.digests_sent(campaign.id, chat),
                              since=campaign.created_at)
            if slot is None or not await self.store.claim_digest(campaign.id, chat, slot.key,
                                                                 now):
                continue
            text = digest_text(self.caps.format, now, spec.deadline, self.tz,
                               campaign_id=campaign.id, title=spec.title,
                               rows=await self.progress(campaign),
                               unreachable=await self.store.unreachable_contacts(campaign.id),
                               limit=self.caps.max_length)
            await self.send(Outgoing(chat, text, channel=self.channel))

    async def progress(self, campaign: Campaign) -> list[UnitProgress]:
        """Return every unit's progress in a round."""
        return await unit_table(self.store, campaign)

    async def contacts(self, campaign: Campaign) -> dict[str, list[tuple[int, str, str]]]:
        """Return the reachable contacts of each unit of a round."""
        found: dict[str, list[tuple[int, str, str]]] = {}
        for contact in await self.store.bound_contacts(campaign.id):
            if contact.unit_code is not None and contact.channel == self.channel:
                found.setdefault(contact.unit_code, []).append(
                    (contact.id, contact.channel, contact.chat_id))
        return found
