"""Reminder slots, what is due at an injected clock, and the reminder texts."""

from __future__ import annotations

import unicodedata
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from bot import texts
from bot.campaigns.campaign import load_campaign_text
from bot.campaigns.spec import ReminderPolicy
from bot.model import UnitProgress, UnitStatus
from bot.reminders import (
    Reminder,
    Slot,
    contact_text,
    digest_due,
    digest_text,
    due,
    plan,
    slots,
    timing,
)
from bot.texts import templates_dir

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
DEFAULT = ReminderPolicy()
PLAIN = ReminderPolicy(working_days_only=False, quiet_hours=None)
DEADLINE = datetime(2023, 10, 31, 17, 0, tzinfo=TZ)  # a Tuesday


def at(month: int, day: int, hour: int = 8, minute: int = 0) -> datetime:
    return datetime(2023, month, day, hour, minute, tzinfo=TZ)


def at26(month: int, day: int, hour: int = 8, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=TZ)


def schedule(deadline: datetime, policy: ReminderPolicy) -> list[tuple[str, datetime]]:
    return [(s.key, s.at) for s in slots(deadline, policy, TZ)]


# Slots


def test_defaults_are_product_md() -> None:
    assert DEFAULT.before_days == (3, 1, 0)
    assert DEFAULT.at == time(8, 0)
    assert DEFAULT.after_deadline_every_days == 1
    assert DEFAULT.after_deadline_max == 5
    assert DEFAULT.working_days_only is True
    assert DEFAULT.quiet_hours == (time(20, 0), time(7, 0))
    spec = load_campaign_text("c.yaml", CAMPAIGN, TZ)
    assert spec.reminders == DEFAULT


def test_default_schedule_of_a_tuesday_deadline() -> None:
    # before-3 falls on Saturday 28/10 and moves back to Friday 27/10 08:00: the early warning
    # still goes out. after-4 (Sat) and after-5 (Sun) both move forward to Monday 06/11: after-5
    # keeps it.
    assert schedule(DEADLINE, DEFAULT) == [
        ("before-3", at(10, 27)),
        ("before-1", at(10, 30)),
        ("before-0", at(10, 31)),
        ("after-1", at(11, 1)),
        ("after-2", at(11, 2)),
        ("after-3", at(11, 3)),
        ("after-5", at(11, 6)),
    ]
    found = slots(DEADLINE, DEFAULT, TZ)
    assert [s.kind for s in found] == ["before"] * 3 + ["after"] * 4
    assert all(s.at.tzinfo is TZ for s in found)
    assert found == sorted(found)


def test_each_slot_kind_without_moves() -> None:
    policy = ReminderPolicy(before_days=(3, 1, 0), after_deadline_every_days=2,
                            after_deadline_max=3, working_days_only=False, quiet_hours=None)
    assert schedule(DEADLINE, policy) == [
        ("before-3", at(10, 28)),
        ("before-1", at(10, 30)),
        ("before-0", at(10, 31)),
        ("after-1", at(11, 1)),
        ("after-2", at(11, 3)),
        ("after-3", at(11, 5)),
    ]


def test_no_after_slots_and_no_before_slots() -> None:
    assert schedule(DEADLINE, ReminderPolicy(before_days=(), after_deadline_max=0)) == []
    only_after = ReminderPolicy(before_days=(), after_deadline_max=2, working_days_only=False)
    assert schedule(DEADLINE, only_after) == [("after-1", at(11, 1)), ("after-2", at(11, 2))]


def test_a_same_day_slot_after_the_deadline_time_is_dropped() -> None:
    late_clock = ReminderPolicy(at=time(18, 0), after_deadline_max=1, working_days_only=False,
                                quiet_hours=None)
    assert schedule(DEADLINE, late_clock) == [
        ("before-3", at(10, 28, 18)),
        ("before-1", at(10, 30, 18)),
        ("after-1", at(11, 1, 18)),
    ]
    # exactly at the deadline is dropped too: a reminder at that moment is no use
    on_time = ReminderPolicy(before_days=(0,), at=time(17, 0), after_deadline_max=0)
    assert schedule(DEADLINE, on_time) == []


def test_the_3_days_warning_of_a_tuesday_deadline_goes_out_on_friday() -> None:
    assert due(at(10, 27, 9), DEADLINE, DEFAULT, TZ, set()) == Slot(at(10, 27), "before",
                                                                    "before-3")
    assert due(at(10, 28, 9), DEADLINE, DEFAULT, TZ, set()) is None  # Saturday
    monday = due(at(10, 30, 9), DEADLINE, DEFAULT, TZ, {"before-3"})
    assert monday is not None and monday.key == "before-1"


