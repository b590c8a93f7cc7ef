"""Answers per second through engine + store on a file database, next to raw aiosqlite commits.

Prints, for one contact answering alone and for 200 contacts interleaved, the answers/s that
went through `Engine.handle` (parse, decide, render the next question, commit), the rate of
bare single-row aiosqlite INSERT + COMMIT on the same kind of database in the same run, and
their ratio. Every answer is committed before its reply is returned. Target: ratio >= 0.7 and
>= 1,000 answers/s. Also printed: the store's share (the same writes through `Store.step` with
no engine), and the 200 contacts handled 100 chats at a time, concurrently, the way the
Telegram channel processes one getUpdates batch (steps decided meanwhile share one commit).

Both rates are set mostly by how fast the event loop and aiosqlite's connection thread hand
work to each other, and that depends on where the OS runs the two threads: on separate cores
a round trip costs 100–130 µs here, on one shared core 30–40 µs. Left to the OS the
placement changes from run to run, so by default the script pins the threads and measures
both placements (`--placement separate|shared|os|both`).

    python benchmarks/engine.py [--questions 40] [--rounds 50] [--contacts 200] [--placement both]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiosqlite

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.campaigns.campaign import load_campaign_text  # noqa: E402
from bot.campaigns.spec import CampaignSpec  # noqa: E402
from bot.channels.base import CONSOLE, Incoming  # noqa: E402
from bot.engine import Engine  # noqa: E402
from bot.model import Changes, ContactState, Session  # noqa: E402
from bot.questionnaire import parse_answer  # noqa: E402
from bot.store import PRAGMAS, Store  # noqa: E402

TYPES = [("integer", "1.250 người"), ("money", "1,5 tỷ"), ("percent", "99,5 %"),
         ("text", "Đã triển khai đầy đủ, kịp thời")]


def campaign_text(questions: int, units: int) -> str:
    """Return a campaign with `questions` questions of mixed types and `units` units."""
    lines = [
        "title: Đo tốc độ", "request: Công văn số 1/SNV-TĐKT ngày 01/10/2023 của Sở Nội vụ",
        "agency: {parent: UBND TỈNH QUẢNG NGÃI, name: SỞ NỘI VỤ, code: SNV, place: Quảng Ngãi}",
        "deadline: 2030-10-31 17:00", "questionnaire:", "  sections:", "    - title: I. Số liệu",
        "      questions:",
    ]
    for i in range(questions):
        kind = TYPES[i % len(TYPES)][0]
        lines.append(f'        - {{id: q{i}, type: {kind}, ask: "Câu hỏi số {i}"}}')
    lines.append("units:")
    lines += [f"  - {{code: U{u}, name: Đơn vị {u}}}" for u in range(units)]
    return "\n".join(lines) + "\n"


BATCH = 100  # updates per getUpdates call at most
PLACEMENTS = {"separate": ({0}, {1}), "shared": ({0}, {0})}  # (event loop, connection thread)


class Placement:
    """Pins the event loop's thread and each connection's thread to chosen cores (Linux)."""

    def __init__(self, name: str) -> None:
        self.name = name
        cores = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else set()
        self.loop_core, self.db_core = PLACEMENTS.get(name, (cores, cores))

    def enter(self) -> None:
        """Pin the calling (event loop) thread; threads it starts inherit this."""
        if self.loop_core:
            os.sched_setaffinity(0, self.loop_core)

    def pin(self, connection: aiosqlite.Connection) -> None:
        """Pin a connection's worker thread (aiosqlite >= 0.20 keeps it in `_thread`)."""
        thread: Any = getattr(connection, "_thread", connection)
        if self.db_core and thread.native_id is not None:
            os.sched_setaffinity(thread.native_id, self.db_core)


def typed(index: int) -> str:
    """Return a valid typed answer for question `index`."""
    return TYPES[index % len(TYPES)][1]


