"""Exactly once under a storm of SIGKILLs: contacts answer while the bot is killed and restarted.

The fake Bot API (tests/fakebotapi.py) on 127.0.0.1 plays Telegram: getUpdates confirms by
offset, so a killed bot gets every unconfirmed update again. A round is created with
``reportbot campaign create FILE --json`` (six questions, one unit per contact) and
``reportbot run`` runs as a subprocess against the fake. Each contact is a Telegram user: it
opens its invite (``/start <token>``), answers the question the bot's latest message asks, one
message at a time, and sends ``/submit`` when the bot's latest message asks no question and
says "Gõ /submit" (the answer sheet). It sends its next message only after a reply of the bot
to its previous one arrived, after a short "typing" pause; while the bot is down it just waits
and resends nothing. A coordinator sends ``/invites``
(once every contact has bound) and ``/compile`` once each during the storm. Meanwhile the bot is
SIGKILLed ``--kills`` times, each 0.2–2.5 s (seeded) after it began polling again, and
restarted 0.05–0.5 s later. Then it runs undisturbed until quiet (no update left unconfirmed,
no outbox row pending, nothing sent for 3 s; at most 30 s), is stopped with SIGTERM, and the
figures are printed. The storm and the contacts' work are bounded by ``--time-limit``; a run
that hits it says so.
Everything runs on 127.0.0.1 in a temporary folder, removed afterwards.

    python benchmarks/restart_storm.py [--kills 20] [--contacts 20] [--seed 1] [--time-limit 180]

``--bot-source DIR`` runs the bot of another checkout, e.g. the code before a change:
``git archive COMMIT | tar -x -C /tmp/before`` then ``--bot-source /tmp/before``.

Every input a contact sends has a text no other input of that contact has (a retried question
gets another value: "101 người" after "100 người"), so the ``raw`` column of ``answer_history``
names the input an answer came from. The figures, one per line:

inputs sent
    Messages the contacts sent (``/start``, answers, ``/submit``), plus the coordinator's two.
inputs processed
    Contact inputs whose effect is in the database: an ``/start`` whose contact is bound to its
    unit, an answer whose text is the ``raw`` of an ``answer_history`` row of the unit, a
    ``/submit`` whose unit is submitted.
answers lost
    Answers the bot confirmed (the first message of the input's reply window, see below, says
    "✔️ Đã lưu") or that Telegram counts as delivered and acknowledged (update_id below the
    highest ``offset`` the bot passed to getUpdates), with no ``answer_history`` row of that
    text. An answer typed for a question the bot asked again, and taken (and refused) as the
    answer to the question it had moved on to, is lost too: acknowledged, not stored; the figure
    says how many lost answers leave their question with no answer stored at all.
answers doubled
    ``answer_history`` rows beyond the first for one input (same unit, same raw text).
answers misfiled
    ``answer_history`` rows stored under another question than the one the contact answered
    (or whose text no input of the unit had).
replies sent twice for one input
    A contact's reply window is the time from one of its inputs to its next (the last one runs
    to the end). Under the one-at-a-time protocol every text message the bot sends the contact
    in a window answers that input or an earlier one that was redelivered; one is owed (the
    ``/submit`` window also owes the unit's .docx, a document, not counted here). Every text
    message beyond the first in a window counts once ("identical" says how many repeat a text
    already sent in the same window word for word). For the coordinator: ``/invites`` answers
    beyond one, and compile summaries ("TỔNG HỢP …") beyond the compiles owed (see below).
documents sent twice
    A unit's .docx to its contact beyond one; compile documents beyond the compiles owed.
owed documents missing
    Each contact whose unit is submitted is owed its ``<CODE>.docx`` (sendDocument). The
    coordinator is owed a compile (``bao-cao-tong-hop.docx`` and ``du-lieu.xlsx``) sent after
    its ``/compile``, and, when every unit submitted, another sent after the last contact's
    first ``/submit``; each document received counts for one owed compile at most (the latest
    owed takes the latest document). Each owed document not received counts once, unless it
    was lost at a kill (below).
documents lost at a kill
    Owed documents not received whose request was in flight at a kill: the bot logged the
    document claimed (recorded as sent right before its request) and had not logged it sent
    when it was SIGKILLed (the storm writes a line into the bot's log after each kill).
    This is the documented at-most-once window of a document (bot/outbox.py): not sent again,
    so never twice. Not counted in "owed documents missing".
texts sent again after a kill
    A bot text identical to the bot's previous text to that contact, with a SIGKILL between the
    two: accepted by Telegram but not yet marked sent when the bot died, so sent once more (the
    documented at-least-once window of a text). Not counted in the figures above or below; the
    simulated contact, like a person, does not answer the same message twice.
largest number of times one question reached one contact
    The most bot messages showing one question prompt ("Câu k/n · …" and the question) to one
    contact; 1 when every question was asked once.
contacts asked out of order
    Contacts who were asked a question other than the one they were at or the next one (the
    bot went back to a question already answered, or skipped one): they did not resume at the
    right question after a restart. Contacts never type «quay lại».
contacts finished
    Contacts who saw their submit confirmed within the time limit (and units submitted).

Also: the kills done, update deliveries beyond the first (getUpdates answers repeating an
update), error lines the bot logged, and the total time. The script measures; it does not judge:
it exits 0 whatever the figures, 2 only when it could not run at all.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.fakebotapi import BOT_USERNAME, FakeBotApi, SentMessage  # noqa: E402

TOKEN = "123456:STORM-token-abcdefghijklmnopqrstu"
COORDINATOR = 900
FIRST_CONTACT = 10_001
POLL = 0.05  # how often the people look at their chats
THINK = (0.3, 1.5)  # seconds a contact takes to type the next message
UPTIME = (0.2, 2.5)  # seconds the bot runs after it began polling, before a kill
DOWNTIME = (0.05, 0.5)  # seconds between a kill and the restart
QUIET = 3.0  # nothing sent for this long (and no update unconfirmed): quiet
QUIET_LIMIT = 30.0
CLAIMED = re.compile(r"outbox: row (?P<row>\d+): document (?P<name>\S+) to chat (?P<chat>-?\d+)"
                     r" claimed")
SENT_DOC = re.compile(r"outbox: row (?P<row>\d+): document \S+ to chat -?\d+ sent")
KILL_MARK = "restart-storm: SIGKILL"  # written to the bot's log after each kill
BOT_START_LIMIT = 30.0  # a bot that does not poll within this is killed anyway

QUESTIONS: list[tuple[str, str]] = [
    ("so_nguoi", "Tổng số người của đơn vị?"),
    ("ghi_chu", "Nội dung nổi bật của đơn vị?"),
    ("ngay", "Ngày tổ chức hội nghị?"),
    ("ty_le", "Tỷ lệ tiêm vắc xin?"),
    ("tien", "Số tiền ủng hộ?"),
    ("muc_do", "Tự đánh giá?"),
]
ORDER = {qid: index for index, (qid, _ask) in enumerate(QUESTIONS)}
BY_ASK = {ask: qid for qid, ask in QUESTIONS}
CHOICES = ["Tốt", "Khá", "Trung bình", "Yếu", "Kém"]
PROMPT = re.compile(r"Câu (\d+)/(\d+) · [^\n]*\n([^\n]+)")
SAVED = "✔️ Đã lưu"
SUBMITTED = ("Đã gửi báo cáo", "Báo cáo của đơn vị đã được gửi")
SUBMIT_HINT = "Gõ /submit"
BAD_INVITE = "Mã mời không đúng"
INVITES = "Đã tạo lại mã mời"
SUMMARY = "TỔNG HỢP"
INVITE_LINE = re.compile(r"^(\S+) · .*\n(?:https://t\.me/\S+\?start=|/start )(\S+)", re.M)
COMPILE_DOCS = ("bao-cao-tong-hop.docx", "du-lieu.xlsx")


def campaign_text(units: int, now: datetime) -> str:
    """Return a small round (like tests/conftest.py SMALL_CAMPAIGN) with one unit per contact."""
    deadline = now + timedelta(days=365)
    asks = dict(QUESTIONS)
    lines = [
        "title: Đợt thử khởi động lại",
        "request: Công văn số 1/SNV-TĐKT ngày 01/10/2023 của Sở Nội vụ",
        "agency: {parent: UBND TỈNH QUẢNG NGÃI, name: SỞ NỘI VỤ, code: SNV, place: Quảng Ngãi}",
        f"deadline: {deadline:%Y-%m-%d} 17:00",
        "questionnaire:",
        "  sections:",
        "    - title: I. Thông tin chung",
        "      questions:",
        f'        - {{id: so_nguoi, type: integer, ask: "{asks["so_nguoi"]}", unit: người,'
        " min: 1}",
        f'        - {{id: ghi_chu, type: text, ask: "{asks["ghi_chu"]}"}}',
        f'        - {{id: ngay, type: date, ask: "{asks["ngay"]}"}}',
        "    - title: II. Kết quả",
        "      questions:",
        f'        - {{id: ty_le, type: percent, ask: "{asks["ty_le"]}"}}',
        f'        - {{id: tien, type: money, ask: "{asks["tien"]}"}}',
        f'        - {{id: muc_do, type: choice, ask: "{asks["muc_do"]}",'
        f" options: [{', '.join(CHOICES)}]}}",
        "units:",
    ]
    lines += [f"  - {{code: U{u + 1:02d}, name: Đơn vị số {u + 1}}}" for u in range(units)]
    return "\n".join(lines) + "\n"


def answer_text(contact: int, qid: str, attempt: int) -> str:
    """The text contact number `contact` types for question `qid` the `attempt`-th time (0…).

    Different for every attempt, so that the stored ``raw`` names the input.
    """
    if qid == "so_nguoi":
        return f"{(contact + 1) * 100 + attempt} người"
    if qid == "ghi_chu":
        return f"Đơn vị số {contact + 1} đã tổ chức tuyên truyền, lần trả lời {attempt + 1}"
    if qid == "ngay":
        return f"{attempt % 28 + 1:02d}/{contact % 12 + 1:02d}/2023"
    if qid == "ty_le":
        return f"{50 + contact % 40},{attempt + 1} %"
    if qid == "tien":
        return f"{contact + 1}{attempt:02d} triệu"
    variants = [str(n) for n in range(1, len(CHOICES) + 1)] + CHOICES
    return variants[(contact + attempt) % len(variants)]


def command(source: Path | None = None) -> list[str]:
    """The reportbot command: this environment's, or ``python -m bot.cli`` of a checkout."""
    script = Path(sys.executable).parent / "reportbot"
    if source is None and script.exists():
        return [str(script)]
    return [sys.executable, "-m", "bot.cli"]


