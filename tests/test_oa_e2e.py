"""Issue #12, item 5: `reportbot run` with Telegram, Zalo Bot and the Zalo OA in one process.

The fake Bot API plays Telegram, the fake Zalo Bot Platform plays Zalo Bot and the fake OA
(tests/fakezalooa.py) plays the Official Account: its API and OAuth hosts on one port, its own
clock (moved by `advance`), signed webhook deliveries to the bot's <public>/zalo-oa with
redelivery while the bot is down. What happens:

- an OA contact of SYT follows and binds with the bare token, answers one question, and is
  silent from then on; the Telegram and Zalo Bot coordinators write once;
- an OA contact of SXD binds (`/start <token>`), answers by typing and by tapping query
  buttons, sends a photo for a file question;
- the access token expires (the fake's clock moved past `expires_in`): the next send meets
  -216, the bot refreshes and sends;
- SIGKILL right after an input, and SIGKILL with an input sent while the bot is down (the fake
  re-sends it after the restart; Zalo then re-sends it once more with the same msg_id);
- the token expires again, and the bot is SIGKILLed right after the refresh: restarted, it
  goes on with the new chain (a reused refresh token would be refused);
- the bot is stopped, the SYT contact made silent for 8 days, and a reminder slot is due at the
  restart: the SXD contact is reminded, the SYT contact is not tried, and the coordinators'
  digest names SYT under "Không liên lạc được qua Zalo OA vì quá 7 ngày chưa nhắn";
- the SXD contact submits and receives SXD.docx as an uploaded file; SIGTERM ends it cleanly.

Set REPORTBOT_E2E_TRANSCRIPT=/path to have the abridged conversation written there; it is
also printed (pytest shows it when the test fails, or with -s).
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.conftest import SMALL_CAMPAIGN, TZ
from tests.e2e_rig import (
    TG_ADMIN,
    TG_TOKEN,
    WAIT,
    ZALO_ADMIN,
    ZALO_TOKEN,
    Bot,
    Conversation,
    Event,
    docx_text,
)
from tests.fakebotapi import FakeBotApi
from tests.fakezalobot import FakeZaloBot
from tests.fakezalooa import FakeZaloOA, SentMessage
from tests.zalo_oa_rig import FileHost

OA_CONTACT, OA_SILENT = "2468458835296197922", "3579111315171921232"
EXPIRES_IN = 3600  # seconds an access token lives ("1 h is also reported"): refreshed on -216
RESENDS_ALLOWED = 2  # texts sent again after a kill: the outbox's at-least-once window
WINDOW_HEADING = "Không liên lạc được qua Zalo OA vì quá 7 ngày chưa nhắn"
REMINDER = "Nhắc nộp báo cáo"
NOTICE = "Đã nhận báo cáo:"  # a unit's submit, told to the coordinators whenever it is sent
PHOTO = b"\xff\xd8\xff\xe0" + b"anh-minh-chung" * 300


class OAConversation(Conversation):
    """The two-channel conversation, with the OA's people and messages too."""

    def __init__(self, telegram: FakeBotApi, zalo: FakeZaloBot, oa: FakeZaloOA) -> None:
        super().__init__(telegram, zalo)
        self.oa = oa
        self.oa_ids: list[str] = []  # msg_id of every OA input (a follower's id for a follow)

    def oa_input(self, user: str, said: str, send: Callable[[], str],
                 expect: str | None = None) -> int:
        """An OA person does something (`send` returns its msg_id); wait for `expect`."""
        mark = self.oa.mark()
        self.inputs.append((Event(time.monotonic(), f"oa:{user}", said), mark))
        self.oa_ids.append(send())
        if expect is not None:
            self.oa.wait_for_sent(user, lambda m: expect in m.text, WAIT, since=mark)
        return mark

    def oa_say(self, user: str, text: str, expect: str | None = None) -> int:
        """An OA person types `text`."""
        return self.oa_input(user, text, lambda: self.oa.send_text(user, text), expect)

    def oa_tap(self, user: str, label: str, expect: str | None = None) -> int:
        """An OA person taps the button `label` of the latest message to them that has it."""
        payload = next(b["payload"] for m in reversed(self.oa.sent_messages(user))
                       for b in m.buttons if b["title"] == label)
        return self.oa_input(user, f"[{label}]", lambda: self.oa.tap(user, payload), expect)

    def sent(self) -> list[tuple[Event, int]]:
        """Every message the bot sent on the three channels, with its fake's seq."""
        found = super().sent()
        when = {c.answer["data"]["message_id"]: c.at for c in self.oa.calls("message") if c.ok}
        for m in self.oa.sent_messages():
            kind = "document" if m.file is not None else "text"
            text = f"[{m.file.name}]" if m.file is not None else m.text + buttons_of(m)
            found.append((Event(when[m.message_id], f"oa:{m.user_id}", text, True, kind), m.seq))
        return found

    def footer(self, sent: int, again: int) -> str:
        """Add what the OA's webhook and token chain did."""
        attempts = self.oa.deliveries()
        events = {d.event_id for d in attempts if not d.forged}
        return (super().footer(sent, again) + f"; the OA POSTed {len(events)} events in "
                f"{len(attempts)} attempts, refreshed its token {len(self.oa.refreshes)} times")


