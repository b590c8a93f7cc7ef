"""Evidence files: a contact's photos and documents for a `file` question are downloaded and kept
under REPORTBOT_DATA_DIR (sha256), refused with a reason when too big or of the wrong type,
listed in the reports, written by a compile to minh-chung/<CODE>/… and sent as minh-chung.zip."""

from __future__ import annotations

import asyncio
import hashlib
import io
import os
import time
import zipfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import pytest
from aiolimiter import AsyncLimiter
from docx import Document

from bot.campaigns.campaign import load_campaign_text
from bot.channels.telegram import TelegramChannel, build_application
from bot.cli import compiled
from bot.config import Settings, load
from bot.documents.context import _unit_lines
from bot.evidence import EvidenceStore, Offer, safe_name, sha256_of, unit_evidence
from bot.hub import Hub
from bot.store import Store
from tests.conftest import SMALL_CAMPAIGN, TZ
from tests.fakebotapi import FakeBotApi

TOKEN = "123456:TEST-token-abcdefghijklmnopqrstu"
ADMIN, CONTACT = 900, 7
WITH_FILES = SMALL_CAMPAIGN.replace(
    "        - {id: so_nguoi,",
    '        - {id: minh_chung, type: file, ask: "Ảnh hoặc tệp minh chứng?", required: false}\n'
    "        - {id: so_nguoi,")
ANSWERS = ("12", "không", "bỏ qua", "100%", "10tr", "1, Tọa đàm", "1")
PHOTO = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 40
PDF = b"%PDF-1.4\n" + b"1 0 obj << /Type /Catalog >> endobj\n" * 200 + b"%%EOF\n"
PDF_NAME = "Kế hoạch số 12/KH-SXD.pdf"  # a "/" as people write document numbers


@dataclass
class Rig:
    fake: FakeBotApi
    hub: Hub
    store: Store
    settings: Settings

    async def send(self, send: object, to: int = CONTACT) -> str:
        """Let a person do something; return the text of the bot's next answer to them."""
        mark = self.fake.mark()
        assert callable(send)
        await asyncio.to_thread(send)
        sent = await asyncio.to_thread(self.fake.wait_for_sent, to, None, 15.0, since=mark)
        return sent.text

    async def say(self, text: str) -> str:
        return await self.send(lambda: self.fake.send_text(CONTACT, text))

    def kept(self) -> list[Path]:
        folder = self.settings.data_dir / "files"
        return sorted(folder.iterdir()) if folder.exists() else []


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    """The Telegram channel in this process, polling the fake Bot API, with a round that asks
    for evidence first."""
    with FakeBotApi(token=TOKEN) as fake:
        settings = load({"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_BASE_URL": fake.base_url,
                         "REPORTBOT_ADMINS": str(ADMIN),
                         "REPORTBOT_DB": str(tmp_path / "bot.sqlite3"),
                         "REPORTBOT_DATA_DIR": str(tmp_path / "data")}, env_file=None)
        store = await Store.open(settings.db)
        hub = Hub(store, settings)
        channel = TelegramChannel(build_application(settings), hub)
        hub.sender.per_chat = 1000
        hub.sender.overall = {"telegram": AsyncLimiter(10_000, 1)}
        await store.create_campaign(load_campaign_text("dot.yaml", WITH_FILES, TZ),
                                    hub.engine.clock())
        stop = asyncio.Event()
        running = asyncio.create_task(hub.run(stop))
        try:
            yield Rig(fake, hub, store, settings)
        finally:
            stop.set()
            await running
            await channel.stop()
            await store.close()


async def bind(rig: Rig) -> str:
    invites = await rig.store.regenerate_invites(1)
    token = next(i.token for i in invites if i.code == "SXD")
    return await rig.say(f"/start {token}")


async def test_a_photo_and_a_pdf_are_kept_by_content_and_named_in_the_answer(rig: Rig) -> None:
    assert "minh chứng" in await bind(rig)
    assert "Đã lưu mục 1" in await rig.send(lambda: rig.fake.send_photo(CONTACT, PHOTO))
    assert "Đã lưu mục 2" in await rig.send(
        lambda: rig.fake.send_document(CONTACT, PDF_NAME, PDF, "application/pdf"))
    items = (await rig.store.sheets(1))[0].answers["minh_chung"]
    photo_sha, pdf_sha = hashlib.sha256(PHOTO).hexdigest(), hashlib.sha256(PDF).hexdigest()
    assert [(i["mime"], i["size"], sha256_of(i)) for i in items] == [
        ("image/jpeg", len(PHOTO), photo_sha), ("application/pdf", len(PDF), pdf_sha)]
    assert items[1]["name"] == PDF_NAME
    folder = rig.settings.data_dir / "files"
    assert rig.kept() == sorted([folder / f"{photo_sha}.jpg", folder / f"{pdf_sha}.pdf"])
    assert (folder / f"{photo_sha}.jpg").read_bytes() == PHOTO
    assert (folder / f"{pdf_sha}.pdf").read_bytes() == PDF
    # The same photo again: a second item, the same one file on disk.
    assert "Đã lưu mục 3" in await rig.send(lambda: rig.fake.send_photo(CONTACT, PHOTO))
    assert len(rig.kept()) == 2
    downloads = [c.params["file_path"] for c in rig.fake.calls("download")]
    assert downloads and all(p.startswith(("photos/", "documents/")) for p in downloads)