def test_a_deadline_on_monday_reminds_on_thursday_and_friday() -> None:
    monday = datetime(2023, 11, 6, 17, 0, tzinfo=TZ)
    policy = ReminderPolicy(after_deadline_max=0)
    # before-1 (Sunday) moves back to Friday 03/11, where before-3 is: before-3, the farther
    # one, goes back one more working day, to Thursday 02/11
    assert schedule(monday, policy) == [
        ("before-3", at(11, 2)),
        ("before-1", at(11, 3)),
        ("before-0", at(11, 6)),
    ]
    without = ReminderPolicy(after_deadline_max=0, working_days_only=False)
    assert [k for k, _ in schedule(monday, without)] == ["before-3", "before-1", "before-0"]


@pytest.mark.parametrize(("deadline_day", "reminded"), [
    (6, [(11, 2), (11, 3), (11, 6)]),  # Monday: Thursday, Friday, Monday
    (31, [(10, 27), (10, 30), (10, 31)]),  # Tuesday: Friday, Monday, Tuesday
    (1, [(10, 27), (10, 31), (11, 1)]),  # Wednesday: Friday (for Sunday), Tuesday, Wednesday
    (2, [(10, 30), (11, 1), (11, 2)]),  # Thursday: no move
    (3, [(10, 31), (11, 2), (11, 3)]),  # Friday: no move
])
def test_three_distinct_before_reminders_whatever_the_weekday(
        deadline_day: int, reminded: list[tuple[int, int]]) -> None:
    month = 10 if deadline_day > 6 else 11
    deadline = datetime(2023, month, deadline_day, 17, 0, tzinfo=TZ)
    before = [s for s in slots(deadline, DEFAULT, TZ) if s.kind == "before"]
    assert [s.key for s in before] == ["before-3", "before-1", "before-0"]
    assert [s.at for s in before] == [at(m, d) for m, d in reminded]


def test_a_before_slot_on_sunday_moves_back_and_an_after_slot_forward() -> None:
    wednesday = datetime(2023, 11, 1, 17, 0, tzinfo=TZ)
    policy = ReminderPolicy(after_deadline_max=0)
    assert schedule(wednesday, policy) == [
        ("before-3", at(10, 27)),  # Sunday 29/10 -> Friday 27/10, same time of day
        ("before-1", at(10, 31)),
        ("before-0", at(11, 1)),
    ]
    friday = datetime(2023, 11, 3, 17, 0, tzinfo=TZ)
    after = ReminderPolicy(before_days=(), after_deadline_max=3)
    # after-1 (Saturday), after-2 (Sunday) and after-3 all go out on Monday 06/11, once
    assert schedule(friday, after) == [("after-3", at(11, 6))]


def test_a_weekend_deadline_reminds_on_the_working_days_before_it() -> None:
    sunday = datetime(2023, 11, 5, 17, 0, tzinfo=TZ)
    # before-0 (Sunday) moves back to Friday; before-1 (Saturday) would too and goes back to
    # Thursday; before-3 (Thursday) then goes back to Wednesday. None is after the deadline.
    assert schedule(sunday, DEFAULT)[:4] == [
        ("before-3", at(11, 1)),
        ("before-1", at(11, 2)),
        ("before-0", at(11, 3)),
        ("after-1", at(11, 6)),
    ]


def test_quiet_hours_move_an_evening_slot_to_the_next_morning() -> None:
    evening = ReminderPolicy(at=time(21, 0), after_deadline_max=1, working_days_only=False)
    assert schedule(DEADLINE, evening) == [
        ("before-3", at(10, 29, 7)),  # Saturday 21:00 -> Sunday 07:00
        ("before-1", at(10, 31, 7)),  # Monday 21:00 -> Tuesday 07:00
        # before-0 would be Wednesday 07:00, after the deadline: dropped
        ("after-1", at(11, 2, 7)),
    ]
    # then working days are checked: Sunday 07:00 is a weekend, before-3 goes back to Friday at
    # the window's end, 07:00, which is outside the quiet window
    working = ReminderPolicy(at=time(21, 0), after_deadline_max=0)
    assert schedule(DEADLINE, working) == [("before-3", at(10, 27, 7)), ("before-1", at(10, 31, 7))]
    # a before-0 at 21:00 on a Friday deadline is after the deadline as written: dropped, not
    # moved back to Friday morning by the weekend after the quiet window
    friday = datetime(2023, 11, 3, 17, 0, tzinfo=TZ)
    assert schedule(friday, working) == [("before-3", at(11, 1, 7)), ("before-1", at(11, 3, 7))]