def buttons_of(message: SentMessage) -> str:
    """The titles of a message's buttons, as the transcript shows them."""
    return (" [" + " | ".join(b["title"] for b in message.buttons) + "]"
            if message.buttons else "")


@pytest.fixture
def fakes() -> Iterator[tuple[FakeBotApi, FakeZaloBot, FakeZaloOA]]:
    """The three fakes; the OA's webhook re-sends for as long as the bot is down."""
    with FakeBotApi(token=TG_TOKEN) as telegram, FakeZaloBot(
            ZALO_TOKEN, delivery="replay", replay_ttl=15.0) as zalo, FakeZaloOA(
            expires_in=EXPIRES_IN, max_redeliveries=None, redelivery_delay_max=0.2) as oa:
        yield telegram, zalo, oa


@pytest.fixture
def file_host() -> Iterator[FileHost]:
    host = FileHost()
    yield host
    host.close()


def campaign_text(now: datetime) -> str:
    """The small round with a photo question and one reminder slot a minute or two ago.

    The slot (the day before the deadline, at `now` minus a minute) is before the round is
    created, so it is not due until the test moves the round's creation back (`make_silent`).
    """
    slot = now.astimezone(TZ) - timedelta(minutes=1)
    deadline = slot.date() + timedelta(days=1)
    reminders = (f'reminders: {{before_days: [1], at: "{slot:%H:%M}", working_days_only: false,'
                 " quiet_hours: null}\n")
    return SMALL_CAMPAIGN.replace(
        "deadline: 2023-10-31 17:00", f"deadline: {deadline:%Y-%m-%d} 17:00").replace(
        "        - {id: ty_le,",
        '        - {id: anh, type: file, ask: "Ảnh minh chứng?", required: false}\n'
        "        - {id: ty_le,").replace("units:\n", reminders + "units:\n")


def oa_env(oa: FakeZaloOA) -> dict[str, str]:
    """The OA's settings: app, keys, the first token pair, both hosts on the fake."""
    return {"ZALO_OA_APP_ID": oa.app_id, "ZALO_OA_APP_SECRET": oa.app_secret,
            "ZALO_OA_SECRET_KEY": oa.oa_secret_key, "ZALO_OA_ACCESS_TOKEN": oa.access_token,
            "ZALO_OA_REFRESH_TOKEN": oa.refresh_token, "ZALO_OA_API_BASE_URL": oa.base_url,
            "ZALO_OAUTH_BASE_URL": oa.base_url}


