"""When the bot reminds late units and the coordinators, decided from a clock it is given.

Pure: no I/O and no clock; ``now`` is passed in, every datetime is timezone-aware and slots are
expressed in the timezone given (REPORTBOT_TZ). The caller keeps what was sent (the slot keys) and
asks again on every tick; a slot is sent at most once per (unit, contact), and once for the digest.

Schedule (``slots``), from the campaign's ReminderPolicy:
- ``before-D`` for D in ``before_days``: the deadline's local date minus D days, at ``at``.
- ``after-N`` for N = 1 .. ``after_deadline_max``: the first day after the deadline's date, then
  every ``after_deadline_every_days`` days, at ``at``.
- Working days count only with ``working_days_only``: Monday to Friday, except Vietnam's public
  holidays (below) and the campaign's own ``days_off``. Without it every day is a day like any
  other, holidays and ``days_off`` included: a campaign that reminds at weekends reminds on
  holidays too, and ``days_off`` refine ``working_days_only``, they do not replace it.
- Moves, in this order. First a slot inside the quiet window goes to the window's end (the next
  morning when the window spans midnight and the slot is in its evening part). Then, with
  ``working_days_only``, a slot on a day off moves by whole days, keeping its time of day (``at``,
  or the window's end if the quiet window moved it), so a move never lands in the quiet window:
  - an ``after`` slot forward, to the next working day;
  - a ``before`` slot back, to the previous working day, so the early warning still comes before
    the deadline: a Tuesday deadline's ``before-3`` (Saturday) goes out on Friday. If it would
    go back before ``since`` (the round did not exist yet) while its own moment is not, it goes
    forward instead; one whose own moment is before ``since`` is never due anyway.
- Before slots keep their order and a moment each. They are placed from the one nearest to the
  deadline; one that lands on (or after) a nearer one's moment goes back one more working day: a
  Monday deadline's ``before-1`` (Sunday) goes back to Friday, and ``before-3`` (Friday) to
  Thursday, so [3, 1, 0] still gives three reminders whatever the weekday of the deadline. If
  that would be before ``since``, the slot is not kept and the nearer one keeps the moment.
- A ``before`` slot written at or after the deadline (``at`` later than the deadline's time on the
  day itself), or moved there (by the quiet window, or forward past ``since``), is dropped: a
  "before" reminder after the deadline would be wrong, and the ``after`` slots take over. A
  weekend or holiday deadline gets its ``before`` slots on the working days before it.
- After slots moved onto the same moment keep one: the one nominally scheduled latest
  (``after-5`` over ``after-4``). They only move forward, so that key is the one a slot
  scheduled naturally at that moment carries. Keys stay unique and stable for a given deadline,
  policy, ``since`` and calendar.
- A slot that finds no working day within a year (a ``days_off`` list covering it) is dropped.

Calendar: Vietnam's public holidays are those of the ``holidays`` package
(``holidays.country_holidays("VN")``), a static calendar shipped with it (no network, no clock),
computed once per year. It follows the Labour Code and the government's yearly decisions (Tết,
swapped days); for 2026, with holidays 0.109: New Year 01/01; Tết Nguyên Đán 16/02–20/02 (the
eve and the first four days; with the weekends, 14/02–22/02 off); Giỗ Tổ Hùng Vương (10/3 lunar)
26/04, a Sunday, kept on Monday 27/04; Reunification Day 30/04; Labour Day 01/05; 31/08 (swapped
with Saturday 22/08); National Day 01/09–02/09; Vietnam Cultural Day 24/11. A Saturday swapped
into a working day (22/08/2026) still counts as a day off here: reminders never go out at
weekends. Days the package does not know (a province's own day off, a Tết decision newer than
the package) go in the campaign's ``days_off``.

Due (``due``, ``plan``, ``digest_due``):
- Only the latest slot at or before ``now`` can be due: after downtime the missed slots are not
  sent in a burst, only the latest one, once. It is not due when its key was sent, nor when the
  key of any later slot was sent (never an older slot after a newer one).
- A ``before`` slot expires at the deadline: a missed one is not sent late.
- Nothing is due while ``now`` is inside the quiet window, or, with ``working_days_only``, on a
  day off (Saturday, Sunday, a public holiday, a day of ``days_off``); a missed slot waits for the
  next allowed moment.
- With ``since`` (e.g. when the round was created), slots before it are never due, so a round
  created two days before its deadline does not start with the "3 days before" reminder; and no
  ``before`` slot is moved back before it (above).

Texts (``contact_text``, ``digest_text``) render templates/messages/reminders.yaml; the digest is
kept under Telegram's 4096 characters by listing fewer units and counting the rest.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta, tzinfo
from functools import cache
from typing import Any

import holidays

from bot import texts
from bot.campaigns.spec import ReminderPolicy
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
SEARCH_DAYS = 366  # how far a slot looks for a working day before it is dropped


@dataclass(frozen=True, order=True)
class Slot:
    """One moment a reminder goes out."""

    at: datetime  # when it is due (aware, in tz), after quiet-hour and day-off moves
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


def slots(deadline: datetime, policy: ReminderPolicy, tz: tzinfo, *,
          since: datetime | None = None) -> list[Slot]:
    """Return the reminder slots of a round, in time order, each at a distinct moment."""
    end = deadline.astimezone(tz).replace(tzinfo=None)  # local wall-clock times from here on
    first = None if since is None else since.astimezone(tz).replace(tzinfo=None)
    before: list[Slot] = []
    nearer: datetime | None = None  # the moment of the kept before slot nearest the deadline
    for d in sorted(set(policy.before_days)):
        nominal = datetime.combine(end.date() - timedelta(days=d), policy.at)
        moment = None if nominal >= end else _before_moment(nominal, policy, first, nearer)
        if moment is not None and moment < end:
            nearer = moment
            before.append(Slot(moment.replace(tzinfo=tz), "before", f"before-{d}"))
    every = max(1, policy.after_deadline_every_days)
    after: dict[datetime, Slot] = {}
    for n in range(1, policy.after_deadline_max + 1):
        nominal = datetime.combine(end.date() + timedelta(days=1 + (n - 1) * every), policy.at)
        moment = _working(_unquiet(nominal, policy), 1, policy)
        if moment is not None:  # a nominally later slot replaces one moved onto its moment
            after[moment] = Slot(moment.replace(tzinfo=tz), "after", f"after-{n}")
    return before[::-1] + sorted(after.values())


def due(now: datetime, deadline: datetime, policy: ReminderPolicy, tz: tzinfo,
        sent: Collection[str], *, since: datetime | None = None) -> Slot | None:
    """Return the slot to send now given the keys already sent, or None."""
    if not _sendable(now, policy, tz):
        return None
    return _pick(now, deadline, slots(deadline, policy, tz, since=since), sent, since)


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
    schedule = slots(deadline, policy, tz, since=since)
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
    schedule = [replace(s, key=DIGEST_PREFIX + s.key)
                for s in slots(deadline, policy, tz, since=since)]
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
                unreachable: Sequence[tuple[str, str, str | None]],
                outside_window: Sequence[tuple[str, str, str | None]] = (),
                limit: int = TELEGRAM_LIMIT) -> str:
    """Return the coordinators' digest (reminders.digest), at most `limit` characters.

    ``rows`` are every unit of the round (``contacts``: contacts bound to it); ``unreachable``
    holds (unit_code, chat_id, the contact's name or None) of contacts who blocked the bot,
    ``outside_window`` those the Zalo OA may not write to (silent for more than 7 days). Lists
    are shortened ("… và N đơn vị khác") until the text fits; only a huge title can still
    exceed `limit`.
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
            {"code": code, "name": names.get(code, code), "chat_id": chat_id, "person": person}
            for code, chat_id, person in unreachable
        ],
        "outside_window": [
            {"code": code, "name": names.get(code, code), "chat_id": chat_id, "person": person}
            for code, chat_id, person in outside_window
        ],
    }

    def render(shown: int) -> str:
        return texts.render("reminders.digest", fmt, shown=shown, **context)

    most = max(len(context[k]) for k in ("pending", "no_contact", "unreachable",
                                         "outside_window"))
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


