"""How many proactive messages a round sends inside the Zalo OA's reply window, and how many not.

The OA may write to a person for free within 48 h of their last message, for a charge up to 7
days, and not at all after (ZALO.md §2). Proactive messages are those not answering a message
just received: reminders, a /return notice, the close notice. This plays a round of the default
campaign (its deadline, reminder policy and units) with the real reminder schedule
(`bot.reminders.slots`) and a seeded population of OA contacts, and classifies every proactive
message at the moment it is due by the age of the contact's last message.

The population (documented, not measured: change it with the options):
- each unit has one contact; 90 % bind within the first 5 days, 10 % never do;
- a bound contact answers in 1-4 sittings spread from binding to submitting; each sitting and
  every message a reminder prompts (a reply with probability --reply) renews the window;
- 70 % submit before the deadline, 20 % 1-4 days late, 10 % never; 10 % of submitted sheets
  are returned one day later and resubmitted the next day;
- the round is closed the day after the last reminder slot.

    python benchmarks/oa_window.py [--units 8] [--seeds 20] [--reply 0.5]
"""

from __future__ import annotations

import argparse
import random
import sys
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.campaigns.campaign import load_campaign  # noqa: E402
from bot.reminders import slots  # noqa: E402

FREE, CHARGED = timedelta(hours=48), timedelta(days=7)
TZ = ZoneInfo("Asia/Ho_Chi_Minh")


@dataclass
class Contact:
    """One unit's OA contact: when they wrote, when they submit."""

    bound: datetime | None
    submitted: datetime | None
    returned: datetime | None
    writes: list[datetime]

    def last_write(self, now: datetime) -> datetime | None:
        """Return the last moment they wrote before `now`."""
        before = [w for w in self.writes if w <= now]
        return max(before) if before else None

    def pending(self, now: datetime) -> bool:
        """Return whether their unit has not reported at `now` (reminders are due)."""
        if self.submitted is None or now < self.submitted:
            return True
        return self.returned is not None and self.returned <= now < self.returned + timedelta(1)


def population(rng: random.Random, units: int, start: datetime,
               deadline: datetime) -> list[Contact]:
    """Return the seeded contacts of a round."""
    found = []
    for _ in range(units):
        if rng.random() < 0.10:
            found.append(Contact(None, None, None, []))
            continue
        bound = start + timedelta(days=rng.uniform(0, 5), hours=rng.uniform(8, 16) - 8)
        fate = rng.random()
        if fate < 0.70:
            submitted: datetime | None = bound + (deadline - bound) * rng.uniform(0.2, 0.95)
        elif fate < 0.90:
            submitted = deadline + timedelta(days=rng.uniform(1, 4))
        else:
            submitted = None
        end = submitted or deadline + timedelta(days=2)
        writes = sorted([bound, *(bound + (end - bound) * rng.random()
                                  for _ in range(rng.randint(0, 3)))])
        returned = None
        if submitted is not None:
            writes.append(submitted)
            if rng.random() < 0.10:
                returned = submitted + timedelta(days=1)
                writes.append(returned + timedelta(days=1))  # resubmits the next day
        found.append(Contact(bound, submitted, returned, sorted(writes)))
    return found


def classify(contact: Contact, now: datetime) -> str:
    """Return "free", "charged" or "not sent" for a proactive message due now."""
    last = contact.last_write(now)
    if last is None or now - last > CHARGED:
        return "not sent"
    return "free" if now - last <= FREE else "charged"


def play(units: int, seed: int, reply: float) -> Counter[str]:
    """Play one round; count proactive messages by window, per kind."""
    spec = load_campaign(ROOT / "templates" / "default" / "campaign.yaml", TZ)
    deadline = spec.deadline
    start = deadline - timedelta(days=14)  # the default round: asked 14 days before
    rng = random.Random(seed)
    contacts = population(rng, units, start, deadline)
    counts: Counter[str] = Counter()
    schedule = slots(deadline, spec.reminders, TZ, since=start)
    for slot in schedule:
        for contact in contacts:
            if contact.bound is None or contact.bound > slot.at or not contact.pending(slot.at):
                continue
            kind = classify(contact, slot.at)
            counts[f"reminder {kind}"] += 1
            if kind != "not sent" and rng.random() < reply:
                contact.writes.append(slot.at + timedelta(minutes=rng.uniform(5, 240)))
                contact.writes.sort()
    for contact in contacts:
        if contact.returned is not None:
            counts[f"return notice {classify(contact, contact.returned)}"] += 1
    closed = (schedule[-1].at if schedule else deadline) + timedelta(days=1)
    for contact in contacts:
        if contact.bound is not None:
            counts[f"close notice {classify(contact, closed)}"] += 1
    return counts


def main() -> None:
    """Print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=8)
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--reply", type=float, default=0.5)
    args = parser.parse_args()
    total: Counter[str] = Counter()
    for seed in range(args.seeds):
        total += play(args.units, seed, args.reply)
    print(f"proactive OA messages per round, {args.units} units, mean of {args.seeds} seeds"
          f" (a reminder answered with probability {args.reply}):")
    kinds = sorted({key.rsplit(" ", 1)[0] if not key.endswith("not sent")
                    else key.removesuffix(" not sent") for key in total})
    print(f"  {'':15} {'≤ 48 h (free)':>14} {'48 h–7 d (charged)':>19} {'> 7 d (not sent)':>17}")
    sums = Counter[str]()
    for kind in kinds:
        row = [total[f"{kind} {w}"] / args.seeds for w in ("free", "charged", "not sent")]
        for w, value in zip(("free", "charged", "not sent"), row, strict=True):
            sums[w] += value
        print(f"  {kind:15} {row[0]:14.1f} {row[1]:19.1f} {row[2]:17.1f}")
    print(f"  {'all':15} {sums['free']:14.1f} {sums['charged']:19.1f} {sums['not sent']:17.1f}")


if __name__ == "__main__":
    main()