def iso(moment: datetime) -> str:
    """A moment as the store writes it (UTC, microseconds)."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def make_silent(db_path: Path, chat_id: str, now: datetime) -> None:
    """With the bot stopped: the OA contact last wrote 8 days ago; the round is a day old.

    The bot's clock is the real one (no clock is injected into a subprocess), and the fake's
    clock cannot move it; 8 days of silence are therefore written where the bot reads them:
    `last_inbound.at`, which the bot records at its own receive time. Moving the round's
    creation a day back makes the reminder slot of a minute ago due at the restart (a round is
    never reminded for slots before it existed).
    """
    with closing(sqlite3.connect(db_path)) as db, db:
        silent = db.execute("UPDATE last_inbound SET at = ? WHERE channel = 'zalo_oa'"
                            " AND chat_id = ?", (iso(now - timedelta(days=8)), chat_id))
        created = db.execute("UPDATE campaigns SET created_at = ?",
                             (iso(now - timedelta(days=1)),))
        assert (silent.rowcount, created.rowcount) == (1, 1)


def wait_committed(db_path: Path, refresh_token: str) -> None:
    """Wait until the bot committed the pair carrying `refresh_token` (polled, deadline)."""
    deadline = time.monotonic() + WAIT
    while stored_refresh_token(db_path) != refresh_token:
        assert time.monotonic() < deadline, "the refreshed pair was never committed"
        time.sleep(0.001)


def wait_settled(db_path: Path) -> None:
    """Wait until every message owed was sent and marked so (polled, deadline)."""
    deadline = time.monotonic() + WAIT
    while owed_rows(db_path) != 0:
        assert time.monotonic() < deadline, "messages still owed"
        time.sleep(0.005)


def owed_rows(db_path: Path) -> int | None:
    """Return how many outbox rows are still owed (None if unreadable now)."""
    try:
        with closing(sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=1)) as db:
            return int(db.execute("SELECT count(*) FROM outbox WHERE status = 'pending'")
                       .fetchone()[0])
    except sqlite3.OperationalError:
        return None


def stored_refresh_token(db_path: Path) -> str | None:
    """Return the refresh token of the chain in the database (None if unreadable now)."""
    try:
        with closing(sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=1)) as db:
            row = db.execute("SELECT value FROM channel_state WHERE channel = 'zalo_oa'"
                             " AND key = 'tokens'").fetchone()
    except sqlite3.OperationalError:
        return None
    return str(json.loads(row[0])["refresh"]) if row else None


def has_file(message: SentMessage) -> bool:
    return message.file is not None


def test_the_oa_beside_telegram_and_zalo_survives_kills_token_expiry_and_silence(
        tmp_path: Path, fakes: tuple[FakeBotApi, FakeZaloBot, FakeZaloOA],
        file_host: FileHost) -> None:
    telegram, zalo, oa = fakes
    talk = OAConversation(telegram, zalo, oa)
    bot = Bot(tmp_path, telegram, zalo)
    bot.env.update(oa_env(oa))
    oa.webhook_url = f"{bot.public}/zalo-oa"  # set once in Zalo's console
    secrets = [TG_TOKEN, TG_TOKEN.split(":")[1], ZALO_TOKEN, ZALO_TOKEN.split(":")[1],
               oa.app_secret, oa.oa_secret_key, oa.access_token, oa.refresh_token]
    db_path = tmp_path / "bot.sqlite3"
    (tmp_path / "dot.yaml").write_text(campaign_text(datetime.now(UTC)), encoding="utf-8")
    created = json.loads(bot.cli("campaign", "create", "dot.yaml", "--json"))
    units = {u["code"]: u for u in created["units"]}
    token, silent_token = units["SXD"]["token"], units["SYT"]["token"]
    talk.secrets += [token, silent_token]
    photo = file_host.put("/cdn/anh-1.jpg", PHOTO, "image/jpeg")
    try:
        bot.start()
        talk.note("reportbot run (Telegram, Zalo Bot, Zalo OA)")
        talk.tg(TG_ADMIN, "/status", "TÌNH HÌNH BÁO CÁO")
        talk.zl(ZALO_ADMIN, "/whoami", f"zalo:{ZALO_ADMIN}")

        # SYT's contact follows, binds with the bare token, answers once; then silence.
        talk.oa_input(OA_SILENT, "(follows the OA)", lambda: oa.follow(OA_SILENT), "/start")
        talk.oa_say(OA_SILENT, silent_token, "Sở Y tế")
        talk.oa_say(OA_SILENT, "40", "ban hành văn bản")

        # SXD's contact binds, types, taps the yes/no buttons.
        talk.oa_say(OA_CONTACT, f"/start {token}", "Tổng số người")
        talk.oa_say(OA_CONTACT, "1.250 người", "ban hành văn bản")
        asked = oa.sent_messages(OA_CONTACT)[-1]
        assert [b["title"] for b in asked.buttons][:2] == ["Có", "Không"], asked.buttons
        assert all(b["type"] == "oa.query.hide" for b in asked.buttons)
        talk.oa_tap(OA_CONTACT, "Không", "Ghi chú")

        # The access token expires mid-round: the next send meets -216, is refreshed, goes.
        oa.advance(EXPIRES_IN + 1)
        talk.note(f"the OA's clock +{EXPIRES_IN + 1} s: the access token expired")
        since = talk.oa_say(OA_CONTACT, "bỏ qua", "minh chứng")
        assert len(oa.refreshes) == 1
        refused = [c for c in oa.calls("message") if c.seq > since and c.error == -216]
        assert refused, "the expired token was never tried"
        talk.oa_input(OA_CONTACT, "(a photo)", lambda: oa.send_image(OA_CONTACT, photo),
                      "Đã lưu mục 1")

        # Kill 1, right after an input: stored or not, answered or not, it is done once.
        since = talk.oa_say(OA_CONTACT, "xong")
        bot.restart(talk)
        oa.wait_for_sent(OA_CONTACT, lambda m: "Tỷ lệ" in m.text, WAIT, since=since)

        # Kill 2, an input while the bot is down: the fake re-sends it until the bot is back.
        wait_settled(db_path)  # this kill is about the input: no reply in flight to resend
        bot.kill()
        talk.note("SIGKILL")
        since = talk.oa_say(OA_CONTACT, "99,5 %")
        bot.start()
        talk.note("restarted")
        oa.wait_for_sent(OA_CONTACT, lambda m: "Số tiền" in m.text, WAIT, since=since)
        key = talk.oa_ids[-1]
        tries = [d for d in oa.deliveries() if d.msg_id == key]
        assert len(tries) >= 2 and not tries[0].ok and tries[-1].ok, tries
        # Zalo sends the same event again (same msg_id): stored once, processed once.
        mark = oa.mark()
        oa.send_text(OA_CONTACT, "99,5 %", msg_id=key)
        oa.wait_for_delivery(lambda d: d.msg_id == key and d.ok, WAIT, since=mark)
        talk.note(f"the OA re-sends msg {key[:6]}… (99,5 %)")

        # Kill 3, right after a refresh: the new pair is kept, the spent one never used again.
        oa.advance(EXPIRES_IN + 1)
        talk.note(f"the OA's clock +{EXPIRES_IN + 1} s: the access token expired")
        since = talk.oa_say(OA_CONTACT, "1,5 tỷ")
        fresh = oa.wait_for_refresh(WAIT, since=since)
        # SIGKILL as soon as the pair is committed. Not on the fake's record alone: between
        # Zalo answering and the commit (a few ms) a kill loses the pair whoever codes it (the
        # old refresh token is spent; zalo_oa_tokens says so) — the test would only be flaky.
        wait_committed(db_path, fresh.refresh_token)
        bot.restart(talk)
        after_kill = oa.mark()
        oa.wait_for_sent(OA_CONTACT, lambda m: "Hình thức" in m.text, WAIT, since=since)
        talk.oa_say(OA_CONTACT, "1, 3", "Tự đánh giá")
        assert [b["title"] for b in oa.sent_messages(OA_CONTACT)[-1].buttons][:2] == [
            "Tốt", "Khá"]

        # Stopped; SYT's contact silent for 8 days; a reminder slot due at the restart.
        code, errors = bot.stop()
        assert code == 0, errors
        talk.note("SIGTERM")
        now = datetime.now(UTC)
        make_silent(db_path, OA_SILENT, now)
        talk.note("last_inbound of SYT's contact set 8 days back; the round made a day old")
        reminded = oa.mark()
        digest_mark = telegram.mark()
        bot.start()
        talk.note("restarted: the reminder slot is due")
        digest = telegram.wait_for_sent(TG_ADMIN, lambda m: WINDOW_HEADING in m.text, WAIT,
                                        since=digest_mark)
        oa.wait_for_sent(OA_CONTACT, lambda m: REMINDER in m.text, WAIT, since=reminded)

        # SXD's contact finishes, submits, and gets the report as a file.
        talk.oa_tap(OA_CONTACT, "Khá", "BẢNG TRẢ LỜI")
        since = talk.oa_say(OA_CONTACT, "/submit", "Đã gửi báo cáo")
        report = oa.wait_for_sent(OA_CONTACT, has_file, WAIT, since=since)
    finally:
        talk.note("SIGTERM")
        code, errors = bot.stop()
        story = talk.transcript()
        if path := os.environ.get("REPORTBOT_E2E_TRANSCRIPT"):
            Path(path).write_text(story + "\n", encoding="utf-8")
        print(story)  # shown when the test fails, or with `pytest -s`
        logged = "\n".join(bot.output).strip().splitlines()
        print("\nbot output, last lines:\n" + "\n".join(logged[-30:]))

    assert code == 0, errors
    everything = "\n".join(bot.output)
    assert "Traceback" not in everything, everything
    issued = [t for r in oa.refreshes for t in (r.access_token, r.refresh_token)]
    for secret in secrets + issued:
        assert secret not in everything
    assert not any(c.token_in_url for c in oa.calls())

    check_report(report)
    check_tokens(oa, after_kill)
    check_silence(oa, reminded, digest.text, db_path)
    check_database(db_path)
    check_replies(talk)
    assert not oa.webhook_disabled


def check_report(report: SentMessage) -> None:
    """SXD.docx came as an uploaded file naming the unit."""
    assert report.file is not None and report.file.name == "SXD.docx" and report.text == ""
    assert "Sở Xây dựng".upper() in docx_text(report.file.content).upper()


def check_tokens(oa: FakeZaloOA, after_kill: int) -> None:
    """Two refreshes, none refused; after the kill every call used the new chain and went."""
    assert len(oa.refreshes) == 2
    oauth = oa.calls("oauth")
    assert len(oauth) == 2 and all(c.ok for c in oauth), [c.answer for c in oauth]
    later = [c for c in oa.calls() if c.seq > after_kill and c.kind in ("message", "upload")]
    assert later and all(c.ok for c in later), [c.answer for c in later if not c.ok]
    assert {c.access_token for c in later} == {oa.refreshes[-1].access_token}


def check_silence(oa: FakeZaloOA, since: int, digest: str, db_path: Path) -> None:
    """No call to the silent contact since the restart; the digest names their unit."""
    tried = [c for c in oa.calls("message") if c.seq > since
             and (c.params or {}).get("recipient", {}).get("user_id") == OA_SILENT]
    assert tried == []
    listed = digest[digest.index(WINDOW_HEADING):]
    assert "SYT · Sở Y tế" in listed and OA_SILENT in listed, digest
    assert "SXD" not in listed
    with closing(sqlite3.connect(db_path)) as db:
        logged = db.execute("SELECT c.chat_id FROM reminder_log r JOIN contacts c"
                            " ON c.id = r.contact_id").fetchall()
        marked = db.execute("SELECT reachable, unreachable_reason FROM contacts WHERE"
                            " channel = 'zalo_oa' AND chat_id = ?", (OA_SILENT,)).fetchone()
    assert logged == [(OA_CONTACT,)]
    assert marked == (0, "window")


def check_database(db_path: Path) -> None:
    """Every answer stored once, where it belongs; every OA event processed."""
    with closing(sqlite3.connect(db_path)) as db:
        answers = {(unit, q): json.loads(v) for unit, q, v in db.execute(
            "SELECT unit_code, question_id, value_json FROM answers")}
        history = db.execute(
            "SELECT unit_code, question_id, value_json, raw FROM answer_history").fetchall()
        status = dict(db.execute("SELECT unit_code, status FROM campaign_units"))
        pending = db.execute("SELECT count(*) FROM inbox WHERE processed_at IS NULL").fetchone()
    sxd = {q: v for (unit, q), v in answers.items() if unit == "SXD"}
    photo = sxd.pop("anh")
    assert sxd == {"so_nguoi": 1250, "co_vb": False, "ghi_chu": None, "ty_le": "99.5",
                   "tien": 1_500_000_000,
                   "hinh_thuc": sxd["hinh_thuc"], "muc_do": sxd["muc_do"]}, sxd
    assert sxd["hinh_thuc"]["selected"] == ["Hội nghị", "Mạng xã hội"]
    assert sxd["muc_do"]["selected"] == ["Khá"]
    digest = hashlib.sha256(PHOTO).hexdigest()
    assert [(p["file_id"], p["size"], p["mime"]) for p in photo] == [
        (f"sha256:{digest}", len(PHOTO), "image/jpeg")]
    assert {q: v for (unit, q), v in answers.items() if unit == "SYT"} == {"so_nguoi": 40}
    assert len(history) == len(set(history)) == 9, history  # every answer once, none twice
    assert status == {"SXD": "submitted", "SYT": "in_progress"}
    assert pending == (0,)


def check_replies(talk: OAConversation) -> None:
    """Each input got one text reply (the reminder apart); resends after a kill counted apart."""
    people = (f"oa:{OA_CONTACT}", f"oa:{OA_SILENT}", f"telegram:{TG_ADMIN}",
              f"zalo:{ZALO_ADMIN}")
    resent = sum(len(talk.resent(who)) for who in people)
    assert resent <= RESENDS_ALLOWED, talk.transcript()
    for who in people:
        for said, replies in talk.windows(who):
            texts = [r.text for r in replies if REMINDER not in r.text
                     and WINDOW_HEADING not in r.text and NOTICE not in r.text]
            assert len(texts) == 1, (who, said, texts)