async def test_too_big_or_wrong_type_is_refused_with_the_reason_and_nothing_is_stored(
        rig: Rig) -> None:
    await bind(rig)
    big = b"%PDF-1.4\n" + b"0" * (20 * 1024 * 1024)
    told = await rig.send(lambda: rig.fake.send_document(CONTACT, "Báo cáo.pdf", big,
                                                         "application/pdf"))
    assert "«Báo cáo.pdf» lớn hơn 20 MB" in told
    assert not rig.fake.calls("getFile")  # Telegram said its size: not even asked for
    told = await rig.send(lambda: rig.fake.send_document(CONTACT, "caidat.exe", b"MZ\x90\x00"))
    assert "không nhận tệp «caidat.exe»" in told and "PDF" in told and "DOCX" in told
    told = await rig.send(lambda: rig.fake.send_document(CONTACT, "gia.pdf", b"<html>nope</html>",
                                                         "application/pdf"))
    assert "không nhận tệp «gia.pdf»" in told
    assert (await rig.store.sheets(1))[0].answers.get("minh_chung") in (None, [])
    assert rig.kept() == []  # no file, no temporary file left behind
    assert "Câu 1/" in await rig.say("/start")  # still at the question, nothing lost


async def test_a_file_nobody_asked_for_is_not_downloaded(rig: Rig) -> None:
    told = await rig.send(lambda: rig.fake.send_document(8, "a.pdf", PDF, "application/pdf"), 8)
    assert "chưa gắn với đơn vị" in told  # a stranger: how to bind, no download
    await bind(rig)
    await rig.say("xong")  # past the file question
    told = await rig.send(lambda: rig.fake.send_photo(CONTACT, PHOTO))
    assert "Bot chưa dùng tệp này" in told and "Câu 2/" in told
    assert not rig.fake.calls("getFile") and rig.kept() == []


async def test_compile_writes_minh_chung_and_sends_the_zip_the_docx_lists_them(
        rig: Rig, tmp_path: Path) -> None:
    await bind(rig)
    await rig.send(lambda: rig.fake.send_photo(CONTACT, PHOTO))
    await rig.send(lambda: rig.fake.send_document(CONTACT, PDF_NAME, PDF, "application/pdf"))
    await rig.send(lambda: rig.fake.send_document(CONTACT, "Kế hoạch số 12-KH-SXD.pdf",
                                                  PDF + b"\n", "application/pdf"))
    await rig.say("xong")
    for answer in ANSWERS:
        await rig.say(answer)
    assert "Đã gửi báo cáo" in await rig.say("/submit")
    mark = rig.fake.mark()
    rig.fake.send_text(ADMIN, "/compile")
    sent = await asyncio.to_thread(rig.fake.wait_for_sent, ADMIN,
                                   lambda m: m.document_name == "minh-chung.zip", 30.0,
                                   since=mark)
    assert sent.document_bytes is not None
    bundle = zipfile.ZipFile(io.BytesIO(sent.document_bytes))
    names = sorted(bundle.namelist())
    photo = next(n for n in names if n.endswith(".jpg"))
    assert names == sorted(["minh-chung/SXD/Kế hoạch số 12-KH-SXD.pdf",
                            "minh-chung/SXD/Kế hoạch số 12-KH-SXD (2).pdf", photo])
    assert bundle.read("minh-chung/SXD/Kế hoạch số 12-KH-SXD.pdf") == PDF
    assert bundle.read(photo) == PHOTO
    report = await asyncio.to_thread(rig.fake.wait_for_sent, ADMIN,
                                     lambda m: m.document_name == "bao-cao-tong-hop.docx",
                                     30.0, since=mark)
    assert report.document_bytes is not None
    text = "\n".join(p.text for p in Document(io.BytesIO(report.document_bytes)).paragraphs)
    assert "DANH MỤC TÀI LIỆU MINH CHỨNG" in text
    assert "- Kế hoạch số 12-KH-SXD.pdf (8 KB);" in text and "minh-chung.zip" in text
    # `reportbot compile` writes the same files into its folder.
    campaign = await rig.store.campaign(1)
    assert campaign is not None
    out = tmp_path / "ra"
    printed = await asyncio.to_thread(compiled, campaign, await rig.store.sheets(1), out,
                                      EvidenceStore(rig.settings.data_dir))
    assert "minh-chung.zip" in printed
    assert (out / "minh-chung" / "SXD" / "Kế hoạch số 12-KH-SXD (2).pdf").read_bytes() == \
        PDF + b"\n"
    unit = Document(str(out / "don-vi" / "SXD.docx"))
    unit_text = "\n".join(p.text for p in unit.paragraphs)
    assert f"- {PDF_NAME} (8 KB);" in unit_text and f"- {photo.rsplit('/')[-1]}" in unit_text


