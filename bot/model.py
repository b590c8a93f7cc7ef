"""Plain values shared by the store and the engine."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from bot.campaigns.spec import CampaignSpec

UnitStatus = Literal["not_started", "in_progress", "submitted", "edited", "returned"]
Mode = Literal["asking", "review", "edit_pick", "editing", "submitted"]
REPORTED: frozenset[str] = frozenset({"submitted", "edited"})


@dataclass(frozen=True)
class Contact:
    """A chat bound (or not yet) to a unit."""

    id: int
    channel: str
    chat_id: str
    user_id: str | None
    unit_code: str | None
    reachable: bool = True
    name: str | None = None  # the person's name on the platform, when it gave one at bind


@dataclass(frozen=True)
class Campaign:
    """A round as stored."""

    id: int
    spec: CampaignSpec
    status: Literal["open", "closed"]
    created_at: datetime


@dataclass(frozen=True)
class Session:
    """Where a contact is in one round's questionnaire."""

    mode: Mode = "asking"
    cursor: str | None = None
    return_mode: Mode | None = None
    return_to: str | None = None
    draft: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ContactState:
    """Everything the engine needs to decide one step, read in one transaction."""

    contact: Contact
    campaign: Campaign | None
    unit_name: str | None
    unit_status: UnitStatus | None
    answers: dict[str, Any]
    session: Session | None
    duplicate: bool = False


@dataclass
class Changes:
    """What one step writes, applied atomically by the store."""

    answers: dict[str, tuple[Any, str | None]] = field(default_factory=dict)
    session: Session | None = None
    unit_status: UnitStatus | None = None

    def is_empty(self) -> bool:
        """Return whether nothing is to be written."""
        return not self.answers and self.session is None and self.unit_status is None


@dataclass(frozen=True)
class UnitProgress:
    """One unit's line in a status table."""

    code: str
    name: str
    status: UnitStatus
    answered: int
    total: int
    contacts: int
    submitted_at: datetime | None


@dataclass(frozen=True)
class Sheet:
    """One unit's answers in a round."""

    code: str
    name: str
    group: str | None
    status: UnitStatus
    answers: dict[str, Any]
    submitted_at: datetime | None


@dataclass(frozen=True)
class Invite:
    """A unit's invite token, shown once when a round is created."""

    code: str
    name: str
    token: str


@dataclass(frozen=True)
class Quota:
    """Messages a channel sent this month: against its plan (Zalo Bot: 3,000 a month), or
    free and charged (the Zalo OA)."""

    channel: str
    month: str  # "2026-12"
    sent: int  # on the Zalo OA: the free ones (within 48 h of the person's message)
    limit: int  # 0: no monthly limit
    charged: int | None = None  # the Zalo OA: sent between 48 h and 7 days, charged