async def answer(engine: Engine, chat: str, text: str, campaign: int) -> None:
    """Send one answer and check it was accepted."""
    replies = await engine.handle(Incoming("bench", chat, text=text), CONSOLE, campaign)
    if "Đã lưu" not in replies[0].text:
        raise SystemExit(f"answer refused: {replies[0].text[:200]}")


async def _solo(path: Path, spec: CampaignSpec, rounds: int,
                placement: Placement) -> tuple[Store, Engine, list[int]]:
    """Open a store with `rounds` rounds and one contact greeted in each."""
    store = await Store.open(path)
    placement.pin(store._db)  # the store keeps its aiosqlite connection here
    engine = Engine(store)
    campaigns = [(await store.create_campaign(spec, datetime.now(UTC)))[0] for _ in range(rounds)]
    await engine.bind("bench", "solo", "U0")
    for campaign in campaigns:
        await engine.handle(Incoming("bench", "solo"), CONSOLE, campaign)
    return store, engine, campaigns


async def one_contact(folder: Path, spec: CampaignSpec, rounds: int, questions: int,
                      placement: Placement) -> float:
    """Return answers/s for one contact answering `rounds` rounds of `questions` questions."""
    store, engine, campaigns = await _solo(folder / "one.sqlite3", spec, rounds, placement)
    started = time.perf_counter()
    for campaign in campaigns:
        for i in range(questions):
            await answer(engine, "solo", typed(i), campaign)
    elapsed = time.perf_counter() - started
    await store.close()
    return rounds * questions / elapsed


def _fixed(changes: Changes) -> Callable[[ContactState], tuple[Changes, Callable[[], None]]]:
    """Return a decision that always writes `changes` and makes no reply."""
    return lambda _state: (changes, lambda: None)


async def store_only(folder: Path, spec: CampaignSpec, rounds: int, questions: int,
                     placement: Placement) -> float:
    """Return writes/s of the same answers through `Store.step` with the engine left out.

    Each step writes what the engine writes for an answer (the value and the moved cursor)
    through the same cache, group commit and transaction, but decides nothing and renders
    no reply: the store's share of an answer's cost.
    """
    store, _engine, campaigns = await _solo(folder / "store.sqlite3", spec, rounds, placement)
    ids = [q.id for q in spec.questionnaire.questions]
    values = [parse_answer(spec.questionnaire.get(qid), typed(i)) for i, qid in enumerate(ids)]
    started = time.perf_counter()
    for campaign in campaigns:
        for i in range(questions):
            following = ids[i + 1] if i + 1 < len(ids) else None
            changes = Changes({ids[i]: (values[i], typed(i))}, Session("asking", following))
            await store.step("bench", "solo", None, None, _fixed(changes), datetime.now(UTC),
                             campaign)
    elapsed = time.perf_counter() - started
    await store.close()
    return rounds * questions / elapsed


async def interleaved(folder: Path, spec: CampaignSpec, contacts: int, questions: int,
                      placement: Placement, batch: int = 1) -> float:
    """Return answers/s for `contacts` contacts of distinct units taking turns.

    With `batch` > 1 the answers are handled `batch` at a time concurrently, one per chat, the
    way the Telegram channel processes the updates of one getUpdates call (at most 100).
    """
    store = await Store.open(folder / f"many-{batch}.sqlite3")
    placement.pin(store._db)  # the store keeps its aiosqlite connection here
    engine = Engine(store)
    campaign, _ = await store.create_campaign(spec, datetime.now(UTC))
    for c in range(contacts):
        await engine.bind("bench", f"c{c}", f"U{c}")
        await engine.handle(Incoming("bench", f"c{c}"), CONSOLE, campaign)
    started = time.perf_counter()
    for i in range(questions):
        for first in range(0, contacts, batch):
            chats = range(first, min(first + batch, contacts))
            await asyncio.gather(*(answer(engine, f"c{c}", typed(i), campaign) for c in chats))
    elapsed = time.perf_counter() - started
    await store.close()
    return contacts * questions / elapsed