def test_quiet_hours_in_the_small_hours_move_the_same_day() -> None:
    early = ReminderPolicy(before_days=(1,), at=time(5, 30), after_deadline_max=0,
                           working_days_only=False)
    assert schedule(DEADLINE, early) == [("before-1", at(10, 30, 7))]


def test_quiet_hours_not_spanning_midnight() -> None:
    lunch = ReminderPolicy(before_days=(1,), at=time(12, 15), after_deadline_max=0,
                           working_days_only=False, quiet_hours=(time(12, 0), time(13, 30)))
    assert schedule(DEADLINE, lunch) == [("before-1", at(10, 30, 13, 30))]
    before = ReminderPolicy(before_days=(1,), at=time(11, 59), after_deadline_max=0,
                            working_days_only=False, quiet_hours=(time(12, 0), time(13, 30)))
    assert schedule(DEADLINE, before) == [("before-1", at(10, 30, 11, 59))]
    edge = ReminderPolicy(before_days=(1,), at=time(13, 30), after_deadline_max=0,
                          working_days_only=False, quiet_hours=(time(12, 0), time(13, 30)))
    assert schedule(DEADLINE, edge) == [("before-1", at(10, 30, 13, 30))]


def test_keys_are_stable_and_unique() -> None:
    first = slots(DEADLINE, DEFAULT, TZ)
    assert first == slots(DEADLINE.astimezone(ZoneInfo("UTC")), DEFAULT, TZ)
    keys = [s.key for s in first]
    assert len(keys) == len(set(keys))
    assert len({s.at for s in first}) == len(first)


@settings(max_examples=300, deadline=None)
@given(day=st.dates(date(2025, 1, 1), date(2027, 12, 31)), hour=st.integers(0, 23),
       before=st.sets(st.integers(0, 10), max_size=5),
       clock=st.sampled_from([time(8, 0), time(5, 30), time(13, 0), time(21, 0)]),
       quiet=st.sampled_from([None, (time(20, 0), time(7, 0)), (time(12, 0), time(13, 30))]),
       created=st.none() | st.integers(0, 12), off=st.sets(st.integers(-12, 12), max_size=6))
def test_every_schedule_keeps_the_rules(day: date, hour: int, before: set[int], clock: time,
                                        quiet: tuple[time, time] | None, created: int | None,
                                        off: set[int]) -> None:
    # deadlines from 2025 to 2027 meet Vietnam's holidays; days_off are near the deadline
    deadline = datetime.combine(day, time(hour), tzinfo=TZ)
    policy = ReminderPolicy(before_days=tuple(sorted(before, reverse=True)), at=clock,
                            quiet_hours=quiet,
                            days_off=tuple(sorted(day + timedelta(days=d) for d in off)))
    since = None if created is None else deadline - timedelta(days=created, hours=3)
    found = slots(deadline, policy, TZ, since=since)
    assert found == sorted(found)
    assert len({s.at for s in found}) == len({s.key for s in found}) == len(found)
    early = [s for s in found if s.kind == "before"]
    assert all(s.at < deadline for s in early)
    assert all(s.at > deadline for s in found if s.kind == "after")
    assert [int(s.key.removeprefix("before-")) for s in early] == sorted(
        (int(s.key.removeprefix("before-")) for s in early), reverse=True)
    for slot in found:  # each goes out at its moment: a working day, outside the quiet window
        assert slot.at.date() not in policy.days_off
        expected = None if since is not None and slot.at < since else slot
        assert due(slot.at, deadline, policy, TZ, set(), since=since) == expected
    if since is None and quiet is None:  # no before slot is lost to a weekend or day off
        assert len(early) == sum(
            datetime.combine(day - timedelta(days=d), clock) < deadline.replace(tzinfo=None)
            for d in before)


# Due


def test_nothing_is_due_before_the_first_slot() -> None:
    assert due(at(10, 27, 7, 59), DEADLINE, DEFAULT, TZ, set()) is None
    assert due(at(10, 27, 8), DEADLINE, DEFAULT, TZ, set()) == Slot(at(10, 27), "before",
                                                                     "before-3")


