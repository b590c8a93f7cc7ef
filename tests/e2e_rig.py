"""What the whole-program tests share: `reportbot run` as a subprocess and the conversation.

`BotProcess` runs the program with an environment of its own (Telegram alone in
tests/test_telegram_e2e.py); `Bot` starts, SIGKILLs, restarts and stops the bot with Telegram
(tests/fakebotapi.py) and Zalo Bot (tests/fakezalobot.py) configured and the HTTP server on a free
127.0.0.1 port (a test adds more to `Bot.env`, e.g. the Zalo OA's settings); `Conversation`
sends the people's inputs, keeps what is needed to check that each got one reply, and writes
the abridged transcript.
"""

from __future__ import annotations

import io
import os
import re
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import docx

from tests.fakebotapi import FakeBotApi
from tests.fakezalobot import FakeZaloBot

TG_TOKEN = "123456:TEST-token-abcdefghijklmnopqrstu"
ZALO_TOKEN = "1459232241454765289:ZaloSecret-0123456789abcdef"
ROOT = Path(__file__).resolve().parent.parent  # the checkout under test, not the installed one
TG_ADMIN = 900
ZALO_ADMIN = "a1b2c3d4e5f6a7b8c9d0"
LINK = re.compile(r"https?://127\.0\.0\.1:\d+/files/[A-Za-z0-9_-]+")
WAIT = 30.0  # seconds: a deadline for each reply, never a pause


