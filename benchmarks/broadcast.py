"""3,000 reminders through the real send path to a local fake that enforces Telegram's limits.

The fake Bot API (tests/fakebotapi.py) on 127.0.0.1 answers 429 beyond 30 messages/s overall
and 1/s per chat. A round with 1,000 units x 3 contacts has a reminder slot due now;
`reportbot run` (a subprocess) sends them, is killed with SIGKILL half-way and restarted.
Prints the elapsed time next to the ideal 100 s, the 429s, the duplicates and the reminders
missing. Target: <= 110 s, zero duplicates, every reminder delivered.

    python benchmarks/broadcast.py [--units 1000] [--contacts 3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.campaigns.campaign import load_campaign_text  # noqa: E402
from bot.store import Store  # noqa: E402
from tests.fakebotapi import FakeBotApi  # noqa: E402

TOKEN = "123456:BENCH-token-abcdefghijklmnopqrstu"
FIRST_CHAT = 100_000
MARK = "Hạn nộp"  # every reminder before the deadline says it


def campaign_text(units: int, tz: ZoneInfo) -> str:
    """Return a round whose "1 day before" reminder slot fell two minutes ago."""
    slot = (datetime.now(tz) - timedelta(minutes=2)).replace(second=0, microsecond=0)
    deadline = slot + timedelta(days=1)
    lines = [
        "title: Đo tốc độ nhắc việc",
        "request: Công văn số 1/SNV-TĐKT ngày 01/10/2023 của Sở Nội vụ",
        "agency: {parent: UBND TỈNH QUẢNG NGÃI, name: SỞ NỘI VỤ, code: SNV, place: Quảng Ngãi}",
        f"deadline: {deadline:%Y-%m-%d} 23:59",
        f'reminders: {{before_days: [1], at: "{slot:%H:%M}", working_days_only: false,'
        " quiet_hours: null}",
        "questionnaire:", "  sections:", "    - title: I. Số liệu", "      questions:",
        '        - {id: so_nguoi, type: integer, ask: "Tổng số người?"}',
        "units:",
    ]
    lines += [f"  - {{code: U{u}, name: Đơn vị {u}}}" for u in range(units)]
    return "\n".join(lines) + "\n"


async def prepare(db: Path, units: int, contacts: int) -> None:
    """Create the round and bind `contacts` Telegram contacts to every unit."""
    tz = ZoneInfo("Asia/Ho_Chi_Minh")
    store = await Store.open(db)
    spec = load_campaign_text("bench.yaml", campaign_text(units, tz), tz)
    await store.create_campaign(spec, datetime.now(UTC) - timedelta(hours=1))
    chat = FIRST_CHAT
    for unit in range(units):
        for _ in range(contacts):
            await store.bind("telegram", str(chat), str(chat), f"U{unit}", datetime.now(UTC))
            chat += 1
    await store.close()


def start(env: dict[str, str], folder: Path) -> subprocess.Popen[bytes]:
    """Start `reportbot run`."""
    return subprocess.Popen([sys.executable, "-m", "bot.cli", "run"], cwd=folder, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def delivered(fake: FakeBotApi) -> Counter[int]:
    """Return how many reminders each chat received."""
    return Counter(m.chat_id for m in fake.sent_messages() if MARK in m.text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=1000)
    parser.add_argument("--contacts", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=300)
    args = parser.parse_args()
    expected = args.units * args.contacts
    with tempfile.TemporaryDirectory() as tmp, FakeBotApi(token=TOKEN) as fake:
        folder = Path(tmp)
        asyncio.run(prepare(folder / "bot.sqlite3", args.units, args.contacts))
        fake.limits(global_per_second=30, per_chat_per_second=1)
        env = {**os.environ, "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_BASE_URL": fake.base_url,
               "REPORTBOT_DB": str(folder / "bot.sqlite3"), "PYTHONPATH": str(ROOT)}
        started = time.monotonic()
        bot = start(env, folder)
        while sum(delivered(fake).values()) < expected // 2:
            time.sleep(0.05)
        bot.send_signal(signal.SIGKILL)
        bot.wait()
        killed_at = sum(delivered(fake).values())
        bot = start(env, folder)
        deadline = started + args.timeout
        while len(delivered(fake)) < expected and time.monotonic() < deadline:
            time.sleep(0.05)
        last = max((c.at for c in fake.calls("sendMessage")), default=time.monotonic())
        elapsed = last - started
        bot.send_signal(signal.SIGTERM)
        bot.wait(timeout=60)
        counts = delivered(fake)
    duplicates = sum(n - 1 for n in counts.values() if n > 1)
    ideal = expected / 30
    print(f"{expected} reminders ({args.units} units x {args.contacts} contacts), fake Bot API "
          f"enforcing 30 msg/s overall and 1/s per chat; SIGKILL after {killed_at}, restarted")
    print(f"elapsed {elapsed:.1f} s   ideal {ideal:.1f} s   ratio {elapsed / ideal:.2f}")
    print(f"429 answers: {fake.too_many_requests}   duplicates: {duplicates}   "
          f"delivered: {len(counts)}/{expected}   missing: {expected - len(counts)}")


if __name__ == "__main__":
    main()