def test_restart_in_the_middle_of_a_slot_sends_nothing_again() -> None:
    now = at(10, 31, 8, 1)
    slot = due(now, DEADLINE, DEFAULT, TZ, {"before-1"})
    assert slot is not None and slot.key == "before-0"
    # the bot sent it, recorded it, was killed and restarted a minute later
    assert due(now + timedelta(minutes=1), DEADLINE, DEFAULT, TZ, {"before-1", "before-0"}) is None
    assert due(at(10, 31, 16), DEADLINE, DEFAULT, TZ, {"before-0"}) is None


def test_catch_up_after_downtime_sends_only_the_latest_missed_slot_once() -> None:
    # down from Sunday to Friday 10:00: before-1, before-0, after-1, after-2, after-3 all missed
    now = at(11, 3, 10)
    slot = due(now, DEADLINE, DEFAULT, TZ, set())
    assert slot is not None and slot.key == "after-3"
    sent = {slot.key}
    for later in (now, now + timedelta(minutes=5), at(11, 3, 19, 59)):
        assert due(later, DEADLINE, DEFAULT, TZ, sent) is None  # nothing older comes back
    nxt = due(at(11, 6, 8), DEADLINE, DEFAULT, TZ, sent)
    assert nxt is not None and nxt.key == "after-5"
    assert due(at(11, 20, 9), DEADLINE, DEFAULT, TZ, sent | {"after-5"}) is None


def test_an_older_slot_never_follows_a_newer_one() -> None:
    # after-2 was recorded (e.g. the deadline was moved later since): after-1 is not sent
    assert due(at(11, 1, 9), DEADLINE, DEFAULT, TZ, {"after-2"}) is None


def test_a_missed_before_slot_expires_at_the_deadline() -> None:
    policy = ReminderPolicy(after_deadline_max=0)
    assert due(at(10, 31, 16, 59), DEADLINE, policy, TZ, set()) is not None
    assert due(at(10, 31, 17), DEADLINE, policy, TZ, set()) is None
    assert due(at(10, 31, 18), DEADLINE, DEFAULT, TZ, set()) is None  # after-1 is tomorrow


def test_nothing_goes_out_in_quiet_hours_or_at_weekends() -> None:
    assert due(at(11, 1, 21), DEADLINE, DEFAULT, TZ, set()) is None  # after-1 missed, now quiet
    caught = due(at(11, 2, 7), DEADLINE, DEFAULT, TZ, set())  # the window has ended
    assert caught is not None and caught.key == "after-1"
    assert due(at(11, 4, 10), DEADLINE, DEFAULT, TZ, set()) is None  # Saturday
    anytime = due(at(11, 4, 23), DEADLINE, PLAIN, TZ, set())
    assert anytime is not None and anytime.key == "after-4"


def test_slots_before_the_round_was_created_are_never_due() -> None:
    created = at(10, 30, 10)
    assert due(at(10, 30, 11), DEADLINE, DEFAULT, TZ, set(), since=created) is None
    slot = due(at(10, 31, 9), DEADLINE, DEFAULT, TZ, set(), since=created)
    assert slot is not None and slot.key == "before-0"


def test_a_slot_moved_back_before_the_round_was_created_goes_forward() -> None:
    wednesday = datetime(2023, 11, 1, 17, 0, tzinfo=TZ)
    created = at(10, 27, 10)  # Friday, after the 08:00 before-3 would move back to
    policy = ReminderPolicy(after_deadline_max=0)
    assert [(s.key, s.at) for s in slots(wednesday, policy, TZ, since=created)] == [
        ("before-3", at(10, 30)),  # Sunday 29/10 -> Monday 30/10, as nothing is there
        ("before-1", at(10, 31)),
        ("before-0", at(11, 1)),
    ]
    assert due(at(10, 27, 11), wednesday, policy, TZ, set(), since=created) is None
    slot = due(at(10, 30, 9), wednesday, policy, TZ, set(), since=created)
    assert slot is not None and slot.key == "before-3"
    # created on Sunday 10:00, after before-3's own moment (Sunday 08:00): never due, not even
    # moved forward to Monday
    sunday = at(10, 29, 10)
    assert due(at(10, 30, 9), wednesday, policy, TZ, set(), since=sunday) is None
    slot = due(at(10, 31, 9), wednesday, policy, TZ, set(), since=sunday)
    assert slot is not None and slot.key == "before-1"
    # a Monday deadline of a round created on Thursday 10:00: before-3 cannot go back to
    # Thursday 08:00, so it shares Friday with before-1, which keeps the moment
    monday = datetime(2023, 11, 6, 17, 0, tzinfo=TZ)
    assert [(s.key, s.at) for s in slots(monday, policy, TZ, since=at(11, 2, 10))] == [
        ("before-1", at(11, 3)),
        ("before-0", at(11, 6)),
    ]


