"""When the bot reminds late units and the coordinators, decided from a clock it is given.

Pure: no I/O and no clock; ``now`` is passed in, every datetime is timezone-aware and slots are
expressed in the timezone given (REPORTBOT_TZ). The caller keeps what was sent (the slot keys) and
asks again on every tick; a slot is sent at most once per (unit, contact), and once for the digest.

Schedule (``slots``), from the campaign's ReminderPolicy:
- ``before-D`` for D in ``before_days``: the deadline's local date minus D days, at ``at``.
- ``after-N`` for N = 1 .. ``after_deadline_max``: the first day after the deadline's date, then
  every ``after_deadline_every_days`` days, at ``at``.
- Moves, in this order: a slot inside the quiet window goes to the window's end (the next
  morning when the window spans midnight and the slot is in its evening part); then, with
  ``working_days_only``, a slot on Saturday or Sunday goes to the next Monday at the same time of
  day (``at``, or the window's end if the quiet window moved it). Moves only go forward.
- A ``before`` slot that falls at or after the deadline (``at`` later than the deadline's time on
  the day itself, or a weekend deadline moved to Monday) is dropped: a "before" reminder after the
  deadline would be wrong, and the ``after`` slots take over.
- Slots moved onto the same moment keep one: the one nominally scheduled latest (``before-0``
  over ``before-1``, ``after-5`` over ``after-4``). Moves only go forward, so that key is the one a
  slot scheduled naturally at that moment carries; keys stay unique and stable for a given
  deadline and policy.

Due (``due``, ``plan``, ``digest_due``):
- Only the latest slot at or before ``now`` can be due: after downtime the missed slots are not
  sent in a burst, only the latest one, once. It is not due when its key was sent, nor when the
  key of any later slot was sent (never an older slot after a newer one).
- A ``before`` slot expires at the deadline: a missed one is not sent late.
- Nothing is due while ``now`` is inside the quiet window, or on a Saturday or Sunday with
  ``working_days_only``; a missed slot waits for the next allowed moment.
- With ``since`` (e.g. when the round was created), slots before it are never due, so a round
  created two days before its deadline does not start with the "3 days before" reminder.

Texts (``contact_text``, ``digest_text``) render templates/messages/reminders.yaml; the digest is
kept under Telegram's 4096 characters by listing fewer units and counting the rest.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

from bot import texts
from bot.campaign_spec import ReminderPolicy
from bot.model import REPORTED, UnitProgress, UnitStatus

__all__ = [
    "DIGEST_PREFIX",
    "Reminder",
    "Slot",
    "contact_text",
    "digest_due",
    "digest_text",
    "due",
    "plan",
    "slots",
    "timing",
]

DIGEST_PREFIX = "digest-"
TELEGRAM_LIMIT = 4096
TITLE_CHARS = 300  # a longer round title is shortened in reminders


@dataclass(frozen=True, order=True)
class Slot:
    """One moment a reminder goes out."""

    at: datetime  # when it is due (aware, in tz), after weekend and quiet-hour moves
    kind: str  # "before" | "after"
    key: str  # stable id for "at most once": "before-3", "before-0", "after-2", "digest-after-2"


@dataclass(frozen=True)
class Reminder:
    """One reminder to send now: a slot for one contact of a unit that has not reported."""

    campaign_id: int
    unit_code: str
    contact_id: int
    chat_id: str
    channel: str
    slot: Slot


def slots(deadline: datetime, policy: ReminderPolicy, tz: tzinfo) -> list[Slot]:
    """Return the reminder slots of a round, in time order, each at a distinct moment."""
    end = deadline.astimezone(tz)
    day = end.date()
    every = max(1, policy.after_deadline_every_days)
    nominal: list[tuple[str, str, date]] = [
        ("before", f"before-{d}", day - timedelta(days=d))
        for d in sorted(set(policy.before_days), reverse=True)
    ]
    nominal += [
        ("after", f"after-{n}", day + timedelta(days=1 + (n - 1) * every))
        for n in range(1, policy.after_deadline_max + 1)
    ]
    chosen: dict[datetime, Slot] = {}
    for kind, key, when in nominal:
        at = _allowed(datetime.combine(when, policy.at), policy).replace(tzinfo=tz)
        if kind == "before" and at >= end:
            continue
        chosen[at] = Slot(at, kind, key)  # a nominally later slot replaces one moved onto it
    return sorted(chosen.values())


def due(now: datetime, deadline: datetime, policy: ReminderPolicy, tz: tzinfo,
        sent: Collection[str], *, since: datetime | None = None) -> Slot | None:
    """Return the slot to send now given the keys already sent, or None."""
    if not _sendable(now, policy, tz):
        return None
    return _pick(now, deadline, slots(deadline, policy, tz), sent, since)


def plan(now: datetime, campaign_id: int, deadline: datetime, policy: ReminderPolicy,
         tz: tzinfo, units: Mapping[str, UnitStatus],
         contacts: Mapping[str, Sequence[tuple[int, str, str]]],
         sent: Collection[tuple[str, int, str]], *,
         since: datetime | None = None) -> list[Reminder]:
    """Return the reminders to send now: one per reachable contact of each unit not reported.

    ``contacts`` maps a unit code to its reachable contacts as (contact_id, channel, chat_id);
    ``sent`` holds (unit_code, contact_id, slot key) of the reminders already sent.
    """
    if not _sendable(now, policy, tz):
        return []
    schedule = slots(deadline, policy, tz)
    done: dict[tuple[str, int], set[str]] = {}
    for unit_code, contact_id, key in sent:
        done.setdefault((unit_code, contact_id), set()).add(key)
    reminders: list[Reminder] = []
    for code, status in units.items():
        if status in REPORTED:
            continue
        seen: set[int] = set()
        for contact_id, channel, chat_id in contacts.get(code, ()):
            if contact_id in seen:
                continue
            seen.add(contact_id)
            slot = _pick(now, deadline, schedule, done.get((code, contact_id), set()), since)
            if slot is not None:
                reminders.append(Reminder(campaign_id, code, contact_id, chat_id, channel, slot))
    return reminders


def digest_due(now: datetime, deadline: datetime, policy: ReminderPolicy, tz: tzinfo,
               sent_keys: Collection[str], *, since: datetime | None = None) -> Slot | None:
    """Return the coordinators' digest slot due now (keys prefixed "digest-"), or None."""
    if not _sendable(now, policy, tz):
        return None
    schedule = [replace(s, key=DIGEST_PREFIX + s.key) for s in slots(deadline, policy, tz)]
    return _pick(now, deadline, schedule, sent_keys, since)