# --------------------------------------------------------------------------- the bot process


class BotProcess:
    """`reportbot run` as a subprocess; its stderr goes to a file (kept across restarts)."""

    def __init__(self, folder: Path, fake: FakeBotApi, source: Path | None = None) -> None:
        self.folder = folder
        self.fake = fake
        self.command = command(source)
        self.env = {k: v for k, v in os.environ.items()
                    if not k.startswith(("REPORTBOT_", "TELEGRAM_"))}
        if source is not None:  # the checkout's bot package comes first on the path
            self.env["PYTHONPATH"] = os.pathsep.join(
                [str(source.resolve()), *filter(None, [os.environ.get("PYTHONPATH")])])
        self.env.update(
            TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_API_BASE_URL=fake.base_url,
            TELEGRAM_BOT_USERNAME=BOT_USERNAME, REPORTBOT_DB=str(folder / "bot.sqlite3"),
            REPORTBOT_DATA_DIR=str(folder / "data"), REPORTBOT_ADMINS=str(COORDINATOR),
        )
        self.log = folder / "bot.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.started_mark = 0
        self.starts = 0

    def cli(self, *args: str) -> str:
        """Run a reportbot command to completion; return its output."""
        done = subprocess.run([*self.command, *args], cwd=self.folder, env=self.env, text=True,
                              capture_output=True, timeout=120, check=True)
        return done.stdout

    def start(self) -> None:
        """Start `reportbot run`."""
        self.started_mark = self.fake.mark()
        with self.log.open("ab") as log:
            self.process = subprocess.Popen([*self.command, "run"], cwd=self.folder, env=self.env,
                                            stdin=subprocess.DEVNULL,
                                            stdout=subprocess.DEVNULL, stderr=log)
        self.starts += 1

    def polling(self) -> bool:
        """Whether the bot made a getUpdates call since it was last started."""
        return any(c.seq > self.started_mark for c in self.fake.calls("getUpdates"))

    def kill(self) -> None:
        """SIGKILL, and reap; the log says where the kill fell among the bot's lines."""
        killed = self.process is not None and self.process.poll() is None
        if killed:
            assert self.process is not None
            self.process.send_signal(signal.SIGKILL)
        if self.process is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=10)
        if killed:
            with self.log.open("a", encoding="utf-8") as log:
                log.write(f"{KILL_MARK}\n")

    def stop(self) -> int | None:
        """SIGTERM and wait (SIGKILL if it does not end within 20 s); return the exit code."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()
        return self.process.returncode

    def claimed_unsent(self) -> Counter[tuple[int, str]]:
        """Documents (chat, file name) the bot claimed as sent right before their request and
        had not logged as sent when it was SIGKILLed: the request was in flight at the kill
        (bot/outbox.py's at-most-once window). A document never attempted, or claimed and
        then refused or timed out with no kill, is not among them."""
        if not self.log.exists():
            return Counter()
        claimed: dict[str, tuple[int, str]] = {}
        in_flight: Counter[tuple[int, str]] = Counter()
        for line in self.log.read_text(encoding="utf-8", errors="replace").splitlines():
            if (found := CLAIMED.search(line)) is not None:
                claimed[found["row"]] = (int(found["chat"]), found["name"])
            elif (found := SENT_DOC.search(line)) is not None:
                claimed.pop(found["row"], None)
            elif line == KILL_MARK:
                in_flight.update(claimed.values())
                claimed.clear()
        return in_flight

    def errors(self) -> list[str]:
        """Error lines the bot logged (over every run)."""
        if not self.log.exists():
            return []
        lines = self.log.read_text(encoding="utf-8", errors="replace").splitlines()
        return [line for line in lines if " ERROR " in line or "Traceback" in line]


# --------------------------------------------------------------------------- people


@dataclass
class Input:
    """One message a person sent: ``mark`` is the fake's last call seq just before it."""

    chat: int
    kind: str  # start, answer, submit, invites, compile
    text: str
    qid: str | None
    mark: int
    update_id: int


def texts_of(fake: FakeBotApi, chat: int) -> list[SentMessage]:
    """The bot's text messages to a chat, in order."""
    return [m for m in fake.sent_messages(chat) if m.method == "sendMessage"]


def prompts(text: str) -> list[str]:
    """The question ids whose prompts a message shows, in order."""
    return [BY_ASK[m.group(3).strip()] for m in PROMPT.finditer(text)
            if m.group(3).strip() in BY_ASK]


class Contact(threading.Thread):
    """A unit's contact: binds, answers what it is asked, one message at a time, submits."""

    def __init__(self, storm: Storm, index: int) -> None:
        super().__init__(name=f"contact-{index}", daemon=True)
        self.storm = storm
        self.index = index
        self.chat = FIRST_CONTACT + index
        self.unit = f"U{index + 1:02d}"
        self.rng = random.Random(f"{storm.seed}:contact:{index}")
        self.inputs: list[Input] = []
        self.attempts: Counter[str] = Counter()
        self.bound = False  # saw a reply to its /start
        self.done = False  # saw its submit confirmed
        self.token_used = ""
        self.answered: set[str] = set()  # bot messages it acted on

    def run(self) -> None:
        """Play the contact until done or told to stop."""
        stop = self.storm.stop
        if stop.wait(self.rng.uniform(0, 2.0)):
            return
        self.token_used = self.storm.tokens[self.unit]
        self.send("start", f"/start {self.token_used}")
        seen = 0
        while not stop.is_set():
            if self.wait_reply(max(self.inputs[-1].mark, seen)) is None:
                return
            self.bound = True
            if stop.wait(self.rng.uniform(*THINK)):
                return
            latest = texts_of(self.storm.fake, self.chat)[-1]
            seen = latest.seq
            if latest.text in self.answered:  # the same message again: a person answered it
                continue
            self.answered.add(latest.text)
            action = self.decide(latest.text)
            if action == "done":
                self.done = True
                return
            if action is not None:
                self.send(*action)

    def wait_reply(self, after: int) -> SentMessage | None:
        """Wait (without resending anything) for a text message of the bot after seq `after`."""
        while not self.storm.stop.is_set():
            for message in texts_of(self.storm.fake, self.chat):
                if message.seq > after:
                    return message
            self.storm.stop.wait(POLL)
        return None

    def decide(self, text: str) -> Any:
        """What to send after the bot's latest message: ("kind", text), "done" or None (wait)."""
        asked = prompts(text)
        if asked:
            qid = asked[-1]
            answer = answer_text(self.index, qid, self.attempts[qid])
            self.attempts[qid] += 1
            return "answer", answer, qid
        if any(mark in text for mark in SUBMITTED):
            return "done"
        if SUBMIT_HINT in text:  # the answer sheet, "all answered", "edited after submit"
            return "submit", "/submit"
        if BAD_INVITE in text:  # the invite was replaced: use the coordinator's new one
            token = self.storm.current_token(self.unit)
            if token and token != self.token_used:
                self.token_used = token
                return "start", f"/start {token}"
        return None

    def send(self, kind: str, text: str, qid: str | None = None) -> None:
        """Type a message in the chat with the bot."""
        mark = self.storm.fake.mark()
        update_id = self.storm.fake.send_text(self.chat, text)
        self.inputs.append(Input(self.chat, kind, text, qid, mark, update_id))


class Coordinator(threading.Thread):
    """The coordinator: /invites once every contact has bound, /compile at a random moment."""

    def __init__(self, storm: Storm) -> None:
        super().__init__(name="coordinator", daemon=True)
        self.storm = storm
        self.rng = random.Random(f"{storm.seed}:coordinator")
        self.inputs: list[Input] = []
        self.compile_at = self.rng.uniform(5.0, 25.0)
        self.invites_after = self.rng.uniform(0.0, 5.0)
        self.lock = threading.Lock()

    def run(self) -> None:
        """Send both commands when their moments come (or when told to hurry)."""
        storm, bound_at = self.storm, None
        while not storm.stop.is_set() and len(self.inputs) < 2:
            elapsed = time.monotonic() - storm.started
            everyone = all(c.bound for c in storm.contacts)
            if (everyone or elapsed > 60) and bound_at is None:
                bound_at = elapsed
            if bound_at is not None and elapsed >= bound_at + self.invites_after:
                self.send_once("invites")
            finished = all(c.done for c in storm.contacts)
            if elapsed >= self.compile_at or finished:
                self.send_once("compile")
            storm.stop.wait(POLL)

    def send_once(self, kind: str) -> None:
        """Send /invites or /compile, if not sent already."""
        with self.lock:
            if any(i.kind == kind for i in self.inputs):
                return
            mark = self.storm.fake.mark()
            update_id = self.storm.fake.send_text(COORDINATOR, f"/{kind}")
            self.inputs.append(Input(COORDINATOR, kind, f"/{kind}", None, mark, update_id))


# --------------------------------------------------------------------------- the storm


@dataclass
class Result:
    """What a storm measured (see the module docstring)."""

    figures: dict[str, Any] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, name: str) -> Any:
        return self.figures[name]

    def lines(self) -> list[str]:
        """One line per figure: ``name: value``."""
        return [f"{name}: {value}" for name, value in self.figures.items()]