# Holidays and days off


def test_tet_2026_reminders_go_out_before_the_holiday() -> None:
    # Tết Nguyên Đán 2026: Monday 16/02 to Friday 20/02 are public holidays, so with the
    # weekends nobody works from Saturday 14/02 to Sunday 22/02
    deadline = datetime(2026, 2, 23, 17, 0, tzinfo=TZ)  # the Monday after Tết
    policy = ReminderPolicy(after_deadline_max=0)
    assert schedule(deadline, policy) == [
        ("before-3", at26(2, 12)),  # Friday 20/02 -> Friday 13/02, taken -> Thursday 12/02
        ("before-1", at26(2, 13)),  # Sunday 22/02 -> Friday 13/02
        ("before-0", at26(2, 23)),
    ]
    plain = ReminderPolicy(after_deadline_max=0, working_days_only=False)
    assert [s.at for s in slots(deadline, plain, TZ)] == [at26(2, 20), at26(2, 22), at26(2, 23)]


def test_no_reminder_during_tet_the_next_after_it() -> None:
    deadline = datetime(2026, 2, 12, 17, 0, tzinfo=TZ)  # Thursday before Tết
    assert schedule(deadline, DEFAULT)[3:] == [
        ("after-1", at26(2, 13)),
        ("after-5", at26(2, 23)),  # after-2 .. after-5 (14/02 .. 17/02) all move to 23/02
    ]
    assert due(at26(2, 17, 9), deadline, DEFAULT, TZ, {"after-1"}) is None  # Tuesday, Tết
    assert due(at26(2, 17, 9), deadline, PLAIN, TZ, {"after-1"}) is not None
    slot = due(at26(2, 23, 8), deadline, DEFAULT, TZ, {"after-1"})
    assert slot is not None and slot.key == "after-5"


def test_a_deadline_just_after_30_4_and_1_5() -> None:
    deadline = datetime(2026, 5, 4, 17, 0, tzinfo=TZ)  # Monday after Thu 30/04, Fri 01/05
    policy = ReminderPolicy(after_deadline_max=0)
    assert schedule(deadline, policy) == [
        ("before-3", at26(4, 28)),
        ("before-1", at26(4, 29)),  # Sunday 03/05 -> Wednesday 29/04
        ("before-0", at26(5, 4)),
    ]
    # before-1 missed on Wednesday waits: Thursday 30/04 and Friday 01/05 are holidays
    assert due(at26(4, 30, 9), deadline, policy, TZ, {"before-3"}) is None
    assert due(at26(5, 1, 9), deadline, policy, TZ, {"before-3"}) is None
    caught = due(at26(5, 4, 7), deadline, policy, TZ, {"before-3"})
    assert caught is not None and caught.key == "before-1"


@pytest.mark.parametrize(("deadline", "first_after"), [
    (datetime(2025, 12, 31, 17, 0, tzinfo=TZ), at26(1, 2)),  # 01/01 New Year
    (datetime(2026, 4, 24, 17, 0, tzinfo=TZ), at26(4, 28)),  # Hùng Kings 26/04, kept 27/04
    (datetime(2026, 8, 28, 17, 0, tzinfo=TZ), at26(9, 3)),  # 31/08 (swapped), 01/09, 02/09
])
def test_an_after_slot_goes_past_public_holidays(deadline: datetime,
                                                  first_after: datetime) -> None:
    policy = ReminderPolicy(before_days=(), after_deadline_max=1)
    assert schedule(deadline, policy) == [("after-1", first_after)]
    on_holiday = first_after - timedelta(days=1) + timedelta(hours=2)
    assert due(on_holiday, deadline, DEFAULT, TZ, set()) is None


def test_days_off_of_a_campaign_file() -> None:
    text = CAMPAIGN + "reminders:\n  days_off: [2023-10-30, 01/11/2023]\n"
    policy = load_campaign_text("c.yaml", text, TZ).reminders
    assert schedule(DEADLINE, policy) == [
        ("before-3", at(10, 26)),  # Saturday -> Friday 27/10, taken -> Thursday 26/10
        ("before-1", at(10, 27)),  # Monday 30/10 is a day off -> Friday 27/10
        ("before-0", at(10, 31)),
        ("after-2", at(11, 2)),  # after-1 (Wednesday 01/11, a day off) moved onto it
        ("after-3", at(11, 3)),
        ("after-5", at(11, 6)),
    ]
    assert due(at(10, 30, 9), DEADLINE, policy, TZ, {"before-3"}) is None  # before-1 waits
    assert due(at(10, 31, 7), DEADLINE, policy, TZ, {"before-3"}) == Slot(
        at(10, 27), "before", "before-1")
    caught = due(at(11, 2, 9), DEADLINE, policy, TZ, {"before-0"})
    assert caught is not None and caught.key == "after-2"


