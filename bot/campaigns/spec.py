"""The checked campaign as the rest of the bot sees it: agency, reminder policy and campaign spec.

Plain frozen values with a JSON-able form (``to_dict`` / ``from_dict``) for the store; they are
built from the files people write by bot/campaigns/campaign.py.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bot.campaigns.units import Unit
from bot.questionnaire import Questionnaire

__all__ = ["AUTHORITIES", "Agency", "CampaignSpec", "ReminderPolicy", "Signer", "SummarySection"]

AUTHORITIES = ("KT.", "Q.", "TL.", "TUQ.")  # Decree 30, Phụ lục I, II.7.b; TM. is ``on_behalf``


@dataclass(frozen=True)
class Agency:
    """The agency that asks for the report (shown in the report's heading).

    ``parent`` is the cơ quan chủ quản, "" when there is none (a UBND reports without one).
    """

    parent: str
    name: str
    code: str
    place: str


@dataclass(frozen=True)
class Signer:
    """Who signs the consolidated report (Decree 30, ô 7a/7b), as checked by the loader.

    ``on_behalf`` is the whole collective line ("TM. ỦY BAN NHÂN DÂN") or ""; ``authority`` one
    of AUTHORITIES or ""; ``title`` the head's title ("GIÁM ĐỐC"); ``deputy_title`` the signer's
    own title when not the head signs (KT., TL., TUQ.: "PHÓ GIÁM ĐỐC"), else "".
    """

    title: str
    name: str
    on_behalf: str = ""
    authority: str = ""
    deputy_title: str = ""


@dataclass(frozen=True)
class SummarySection:
    """A part the coordinator writes ("Đánh giá chung"), placed after the part titled ``after``
    (None: at the end of the body)."""

    title: str
    text: str
    after: str | None = None


@dataclass(frozen=True)
class ReminderPolicy:
    """When reminders go out before and after the deadline (bot/reminders.py)."""

    before_days: tuple[int, ...] = (3, 1, 0)
    at: time = time(8, 0)
    after_deadline_every_days: int = 1
    after_deadline_max: int = 5
    working_days_only: bool = True  # also skips Vietnam's public holidays and days_off
    quiet_hours: tuple[time, time] | None = (time(20, 0), time(7, 0))
    days_off: tuple[date, ...] = ()  # the campaign's own days off, sorted, without repeats

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-able form, the inverse of from_dict."""
        data = asdict(self)
        data["before_days"] = list(self.before_days)
        data["at"] = _hhmm(self.at)
        data["quiet_hours"] = None if self.quiet_hours is None else [
            _hhmm(t) for t in self.quiet_hours
        ]
        data["days_off"] = [d.isoformat() for d in self.days_off]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ReminderPolicy:
        """Build from the JSON-able form made by to_dict (rounds stored before days_off too)."""
        quiet = data["quiet_hours"]
        return cls(
            before_days=tuple(data["before_days"]),
            at=time.fromisoformat(data["at"]),
            after_deadline_every_days=data["after_deadline_every_days"],
            after_deadline_max=data["after_deadline_max"],
            working_days_only=data["working_days_only"],
            quiet_hours=None if quiet is None else (
                time.fromisoformat(quiet[0]), time.fromisoformat(quiet[1])),
            days_off=tuple(date.fromisoformat(d) for d in data.get("days_off", ())),
        )


@dataclass(frozen=True)
class CampaignSpec:
    """Everything a campaign file says, checked."""

    title: str
    request: str
    agency: Agency
    deadline: datetime
    period: tuple[date, date] | None
    reminders: ReminderPolicy
    questionnaire: Questionnaire
    units: tuple[Unit, ...]
    template: Path | None
    source: str
    signer: Signer | None = None
    to: tuple[str, ...] = ()  # the bodies after "Kính gửi:", one or several; (): no Kính gửi
    recipients: tuple[str, ...] = ()  # Nơi nhận between "Như trên;" and "Lưu: VT, …."
    drafter: str | None = None  # the drafting office, in "Lưu: VT, <drafter>."
    bases: tuple[str, ...] = ()  # the documents the consolidated report answers, in order
    summary_sections: tuple[SummarySection, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-able form, the inverse of from_dict."""
        return {
            "title": self.title,
            "request": self.request,
            "agency": asdict(self.agency),
            "deadline": self.deadline.isoformat(),
            "timezone": getattr(self.deadline.tzinfo, "key", None),
            "period": None if self.period is None else [d.isoformat() for d in self.period],
            "reminders": self.reminders.to_dict(),
            "questionnaire": self.questionnaire.to_dict(),
            "units": [asdict(u) for u in self.units],
            "template": None if self.template is None else str(self.template),
            "source": self.source,
            "signer": None if self.signer is None else asdict(self.signer),
            "to": list(self.to),
            "recipients": list(self.recipients),
            "drafter": self.drafter,
            "bases": list(self.bases),
            "summary_sections": [asdict(s) for s in self.summary_sections],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CampaignSpec:
        """Build from the JSON-able form made by to_dict (also rounds stored before the keys of
        the signer, recipients and bases: their defaults, the Kính gửi the agency's parent)."""
        deadline = datetime.fromisoformat(data["deadline"])
        if data.get("timezone"):
            deadline = deadline.astimezone(ZoneInfo(data["timezone"]))
        period = data["period"]
        agency = Agency(**data["agency"])
        signer = data.get("signer")
        return cls(
            title=data["title"],
            request=data["request"],
            agency=agency,
            deadline=deadline,
            period=None if period is None else (
                date.fromisoformat(period[0]), date.fromisoformat(period[1])),
            reminders=ReminderPolicy.from_dict(data["reminders"]),
            questionnaire=Questionnaire.from_dict(data["questionnaire"]),
            units=tuple(Unit(**u) for u in data["units"]),
            template=None if data["template"] is None else Path(data["template"]),
            source=data["source"],
            signer=None if signer is None else Signer(**signer),
            to=tuple(data["to"]) if "to" in data else (
                (agency.parent,) if agency.parent else ()),
            recipients=tuple(data.get("recipients", ())),
            drafter=data.get("drafter"),
            bases=tuple(data.get("bases", ())),
            summary_sections=tuple(SummarySection(**s) for s in data.get("summary_sections", ())),
        )


def _hhmm(moment: time) -> str:
    """Return a time as "HH:MM"."""
    return moment.isoformat(timespec="minutes")
