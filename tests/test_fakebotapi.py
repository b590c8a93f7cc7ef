"""The fake Bot API server, driven by python-telegram-bot itself over 127.0.0.1."""

from __future__ import annotations

import asyncio
import datetime as dtm
import subprocess
import sys
import time
from collections.abc import AsyncIterator

import pytest
import telegram
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest, Conflict, Forbidden, InvalidToken, NetworkError, RetryAfter
from telegram.ext import (
    AIORateLimiter,
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
)

from tests.fakebotapi import FakeBotApi, fake_bot_api_fixture  # noqa: F401  (fixture)

USER = 5001
KEYBOARD = InlineKeyboardMarkup([[
    InlineKeyboardButton("Có", callback_data="yes"),
    InlineKeyboardButton("Không", callback_data="no"),
]])


def make_bot(fake: FakeBotApi, token: str | None = None) -> telegram.Bot:
    """A PTB Bot pointed at the fake."""
    return telegram.Bot(
        token or fake.token, base_url=fake.base_url, base_file_url=fake.base_file_url
    )


@pytest.fixture
async def bot(fake_bot_api: FakeBotApi) -> AsyncIterator[telegram.Bot]:
    """An initialized PTB Bot talking to the fake."""
    async with make_bot(fake_bot_api) as ptb:
        yield ptb


def retry_seconds(error: RetryAfter) -> float:
    """RetryAfter.retry_after: an int in PTB 22, a timedelta with PTB_TIMEDELTA set."""
    value = error.retry_after
    return value.total_seconds() if isinstance(value, dtm.timedelta) else float(value)


# PTB 22 warns inside RetryAfter itself that retry_after will become a timedelta.
ignore_retry_after_warning = pytest.mark.filterwarnings(
    "ignore::telegram.warnings.PTBDeprecationWarning"
)


async def test_get_me(bot: telegram.Bot, fake_bot_api: FakeBotApi) -> None:
    """getMe answers the bot user; PTB's initialize already called it."""
    me = await bot.get_me()
    assert me.is_bot and me.username == "reportbot_test_bot" and me.id == 123456
    assert [c.method for c in fake_bot_api.calls()] == ["getMe", "getMe"]


async def test_send_message_round_trips_reply_markup(
    bot: telegram.Bot, fake_bot_api: FakeBotApi
) -> None:
    """The Message echoes the inline keyboard; sent_messages records the parsed markup."""
    first = await bot.send_message(USER, "Xin chào", reply_markup=KEYBOARD)
    second = await bot.send_message(USER, "Lần hai")
    assert first.reply_markup == KEYBOARD
    assert first.chat.id == USER and first.chat.type == "private"
    assert first.from_user is not None and first.from_user.is_bot
    assert second.message_id == first.message_id + 1
    sent = fake_bot_api.sent_messages(USER)
    assert [m.text for m in sent] == ["Xin chào", "Lần hai"]
    assert sent[0].reply_markup == KEYBOARD.to_dict() and sent[1].reply_markup is None
    assert fake_bot_api.calls("sendMessage")[0].params["chat_id"] == USER


async def test_html_is_parsed_like_telegram(bot: telegram.Bot, fake_bot_api: FakeBotApi) -> None:
    """HTML renders to text + entities; a stray '<' or an unknown tag is a 400."""
    message = await bot.send_message(USER, "  <b>Tổng</b> &lt;5 người\n", parse_mode="HTML")
    assert message.text == "Tổng <5 người"
    assert message.entities[0].type == "bold" and message.entities[0].length == 4
    assert fake_bot_api.sent_messages()[0].raw_text.startswith("  <b>Tổng</b>")
    with pytest.raises(BadRequest, match=r"(?i)can't parse entities"):
        await bot.send_message(USER, "a < b", parse_mode="HTML")
    with pytest.raises(BadRequest, match=r'(?i)Unsupported start tag "br"'):
        await bot.send_message(USER, "a<br>b", parse_mode="HTML")
    with pytest.raises(BadRequest, match=r"(?i)text is empty"):
        await bot.send_message(USER, " <i></i> ", parse_mode="HTML")
    with pytest.raises(BadRequest, match=r"(?i)too long"):
        await bot.send_message(USER, "x" * 4097)


