"""The Telegram channel driven through PTB's own Application with a request that records calls."""

from __future__ import annotations

import hashlib
import html
import json
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiolimiter import AsyncLimiter
from telegram import Update
from telegram.error import TimedOut
from telegram.ext import ApplicationBuilder
from telegram.request import BaseRequest, RequestData

from bot.channels.base import Outgoing
from bot.channels.telegram import TelegramChannel, check_token
from bot.config import ConfigError, load
from bot.engine import utc_now
from bot.hub import Hub
from bot.outbox import Sender
from bot.store import Store
from tests.conftest import SMALL_CAMPAIGN
from tests.fakebotapi import ApiError, parse_html

TOKEN = "123456:TEST-token-abcdefghijklmnopqrstuvwxyz"
ADMIN = 900
BOT_USER = {"id": 1, "is_bot": True, "first_name": "reportbot", "username": "reportbot_test_bot"}


def _refusal(name: str, params: dict[str, Any]) -> str | None:
    """Return Telegram's 400 description for a sendMessage it would refuse, else None."""
    if name != "sendMessage":
        return None
    text = str(params.get("text", ""))
    try:
        shown = parse_html(text)[0] if params.get("parse_mode") == "HTML" else text
    except ApiError as error:
        return str(error)
    return "Bad Request: message is too long" if len(shown) > 4096 else None