def test_days_off_only_count_with_working_days_only() -> None:
    policy = ReminderPolicy(working_days_only=False, quiet_hours=None, after_deadline_max=0,
                            days_off=(date(2023, 10, 30),))
    assert schedule(DEADLINE, policy) == [
        ("before-3", at(10, 28)), ("before-1", at(10, 30)), ("before-0", at(10, 31))]
    assert due(at(10, 30, 9), DEADLINE, policy, TZ, set()) is not None


def test_timing() -> None:
    assert timing(at(10, 28, 8), DEADLINE, TZ) == (False, 3)
    assert timing(at(10, 31, 8), DEADLINE, TZ) == (False, 0)
    assert timing(at(10, 31, 18), DEADLINE, TZ) == (True, 0)
    assert timing(at(11, 2, 8), DEADLINE, TZ) == (True, 2)


# Plan

UNITS: dict[str, UnitStatus] = {
    "SXD": "in_progress",
    "SYT": "submitted",
    "STC": "not_started",
    "SNV": "returned",
    "SGD": "edited",
    "SCT": "not_started",
}
CONTACTS = {
    "SXD": [(1, "telegram", "101"), (2, "telegram", "102")],
    "SYT": [(3, "telegram", "103")],
    "STC": [(4, "telegram", "104")],
    "SNV": [(5, "console", "105")],
    "SGD": [(6, "telegram", "106")],
    # SCT: no reachable contact (none bound, or all blocked the bot)
}
NOW = at(10, 31, 9)


def test_plan_reminds_every_reachable_contact_of_units_not_reported() -> None:
    reminders = plan(NOW, 7, DEADLINE, DEFAULT, TZ, UNITS, CONTACTS, set())
    slot = Slot(at(10, 31), "before", "before-0")
    assert reminders == [
        Reminder(7, "SXD", 1, "101", "telegram", slot),
        Reminder(7, "SXD", 2, "102", "telegram", slot),
        Reminder(7, "STC", 4, "104", "telegram", slot),
        Reminder(7, "SNV", 5, "105", "console", slot),
    ]


def test_plan_skips_what_each_contact_was_sent() -> None:
    sent = {("SXD", 1, "before-0"), ("STC", 4, "before-0"), ("SNV", 99, "before-0")}
    reminders = plan(NOW, 7, DEADLINE, DEFAULT, TZ, UNITS, CONTACTS, sent)
    assert [(r.unit_code, r.contact_id) for r in reminders] == [("SXD", 2), ("SNV", 5)]
    sent |= {("SXD", 2, "before-0"), ("SNV", 5, "before-0")}
    assert plan(NOW, 7, DEADLINE, DEFAULT, TZ, UNITS, CONTACTS, sent) == []


def test_a_unit_submitting_between_planning_and_sending_gets_nothing() -> None:
    contacts = {"SXD": CONTACTS["SXD"]}
    assert len(plan(NOW, 7, DEADLINE, DEFAULT, TZ, {"SXD": "in_progress"}, contacts, set())) == 2
    assert plan(NOW, 7, DEADLINE, DEFAULT, TZ, {"SXD": "submitted"}, contacts, set()) == []
    assert plan(NOW, 7, DEADLINE, DEFAULT, TZ, {"SXD": "edited"}, contacts, set()) == []


def test_only_reachable_contacts_are_reminded() -> None:
    reminders = plan(NOW, 7, DEADLINE, DEFAULT, TZ, {"SCT": "not_started"}, CONTACTS, set())
    assert reminders == []
    one = {"SXD": [(2, "telegram", "102"), (2, "telegram", "102")]}  # listed twice: sent once
    assert [r.contact_id for r in plan(NOW, 7, DEADLINE, DEFAULT, TZ, UNITS, one, set())] == [2]


def test_plan_after_downtime_sends_one_reminder_per_contact() -> None:
    reminders = plan(at(11, 3, 10), 7, DEADLINE, DEFAULT, TZ, UNITS, CONTACTS, set())
    assert {r.slot.key for r in reminders} == {"after-3"}
    assert len(reminders) == 4