async def test_get_updates_offset_semantics(bot: telegram.Bot, fake_bot_api: FakeBotApi) -> None:
    """Unconfirmed updates come again; an offset above them confirms and drops them."""
    first = fake_bot_api.send_text(USER, "/start abc", first_name="Lan")
    second = fake_bot_api.send_text(USER, "hello")
    again = await bot.get_updates(timeout=0, limit=1)
    assert [u.update_id for u in again] == [first]
    assert [u.update_id for u in await bot.get_updates(timeout=0)] == [first, second]
    assert [u.update_id for u in await bot.get_updates(offset=first + 1, timeout=0)] == [second]
    assert await bot.get_updates(offset=second + 1, timeout=0) == ()
    command = again[0].message
    assert command is not None and command.from_user is not None
    assert command.text == "/start abc" and command.from_user.first_name == "Lan"
    assert command.entities[0].type == "bot_command" and command.entities[0].length == 6
    assert command.chat.id == USER


async def test_long_poll_wakes_when_an_update_is_queued(
    bot: telegram.Bot, fake_bot_api: FakeBotApi
) -> None:
    """A waiting getUpdates returns as soon as an update arrives, well before its timeout."""
    started = time.monotonic()
    poll = asyncio.create_task(bot.get_updates(timeout=10))
    await fake_bot_api.wait_for_async(method="getUpdates")
    fake_bot_api.send_text(USER, "hi")
    updates = await poll
    assert len(updates) == 1 and updates[0].message is not None
    assert time.monotonic() - started < 3


async def test_long_poll_times_out_empty(bot: telegram.Bot) -> None:
    """With nothing queued, getUpdates waits its timeout and answers []."""
    started = time.monotonic()
    assert await bot.get_updates(timeout=1) == ()
    assert 0.9 < time.monotonic() - started < 3


async def test_newer_poll_ends_older_with_conflict(fake_bot_api: FakeBotApi) -> None:
    """A second instance polling makes the first one's waiting poll answer 409."""
    async with make_bot(fake_bot_api) as old, make_bot(fake_bot_api) as new:
        mark = fake_bot_api.mark()
        waiting = asyncio.create_task(old.get_updates(timeout=10))
        await fake_bot_api.wait_for_async(method="getUpdates", since=mark)
        assert await new.get_updates(timeout=0) == ()
        with pytest.raises(Conflict, match=r"(?i)terminated by other getUpdates"):
            await waiting


def test_killed_bot_gets_unconfirmed_updates_again(fake_bot_api: FakeBotApi) -> None:
    """A bot SIGKILLed mid long poll leaves the server usable; its successor gets the update."""
    script = (
        "import asyncio, sys, telegram\n"
        "bot = telegram.Bot(sys.argv[1], base_url=sys.argv[2])\n"
        "asyncio.run(bot.get_updates(timeout=30))\n"
    )
    args = [sys.executable, "-c", script, fake_bot_api.token, fake_bot_api.base_url]
    with subprocess.Popen(args) as process:
        try:
            fake_bot_api.wait_for(method="getUpdates", timeout=20)
            update_id = fake_bot_api.send_text(USER, "báo cáo")
        finally:
            process.kill()
    mark = fake_bot_api.mark()

    async def successor() -> tuple[Update, ...]:
        async with make_bot(fake_bot_api) as ptb:
            return await ptb.get_updates(timeout=5)

    updates = asyncio.run(successor())
    assert [u.update_id for u in updates] == [update_id]
    assert fake_bot_api.wait_for(method="getUpdates", since=mark).status == 200


async def test_callback_query(bot: telegram.Bot, fake_bot_api: FakeBotApi) -> None:
    """press_button makes a callback_query whose message is the bot's message; answer it once."""
    sent = await bot.send_message(USER, "Chọn", reply_markup=KEYBOARD)
    update_id = fake_bot_api.press_button(USER, sent.message_id, "yes")
    raw = fake_bot_api.pending_updates()[0]
    update = Update.de_json(raw, bot)
    assert update.update_id == update_id and update.callback_query is not None
    query = update.callback_query
    assert query.data == "yes" and query.from_user.id == USER
    assert query.message is not None and query.message.message_id == sent.message_id
    assert isinstance(query.message, telegram.Message)
    assert query.message.reply_markup == KEYBOARD
    assert await bot.answer_callback_query(query.id, text="Đã ghi")
    with pytest.raises(BadRequest, match=r"(?i)query is too old"):
        await bot.answer_callback_query(query.id)
    with pytest.raises(ValueError, match="no button"):
        fake_bot_api.press_button(USER, sent.message_id, "maybe")