class RecordingRequest(BaseRequest):
    """Answers Bot API calls like Telegram would and records them; can fail on demand."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.failures: list[tuple[str, int, int, str, dict[str, Any]]] = []
        self.files: dict[str, bytes] = {}
        self.message_id = 100
        self.slow: dict[str, float] = {}  # method -> seconds Telegram takes to answer it

    async def initialize(self) -> None:
        """Nothing to open."""

    async def shutdown(self) -> None:
        """Nothing to close."""

    @property
    def read_timeout(self) -> float:
        return 1.0

    def fail(self, method: str, chat_id: int, code: int, description: str,
             parameters: dict[str, Any] | None = None) -> None:
        """Make the next call of `method` to `chat_id` fail with an API error."""
        self.failures.append((method, chat_id, code, description, parameters or {}))

    async def do_request(self, url: str, method: str, request_data: RequestData | None = None,
                         **_timeouts: Any) -> tuple[int, bytes]:
        if "/file/bot" in url:
            return 200, self.files[url.rsplit("/", 1)[-1]]
        name = url.rsplit("/", 1)[-1]
        params = dict(request_data.parameters) if request_data else {}
        for failure in self.failures:
            if failure[0] == name and int(params.get("chat_id", 0)) == failure[1]:
                self.failures.remove(failure)
                body = {"ok": False, "error_code": failure[2], "description": failure[3],
                        "parameters": failure[4]}
                return failure[2], json.dumps(body).encode()
        refusal = _refusal(name, params)
        if refusal is not None:  # as strict as Telegram about markup and length
            return 400, json.dumps({"ok": False, "error_code": 400,
                                    "description": refusal}).encode()
        self.calls.append((name, params))
        answer = self.slow.pop(name, 0.0)
        read_timeout = _timeouts.get("read_timeout")
        waited = read_timeout if isinstance(read_timeout, int | float) else self.read_timeout
        if answer > waited:  # delivered, but the answer comes after the client gave up
            raise TimedOut(f"no answer within {waited} s")
        return 200, json.dumps({"ok": True, "result": self.result(name, params)}).encode()

    def result(self, name: str, params: dict[str, Any]) -> Any:
        if name == "getMe":
            return BOT_USER
        if name in ("sendMessage", "sendDocument"):
            self.message_id += 1
            message = {"message_id": self.message_id, "date": int(time.time()),
                       "chat": {"id": int(params["chat_id"]), "type": "private"},
                       "from": BOT_USER, "text": params.get("text", "")}
            return message
        if name == "getFile":
            return {"file_id": params["file_id"], "file_unique_id": "u", "file_size": 10,
                    "file_path": params["file_id"]}
        return True

    def sent(self, chat_id: int | None = None) -> list[dict[str, Any]]:
        """Return the sendMessage parameters, optionally to one chat."""
        return [p for n, p in self.calls
                if n == "sendMessage" and (chat_id is None or int(p["chat_id"]) == chat_id)]


class Harness:
    """A channel with its store; builds updates as Telegram would send them."""

    def __init__(self, channel: TelegramChannel, request: RecordingRequest, store: Store,
                 sender: Sender) -> None:
        self.channel = channel
        self.request = request
        self.store = store
        self.sender = sender
        self.update_id = 0

    async def feed(self, payload: dict[str, Any], redeliver: bool = False,
                   drain: bool = True) -> None:
        """Process one update as the polling loop does, then deliver what it owes."""
        self.update_id += 0 if redeliver else 1
        update = Update.de_json({"update_id": self.update_id, **payload}, self.channel.app.bot)
        await self.channel.app.process_update(update)
        if drain:
            await self.sender.drain()

    async def owe(self, message: Outgoing) -> None:
        """Owe one message as the bot does, and deliver it."""
        await self.store.outbox.owe(f"test:{id(message)}", [message], datetime.now(UTC))
        await self.sender.drain()

    async def text(self, user: int, text: str, name: str | None = None) -> str:
        message: dict[str, Any] = {
            "message_id": self.update_id + 1, "date": int(time.time()), "text": text,
            "chat": {"id": user, "type": "private"},
            "from": {"id": user, "is_bot": False, "first_name": name or f"User {user}"},
        }
        if text.startswith("/"):
            message["entities"] = [{"type": "bot_command", "offset": 0,
                                    "length": len(text.split()[0])}]
        before = len(self.request.sent(user))
        await self.feed({"message": message})
        return "\n".join(p["text"] for p in self.request.sent(user)[before:])

    async def press(self, user: int, data: str) -> str:
        before = len(self.request.sent(user))
        await self.feed({"callback_query": {
            "id": f"q{self.update_id}", "chat_instance": "c", "data": data,
            "from": {"id": user, "is_bot": False, "first_name": f"User {user}"},
            "message": {"message_id": 1, "date": int(time.time()), "text": "…",
                        "chat": {"id": user, "type": "private"}, "from": BOT_USER},
        }})
        return "\n".join(p["text"] for p in self.request.sent(user)[before:])

    async def document(self, user: int, name: str, data: bytes, caption: str) -> str:
        self.request.files[name] = data
        before = len(self.request.sent(user))
        await self.feed({"message": {
            "message_id": self.update_id + 1, "date": int(time.time()), "caption": caption,
            "caption_entities": [{"type": "bot_command", "offset": 0, "length": len(caption)}],
            "chat": {"id": user, "type": "private"},
            "from": {"id": user, "is_bot": False, "first_name": "Điều phối"},
            "document": {"file_id": name, "file_unique_id": name, "file_name": name},
        }})
        return "\n".join(p["text"] for p in self.request.sent(user)[before:])


@pytest.fixture
async def harness(tmp_path: Path) -> AsyncIterator[Harness]:
    # Each notice of a submit is told at once (tests/test_notify.py tries the window).
    async with open_harness(tmp_path, {"REPORTBOT_NOTICE_WINDOW": "0"}) as opened:
        yield opened


@asynccontextmanager
async def open_harness(tmp_path: Path, env: dict[str, str],
                       clock: Callable[[], datetime] = utc_now) -> AsyncIterator[Harness]:
    """Return a harness with these settings and clock, on the database in `tmp_path`."""
    request = RecordingRequest()
    app = ApplicationBuilder().token(TOKEN).request(request).updater(None).build()
    settings = load({"TELEGRAM_BOT_TOKEN": TOKEN, "REPORTBOT_ADMINS": str(ADMIN),
                     "REPORTBOT_DB": str(tmp_path / "t.sqlite3"),
                     "REPORTBOT_DATA_DIR": str(tmp_path / "data"), **env}, env_file=None)
    store = await Store.open(settings.db)
    hub = Hub(store, settings, clock)
    channel = TelegramChannel(app, hub)
    # The pace itself is measured in benchmarks; here it only orders the messages.
    hub.sender.per_chat = 1000
    hub.sender.overall = {"telegram": AsyncLimiter(10_000, 1)}
    await channel.start()
    yield Harness(channel, request, store, hub.sender)
    await channel.stop()
    await store.close()


async def create(harness: Harness) -> dict[str, str]:
    text = await harness.document(ADMIN, "dot-thu.yaml", SMALL_CAMPAIGN.encode(), "/new")
    assert "Đã tạo đợt báo cáo số 1" in text
    return {line.split(" · ")[0]: line for line in text.splitlines() if " · " in line}


async def invite_token(harness: Harness, code: str) -> str:
    invites = await harness.store.regenerate_invites(1)
    return next(i.token for i in invites if i.code == code)


async def test_commands_are_registered_in_vietnamese_per_role(harness: Harness) -> None:
    menus = [p for n, p in harness.request.calls if n == "setMyCommands"]
    default = next(p for p in menus if p["scope"]["type"] == "default")
    admin = next(p for p in menus if p["scope"].get("chat_id") == ADMIN)
    assert {c["command"] for c in default["commands"]} >= {"start", "review", "edit", "submit"}
    assert "status" not in {c["command"] for c in default["commands"]}
    assert {"status", "new", "invites"} <= {c["command"] for c in admin["commands"]}
    assert any(c["description"] == "Gửi báo cáo" for c in default["commands"])


async def test_new_campaign_by_file_gives_invite_links(harness: Harness) -> None:
    lines = await create(harness)
    assert "https://t.me/reportbot_test_bot?start=" in "\n".join(harness.request.sent(ADMIN)[-1]
                                                                  ["text"].splitlines())
    assert "SXD" in lines and "SYT" in lines


async def test_broken_campaign_file_gets_the_check_errors(harness: Harness) -> None:
    broken = SMALL_CAMPAIGN.replace("type: money", "type: moneyy")
    text = await harness.document(ADMIN, "hong.yaml", broken.encode(), "/new")
    assert "chưa hợp lệ" in text and "hong.yaml:" in text and "moneyy" in text
    assert await harness.store.campaigns() == []


async def test_invite_binds_then_text_and_buttons_answer(harness: Harness) -> None:
    await create(harness)
    token = await invite_token(harness, "SXD")
    text = await harness.text(7, f"/start {token}")
    assert "Sở Xây dựng" in text and "Câu 1/7" in text
    text = await harness.text(7, "1.250 người")
    assert "Câu 2/7" in text
    markup = harness.request.sent(7)[-1]["reply_markup"]
    labels = [b["text"] for row in markup["inline_keyboard"] for b in row]
    assert labels[:2] == ["Có", "Không"]
    text = await harness.press(7, "co_vb:n")
    assert "Câu 3/7" in text
    assert any(n == "answerCallbackQuery" for n, _ in harness.request.calls)
    text = await harness.press(7, "co_vb:y")
    assert "không còn hiệu lực" in text
    sheets = await harness.store.sheets(1)
    assert sheets[0].answers == {"so_nguoi": 1250, "co_vb": False}


async def test_wrong_or_missing_invite_is_explained(harness: Harness) -> None:
    await create(harness)
    assert "Mã mời không đúng" in await harness.text(8, "/start khong-dung")
    assert "chưa gắn với đơn vị" in await harness.text(8, "/start")
    token = await invite_token(harness, "SYT")
    await harness.store.regenerate_invites(1)  # the old link stops working
    assert "Mã mời không đúng" in await harness.text(8, f"/start {token}")


async def test_coordinator_commands_refused_politely_for_contacts(harness: Harness) -> None:
    await create(harness)
    for command in ("/status", "/compile", "/new", "/invites"):
        text = await harness.text(7, command)
        assert "chỉ dành cho cán bộ điều phối" in text
    text = await harness.text(ADMIN, "/status")
    assert "Đã gửi 0/2 đơn vị" in text and "SXD · Sở Xây dựng" in text and "SYT · Sở Y tế" in text
    whoami = await harness.text(7, "/whoami")
    assert "Mã người dùng của anh/chị: 7" in whoami and "telegram:7" in whoami


async def test_invites_regenerates_tokens(harness: Harness) -> None:
    await create(harness)
    old = await invite_token(harness, "SXD")
    text = await harness.text(ADMIN, "/invites")
    assert "đường dẫn cũ không còn dùng được" in text
    assert "Mã mời không đúng" in await harness.text(9, f"/start {old}")


async def test_typed_text_is_escaped_for_telegram_html(harness: Harness) -> None:
    await create(harness)
    await harness.text(7, f"/start {await invite_token(harness, 'SXD')}")
    await harness.text(7, "12")
    await harness.text(7, "không")
    await harness.text(7, "<b>A & B</b> {{ x }}")
    text = await harness.text(7, "/review")
    assert "&lt;b&gt;A &amp; B&lt;/b&gt; {{ x }}" in text


async def test_long_messages_are_split_under_4096(harness: Harness) -> None:
    await create(harness)
    await harness.text(7, f"/start {await invite_token(harness, 'SXD')}")
    await harness.text(7, "12")
    await harness.text(7, "có")
    for i in range(8):
        await harness.text(7, f"Kế hoạch số {i + 1}/KH-SXD ngày 04/10/2021 " + "nội dung " * 60)
    before = len(harness.request.sent(7))
    await harness.text(7, "/review")
    parts = harness.request.sent(7)[before:]
    assert len(parts) >= 2 and all(len(p["text"]) <= 4096 for p in parts)


async def test_429_is_retried_and_403_marks_unreachable_once(harness: Harness) -> None:
    await create(harness)
    await harness.text(7, f"/start {await invite_token(harness, 'SXD')}")
    harness.request.fail("sendMessage", 7, 429, "Too Many Requests: retry after 0",
                         {"retry_after": 0})
    assert "Câu 2/7" in await harness.text(7, "12")
    harness.request.fail("sendMessage", 7, 403, "Forbidden: bot was blocked by the user")
    await harness.text(7, "có")
    harness.request.fail("sendMessage", 7, 403, "Forbidden: bot was blocked by the user")
    await harness.text(7, "/review")
    notices = [p for p in harness.request.sent(ADMIN) if "Không gửi được" in p["text"]]
    assert len(notices) == 1 and "SXD" in notices[0]["text"]
    assert (await harness.store.contact_counts(1))["SXD"] == 0


async def test_a_contact_is_named_as_telegram_names_it_escaped(harness: Harness) -> None:
    await create(harness)
    token = await invite_token(harness, "SXD")
    await harness.text(7, f"/start {token}", name="  Lan <b>&\n  Anh  ")
    await harness.text(7, "12")
    history = await harness.text(ADMIN, "/history SXD")
    assert "· Lan &lt;b&gt;&amp; Anh · Tổng số người" in history  # spaces tidied, HTML escaped
    harness.request.fail("sendMessage", 7, 403, "Forbidden: bot was blocked by the user")
    await harness.text(7, "có")
    notice = next(p["text"] for p in harness.request.sent(ADMIN) if "Không gửi được" in p["text"])
    assert "cho đầu mối Lan &lt;b&gt;&amp; Anh của SXD (mã người dùng 7)" in notice
    await harness.text(8, f"/start {token}", name=" \u200b ")  # a name of nothing: the id
    assert "· 8 ·" not in await harness.text(ADMIN, "/history SXD")  # 8 answered nothing yet
    names = [c.name for c in await harness.store.web.round_contacts(1)]
    assert names == ["Lan <b>& Anh", "8"]  # SXD's two contacts, as the round page lists them


def test_missing_or_malformed_token_is_one_line() -> None:
    with pytest.raises(ConfigError, match="not set"):
        check_token("")
    with pytest.raises(ConfigError, match="malformed") as error:
        check_token("not-a-token")
    assert "not-a-token" not in str(error.value)


async def answer_all(harness: Harness, user: int, code: str) -> str:
    await harness.text(user, f"/start {await invite_token(harness, code)}")
    for text in ("12", "không", "bỏ qua", "100%", "10tr", "1, <Tọa đàm & hội thảo>", "1"):
        await harness.text(user, text)
    return await harness.text(user, "/submit")


async def test_submit_sends_the_unit_report_and_the_last_one_compiles(harness: Harness) -> None:
    await create(harness)
    assert "Đã gửi báo cáo" in await answer_all(harness, 7, "SXD")
    assert len([n for n, p in harness.request.calls
                if n == "sendDocument" and int(p["chat_id"]) == 7]) == 1
    assert not harness.request.sent(ADMIN)[-1]["text"].startswith("<b>TỔNG HỢP")
    before = len(harness.request.sent(ADMIN))
    await answer_all(harness, 8, "SYT")
    summary = "\n".join(p["text"] for p in harness.request.sent(ADMIN)[before:])
    assert "2/2" in summary and "DỰ THẢO" not in summary
    assert "20.000.000 đồng" in summary
    assert "&lt;Tọa đàm &amp; hội thảo&gt;" in summary
    sent_docs = [n for n, p in harness.request.calls
                 if n == "sendDocument" and int(p["chat_id"]) == ADMIN]
    assert len(sent_docs) == 3  # the progress chart, the consolidated .docx and the .xlsx


async def test_compile_before_everyone_is_a_draft_naming_the_missing(harness: Harness) -> None:
    await create(harness)
    await answer_all(harness, 7, "SXD")
    text = await harness.text(ADMIN, "/compile")
    assert "DỰ THẢO" in text and "Sở Y tế" in text and "1/2" in text
    before = len([n for n, _ in harness.request.calls if n == "sendDocument"])
    await harness.text(ADMIN, "/export")
    after = [p for n, p in harness.request.calls if n == "sendDocument"][before:]
    assert len(after) == 2
    assert "chỉ dành cho cán bộ điều phối" in await harness.text(7, "/export")


async def test_remind_now_counts_as_reminders_sent_once_even_when_redelivered(
        harness: Harness) -> None:
    await create(harness)
    await harness.text(7, f"/start {await invite_token(harness, 'SXD')}")
    await harness.text(ADMIN, "/remind")
    assert [code for code, _contact, _slot in await harness.store.reminders_sent(1)] == ["SXD"]
    before = len(harness.request.sent(7))
    harness.update_id -= 1  # Telegram hands the same /remind again
    await harness.text(ADMIN, "/remind")
    assert len(await harness.store.reminders_sent(1)) == 1
    assert len(harness.request.sent(7)) == before
    await harness.text(ADMIN, "/remind")  # a second /remind is a second reminder
    assert len(await harness.store.reminders_sent(1)) == 2


async def test_remind_return_and_close(harness: Harness) -> None:
    await create(harness)
    await harness.text(7, f"/start {await invite_token(harness, 'SXD')}")
    await harness.text(8, f"/start {await invite_token(harness, 'SYT')}")
    text = await harness.text(ADMIN, "/remind")
    assert "Đã nhắc 2 đầu mối" in text
    assert any("Hạn nộp" in p["text"] or "quá hạn" in p["text"] for p in harness.request.sent(8))
    await answer_all(harness, 7, "SXD")
    assert "Đã nhắc 1 đầu mối" in await harness.text(ADMIN, "/remind")

    text = await harness.text(ADMIN, "/return SXD Số tiền chưa khớp tien")
    assert "Đã trả lại báo cáo của" in text and "Số tiền ủng hộ?" in text
    to_contact = "\n".join(p["text"] for p in harness.request.sent(7)[-2:])
    assert "Số tiền chưa khớp" in to_contact and "Số tiền ủng hộ?" in to_contact
    sheet = (await harness.store.sheets(1))[0]
    assert sheet.status == "returned" and "tien" not in sheet.answers
    assert "Chưa thể gửi" in await harness.text(7, "/submit")
    await harness.text(7, "12 triệu")
    assert "Đã gửi báo cáo" in await harness.text(7, "/submit")
    assert (await harness.store.sheets(1))[0].answers["tien"] == 12_000_000

    text = await harness.text(ADMIN, "/close")
    assert "Đã kết thúc đợt báo cáo số 1" in text and "DỰ THẢO" in text
    assert "đã kết thúc" in harness.request.sent(8)[-1]["text"]
    assert "đã kết thúc" in await harness.text(8, "12")
    assert (await harness.store.campaign(1)).status == "closed"  # type: ignore[union-attr]


async def test_sweep_sends_each_slot_once_to_late_contacts_and_a_digest(harness: Harness) -> None:
    from datetime import timedelta

    await create(harness)
    await harness.text(7, f"/start {await invite_token(harness, 'SXD')}")
    await harness.text(8, f"/start {await invite_token(harness, 'SYT')}")
    await answer_all(harness, 8, "SYT")
    campaign = await harness.store.campaign(1)
    assert campaign is not None
    sweeper = harness.channel.hub.sweeper
    # Tue 31/10/2023 17:00 deadline: "1 day before" is Mon 30/10 at 08:00 (Asia/Ho_Chi_Minh).
    slot_time = campaign.spec.deadline.replace(hour=8, minute=5) - timedelta(days=1)
    before = {c: len(harness.request.sent(c)) for c in (7, 8, ADMIN)}
    object.__setattr__(campaign, "created_at", slot_time - timedelta(days=10))
    harness.store._cache.clear()
    assert await sweeper.remind_due(campaign, slot_time) == 1
    assert await sweeper.remind_due(campaign, slot_time + timedelta(minutes=1)) == 0
    await sweeper.digest(campaign, slot_time)
    await sweeper.digest(campaign, slot_time + timedelta(minutes=1))
    await harness.sender.drain()
    assert len(harness.request.sent(7)) == before[7] + 1
    assert "Hạn nộp" in harness.request.sent(7)[-1]["text"]
    assert len(harness.request.sent(8)) == before[8]  # SYT submitted: nothing
    digests = harness.request.sent(ADMIN)[before[ADMIN]:]
    assert len(digests) == 1 and "1/2" in digests[0]["text"]


async def test_a_photo_answers_a_file_question_and_help_differs_by_role(harness: Harness) -> None:
    with_file = SMALL_CAMPAIGN.replace(
        "        - {id: so_nguoi,",
        '        - {id: anh, type: file, ask: "Ảnh minh chứng?", required: false}\n'
        "        - {id: so_nguoi,")
    assert "Đã tạo" in await harness.document(ADMIN, "co-anh.yaml", with_file.encode(), "/new")
    token = await invite_token(harness, "SXD")
    assert "Ảnh minh chứng?" in await harness.text(7, f"/start {token}")
    photo = b"\xff\xd8\xff\xe0" + b"jpeg" * 3000
    harness.request.files["big"] = photo
    await harness.feed({"message": {
        "message_id": 50, "date": int(time.time()), "chat": {"id": 7, "type": "private"},
        "from": {"id": 7, "is_bot": False, "first_name": "A"},
        "photo": [{"file_id": "small", "file_unique_id": "s1", "width": 90, "height": 90},
                  {"file_id": "big", "file_unique_id": "b1", "width": 900, "height": 900,
                   "file_size": 12345}]}})
    assert "Đã lưu mục 1" in harness.request.sent(7)[-1]["text"]
    assert "Câu 2/" in await harness.text(7, "xong")
    stored = (await harness.store.sheets(1))[0].answers["anh"]
    digest = hashlib.sha256(photo).hexdigest()
    assert stored == [{"name": "anh-b1.jpg", "mime": "image/jpeg", "size": len(photo),
                       "file_id": f"sha256:{digest}"}]
    kept = harness.channel.hub.settings.data_dir / "files" / f"{digest}.jpg"
    assert kept.read_bytes() == photo
    assert "/compile" not in await harness.text(7, "/help")
    assert "/compile" in await harness.text(ADMIN, "/help")


async def test_a_file_redelivered_or_cut_off_by_a_kill_is_kept_and_answered_once(
        harness: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    with_file = SMALL_CAMPAIGN.replace(
        "        - {id: so_nguoi,",
        '        - {id: anh, type: file, ask: "Ảnh minh chứng?", required: false}\n'
        "        - {id: so_nguoi,")
    await harness.document(ADMIN, "co-anh.yaml", with_file.encode(), "/new")
    await harness.text(7, f"/start {await invite_token(harness, 'SXD')}")
    harness.request.files["p1"] = b"\xff\xd8\xff\xe0" + b"a" * 3000
    photo = {"message": {
        "message_id": 60, "date": int(time.time()), "chat": {"id": 7, "type": "private"},
        "from": {"id": 7, "is_bot": False, "first_name": "A"},
        "photo": [{"file_id": "p1", "file_unique_id": "q1", "width": 900, "height": 900}]}}
    hub = harness.channel.hub
    handle = hub.engine.handle
    calls = 0

    async def killed_once(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 1:  # the process dies after the file is kept, before the answer is stored
            raise SystemError("killed")
        return await handle(*args, **kwargs)

    monkeypatch.setattr(hub.engine, "handle", killed_once)
    with pytest.raises(SystemError):
        await hub.receive(*await _incoming_of(harness, photo))
    folder = hub.settings.data_dir / "files"
    assert len(list(folder.iterdir())) == 1  # kept, not yet named by any answer
    assert (await harness.store.sheets(1))[0].answers.get("anh") is None
    await harness.feed(photo)  # Telegram delivers the unconfirmed update again
    await harness.feed(photo, redeliver=True)  # and once more
    items = (await harness.store.sheets(1))[0].answers["anh"]
    assert len(items) == 1 and len(list(folder.iterdir())) == 1
    asked = [p["file_id"] for n, p in harness.request.calls if n == "getFile"]
    assert asked.count("p1") == 2  # kept before the kill and again after; not once answered


async def _incoming_of(harness: Harness, payload: dict[str, Any]) -> tuple[Any, ...]:
    """Return what the channel hands the hub for an update (its Incoming and its offer)."""
    handed: list[tuple[Any, ...]] = []
    hub = harness.channel.hub

    async def record(*args: Any) -> None:
        handed.append(args)

    original = hub.receive
    hub.receive = record  # type: ignore[method-assign]
    try:
        await harness.feed(payload, drain=False)
    finally:
        hub.receive = original  # type: ignore[method-assign]
    harness.update_id -= 1  # the same update comes again
    incoming, fetch, offer = handed[0]
    return incoming, fetch, offer


async def test_a_document_over_the_upload_limit_goes_as_where_it_lies(
        harness: Harness, tmp_path: Path) -> None:
    bundle = tmp_path / "outputs" / "dot-3" / "minh-chung.zip"
    bundle.parent.mkdir(parents=True)
    bundle.write_bytes(b"PK" + b"0" * 2000)
    harness.channel.transport.max_upload = 1000  # as a zip over Telegram's 50 MB would be
    await harness.owe(Outgoing(str(ADMIN), "", document=bundle, channel="telegram"))
    assert not [n for n, _ in harness.request.calls if n == "sendDocument"]
    told = harness.request.sent(ADMIN)[-1]["text"]
    assert "minh-chung.zip" in told and "reportbot compile 3 --out" in told


async def test_a_long_answer_shown_again_reaches_the_contact_in_valid_parts(
        harness: Harness) -> None:
    answer = html.escape("Nội dung <rất> dài & đầy đủ, " * 160)[:5000]
    text = f"Câu 3/7 · I. Chung\n<b>Ghi chú?</b>\n\nTrả lời hiện tại: <i>{answer}</i>. Gửi…"
    await harness.owe(Outgoing("7", text, channel="telegram"))
    sent = harness.request.sent(7)
    assert len(sent) >= 2 and all(p["parse_mode"] == "HTML" for p in sent)
    assert "".join(parse_html(p["text"])[0] for p in sent).count("&") == answer.count("&amp;")


async def test_a_message_telegram_refuses_is_sent_again_as_plain_text(harness: Harness) -> None:
    await harness.owe(Outgoing("7", "Đã lưu <b>1.250 người", channel="telegram"))
    sent = harness.request.sent(7)
    assert [p["text"] for p in sent] == ["Đã lưu 1.250 người"]
    assert "parse_mode" not in sent[0]