def test_plan_is_empty_in_quiet_hours() -> None:
    assert plan(at(10, 31, 6, 59), 7, DEADLINE, DEFAULT, TZ, UNITS, CONTACTS, set()) == []


def test_digest_slot_keys() -> None:
    slot = digest_due(NOW, DEADLINE, DEFAULT, TZ, set())
    assert slot == Slot(at(10, 31), "before", "digest-before-0")
    assert digest_due(NOW, DEADLINE, DEFAULT, TZ, {"digest-before-0"}) is None
    assert digest_due(NOW, DEADLINE, DEFAULT, TZ, {"before-0"}) == slot  # contacts' keys differ
    late = digest_due(at(11, 3, 10), DEADLINE, DEFAULT, TZ, {"digest-before-0"})
    assert late is not None and late.key == "digest-after-3"
    assert digest_due(at(11, 2, 9), DEADLINE, DEFAULT, TZ, {"digest-after-3"}) is None


# Texts

DANGER = "Sở <b>&"
TITLE = 'Tổng kết phong trào thi đua "Đẩy lùi COVID-19"'


def nfc(text: str) -> bool:
    return unicodedata.normalize("NFC", text) == text


def test_the_template_file_is_nfc_and_documents_its_context() -> None:
    source = (templates_dir() / "messages" / "reminders.yaml").read_text(encoding="utf-8")
    assert nfc(source)
    assert set(yaml.safe_load(source)) == {"reminders.contact", "reminders.digest"}
    assert "reminders.digest — to the coordinators" in source


def contact(fmt: texts.Format, now: datetime, status: UnitStatus = "in_progress",
            answered: int = 5) -> str:
    return contact_text(fmt, now, DEADLINE, TZ, title=TITLE, unit=DANGER, status=status,
                        answered=answered, total=14)


def test_contact_reminder_before_the_deadline() -> None:
    for fmt in ("html", "plain"):
        text = contact(fmt, at(10, 28))
        assert nfc(text)
        assert "Hạn nộp là" in text and "17:00 ngày 31/10/2023" in text
        assert "(còn 3 ngày)" in text
        assert "còn 9/14 câu" in text
        assert "Gửi tin nhắn bất kỳ hoặc /start để tiếp tục đúng câu đang dừng" in text
        assert "quá hạn" not in text
    assert "(hôm nay)" in contact("plain", at(10, 31))


def test_contact_reminder_after_the_deadline() -> None:
    text = contact("plain", at(11, 2))
    assert "Đã quá hạn 2 ngày" in text and "17:00 ngày 31/10/2023" in text
    assert "Hạn nộp là" not in text
    assert "Đã quá hạn nộp" in contact("plain", at(10, 31, 18))


def test_contact_reminder_escapes_in_html_only() -> None:
    html = contact("html", at(10, 28))
    assert "Sở &lt;b&gt;&amp;" in html and DANGER not in html
    assert "<b>Nhắc nộp báo cáo</b>" in html
    plain = contact("plain", at(10, 28))
    assert DANGER in plain and "<b>Nhắc" not in plain


def test_contact_reminder_by_status() -> None:
    fresh = contact("plain", at(10, 28), "not_started", 0)
    assert "còn 14/14 câu" in fresh and "/start để bắt đầu trả lời" in fresh
    returned = contact("plain", at(10, 28), "returned", 14)
    assert "trả lại" in returned and "/submit" in returned
    finished = contact("plain", at(10, 28), "in_progress", 14)
    assert "/review" in finished and "/submit" in finished


def rows(count: int, contacts: int = 1) -> list[UnitProgress]:
    return [
        UnitProgress(f"UBND-{i:04d}", f"Ủy ban nhân dân xã Nghĩa Hành số {i} {DANGER}",
                     ("not_started", "in_progress", "returned")[i % 3], i % 15, 14, contacts,
                     None)
        for i in range(count)
    ]