def _before_moment(nominal: datetime, policy: ReminderPolicy, since: datetime | None,
                   nearer: datetime | None) -> datetime | None:
    """Return where a before slot goes (naive local), or None if it is not kept.

    ``nearer`` is the moment of the kept before slot nearest the deadline, which this one must
    precede; moves keep the time of day, so every before slot has the same one.
    """
    local = _unquiet(nominal, policy)
    moment = _working(local, -1, policy)
    if moment != local and since is not None and local >= since and (
            moment is None or moment < since):
        moment = _working(local, 1, policy)  # the round did not exist yet: forward instead
    if moment is not None and nearer is not None and moment >= nearer:
        moment = _working(datetime.combine(nearer.date(), moment.time()) - timedelta(days=1),
                          -1, policy)
        if moment is not None and since is not None and moment < since:
            return None  # the nearer slot keeps the moment
    return moment


def _unquiet(local: datetime, policy: ReminderPolicy) -> datetime:
    """Return a naive local time moved out of the quiet window, to its end."""
    if policy.quiet_hours is not None and _quiet(local.time(), policy.quiet_hours):
        start, end = policy.quiet_hours
        day = local.date() + timedelta(days=1 if start > end and local.time() >= start else 0)
        local = datetime.combine(day, end)
    return local


def _working(local: datetime, step: int, policy: ReminderPolicy) -> datetime | None:
    """Return a naive local time moved by whole days (step -1 or 1) onto a working day."""
    for _ in range(SEARCH_DAYS):
        if not _day_off(local.date(), policy):
            return local
        local += timedelta(days=step)
    return None


def _day_off(day: date, policy: ReminderPolicy) -> bool:
    """Return whether no reminder goes out on a day: with working_days_only, a day off."""
    return policy.working_days_only and (
        day.weekday() >= 5 or day in policy.days_off or day in _public_holidays(day.year))


@cache
def _public_holidays(year: int) -> frozenset[date]:
    """Return Vietnam's public holidays of a year (a static calendar: no I/O, no clock)."""
    return frozenset(holidays.country_holidays("VN", years=year))


def _quiet(moment: time, window: tuple[time, time]) -> bool:
    """Return whether a time of day is inside the quiet window [start, end)."""
    start, end = window
    if start < end:
        return start <= moment < end
    return moment >= start or moment < end


def _sendable(now: datetime, policy: ReminderPolicy, tz: tzinfo) -> bool:
    """Return whether a reminder may go out at this moment."""
    local = now.astimezone(tz)
    if _day_off(local.date(), policy):
        return False
    return policy.quiet_hours is None or not _quiet(local.time(), policy.quiet_hours)


def _shorten(text: str, size: int = TITLE_CHARS) -> str:
    """Return text cut to `size` characters, ending with "…" when cut."""
    return text if len(text) <= size else text[: size - 1].rstrip() + "…"
