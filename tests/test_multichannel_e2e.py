"""Issue #11: `reportbot run` with Telegram and Zalo Bot at once, as a real subprocess.

The fake Bot API (tests/fakebotapi.py) plays Telegram and the fake Zalo Bot Platform
(tests/fakezalobot.py, in `replay` delivery: read updates come back on later polls) plays Zalo,
both on 127.0.0.1; the bot's HTTP server serves the download links Zalo documents travel as.
Two contacts of one unit (one on each channel) share its sheet, a Zalo contact of another unit
binds with the bare token, the bot is SIGKILLed twice right after an input and restarted, the
Zalo contact submits and downloads the unit's report, both coordinators ask /status and
/compile on their own channel, /close from Telegram reaches the Zalo contact.

Set REPORTBOT_E2E_TRANSCRIPT=/path to have the abridged conversation written there; it is
also printed (pytest shows it when the test fails, or with -s).
"""

from __future__ import annotations

import io
import json
import os
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import closing
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import openpyxl
import pytest

from tests.conftest import SMALL_CAMPAIGN
from tests.e2e_rig import (
    LINK,
    TG_ADMIN,
    TG_TOKEN,
    WAIT,
    ZALO_ADMIN,
    ZALO_TOKEN,
    Bot,
    Conversation,
    docx_text,
)
from tests.fakebotapi import FakeBotApi
from tests.fakebotapi import SentMessage as TelegramMessage
from tests.fakezalobot import FakeZaloBot
from tests.fakezalobot import SentMessage as ZaloMessage

TG_CONTACT = 7
ZALO_CONTACT, ZALO_OTHER = "6ede9afa66b88fe6d6a9", "77aa88bb"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
RESENDS_ALLOWED = 2  # texts sent again after a kill: the outbox's at-least-once window


@pytest.fixture
def fakes() -> Iterator[tuple[FakeBotApi, FakeZaloBot]]:
    """Both fakes; read Zalo updates come back on every poll for 15 s (across a restart)."""
    with FakeBotApi(token=TG_TOKEN) as telegram, FakeZaloBot(
            ZALO_TOKEN, delivery="replay", replay_ttl=15.0) as zalo:
        yield telegram, zalo


def campaign_text() -> str:
    """The small round with a deadline far ahead: no reminder or digest during the test."""
    deadline = datetime.now() + timedelta(days=90)
    return SMALL_CAMPAIGN.replace("deadline: 2023-10-31 17:00",
                                  f"deadline: {deadline:%Y-%m-%d} 17:00")


def download(url: str) -> httpx.Response:
    response = httpx.get(url, timeout=10)
    assert response.status_code == 200, (url, response.status_code, response.text[:200])
    return response


def links_in(text: str) -> list[str]:
    return LINK.findall(text)


def is_document(name: str) -> Callable[[TelegramMessage], bool]:
    """Match a Telegram document of that name."""
    return lambda message: message.document_name == name


def links_to(name: str) -> Callable[[ZaloMessage], bool]:
    """Match a Zalo message carrying a download link to that file."""
    return lambda message: name in message.text and bool(links_in(message.text))