class Storm:
    """One run: fake Bot API, a round, the bot killed `kills` times while `contacts` answer."""

    def __init__(self, kills: int = 20, contacts: int = 20, seed: int = 1,
                 time_limit: float = 180.0, folder: Path | None = None,
                 say: Callable[[str], None] | None = None, source: Path | None = None,
                 quiet_limit: float = QUIET_LIMIT) -> None:
        self.source = source
        self.quiet_limit = quiet_limit
        self.kills_wanted = kills
        self.seed = seed
        self.time_limit = time_limit
        self.folder = folder
        self.say = say or (lambda _text: None)
        self.rng = random.Random(f"{seed}:kills")
        self.stop = threading.Event()
        self.started = 0.0
        self.kills = 0
        self.kill_marks: list[int] = []  # the fake's last call seq at each kill
        self.tokens: dict[str, str] = {}
        self.contacts = [Contact(self, i) for i in range(contacts)]
        self.coordinator = Coordinator(self)
        self.fake: FakeBotApi = FakeBotApi(token=TOKEN)
        self.bot: BotProcess | None = None

    def current_token(self, unit: str) -> str | None:
        """The unit's token in the coordinator's latest /invites answer (else the first one)."""
        for message in reversed(texts_of(self.fake, COORDINATOR)):
            if INVITES in message.text:
                return dict(INVITE_LINE.findall(message.text)).get(unit)
        return self.tokens.get(unit)

    def run(self) -> Result:
        """Run the storm and measure; everything is cleaned up, whatever happens."""
        with contextlib.ExitStack() as stack:
            folder = self.folder or Path(stack.enter_context(
                tempfile.TemporaryDirectory(prefix="restart-storm-")))
            stack.enter_context(self.fake)
            stack.callback(self.stop.set)
            self.bot = bot = BotProcess(folder, self.fake, self.source)
            stack.callback(bot.kill)
            self.create_round(folder, bot)
            self.started = time.monotonic()
            bot.start()
            for contact in self.contacts:
                contact.start()
            self.coordinator.start()
            self.kill_storm(bot)
            finished = self.finish()
            self.coordinator.send_once("invites")
            self.coordinator.send_once("compile")
            quiet = self.wait_quiet(folder / "bot.sqlite3")
            self.stop.set()
            for thread in (*self.contacts, self.coordinator):
                thread.join(timeout=5)
            code = bot.stop()
            elapsed = time.monotonic() - self.started
            result = self.measure(folder / "bot.sqlite3", bot, finished, quiet, elapsed, code)
        return result

    def create_round(self, folder: Path, bot: BotProcess) -> None:
        """Write the campaign file and create the round; note each unit's invite token."""
        (folder / "storm.yaml").write_text(
            campaign_text(len(self.contacts), datetime.now()), encoding="utf-8")
        created = json.loads(bot.cli("campaign", "create", "storm.yaml", "--json"))
        self.tokens = {unit["code"]: unit["token"] for unit in created["units"]}

    def left(self) -> float:
        """Seconds left of the time limit."""
        return self.started + self.time_limit - time.monotonic()

    def kill_storm(self, bot: BotProcess) -> None:
        """Kill the bot `kills_wanted` times, each a random time after it began polling."""
        for number in range(1, self.kills_wanted + 1):
            limit = time.monotonic() + BOT_START_LIMIT
            while not bot.polling() and time.monotonic() < limit and self.left() > 0:
                time.sleep(POLL)
            uptime = self.rng.uniform(*UPTIME)
            if self.left() <= uptime:
                self.say(f"time limit: {number - 1} of {self.kills_wanted} kills done")
                return
            time.sleep(uptime)
            bot.kill()
            self.kills += 1
            self.kill_marks.append(self.fake.mark())
            time.sleep(self.rng.uniform(*DOWNTIME))
            bot.start()
            done = sum(c.done for c in self.contacts)
            self.say(f"kill {number}/{self.kills_wanted} after {uptime:.2f} s up; "
                     f"{done}/{len(self.contacts)} contacts done")

    def finish(self) -> bool:
        """Let the contacts finish with the bot undisturbed; return whether all did in time."""
        while self.left() > 0:
            if all(c.done for c in self.contacts):
                return True
            time.sleep(POLL * 2)
        return all(c.done for c in self.contacts)

    def wait_quiet(self, db_path: Path) -> bool:
        """Wait until nothing is owed or unconfirmed and nothing was sent for QUIET seconds.

        Owed: an outbox row still pending (a message, or a task such as a unit's .docx still to
        be rendered). Without it a bot that takes longer than QUIET to restart and render would
        look quiet while it still owes a document.
        """
        limit = time.monotonic() + self.quiet_limit
        last_count, last_change = -1, time.monotonic()
        while time.monotonic() < limit:
            count = len(self.fake.sent_messages())
            now = time.monotonic()
            if count != last_count:
                last_count, last_change = count, now
            elif (now - last_change >= QUIET and not self.fake.pending_updates()
                  and not owed_rows(db_path)):
                return True
            time.sleep(POLL * 2)
        return False

    # ------------------------------------------------------------------ measuring

    def measure(self, db_path: Path, bot: BotProcess, finished: bool, quiet: bool,
                elapsed: float, exit_code: int | None) -> Result:
        """Compute every figure from what the fake recorded and what the database holds."""
        fake = self.fake
        db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
        try:
            history = db.execute(
                "SELECT unit_code, question_id, raw FROM answer_history").fetchall()
            bound = dict(db.execute(
                "SELECT chat_id, unit_code FROM contacts WHERE channel = 'telegram'").fetchall())
            status = dict(db.execute("SELECT unit_code, status FROM campaign_units").fetchall())
        finally:
            db.close()
        submitted = {unit for unit, value in status.items() if value in ("submitted", "edited")}
        offsets = [int(c.params.get("offset") or 0) for c in fake.calls("getUpdates")]
        acknowledged = max(offsets, default=0)
        by_raw = Counter((unit, raw) for unit, _qid, raw in history)
        contact_inputs = [i for c in self.contacts for i in c.inputs]

        intended: dict[tuple[str, str], str] = {}
        processed = lost = 0
        lost_inputs: list[Input] = []
        for contact in self.contacts:
            windows = self.windows(contact)
            for item, window in zip(contact.inputs, windows, strict=True):
                if item.kind == "start":
                    processed += bound.get(str(contact.chat)) == contact.unit
                elif item.kind == "submit":
                    processed += contact.unit in submitted
                else:
                    assert item.qid is not None
                    intended[(contact.unit, item.text)] = item.qid
                    stored = by_raw[(contact.unit, item.text)] > 0
                    processed += stored
                    confirmed = bool(window) and SAVED in window[0].text
                    if not stored and (confirmed or item.update_id < acknowledged):
                        lost += 1
                        lost_inputs.append(item)
        doubled = sum(count - 1 for count in by_raw.values() if count > 1)
        answered = {(unit, qid) for unit, qid, _raw in history}
        unit_of = {c.chat: c.unit for c in self.contacts}
        unanswered = sum(1 for item in lost_inputs
                         if (unit_of[item.chat], item.qid) not in answered)
        misfiled = sum(1 for unit, qid, raw in history if intended.get((unit, raw)) != qid)

        twice = identical = resent = 0
        reach: Counter[tuple[int, str]] = Counter()
        out_of_order = 0
        unit_docs: dict[int, int] = {}
        for contact in self.contacts:
            for window in self.windows(contact):
                twice += max(0, len(window) - 1)
                seen: set[str] = set()
                for message in window:
                    identical += message.text in seen
                    seen.add(message.text)
            resent += len(self.resent(contact))
            asked = [qid for m in self.fresh(contact) for qid in prompts(m.text)]
            for qid in asked:
                reach[(contact.chat, qid)] += 1
            out_of_order += not in_order(asked)
            unit_docs[contact.chat] = sum(
                1 for m in fake.sent_messages(contact.chat)
                if m.method == "sendDocument" and m.document_name == f"{contact.unit}.docx")
        in_flight = bot.claimed_unsent()  # lost in the at-most-once window of a kill
        lost_units = [c for c in self.contacts
                      if c.unit in submitted and unit_docs[c.chat] == 0]
        window_lost = sum(1 for c in lost_units if in_flight[(c.chat, f"{c.unit}.docx")])
        missing_units = len(lost_units) - window_lost
        docs_twice = sum(max(0, n - 1) for n in unit_docs.values())

        coordinator = fake.sent_messages(COORDINATOR)
        invites_answers = sum(1 for m in coordinator if INVITES in m.text)
        bounds = [i.mark for i in self.coordinator.inputs if i.kind == "compile"]
        if len(submitted) == len(self.contacts):  # owed after the /submit that completed it
            bounds.append(max(next((i.mark for i in c.inputs if i.kind == "submit"), 0)
                              for c in self.contacts))
        missing_compile = compile_twice = 0
        for name in COMPILE_DOCS:
            seqs = [m.seq for m in coordinator
                    if m.method == "sendDocument" and m.document_name == name]
            short = owed_missing(seqs, bounds)
            window = min(short, in_flight[(COORDINATOR, name)])
            window_lost += window
            missing_compile += short - window
            compile_twice += max(0, len(seqs) - len(bounds))
        summaries = sum(1 for m in coordinator if m.text.startswith(SUMMARY))
        twice += max(0, invites_answers - 1) + max(0, summaries - len(bounds))
        docs_twice += compile_twice

        deliveries: Counter[int] = Counter()
        for call in fake.calls("getUpdates"):
            if call.status == 200 and isinstance(call.result, list):
                deliveries.update(u["update_id"] for u in call.result)
        redelivered = sum(n - 1 for n in deliveries.values() if n > 1)

        sent_total = len(contact_inputs) + len(self.coordinator.inputs)
        figures: dict[str, Any] = {
            "inputs sent": f"{sent_total} ({len(contact_inputs)} from contacts, "
                           f"{len(self.coordinator.inputs)} from the coordinator)",
            "inputs processed": f"{processed} of {len(contact_inputs)} contact inputs",
            "answers lost": f"{lost} ({unanswered} leaving their question with no answer "
                            "stored)",
            "answers doubled": doubled,
            "answers misfiled": misfiled,
            "replies sent twice for one input": f"{twice} ({identical} identical)",
            "texts sent again after a kill (at-least-once window)": resent,
            "documents sent twice": docs_twice,
            "owed documents missing": f"{missing_units + missing_compile} "
                                      f"({missing_units} unit reports, "
                                      f"{missing_compile} compile documents)",
            "documents lost at a kill (at-most-once window)": window_lost,
            "largest number of times one question reached one contact":
                max(reach.values(), default=0),
            "contacts asked out of order": out_of_order,
            "contacts finished": f"{sum(c.done for c in self.contacts)} of "
                                 f"{len(self.contacts)} ({len(submitted)} units submitted)",
            "kills": f"{self.kills} of {self.kills_wanted}",
            "update deliveries beyond the first": redelivered,
            "bot error lines logged": len(bot.errors()),
            "finished in time": "yes" if finished else
                                f"no (stopped after the {self.time_limit:.0f} s limit)",
            "quiet at the end": "yes" if quiet else
                                f"no (still busy after {self.quiet_limit:.0f} s)",
            "total time": f"{elapsed:.1f} s",
        }
        details = {
            "lost": lost, "doubled": doubled, "misfiled": misfiled, "twice": twice,
            "resent": resent, "window_lost": window_lost,
            "docs_twice": docs_twice, "missing_units": missing_units,
            "missing_compile": missing_compile, "out_of_order": out_of_order,
            "max_reach": max(reach.values(), default=0),
            "finished": finished, "done": sum(c.done for c in self.contacts),
            "submitted": len(submitted), "contacts": len(self.contacts), "kills": self.kills,
            "exit_code": exit_code, "errors": bot.errors()[-20:], "lost_inputs": lost_inputs,
            "transcript": self.transcript(len(self.contacts)),
        }
        return Result(figures, details)

    def resent(self, contact: Contact) -> list[SentMessage]:
        """Bot texts that repeat the previous one word for word with a SIGKILL in between:
        sent, not yet marked sent when the bot was killed, sent again after the restart (the
        at-least-once window bot/outbox.py names)."""
        messages = texts_of(self.fake, contact.chat)
        return [later for earlier, later in pairwise(messages)
                if later.text == earlier.text
                and any(earlier.seq <= mark < later.seq for mark in self.kill_marks)]

    def fresh(self, contact: Contact) -> list[SentMessage]:
        """The bot's texts to a contact, without the resends after a kill."""
        again = {m.seq for m in self.resent(contact)}
        return [m for m in texts_of(self.fake, contact.chat) if m.seq not in again]

    def windows(self, contact: Contact) -> list[list[SentMessage]]:
        """The bot's text messages in each reply window of the contact's inputs."""
        messages = self.fresh(contact)
        marks = [i.mark for i in contact.inputs] + [sys.maxsize]
        return [[m for m in messages if begin < m.seq <= end]
                for begin, end in pairwise(marks)]

    def transcript(self, chats: int = 3) -> str:
        """The conversation of the first contacts and the coordinator, one line each."""
        keep = {c.chat for c in self.contacts[:chats]} | {COORDINATOR}
        lines = []
        for call in self.fake.calls():
            chat = call.params.get("chat_id")
            if call.method == "getUpdates" or chat is None or int(chat) not in keep:
                continue
            what = call.params.get("text") or getattr(call.params.get("document"), "filename", "")
            text = str(what).replace("\n", " ")
            lines.append(f"#{call.seq} bot -> {chat} {call.method}: {text[:80]!r}")
        inputs = [i for c in self.contacts[:chats] for i in c.inputs] + self.coordinator.inputs
        lines += [f"#{i.mark}+ {i.chat} -> bot: {i.text!r}" for i in inputs]
        lines += [f"#{mark}+ SIGKILL" for mark in self.kill_marks]
        return "\n".join(sorted(lines, key=lambda line: int(line[1:].split()[0].rstrip("+"))))