async def raw_commits(folder: Path, count: int, placement: Placement) -> float:
    """Return single-row INSERT + COMMIT per second with plain aiosqlite and the same pragmas."""
    db = await aiosqlite.connect(folder / "raw.sqlite3")
    placement.pin(db)
    for pragma in PRAGMAS:
        await db.execute(pragma)
    await db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, value TEXT NOT NULL)")
    await db.commit()
    started = time.perf_counter()
    for i in range(count):
        await db.execute("INSERT INTO t (value) VALUES (?)", (f"answer {i}",))
        await db.commit()
    elapsed = time.perf_counter() - started
    await db.close()
    return count / elapsed


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--contacts", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=5, help="alternating runs; medians shown")
    parser.add_argument("--placement", choices=["separate", "shared", "os", "both"],
                        default="both", help="where the loop and the connection thread run")
    args = parser.parse_args()
    names = ["separate", "shared"] if args.placement == "both" else [args.placement]
    if any(n in PLACEMENTS for n in names) and len(os.sched_getaffinity(0)) < 2:
        names = ["os"]  # pinning needs two cores
    tz = ZoneInfo("Asia/Ho_Chi_Minh")
    spec = load_campaign_text("bench.yaml", campaign_text(args.questions, args.contacts), tz)
    print(f"medians of {args.repeat} alternating runs on a file database (WAL, synchronous=NORMAL)")
    for name in names:
        await measure(Placement(name), spec, args)


async def measure(placement: Placement, spec: CampaignSpec, args: argparse.Namespace) -> None:
    """Print raw, one-contact and interleaved rates with the threads placed as asked."""
    placement.enter()
    runs: dict[str, list[float]] = {"raw": [], "store": [], "solo": [], "many": [], "batch": []}
    for _ in range(args.repeat):  # alternate so that machine noise hits all alike
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            runs["raw"].append(await raw_commits(folder, 3000, placement))
            runs["store"].append(await store_only(folder, spec, args.rounds,
                                                  args.questions, placement))
            runs["solo"].append(await one_contact(folder, spec, args.rounds, args.questions,
                                                  placement))
            runs["many"].append(await interleaved(folder, spec, args.contacts, args.questions,
                                                  placement))
            runs["batch"].append(await interleaved(folder, spec, args.contacts, args.questions,
                                                   placement, BATCH))
    raw, store, solo, many, batch = (statistics.median(runs[k]) for k in runs)
    where = {"separate": "loop and connection thread on separate cores",
             "shared": "loop and connection thread on one core",
             "os": "threads placed by the OS"}[placement.name]
    print(f"\n[{placement.name}] {where}")
    print(f"raw aiosqlite INSERT+COMMIT:  {raw:6.0f} commits/s   runs {_list(runs['raw'])}")
    print(f"store alone, 1 contact:       {store:6.0f} writes/s    ratio {store / raw:.2f}   "
          f"runs {_list(runs['store'])} (the answers' writes, no engine)")
    print(f"engine+store, 1 contact:      {solo:6.0f} answers/s   ratio {solo / raw:.2f}   "
          f"runs {_list(runs['solo'])} ({args.rounds * args.questions} answers each)")
    print(f"engine+store, {args.contacts} contacts:  {many:6.0f} answers/s   "
          f"ratio {many / raw:.2f}   runs {_list(runs['many'])} "
          f"({args.contacts * args.questions} answers each, interleaved)")
    print(f"  same, {BATCH} chats at a time: {batch:6.0f} answers/s   ratio {batch / raw:.2f}   "
          f"runs {_list(runs['batch'])} (concurrently, as the Telegram channel handles a batch)")


def _list(values: list[float]) -> str:
    return "[" + ", ".join(f"{v:.0f}" for v in values) + "]"


if __name__ == "__main__":
    asyncio.run(main())