async def test_edit_message(bot: telegram.Bot, fake_bot_api: FakeBotApi) -> None:
    """Edits change the stored message; an edit without markup removes the keyboard."""
    sent = await bot.send_message(USER, "Chọn", reply_markup=KEYBOARD)
    with pytest.raises(BadRequest, match=r"(?i)not modified"):
        await bot.edit_message_text("Chọn", chat_id=USER, message_id=sent.message_id,
                                    reply_markup=KEYBOARD)
    edited = await bot.edit_message_text("Đã chọn: Có", chat_id=USER, message_id=sent.message_id)
    assert isinstance(edited, telegram.Message) and edited.reply_markup is None
    assert fake_bot_api.message(USER, sent.message_id)["text"] == "Đã chọn: Có"
    assert fake_bot_api.sent_messages()[-1].method == "editMessageText"
    with pytest.raises(ValueError, match="no button"):
        fake_bot_api.press_button(USER, sent.message_id, "yes")
    fake_bot_api.press_button(USER, sent.message_id, "yes", strict=False)
    with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
        await bot.edit_message_text("x", chat_id=USER, message_id=999)
    markup = await bot.edit_message_reply_markup(USER, sent.message_id, reply_markup=KEYBOARD)
    assert isinstance(markup, telegram.Message) and markup.reply_markup == KEYBOARD


async def test_document_from_a_person_downloads(
    bot: telegram.Bot, fake_bot_api: FakeBotApi
) -> None:
    """send_document stores the bytes so getFile and the file URL serve them."""
    content = bytes(range(256)) * 10
    fake_bot_api.send_document(USER, "Báo cáo quý 3.xlsx", content, "application/vnd.ms-excel")
    (update,) = await bot.get_updates(timeout=0)
    assert update.message is not None and update.message.document is not None
    document = update.message.document
    assert document.file_name == "Báo cáo quý 3.xlsx" and document.file_size == len(content)
    file = await bot.get_file(document.file_id)
    assert file.file_path is not None and file.file_path.startswith(fake_bot_api.base_file_url)
    assert bytes(await file.download_as_bytearray()) == content
    assert fake_bot_api.calls("download")[0].status == 200
    with pytest.raises(BadRequest, match=r"(?i)invalid file_id"):
        await bot.get_file("nope")


async def test_send_document_upload_is_recorded(
    bot: telegram.Bot, fake_bot_api: FakeBotApi
) -> None:
    """A multipart upload keeps its (non-ASCII, quoted) file name and exact bytes."""
    payload = b"PK\x03\x04\r\n\x00\xff binary"
    message = await bot.send_document(
        USER, payload, filename='Tổng hợp "đợt 1".docx', caption="<b>Báo cáo</b>",
        parse_mode="HTML", reply_markup=KEYBOARD,
    )
    assert message.document is not None and message.caption == "Báo cáo"
    assert message.document.file_name == 'Tổng hợp "đợt 1".docx'
    (sent,) = fake_bot_api.sent_messages(USER)
    assert sent.document_name == 'Tổng hợp "đợt 1".docx' and sent.document_bytes == payload
    assert sent.text == "Báo cáo" and sent.reply_markup == KEYBOARD.to_dict()
    file = await bot.get_file(message.document.file_id)
    assert bytes(await file.download_as_bytearray()) == payload


@ignore_retry_after_warning
async def test_fail_next_429_is_retry_after(bot: telegram.Bot, fake_bot_api: FakeBotApi) -> None:
    """A 429 with parameters.retry_after surfaces as RetryAfter; the next call succeeds."""
    fake_bot_api.fail_next("sendMessage", 429, retry_after=1)
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(USER, "x")
    assert retry_seconds(caught.value) == 1
    assert (await bot.send_message(USER, "x")).text == "x"
    assert [c.status for c in fake_bot_api.calls("sendMessage")] == [429, 200]


async def test_forbidden_when_blocked(bot: telegram.Bot, fake_bot_api: FakeBotApi) -> None:
    """fail_next(403) and blocked_users both surface as Forbidden, only for that chat."""
    fake_bot_api.fail_next("sendMessage", 403, chat_id=USER + 1)
    await bot.send_message(USER, "ok")
    with pytest.raises(Forbidden, match=r"(?i)blocked by the user"):
        await bot.send_message(USER + 1, "x")
    fake_bot_api.blocked_users.add(USER)
    for _ in range(2):
        with pytest.raises(Forbidden):
            await bot.send_message(USER, "x")
    assert [m.chat_id for m in fake_bot_api.sent_messages()] == [USER]


