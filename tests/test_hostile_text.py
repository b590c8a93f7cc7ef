"""Issue #9, item 3: one bad answer never blocks a round. Control characters, lone surrogates and
bidi overrides are cleaned where text enters; every writer survives them in data stored before
that; a compile that fails anyway reaches the coordinator as a Vietnamese message."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import docx
import openpyxl
import pytest

from bot.campaigns.campaign import load_campaign, load_campaign_text
from bot.channels.base import CONSOLE, TELEGRAM, Attachment, Incoming
from bot.coordinator import Coordinator
from bot.engine import Engine
from bot.parsing import clean_text
from bot.store import Store
from tests.conftest import TZ, open_chat
from tests.test_cli import create, reportbot

CONTROLS = "".join(chr(c) for c in range(0x20) if c not in (0x09, 0x0A, 0x0D)) + "\x7f\x85\x9f"
BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
HOSTILE = f"Đoàn{CONTROLS}\ud800 kết{BIDI}\ufeff\ufffe,\tthống nhất\r\nmột lòng"
LONG = ("Công tác phòng, chống dịch được triển khai đồng bộ. " * 80)[:3990] + "\x00\x1b\ud83d"

CAMPAIGN = """\
title: Đợt kiểm tra ký tự
request: Công văn số 3/SNV-TĐKT ngày 01/10/2023 của Sở Nội vụ
agency: {parent: UBND TỈNH QUẢNG NGÃI, name: SỞ NỘI VỤ, code: SNV, place: Quảng Ngãi}
deadline: 2023-10-31 17:00
questionnaire:
  sections:
    - title: I. Chung
      questions:
        - {id: thuan_loi, type: text, ask: "Thuận lợi?"}
        - {id: chi_tiet, type: longtext, ask: "Kết quả chi tiết?"}
        - {id: viec_lam, type: list, ask: "Các việc đã làm?"}
units:
  - {code: SXD, name: Sở Xây dựng}
"""


def test_clean_text_keeps_what_a_person_meant() -> None:
    assert clean_text(HOSTILE) == "Đoàn kết,\tthống nhất\nmột lòng"
    assert clean_text("một\rhai\u2028ba") == "một\nhai\nba"
    assert clean_text("Cafe\u0301 ☕ 👨\u200d👩\u200d👧") == "Café ☕ 👨\u200d👩\u200d👧"
    cleaned = clean_text(LONG)
    assert len(cleaned) == 3990 and cleaned.isprintable()


def test_every_incoming_is_cleaned_whatever_the_channel() -> None:
    incoming = Incoming("any", "1", text=HOSTILE, name="Nguyễn\x00 Văn\u202e A",
                        attachment=Attachment("ảnh\x07.jpg", "image/jpeg", 1, "f"))
    assert incoming.text == "Đoàn kết,\tthống nhất\nmột lòng"
    assert incoming.name == "Nguyễn Văn A"
    assert incoming.attachment is not None and incoming.attachment.name == "ảnh.jpg"


@pytest.fixture
async def round_id(store: Store) -> int:
    spec = load_campaign_text("hostile.yaml", CAMPAIGN, TZ)
    created, _ = await store.create_campaign(spec, datetime(2023, 10, 17, tzinfo=UTC))
    return created


async def test_hostile_answers_are_stored_clean_and_the_round_compiles(
        engine: Engine, store: Store, round_id: int, tmp_path: Path) -> None:
    chat = await open_chat(engine, round_id)
    await chat.send(HOSTILE)
    await chat.send(LONG)
    await chat.send("Tuyên truyền\x0b trên\u202e loa")
    await chat.send("xong")
    assert "Đã gửi báo cáo" in await chat.send("/submit")
    answers = (await store.sheets(round_id))[0].answers
    assert answers["thuan_loi"] == "Đoàn kết, thống nhất\nmột lòng"
    assert answers["viec_lam"] == ["Tuyên truyền trên loa"]
    coordinator = Coordinator(store, engine, TZ, lambda token: [], tmp_path)
    campaign = await store.campaign(round_id)
    assert campaign is not None
    replies = await coordinator.deliveries.compile(campaign, ["boss"], "telegram", TELEGRAM)
    documents = [r.document for r in replies if r.document is not None]
    assert sorted(p.name for p in documents) == ["bao-cao-tong-hop.docx", "du-lieu.xlsx",
                                                        "tien-do.png"]


def poison(db: Path, campaign_id: int) -> None:
    """Store hostile answers the way a version without cleaning did: straight into the table."""
    with sqlite3.connect(db) as conn:
        rows = [("thuan_loi", HOSTILE), ("chi_tiet", LONG), ("viec_lam", [HOSTILE, "\x00"])]
        for qid, value in rows:
            conn.execute(
                "INSERT OR REPLACE INTO answers (campaign_id, unit_code, question_id, value_json,"
                " raw, updated_at) VALUES (?, 'SXD', ?, ?, NULL, '2023-10-20T01:00:00+00:00')",
                (campaign_id, qid, json.dumps(value)))  # "\ud800" loads as a lone surrogate
        conn.execute("UPDATE campaign_units SET status = 'submitted' WHERE campaign_id = ?",
                     (campaign_id,))


def test_reportbot_compile_writes_every_output_from_poisoned_data(tmp_path: Path) -> None:
    campaign_file = tmp_path / "hostile.yaml"
    campaign_file.write_text(CAMPAIGN, encoding="utf-8")
    created = create(tmp_path, campaign_file)
    poison(tmp_path / "rb.sqlite3", int(str(created["campaign"])))
    for command in ("compile", "export"):
        result = reportbot(tmp_path, command, str(created["campaign"]), "--out",
                           str(tmp_path / command))
        assert result.returncode == 0, result.stderr
    out = tmp_path / "compile"
    book = openpyxl.load_workbook(out / "du-lieu.xlsx")
    row = [cell.value for cell in book.worksheets[0][3]]  # under the headings and the ids
    assert "Đoàn kết,\tthống nhất\nmột lòng" in row
    text = "\n".join(p.text for p in docx.Document(str(out / "bao-cao-tong-hop.docx")).paragraphs)
    assert "Đoàn kết" in text and "\x00" not in text
    assert (out / "don-vi" / "SXD.docx").stat().st_size > 0
    assert "Đoàn kết" in (out / "tom-tat.html").read_text(encoding="utf-8")


async def test_a_compile_that_fails_tells_the_coordinator(store: Store, engine: Engine,
                                                          tmp_path: Path) -> None:
    broken = tmp_path / "hong.docx"
    broken.write_bytes(b"not a word file")
    path = tmp_path / "t.yaml"
    path.write_text(CAMPAIGN + "template: hong.docx\n", encoding="utf-8")
    spec = load_campaign(path, TZ)
    campaign_id, _ = await store.create_campaign(spec, datetime(2023, 10, 17, tzinfo=UTC))
    campaign = await store.campaign(campaign_id)
    assert campaign is not None
    coordinator = Coordinator(store, engine, TZ, lambda token: [], tmp_path)
    replies = await coordinator.handle(Incoming("console", "boss", "boss", text="/compile"),
                                       CONSOLE)
    assert len(replies) == 1 and "Chưa tổng hợp được" in replies[0].text, replies
    assert "Đợt kiểm tra ký tự" in replies[0].text