async def test_export_without_evidence_says_so_in_one_line(rig: Rig) -> None:
    mark = rig.fake.mark()
    rig.fake.send_text(ADMIN, "/export")
    told = await asyncio.to_thread(rig.fake.wait_for_sent, ADMIN,
                                   lambda m: "minh-chung.zip" in m.text, 30.0, since=mark)
    assert "Chưa có tệp minh chứng" in told.text
    documents = [m.document_name for m in rig.fake.sent_messages(ADMIN) if m.document_name]
    assert documents and "minh-chung.zip" not in documents


def test_names_are_safe_vietnamese_kept_collisions_numbered() -> None:
    spec = load_campaign_text("dot.yaml", WITH_FILES, TZ)
    answers = {"minh_chung": [{"name": n, "size": 1} for n in (
        "../../etc/passwd", "Ảnh: hội nghị?.jpg", "ảnh  HỘI nghị .jpg", "Ảnh  hội nghị .JPG",
        "", "a" * 300 + ".pdf")]}
    paths = [e.path.as_posix() for e in unit_evidence("SXD", spec.questionnaire.questions,
                                                      answers)]
    assert paths[:5] == ["minh-chung/SXD/etc-passwd", "minh-chung/SXD/Ảnh hội nghị.jpg",
                         "minh-chung/SXD/ảnh HỘI nghị (2).jpg",
                         "minh-chung/SXD/Ảnh hội nghị (3).JPG", "minh-chung/SXD/tep"]
    assert len(Path(paths[5]).name) == 120 and paths[5].endswith(".pdf")
    old = {"minh_chung": [{"name": "anh.jpg", "mime": "image/jpeg", "size": 0,
                           "file_id": "AgACAgUAAxkBAAI"}]}  # kept before: Telegram's id only
    assert _unit_lines(spec.questionnaire.get("minh_chung"), old["minh_chung"]) == [
        {"who": "", "text": "- anh.jpg."}]
    assert safe_name("Báo cáo\u0000 tháng 10.docx", "tep") == "Báo cáo tháng 10.docx"


async def test_a_units_files_are_listed_with_where_they_lie(tmp_path: Path) -> None:
    store = EvidenceStore(tmp_path)

    async def download(out: IO[bytes], limit: int) -> None:
        out.write(PDF)

    (tmp_path / "files").mkdir()
    cut_off = tmp_path / "files" / ".part-abc"  # a download a kill cut off, two hours ago
    cut_off.write_bytes(b"%PDF-1.4 half")
    os.utime(cut_off, (time.time() - 7200, time.time() - 7200))
    kept = await store.keep(Offer("Báo cáo.pdf", None, download))
    assert not cut_off.exists()
    spec = load_campaign_text("dot.yaml", WITH_FILES, TZ)
    item = {"name": kept.attachment.name, "size": kept.attachment.size,
            "file_id": kept.attachment.file_id}
    gone = {"name": "cu.pdf", "size": 3, "file_id": "BQAC-telegram-only"}
    listed = store.unit_files("SXD", spec.questionnaire.questions, {"minh_chung": [item, gone]})
    assert [(e.path.as_posix(), path) for e, path in listed] == [
        ("minh-chung/SXD/Báo cáo.pdf", kept.path), ("minh-chung/SXD/cu.pdf", None)]
    assert kept.path.read_bytes() == PDF


def test_a_file_the_oa_kept_before_the_shared_store_is_still_found(tmp_path: Path) -> None:
    content = b"%PDF-1.4 a plan signed before the upgrade"
    digest = hashlib.sha256(content).hexdigest()
    older = tmp_path / "files" / "zalo_oa" / f"{digest}.pdf"  # where the OA channel kept it
    older.parent.mkdir(parents=True)
    older.write_bytes(content)
    item = {"name": "Kế hoạch.PDF", "mime": "application/pdf", "size": len(content),
            "file_id": f"sha256:{digest}"}
    assert EvidenceStore(tmp_path).path_of(item) == older
    assert EvidenceStore(tmp_path).path_of({**item, "file_id": "sha256:" + "0" * 64}) is None
