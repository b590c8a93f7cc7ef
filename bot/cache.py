"""An in-memory copy of what conversation steps read, so most steps decide without a read.

The database stays the truth. The store fills this cache from what it reads and from what it
writes; entries are replaced, never changed in place. A step may decide from a `Snapshot` on
the event loop's thread, but its write is applied only if, inside the write transaction, every
entry it read is still the current one and no other connection has committed since
(`PRAGMA data_version`); otherwise the step is read and decided again from the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.model import Campaign, Changes, Contact, ContactState, Session, UnitStatus

NO_SESSION = Session(mode="asking", cursor="\x00no session")  # cached "no row" marker


@dataclass(frozen=True)
class SheetEntry:
    """One unit's sheet in one round: its name, status and answers."""

    unit_name: str
    status: UnitStatus
    answers: dict[str, Any]


@dataclass(frozen=True)
class Snapshot:
    """The cached entries one step decided from."""

    state: ContactState
    contact: Contact
    campaign: Campaign
    sheet: SheetEntry
    session: Session


class StateCache:
    """Contacts, rounds, sheets and sessions last read or written by this process."""

    def __init__(self) -> None:
        self.data_version = -1
        self.contacts: dict[tuple[str, str], Contact] = {}
        self.campaigns: dict[int, Campaign] = {}
        self.current: dict[str, int] = {}
        self.sheets: dict[tuple[int, str], SheetEntry] = {}
        self.sessions: dict[tuple[int, int], Session] = {}

    def clear(self) -> None:
        """Forget everything (another process wrote, or a step failed)."""
        self.contacts.clear()
        self.campaigns.clear()
        self.current.clear()
        self.sheets.clear()
        self.sessions.clear()

    def snapshot(self, channel: str, chat_id: str, campaign_id: int | None) -> Snapshot | None:
        """Return a bound contact's cached state, or None when any piece is missing."""
        contact = self.contacts.get((channel, chat_id))
        if contact is None or contact.unit_code is None:
            return None
        if campaign_id is None:
            campaign_id = self.current.get(contact.unit_code)
        campaign = None if campaign_id is None else self.campaigns.get(campaign_id)
        sheet = None if campaign is None else self.sheets.get((campaign.id, contact.unit_code))
        session = None if campaign is None else self.sessions.get((contact.id, campaign.id))
        if campaign is None or sheet is None or session is None:
            return None
        state = ContactState(contact, campaign, sheet.unit_name, sheet.status, sheet.answers,
                             None if session is NO_SESSION else session)
        return Snapshot(state, contact, campaign, sheet, session)

    def is_current(self, snap: Snapshot) -> bool:
        """Return whether every entry a snapshot used is still the cached one."""
        unit = snap.contact.unit_code
        return (
            self.contacts.get((snap.contact.channel, snap.contact.chat_id)) is snap.contact
            and self.campaigns.get(snap.campaign.id) is snap.campaign
            and self.sheets.get((snap.campaign.id, str(unit))) is snap.sheet
            and self.sessions.get((snap.contact.id, snap.campaign.id)) is snap.session
        )

    def keep(self, state: ContactState) -> None:
        """Cache what a step read from the database."""
        contact, campaign = state.contact, state.campaign
        if campaign is None or contact.unit_code is None or state.unit_status is None:
            return
        self.campaigns[campaign.id] = campaign
        self.sheets[(campaign.id, contact.unit_code)] = SheetEntry(
            state.unit_name or "", state.unit_status, state.answers
        )
        self.sessions[(contact.id, campaign.id)] = state.session or NO_SESSION

    def apply(self, state: ContactState, changes: Changes) -> None:
        """Update the cache with what a step wrote (after the write succeeded)."""
        campaign, unit = state.campaign, state.contact.unit_code
        if campaign is None or unit is None:
            return
        sheet = self.sheets.get((campaign.id, unit))
        if sheet is not None and (changes.answers or changes.unit_status):
            written = {qid: value for qid, (value, _raw) in changes.answers.items()}
            self.sheets[(campaign.id, unit)] = SheetEntry(
                sheet.unit_name, changes.unit_status or sheet.status, {**sheet.answers, **written}
            )
        if changes.session is not None:
            self.sessions[(state.contact.id, campaign.id)] = changes.session
