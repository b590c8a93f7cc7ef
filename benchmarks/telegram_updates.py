"""Answer updates per second through python-telegram-bot's Application, floor vs reportbot.

Feeds the same N text-message updates through `Application.process_update` with a request
object that answers like the Bot API without a network (tests/test_telegram.py), to
(a) an echo handler that commits one row to SQLite (aiosqlite, same pragmas) and replies —
the floor — (a') the same echo doing the durable work exactly-once needs (the update's key
deduplicated, its row and its reply committed together before it is sent, marked sent after),
printed beside it, and (b) reportbot's Telegram channel: engine, store, the reply written to the
outbox in the same transaction and sent by the outbox sender running alongside (timed until the
last reply is sent). Pacing is lifted in both (it is Telegram's limit, not our work). Both are
fed in getUpdates-sized batches the way the channel's polling loop processes them. Prints
medians of alternating runs and the ratio (the median of each run's ratio: a
reportbot run is measured seconds after its floor run, so load drifting between runs cancels).
Target (issue #11): ratio >= 0.8 and >= 1,000 answers/s.

    python benchmarks/telegram_updates.py [--contacts 200] [--questions 40] [--repeat 3]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiosqlite
from aiolimiter import AsyncLimiter
from telegram import Update
from telegram.ext import ApplicationBuilder, MessageHandler, filters

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.engine import campaign_text, typed  # noqa: E402
from bot.campaigns.campaign import load_campaign_text  # noqa: E402
from bot.channels.telegram import TelegramChannel  # noqa: E402
from bot.config import load  # noqa: E402
from bot.engine import Engine  # noqa: E402
from bot.hub import Hub  # noqa: E402
from bot.store import PRAGMAS, Store  # noqa: E402

BATCH = 100  # getUpdates returns at most 100 updates
# `reportbot run` freezes its start-up heap (bot/app.py). Here both arms freeze the same way once
# their start-up is done and their inputs are built: the 8,000 prebuilt updates (a production
# batch holds 100) would otherwise be scanned by every full collection. --no-freeze: without.
FREEZE = True
from tests.test_telegram import TOKEN, RecordingRequest  # noqa: E402


class Request(RecordingRequest):
    """The recording Bot API without its markup check: Telegram's work, not ours (the floor's
    plain replies are not checked either)."""

    async def do_request(self, url: str, method: str, request_data: Any = None,
                         **timeouts: Any) -> tuple[int, bytes]:
        import tests.test_telegram as recording

        check, recording._refusal = recording._refusal, lambda _name, _params: None
        try:
            return await super().do_request(url, method, request_data, **timeouts)
        finally:
            recording._refusal = check


def text_update(update_id: int, user: int, text: str, bot: Any) -> Update:
    """Return a private text message update as Telegram sends it."""
    return Update.de_json({"update_id": update_id, "message": {
        "message_id": update_id, "date": int(time.time()), "text": text,
        "chat": {"id": user, "type": "private"},
        "from": {"id": user, "is_bot": False, "first_name": f"U{user}"}}}, bot)


async def floor(folder: Path, updates: list[tuple[int, str]]) -> float:
    """Return updates/s for an echo handler that commits one row and replies."""
    db = await aiosqlite.connect(folder / "floor.sqlite3")
    for pragma in PRAGMAS:
        await db.execute(pragma)
    await db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, chat INTEGER, text TEXT)")
    await db.commit()

    async def echo(update: Update, _context: Any) -> None:
        message = update.effective_message
        assert message is not None
        await db.execute("INSERT INTO t (chat, text) VALUES (?, ?)",
                         (message.chat_id, message.text))
        await db.commit()
        await message.reply_text(message.text or "")

    app = ApplicationBuilder().token(TOKEN).request(RecordingRequest()).updater(None).build()
    app.add_handler(MessageHandler(filters.TEXT, echo))
    await app.initialize()
    elapsed = await _feed(app, updates)
    gc.unfreeze()
    await app.shutdown()
    await db.close()
    return len(updates) / elapsed


async def durable_floor(folder: Path, updates: list[tuple[int, str]]) -> float:
    """Return updates/s for an echo handler that does the durable work exactly-once needs:
    the update's key (deduplicated), its row and its reply committed together before the reply
    is sent, the reply marked sent after."""
    db = await aiosqlite.connect(folder / "durable.sqlite3")
    for pragma in PRAGMAS:
        await db.execute(pragma)
    await db.executescript(
        "CREATE TABLE seen (key TEXT PRIMARY KEY);"
        " CREATE TABLE t (id INTEGER PRIMARY KEY, chat INTEGER, text TEXT);"
        " CREATE TABLE owed (id INTEGER PRIMARY KEY, chat INTEGER, text TEXT, sent INTEGER);")
    await db.commit()

    async def echo(update: Update, _context: Any) -> None:
        message = update.effective_message
        assert message is not None
        seen = await db.execute("INSERT OR IGNORE INTO seen VALUES (?)", (str(update.update_id),))
        if not seen.rowcount:
            return
        await db.execute("INSERT INTO t (chat, text) VALUES (?, ?)",
                         (message.chat_id, message.text))
        owed = await db.execute("INSERT INTO owed (chat, text, sent) VALUES (?, ?, 0)",
                                (message.chat_id, message.text))
        await db.commit()
        await message.reply_text(message.text or "")
        await db.execute("UPDATE owed SET sent = 1 WHERE id = ?", (owed.lastrowid,))
        await db.commit()

    app = ApplicationBuilder().token(TOKEN).request(RecordingRequest()).updater(None).build()
    app.add_handler(MessageHandler(filters.TEXT, echo))
    await app.initialize()
    elapsed = await _feed(app, updates)
    gc.unfreeze()
    await app.shutdown()
    await db.close()
    return len(updates) / elapsed


async def reportbot(folder: Path, updates: list[tuple[int, str]], contacts: int,
                    questions: int) -> float:
    """Return updates/s through reportbot's channel, engine and store."""
    settings = load({"TELEGRAM_BOT_TOKEN": TOKEN, "REPORTBOT_DB": str(folder / "rb.sqlite3"),
                     "REPORTBOT_DATA_DIR": str(folder / "data")}, env_file=None)
    store = await Store.open(settings.db)
    spec = load_campaign_text("bench.yaml", campaign_text(questions, contacts), settings.tz)
    campaign_id, _ = await store.create_campaign(spec, Engine(store).clock())
    hub = Hub(store, settings)
    engine, sender = hub.engine, hub.sender
    for user in range(1, contacts + 1):
        await engine.bind("telegram", str(user), f"U{user - 1}")
    app = ApplicationBuilder().token(TOKEN).request(Request()).updater(None).build()
    channel = TelegramChannel(app, hub)
    sender.per_chat = 1e9
    sender.overall = {"telegram": AsyncLimiter(10**9, 1)}
    await channel.start()
    for user in range(1, contacts + 1):  # open each conversation (not timed)
        await app.process_update(text_update(10**6 + user, user, "/start", app.bot))
    await sender.drain()
    stop = asyncio.Event()
    sending = asyncio.create_task(sender.run(stop))
    elapsed = await _feed(app, updates, settle=sender.drain)  # until every reply is sent
    gc.unfreeze()
    stop.set()
    await sending
    answered = sum(len(s.answers) for s in await store.sheets(campaign_id))
    await channel.stop()
    await store.close()
    if answered != len(updates):
        raise SystemExit(f"only {answered} of {len(updates)} answers were stored")
    return len(updates) / elapsed