def test_two_channels_one_round_survive_sigkills(tmp_path: Path,
                                                 fakes: tuple[FakeBotApi, FakeZaloBot]) -> None:
    telegram, zalo = fakes
    talk = Conversation(telegram, zalo)
    bot = Bot(tmp_path, telegram, zalo)
    (tmp_path / "dot.yaml").write_text(campaign_text(), encoding="utf-8")
    created = json.loads(bot.cli("campaign", "create", "dot.yaml", "--json"))
    units = {u["code"]: u for u in created["units"]}
    token, other_token = units["SXD"]["token"], units["SYT"]["token"]
    talk.secrets += [token, other_token]
    assert units["SXD"]["zalo"] == f"/start {token}"
    assert units["SXD"]["invite_url"].endswith(f"?start={token}")
    tg_who, z_who = f"telegram:{TG_CONTACT}", f"zalo:{ZALO_CONTACT}"
    try:
        bot.start()
        talk.note("reportbot run")
        # Zalo lets no bot write first: the Zalo coordinator writes once.
        talk.zl(ZALO_ADMIN, "/whoami", f"zalo:{ZALO_ADMIN}")

        # The Zalo contact of SXD binds and starts the sheet; one of SYT sends the bare token.
        talk.zl(ZALO_CONTACT, f"/start {token}", "Câu 1/7")
        talk.zl(ZALO_CONTACT, "1.250 người", "Câu 2/7")
        talk.zl(ZALO_CONTACT, "1", "Câu 3/8")
        talk.zl(ZALO_CONTACT, "Kế hoạch số 692/KH-SXD ngày 04/10/2021 tổ chức thực hiện",
                "Đã lưu mục 1")
        talk.zl(ZALO_OTHER, other_token, "Sở Y tế")
        talk.zl(ZALO_OTHER, "40", "Câu 2/7")

        # Kill 1, right after a Zalo input: the replaying fake hands it (and older ones) out again.
        since = talk.zl(ZALO_CONTACT, "xong")
        bot.restart(talk)
        zalo.wait_for_sent(ZALO_CONTACT, lambda m: "Câu 4/8" in m.text, WAIT, since=since)

        # The Telegram contact of the same unit continues where the sheet is.
        talk.tg(TG_CONTACT, f"/start {token}", "Câu 4/8")
        talk.tg(TG_CONTACT, "bỏ qua", "Câu 5/8")
        # Kill 2, right after a Telegram input (unconfirmed by offset: Telegram resends it).
        since = talk.tg(TG_CONTACT, "99,5 %")
        bot.restart(talk)
        telegram.wait_for_sent(TG_CONTACT, lambda m: "Câu 6/8" in m.text, WAIT, since=since)
        talk.tg(TG_CONTACT, "1,5 tỷ", "Câu 7/8")
        talk.tg(TG_CONTACT, "1, 3", "Câu 8/8")
        talk.tg(TG_CONTACT, "2", "BẢNG TRẢ LỜI")

        # The Zalo contact reviews the shared sheet, submits, downloads the unit's report.
        talk.zl(ZALO_CONTACT, "/review", "BẢNG TRẢ LỜI")
        since = talk.zl(ZALO_CONTACT, "/submit", "Đã gửi báo cáo")
        report = zalo.wait_for_sent(ZALO_CONTACT, lambda m: bool(links_in(m.text)), WAIT,
                                    since=since)
        assert "SXD.docx" in report.text
        got = download(links_in(report.text)[0])
        assert got.headers["content-type"] == DOCX
        assert "SXD.docx" in got.headers["content-disposition"]
        assert "Sở Xây dựng" in docx_text(got.content)

        # Each coordinator asks on their own channel and is answered there.
        since = talk.tg(TG_ADMIN, "/status", "TÌNH HÌNH BÁO CÁO")
        assert "SXD · Sở Xây dựng: đã gửi" in telegram.sent_messages(TG_ADMIN)[-1].text
        talk.zl(ZALO_ADMIN, "/status", "TÌNH HÌNH BÁO CÁO")
        assert "SXD · Sở Xây dựng: đã gửi" in zalo.sent_messages(ZALO_ADMIN)[-1].text
        since = talk.tg(TG_ADMIN, "/compile", "TỔNG HỢP")
        for name in ("bao-cao-tong-hop.docx", "du-lieu.xlsx"):
            sent = telegram.wait_for_sent(TG_ADMIN, is_document(name),
                                          WAIT, since=since)
            assert sent.document_bytes
            if name.endswith(".docx"):
                assert "Sở Xây dựng" in docx_text(sent.document_bytes)
        since = talk.zl(ZALO_ADMIN, "/compile", "TỔNG HỢP")
        for name, mime in (("bao-cao-tong-hop.docx", DOCX), ("du-lieu.xlsx", XLSX)):
            linked = zalo.wait_for_sent(ZALO_ADMIN, links_to(name), WAIT, since=since)
            got = download(links_in(linked.text)[0])
            assert got.headers["content-type"] == mime
            assert name in got.headers["content-disposition"]
            if name.endswith(".docx"):
                assert "Sở Xây dựng" in docx_text(got.content)
            else:
                assert "SXD" in xlsx_text(got.content)

        # /close from Telegram reaches the Zalo contact; the closer gets the final compile.
        zalo_since = zalo.mark()
        since = talk.tg(TG_ADMIN, "/close", "Đã kết thúc đợt")
        zalo.wait_for_sent(ZALO_CONTACT, lambda m: "đã kết thúc" in m.text, WAIT,
                           since=zalo_since)
        for name in ("bao-cao-tong-hop.docx", "du-lieu.xlsx"):
            telegram.wait_for_sent(TG_ADMIN, is_document(name), WAIT, since=since)
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
    for secret in (TG_TOKEN, TG_TOKEN.split(":")[1], ZALO_TOKEN, ZALO_TOKEN.split(":")[1]):
        assert secret not in everything
    check_database(tmp_path / "bot.sqlite3")
    check_no_reply_twice(talk, (tg_who, z_who, f"zalo:{ZALO_OTHER}"))
    check_documents_once(telegram, zalo)
    assert zalo.unsupported_params() == []
    assert max(zalo.times_delivered(m) for m in talk.zalo_ids) >= 2  # the fake did replay