async def test_bad_gateway_is_network_error(bot: telegram.Bot, fake_bot_api: FakeBotApi) -> None:
    """A 502 on getUpdates surfaces as NetworkError, which PTB's polling retries."""
    fake_bot_api.fail_next("getUpdates", 502)
    with pytest.raises(NetworkError, match=r"(?i)Bad Gateway"):
        await bot.get_updates(timeout=0)
    assert await bot.get_updates(timeout=0) == ()


async def test_wrong_token_is_invalid(fake_bot_api: FakeBotApi) -> None:
    """Only the configured token is accepted."""
    with pytest.raises(InvalidToken, match=r"(?i)Unauthorized"):
        await make_bot(fake_bot_api, "999:WRONG").get_me()
    assert fake_bot_api.calls("getMe")[0].status == 401


@ignore_retry_after_warning
async def test_limits_answer_429_beyond_one_per_second_per_chat(
    bot: telegram.Bot, fake_bot_api: FakeBotApi
) -> None:
    """With limits on, a second message to one chat within a second is refused with 429."""
    fake_bot_api.limits(global_per_second=30, per_chat_per_second=1)
    await bot.send_message(USER, "1")
    await bot.send_message(USER + 1, "other chat is fine")
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(USER, "2")
    assert retry_seconds(caught.value) == 1
    assert fake_bot_api.too_many_requests == 1
    fake_bot_api.limits(global_per_second=2, per_chat_per_second=None)
    await bot.send_message(1, "a")
    await bot.send_message(2, "b")
    with pytest.raises(RetryAfter):
        await bot.send_message(3, "c")
    fake_bot_api.limits(None, None)
    await bot.send_message(USER, "limits off")


async def test_commands_round_trip(bot: telegram.Bot, fake_bot_api: FakeBotApi) -> None:
    """setMyCommands is validated and kept for getMyCommands; deleteMyCommands forgets it."""
    commands = [telegram.BotCommand("start", "Bắt đầu"), telegram.BotCommand("help", "Trợ giúp")]
    assert await bot.set_my_commands(commands)
    assert await bot.get_my_commands() == tuple(commands)
    with pytest.raises(BadRequest, match=r"(?i)BOT_COMMAND_INVALID"):
        await bot.set_my_commands([telegram.BotCommand("Start", "x")])
    assert await bot.delete_my_commands()
    assert await bot.get_my_commands() == ()
    assert await bot.delete_webhook(drop_pending_updates=True)
    assert fake_bot_api.calls("deleteWebhook")[0].params == {"drop_pending_updates": True}


def test_wait_for_reports_the_last_calls(fake_bot_api: FakeBotApi) -> None:
    """On timeout wait_for raises AssertionError naming the calls it saw."""
    fake_bot_api.handle_http(f"/bot{fake_bot_api.token}/getMe", "", b"")
    with pytest.raises(AssertionError, match="getMe"):
        fake_bot_api.wait_for(method="sendMessage", timeout=0.1)
    fake_bot_api.clear()
    assert fake_bot_api.calls() == []


async def test_ptb_application_end_to_end(fake_bot_api: FakeBotApi) -> None:
    """A polling PTB Application sees /start and a button press, and confirms on stop."""

    async def start(update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None
        await update.message.reply_text("Chọn", reply_markup=KEYBOARD)

    async def pressed(update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None
        await query.answer()
        await query.edit_message_text(f"Đã chọn: <b>{query.data}</b>", parse_mode="HTML")

    app = (
        Application.builder().token(fake_bot_api.token).base_url(fake_bot_api.base_url)
        .base_file_url(fake_bot_api.base_file_url).rate_limiter(AIORateLimiter()).build()
    )
    app.add_handler(CommandHandler("start", start))
    app.add_handler(CallbackQueryHandler(pressed))
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(timeout=dtm.timedelta(seconds=5))
        fake_bot_api.send_text(USER, "/start")
        menu = await asyncio.to_thread(fake_bot_api.wait_for_sent, USER)
        assert menu.text == "Chọn" and menu.reply_markup == KEYBOARD.to_dict()
        fake_bot_api.press_button(USER, menu.message_id, "no")
        done = await asyncio.to_thread(
            fake_bot_api.wait_for_sent, USER, lambda m: m.method == "editMessageText"
        )
        assert done.text == "Đã chọn: no" and done.message_id == menu.message_id
        assert fake_bot_api.calls("answerCallbackQuery")[0].status == 200
        await app.updater.stop()
        await app.stop()
    assert fake_bot_api.pending_updates() == []