async def _feed(app: Any, updates: list[tuple[int, str]],
                settle: Callable[[], Awaitable[None]] | None = None) -> float:
    """Feed updates in batches of 100, as getUpdates returns them, the way the channel's
    polling loop processes a batch: chats in parallel, each chat's updates in order.

    Return the seconds from the first batch until the last is processed and, with `settle`,
    until it returns (reportbot: the sender sent every reply). The updates are built before
    the clock starts, for every arm alike."""
    batches = [[text_update(i, user, text, app.bot) for i, (user, text) in
                enumerate(updates[start:start + BATCH], start + 1)]
               for start in range(0, len(updates), BATCH)]
    if FREEZE:  # what was built before (start-up, the inputs) leaves the collector's scans
        gc.freeze()
    started = time.perf_counter()
    for batch in batches:
        await TelegramChannel.process_batch(app, batch)
    if settle is not None:
        await settle()
    return time.perf_counter() - started


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=200)
    parser.add_argument("--questions", type=int, default=40)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-freeze", action="store_true",
                        help="leave the start-up heap and the inputs to the collector (both arms)")
    args = parser.parse_args()
    global FREEZE
    FREEZE = not args.no_freeze
    updates = [(user, typed(q)) for q in range(args.questions)
               for user in range(1, args.contacts + 1)]
    runs: dict[str, list[float]] = {"floor": [], "durable": [], "reportbot": []}
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory() as tmp:
            runs["floor"].append(await floor(Path(tmp), updates))
            runs["durable"].append(await durable_floor(Path(tmp), updates))
            runs["reportbot"].append(
                await reportbot(Path(tmp), updates, args.contacts, args.questions))
    base, ours = statistics.median(runs["floor"]), statistics.median(runs["reportbot"])
    print(f"{len(updates)} answer updates ({args.contacts} contacts x {args.questions} questions),"
          f" medians of {args.repeat} alternating runs{'' if FREEZE else ', no gc.freeze()'}")
    print(f"floor (echo + 1 SQLite commit + reply): {base:6.0f} updates/s  "
          f"runs {[round(v) for v in runs['floor']]}")
    durable = statistics.median(runs["durable"])
    print(f"floor, durable (key + row + reply committed, then marked sent): {durable:6.0f}"
          f" updates/s  runs {[round(v) for v in runs['durable']]}")
    print(f"reportbot answer path:                  {ours:6.0f} updates/s  "
          f"runs {[round(v) for v in runs['reportbot']]}")
    # Each run of reportbot follows its own floor run by seconds: the ratio within a run is
    # not moved by the machine's load drifting between runs, as a ratio of medians is.
    paired = statistics.median(o / f for o, f in zip(runs["reportbot"], runs["floor"],
                                                     strict=True))
    print(f"ratio {paired:.2f} (issue #11: over the echo floor, median of the {args.repeat}"
          f" runs' ratios; of the medians {ours / base:.2f});"
          f" over the durable floor {ours / durable:.2f}")


if __name__ == "__main__":
    asyncio.run(main())