def check_database(path: Path) -> None:
    """Every answer stored once, where it belongs; every Zalo update processed."""
    with closing(sqlite3.connect(path)) as db:
        check_rows(db)


def check_rows(db: sqlite3.Connection) -> None:
    answers = {(unit, q): json.loads(v) for unit, q, v in db.execute(
        "SELECT unit_code, question_id, value_json FROM answers")}
    sxd = {q: v for (unit, q), v in answers.items() if unit == "SXD"}
    assert sxd["so_nguoi"] == 1250 and sxd["co_vb"] is True
    assert sxd["van_ban"][0]["number"] == "692/KH-SXD" and len(sxd["van_ban"]) == 1
    assert sxd["ghi_chu"] is None and sxd["ty_le"] == "99.5" and sxd["tien"] == 1_500_000_000
    assert sxd["hinh_thuc"]["selected"] == ["Hội nghị", "Mạng xã hội"]
    assert sxd["muc_do"]["selected"] == ["Khá"]
    assert {q: v for (unit, q), v in answers.items() if unit == "SYT"} == {"so_nguoi": 40}
    history = db.execute(
        "SELECT unit_code, question_id, value_json, raw FROM answer_history").fetchall()
    assert len(history) == len(set(history)) == 9, history  # every answer once, none twice
    status = dict(db.execute("SELECT unit_code, status FROM campaign_units"))
    assert status == {"SXD": "submitted", "SYT": "in_progress"}
    pending = db.execute("SELECT count(*) FROM inbox WHERE processed_at IS NULL").fetchone()
    assert pending == (0,)


def check_no_reply_twice(talk: Conversation, contacts: tuple[str, ...]) -> None:
    """Each contact input got one text reply; resends after a kill are counted apart."""
    resent = sum(len(talk.resent(who)) for who in contacts)
    assert resent <= RESENDS_ALLOWED, talk.transcript()
    for who in contacts:
        for said, replies in talk.windows(who):
            wanted = 1
            assert len(replies) >= wanted, (who, said, "no reply")
            extra = [r.text[:80] for r in replies if "đã kết thúc" not in r.text][wanted:]
            assert not extra, (who, said, extra)


def check_documents_once(telegram: FakeBotApi, zalo: FakeZaloBot) -> None:
    """The unit's report reached its Zalo contact once; each compile sent its files once."""
    to_contact = [m.text for m in zalo.sent_messages(ZALO_CONTACT) if links_in(m.text)]
    assert len(to_contact) == 1 and "SXD.docx" in to_contact[0], to_contact
    to_zalo_admin = [m.text for m in zalo.sent_messages(ZALO_ADMIN) if links_in(m.text)]
    for name in ("bao-cao-tong-hop.docx", "du-lieu.xlsx"):
        assert sum(name in text for text in to_zalo_admin) == 1, to_zalo_admin
        sent = [m for m in telegram.sent_messages(TG_ADMIN) if m.document_name == name]
        assert len(sent) == 2, [m.document_name for m in telegram.sent_messages(TG_ADMIN)]
    assert not [m for m in telegram.sent_messages(TG_CONTACT) if m.method == "sendDocument"]


def xlsx_text(content: bytes) -> str:
    book = openpyxl.load_workbook(io.BytesIO(content), read_only=True)
    return "\n".join(str(v) for sheet in book.worksheets for row in sheet.iter_rows(
        values_only=True) for v in row if v is not None)