def in_order(asked: list[str]) -> bool:
    """Whether each question asked is the one asked before or the next one in the round."""
    previous = -1
    for qid in asked:
        index = ORDER[qid]
        if index not in (previous, previous + 1):
            return False
        previous = index
    return True


def owed_rows(db_path: Path) -> int:
    """Outbox rows the bot still owes (pending), read from its database; 0 before it exists."""
    if not db_path.exists():
        return 0
    db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=5)
    try:
        return int(db.execute("SELECT count(*) FROM outbox WHERE status = 'pending'")
                   .fetchone()[0])
    except sqlite3.OperationalError:  # locked for longer than the timeout: owed, ask again
        return 1
    finally:
        db.close()


def owed_missing(seqs: list[int], bounds: list[int]) -> int:
    """How many owed documents of one kind are missing: each bound (a seq) is owed one document
    sent after it, and each document received counts for one bound at most."""
    missing, left = 0, sorted(seqs)
    for bound in sorted(bounds, reverse=True):  # the latest bound takes the latest document
        if left and left[-1] > bound:
            left.pop()
        else:
            missing += 1
    return missing


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--contacts", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--time-limit", type=float, default=180.0,
                        help="seconds for the storm and the contacts' work (default 180)")
    parser.add_argument("--bot-source", type=Path, metavar="DIR",
                        help="run the bot from this checkout (e.g. an older commit, unpacked "
                        "with git archive) instead of the installed package")
    parser.add_argument("--verbose", action="store_true", help="say each kill on stderr")
    parser.add_argument("--transcript", action="store_true",
                        help="print the first contacts' conversations after the figures")
    args = parser.parse_args()

    def say(text: str) -> None:
        if args.verbose:
            print(text, file=sys.stderr, flush=True)

    storm = Storm(args.kills, args.contacts, args.seed, args.time_limit, say=say,
                  source=args.bot_source)
    try:
        result = storm.run()
    except (OSError, subprocess.SubprocessError, ValueError, sqlite3.Error) as error:
        print(f"could not run the storm: {type(error).__name__}: {error}", file=sys.stderr)
        return 2
    print(f"restart storm: {args.kills} kills, {args.contacts} contacts, seed {args.seed}")
    for line in result.lines():
        print(line)
    if args.transcript:
        print(result.details["transcript"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