def test_digest_lists_late_units_no_contact_and_unreachable() -> None:
    units = [
        UnitProgress("SXD", "Sở Xây dựng", "submitted", 14, 14, 1, None),
        UnitProgress("SYT", DANGER, "in_progress", 9, 14, 2, None),
        UnitProgress("STC", "Sở Tài chính", "not_started", 0, 14, 0, None),
    ]
    for fmt in ("html", "plain"):
        text = digest_text(fmt, at(11, 2), DEADLINE, TZ, campaign_id=7, title=TITLE,
                           rows=units, unreachable=[("SYT", "555", "Trần <b>Bình</b>")])
        assert nfc(text)
        assert "Đã gửi 1/3 đơn vị" in text and "đã quá hạn 2 ngày" in text
        assert "đang trả lời · 9/14 câu" in text
        assert "Chưa có đầu mối (1 đơn vị)" in text and "STC · Sở Tài chính" in text
        assert "(mã người dùng 555)" in text
        # the contact by its name on the platform, escaped in Telegram HTML
        assert ("Trần &lt;b&gt;Bình&lt;/b&gt; (mã người dùng 555)" if fmt == "html"
                else "Trần <b>Bình</b> (mã người dùng 555)") in text
        assert "Sở Xây dựng" not in text
    html = digest_text("html", at(11, 2), DEADLINE, TZ, campaign_id=7, title=TITLE,
                       rows=units, unreachable=[])
    assert "Sở &lt;b&gt;&amp;" in html and DANGER not in html
    done = digest_text("plain", at(10, 30), DEADLINE, TZ, campaign_id=7, title=TITLE,
                       rows=units[:1], unreachable=[])
    assert "Tất cả đơn vị đã gửi báo cáo" in done and "còn 1 ngày" in done


def test_digest_fits_telegram_with_1000_late_units() -> None:
    many = rows(1000)
    for fmt in ("html", "plain"):
        text = digest_text(fmt, at(11, 2), DEADLINE, TZ, campaign_id=7, title=TITLE,
                           rows=many, unreachable=[(r.code, str(9000 + i), "Đ" * 64)
                                                   for i, r in enumerate(many)])
        assert len(text) <= 4096 and nfc(text)
        assert "Chưa gửi báo cáo (1.000 đơn vị)" in text
        assert "đơn vị khác" in text and "đầu mối khác" in text
        shown = text.count("• UBND-")
        assert shown >= 20
        assert f"… và {1000 - shown // 2} đơn vị khác" in text
        limited = digest_text(fmt, at(11, 2), DEADLINE, TZ, campaign_id=7, title=TITLE,
                              rows=many, unreachable=[], limit=1000)
        assert len(limited) <= 1000


def test_digest_template_alone_fits_with_1000_units_each_list() -> None:
    many = rows(1000)
    units = [{"code": r.code, "name": r.name, "status": r.status, "answered": r.answered,
              "total": r.total} for r in many]
    for fmt in ("html", "plain"):
        text = texts.render(
            "reminders.digest", fmt, campaign_id=7, title=TITLE, deadline=DEADLINE, late=True,
            days=2, reported=0, total=3000, pending=units, no_contact=units,
            unreachable=[{**u, "chat_id": "123456789", "person": "Đ" * 64} for u in units],
            outside_window=[])
        assert len(text) <= 4096 and nfc(text)
        assert text.count("… và 990 đơn vị khác") == 2 and "… và 990 đầu mối khác" in text


def test_digest_with_every_list_at_1000_still_fits() -> None:
    many = rows(1000)
    contacts = [(r.code, "2468458835296197922", "Nguyễn Thị Phương " * 3) for r in many]
    for fmt in ("html", "plain"):
        text = digest_text(fmt, at(11, 2), DEADLINE, TZ, campaign_id=7, title=TITLE, rows=many,
                           unreachable=contacts, outside_window=contacts)
        assert len(text) <= 4096 and nfc(text)
        assert "quá 7 ngày chưa nhắn (1.000 đầu mối)" in text
        assert "Không gửi được tin nhắn (1.000 đầu mối)" in text


def test_digest_with_no_contact_units() -> None:
    text = digest_text("plain", at(11, 2), DEADLINE, TZ, campaign_id=7, title=TITLE,
                       rows=rows(1000, contacts=0), unreachable=[])
    assert len(text) <= 4096
    assert "Chưa có đầu mối (1.000 đơn vị)" in text and "Chưa gửi báo cáo" not in text


CAMPAIGN = """\
title: Đợt thử
request: Công văn số 1/SNV
agency: {parent: UBND TỈNH QUẢNG NGÃI, name: SỞ NỘI VỤ, code: SNV, place: Quảng Ngãi}
deadline: 2023-10-31 17:00
questionnaire:
  sections:
    - title: I
      questions:
        - {id: a, type: integer, ask: "Bao nhiêu?"}
units:
  - {code: SXD, name: Sở Xây dựng}
"""