def timing(now: datetime, deadline: datetime, tz: tzinfo) -> tuple[bool, int]:
    """Return whether the deadline has passed and the calendar days to it (or since it)."""
    end, today = deadline.astimezone(tz), now.astimezone(tz).date()
    late = now >= deadline
    return late, abs((end.date() - today).days)


def contact_text(fmt: texts.Format, now: datetime, deadline: datetime, tz: tzinfo, *,
                 title: str, unit: str, status: UnitStatus, answered: int,
                 total: int) -> str:
    """Return the reminder to a contact of a unit that has not reported (reminders.contact)."""
    late, days = timing(now, deadline, tz)
    return texts.render(
        "reminders.contact", fmt, title=_shorten(title), unit=unit,
        deadline=deadline.astimezone(tz), late=late, days=days, status=status,
        answered=answered, total=total)


def digest_text(fmt: texts.Format, now: datetime, deadline: datetime, tz: tzinfo, *,
                campaign_id: int, title: str, rows: Sequence[UnitProgress],
                unreachable: Sequence[tuple[str, str]], limit: int = TELEGRAM_LIMIT) -> str:
    """Return the coordinators' digest (reminders.digest), at most `limit` characters.

    ``rows`` are every unit of the round (``contacts``: contacts bound to it); ``unreachable``
    holds (unit_code, chat_id) of contacts the bot can no longer reach. Lists are shortened
    ("… và N đơn vị khác") until the text fits; only a huge title can still exceed `limit`.
    """
    late, days = timing(now, deadline, tz)
    names = {r.code: r.name for r in rows}
    waiting = [r for r in rows if r.status not in REPORTED]
    context: dict[str, Any] = {
        "campaign_id": campaign_id,
        "title": _shorten(title),
        "deadline": deadline.astimezone(tz),
        "late": late,
        "days": days,
        "reported": len(rows) - len(waiting),
        "total": len(rows),
        "pending": [
            {"code": r.code, "name": r.name, "status": r.status, "answered": r.answered,
             "total": r.total} for r in waiting if r.contacts > 0
        ],
        "no_contact": [{"code": r.code, "name": r.name} for r in waiting if r.contacts == 0],
        "unreachable": [
            {"code": code, "name": names.get(code, code), "chat_id": chat_id}
            for code, chat_id in unreachable
        ],
    }

    def render(shown: int) -> str:
        return texts.render("reminders.digest", fmt, shown=shown, **context)

    most = max(len(context[k]) for k in ("pending", "no_contact", "unreachable"))
    text = render(most)
    if len(text) <= limit:
        return text
    low, high = 0, most - 1  # the largest count that fits is in [low, high], or none fits
    best = render(0)
    while low <= high:
        middle = (low + high) // 2
        attempt = render(middle)
        if len(attempt) <= limit:
            best, low = attempt, middle + 1
        else:
            high = middle - 1
    return best


def _pick(now: datetime, deadline: datetime, schedule: Sequence[Slot], sent: Collection[str],
          since: datetime | None) -> Slot | None:
    """Return the latest slot at or before now if it may be sent, else None."""
    index = next((i for i in range(len(schedule) - 1, -1, -1) if schedule[i].at <= now), None)
    if index is None:
        return None
    slot = schedule[index]
    if since is not None and slot.at < since:
        return None
    if slot.kind == "before" and now >= deadline:
        return None
    if any(s.key in sent for s in schedule[index:]):
        return None
    return slot


def _allowed(local: datetime, policy: ReminderPolicy) -> datetime:
    """Return a naive local time moved out of the quiet window, then off the weekend."""
    if policy.quiet_hours is not None and _quiet(local.time(), policy.quiet_hours):
        start, end = policy.quiet_hours
        day = local.date() + timedelta(days=1 if start > end and local.time() >= start else 0)
        local = datetime.combine(day, end)
    if policy.working_days_only and local.weekday() >= 5:
        local += timedelta(days=7 - local.weekday())
    return local


def _quiet(moment: time, window: tuple[time, time]) -> bool:
    """Return whether a time of day is inside the quiet window [start, end)."""
    start, end = window
    if start < end:
        return start <= moment < end
    return moment >= start or moment < end


def _sendable(now: datetime, policy: ReminderPolicy, tz: tzinfo) -> bool:
    """Return whether a reminder may go out at this moment."""
    local = now.astimezone(tz)
    if policy.working_days_only and local.weekday() >= 5:
        return False
    return policy.quiet_hours is None or not _quiet(local.time(), policy.quiet_hours)


def _shorten(text: str, size: int = TITLE_CHARS) -> str:
    """Return text cut to `size` characters, ending with "…" when cut."""
    return text if len(text) <= size else text[: size - 1].rstrip() + "…"