def command() -> list[str]:
    script = Path(sys.executable).parent / "reportbot"
    return [str(script)] if script.exists() else [sys.executable, "-m", "bot.cli"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class BotProcess:
    """`reportbot run` (and its CLI) in `folder`, with the settings `settings` and none of the
    caller's own REPORTBOT_/TELEGRAM_/ZALO_ variables; this checkout first on the path."""

    def __init__(self, folder: Path, **settings: str) -> None:
        self.folder = folder
        self.env = {k: v for k, v in os.environ.items()
                    if not k.startswith(("REPORTBOT_", "TELEGRAM_", "ZALO_"))}
        self.env.update(settings)
        self.env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
        self.process: subprocess.Popen[str] | None = None
        self.output: list[str] = []  # stdout and stderr of every run, killed ones too

    def cli(self, *args: str) -> str:
        done = subprocess.run([*command(), *args], cwd=self.folder, env=self.env, text=True,
                              capture_output=True, timeout=60, check=True)
        return done.stdout

    def start(self) -> None:
        self.process = subprocess.Popen([*command(), "run"], cwd=self.folder, env=self.env,
                                        text=True, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE)

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        out, err = self.process.communicate(timeout=10)
        self.output += [out, err]

    def stop(self) -> tuple[int, str]:
        """SIGTERM, if it runs; return the exit status and standard error (of a bot that had
        already ended, too: its traceback is what a failing test should show)."""
        if self.process is None:
            return -1, "the bot was never started"
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        out, err = self.process.communicate(timeout=30)
        self.output += [out, err]
        return self.process.returncode, err


class Bot(BotProcess):
    """The bot process, with Telegram, Zalo Bot and the HTTP server configured (more in `env`)."""

    def __init__(self, folder: Path, telegram: FakeBotApi, zalo: FakeZaloBot) -> None:
        self.port = free_port()
        self.public = f"http://127.0.0.1:{self.port}"
        super().__init__(
            folder, TELEGRAM_BOT_TOKEN=TG_TOKEN, TELEGRAM_API_BASE_URL=telegram.base_url,
            TELEGRAM_BOT_USERNAME="reportbot_test_bot",
            ZALO_BOT_TOKEN=ZALO_TOKEN, ZALO_BOT_API_BASE_URL=zalo.base_url,
            REPORTBOT_PUBLIC_URL=self.public, REPORTBOT_WEBHOOK_LISTEN=f"127.0.0.1:{self.port}",
            REPORTBOT_ADMINS=f"telegram:{TG_ADMIN},zalo:{ZALO_ADMIN}",
            REPORTBOT_DB=str(folder / "bot.sqlite3"), REPORTBOT_DATA_DIR=str(folder / "data"))

    def restart(self, talk: Conversation) -> None:
        """SIGKILL at once, then start again."""
        self.kill()
        talk.note("SIGKILL")
        self.start()
        talk.note("restarted")


@dataclass(frozen=True)
class Event:
    """One line of the conversation: a person's input, a bot message, a kill or restart."""

    at: float
    who: str  # "telegram:7", "zalo:6ede…", or "" for the process
    text: str
    outgoing: bool = False
    kind: str = "text"  # text, document, edit, process


class Conversation:
    """Sends the people's inputs to both fakes and keeps what is needed to check and tell it."""

    def __init__(self, telegram: FakeBotApi, zalo: FakeZaloBot) -> None:
        self.telegram = telegram
        self.zalo = zalo
        self.inputs: list[tuple[Event, int]] = []  # with the fake's mark just before sending
        self.process: list[Event] = []
        self.secrets: list[str] = []  # shortened in the transcript (invite tokens)
        self.zalo_ids: list[str] = []  # message_id of every Zalo input

    def tg(self, user: int, text: str, expect: str | None = None) -> int:
        """A Telegram person types `text`; wait for a reply containing `expect`; return the mark."""
        mark = self.telegram.mark()
        self.inputs.append((Event(time.monotonic(), f"telegram:{user}", text), mark))
        self.telegram.send_text(user, text)
        if expect is not None:
            self.telegram.wait_for_sent(user, lambda m: expect in m.text, WAIT, since=mark)
        return mark

    def zl(self, user: str, text: str, expect: str | None = None) -> int:
        """A Zalo person types `text`; wait for a reply containing `expect`; return the mark."""
        mark = self.zalo.mark()
        self.inputs.append((Event(time.monotonic(), f"zalo:{user}", text), mark))
        self.zalo_ids.append(self.zalo.send_text(user, text, display_name=f"Zalo {user[:4]}"))
        if expect is not None:
            self.zalo.wait_for_sent(user, lambda m: expect in m.text, WAIT, since=mark)
        return mark

    def note(self, what: str) -> None:
        self.process.append(Event(time.monotonic(), "", what, kind="process"))

    def kill_times(self) -> list[float]:
        return [e.at for e in self.process if e.text == "SIGKILL"]

    def sent(self) -> list[tuple[Event, int]]:
        """Every message the bot sent on either channel, with its fake's seq."""
        found = []
        for m in self.telegram.sent_messages():
            kind = {"sendDocument": "document", "editMessageText": "edit"}.get(m.method, "text")
            text = f"[{m.document_name}] {m.text}".strip() if kind == "document" else m.text
            found.append((Event(m.at, f"telegram:{m.chat_id}", text, True, kind), m.seq))
        for z in self.zalo.sent_messages():
            kind = "document" if LINK.search(z.text) else "text"
            found.append((Event(z.at, f"zalo:{z.chat_id}", z.text, True, kind), z.seq))
        return found

    def texts_to(self, who: str) -> list[tuple[Event, int]]:
        return [(e, s) for e, s in self.sent() if e.who == who and e.kind == "text"]

    def resent(self, who: str) -> list[tuple[Event, int]]:
        """Texts repeating the previous one word for word with a SIGKILL in between."""
        kills = self.kill_times()
        return [(later, seq) for (earlier, _), (later, seq) in pairwise(self.texts_to(who))
                if later.text == earlier.text and any(earlier.at <= k < later.at for k in kills)]

    def windows(self, who: str) -> list[tuple[str, list[Event]]]:
        """Each input of one person with the bot's fresh texts to them until their next input."""
        again = {seq for _, seq in self.resent(who)}
        texts = [(e, s) for e, s in self.texts_to(who) if s not in again]
        mine = [(e, mark) for e, mark in self.inputs if e.who == who]
        bounds = [mark for _, mark in mine] + [sys.maxsize]
        return [(said.text, [e for e, s in texts if begin < s <= end])
                for (said, _), (begin, end) in zip(mine, pairwise(bounds), strict=True)]

    def transcript(self, width: int = 110) -> str:
        """Return the conversation abridged: one line per message, all chats, in time order.

        ``bot →`` a text, ``bot ⇒`` a document (or a download link), ``bot ↻`` a text sent again
        after a kill (the at-least-once window); a footer counts inputs, messages and replays.
        """
        sent = self.sent()
        again = {(e.who, seq) for who in {e.who for e, _ in sent} for e, seq in self.resent(who)}
        events = [(e, False) for e, _ in self.inputs] + [(e, (e.who, seq) in again)
                                                         for e, seq in sent]
        events += [(e, False) for e in self.process]
        events.sort(key=lambda pair: pair[0].at)
        start = events[0][0].at if events else 0.0
        lines = []
        for event, resent in events:
            clock = f"{event.at - start:6.1f}s"
            if event.kind == "process":
                lines.append(f"{clock}  ── {event.text} ──")
                continue
            text = self.abridge(event.text, width)
            arrow = "bot ↻" if resent else {"document": "bot ⇒", "edit": "bot ✎"}.get(
                event.kind, "bot →")
            lines.append(f"{clock}  {arrow} {event.who}: {text}" if event.outgoing
                         else f"{clock}  {event.who} →: {text}")
        lines.append(self.footer(len(sent), len(again)))
        return "\n".join(lines)

    def footer(self, sent: int, again: int) -> str:
        """Return the transcript's last line: inputs, messages, replays."""
        handed = sum(self.zalo.times_delivered(m) for m in self.zalo_ids)
        return (f"{len(self.inputs)} inputs, {sent} bot messages ({again} sent again after a"
                f" kill); Zalo handed out its {len(self.zalo_ids)} updates {handed} times")

    def abridge(self, text: str, width: int) -> str:
        """One line: newlines as ' ⏎ ', invite and link tokens shortened, cut at `width`."""
        for secret in self.secrets:
            text = text.replace(secret, secret[:4] + "…")
        text = re.sub(r"/files/([A-Za-z0-9_-]{4})[A-Za-z0-9_-]+", r"/files/\1…", text)
        text = " ⏎ ".join(line.strip() for line in text.splitlines() if line.strip())
        return text if len(text) <= width else text[:width - 1] + "…"


def docx_text(content: bytes) -> str:
    """Return the paragraphs and table cells of a .docx."""
    document = docx.Document(io.BytesIO(content))
    cells = (c.text for t in document.tables for row in t.rows for c in row.cells)
    return "\n".join([*(p.text for p in document.paragraphs), *cells])
