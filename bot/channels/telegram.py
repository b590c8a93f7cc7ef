"""The Telegram channel: the only module that imports `telegram`.

Updates are fetched with our own long-polling loop so that the offset that confirms them to
Telegram only moves after they were processed (and every answer committed): a bot killed at any
moment gets unconfirmed updates again, and the store ignores those it already processed.
Replies are paced (<= 30 messages/s overall, <= 1/s per chat) and retried on 429, network
errors and 5xx; a 403 marks the contact unreachable and tells the coordinators once.
"""

from __future__ import annotations

import asyncio
import logging
import re
import warnings
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from aiolimiter import AsyncLimiter
from telegram import BotCommand, BotCommandScopeChat, BotCommandScopeDefault, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, InvalidToken, NetworkError, RetryAfter, TimedOut
from telegram.ext import Application, ApplicationBuilder, CallbackQueryHandler, MessageHandler
from telegram.ext import filters as tg_filters
from telegram.warnings import PTBUserWarning

from bot import texts
from bot.campaign_upload import Upload
from bot.channels.base import TELEGRAM, Attachment, Incoming, Outgoing
from bot.config import ConfigError, Settings
from bot.coordinator import COMMANDS, Coordinator, is_coordinator_command
from bot.engine import CONTACT_COMMANDS, Engine
from bot.splitting import html_to_plain, split_message
from bot.store import Store
from bot.sweep import Sweeper

log = logging.getLogger(__name__)
# `send` calls sendMessage through do_api_request on purpose (see there); PTB would warn each time.
warnings.filterwarnings("ignore", message=r"Please use 'Bot\.sendMessage'",
                        category=PTBUserWarning)
CHANNEL = "telegram"
TOKEN_RE = re.compile(r"^[0-9]{3,}:[A-Za-z0-9_-]{20,}$")
POLL_TIMEOUT = 25
SWEEP_SECONDS = 60.0
SEND_ATTEMPTS = 6
CONTACT_MENU = ("start", "review", "edit", "submit", "help", "whoami")
COORDINATOR_MENU = ("status", "new", "invites", "compile", "export", "remind", "return", "close",
                    "whoami", "help")


def check_token(token: str) -> None:
    """Refuse a missing or malformed token with a one-line error (never echoing it)."""
    if not token:
        raise ConfigError("TELEGRAM_BOT_TOKEN is not set (see .env.example)")
    if not TOKEN_RE.match(token):
        raise ConfigError("TELEGRAM_BOT_TOKEN is malformed: expected <digits>:<35 characters>")


def build_application(settings: Settings) -> Application[Any, Any, Any, Any, Any, Any]:
    """Return a PTB Application for the settings, pointed at a custom Bot API server if set."""
    check_token(settings.telegram_bot_token)
    builder = ApplicationBuilder().token(settings.telegram_bot_token).updater(None)
    if settings.telegram_api_base_url:
        base = settings.telegram_api_base_url
        file_base = re.sub(r"/bot$", "/file/bot", base) if base.endswith("/bot") else base
        builder = builder.base_url(base).base_file_url(file_base)
    return builder.build()


class Pacer:
    """Keeps sends under Telegram's limits: overall per second and per chat."""

    def __init__(self, overall: float = 30, per_chat: float = 1) -> None:
        self.overall = AsyncLimiter(1, 1 / overall)  # evenly spaced, no burst at start-up
        self.per_chat_rate = per_chat
        self.chats: dict[str, AsyncLimiter] = {}

    async def wait(self, chat_id: str) -> None:
        """Wait until a message to this chat may go out."""
        limiter = self.chats.get(chat_id)
        if limiter is None:
            limiter = self.chats[chat_id] = AsyncLimiter(1, 1 / self.per_chat_rate)
        await limiter.acquire()
        await self.overall.acquire()


class TelegramChannel:
    """Turns Telegram updates into Incoming and Outgoing into Bot API calls."""

    def __init__(self, app: Application[Any, Any, Any, Any, Any, Any], store: Store,
                 engine: Engine, settings: Settings) -> None:
        self.app = app
        self.store = store
        self.engine = engine
        self.settings = settings
        self.admins = settings.admins
        self.pacer = Pacer()
        self.username = settings.telegram_bot_username
        self.coordinator = Coordinator(store, engine, settings.tz, self.invite_url,
                                       settings.data_dir)
        self.sweeper = Sweeper(store, settings.tz, TELEGRAM, self.send, sorted(self.admins),
                               CHANNEL)
        self.coordinator.sweeper = self.sweeper
        app.add_handler(CallbackQueryHandler(self.on_button))
        app.add_handler(MessageHandler(tg_filters.ALL & ~tg_filters.UpdateType.EDITED,
                                       self.on_message))
        app.add_error_handler(self.on_error)

    def invite_url(self, token: str) -> str | None:
        """Return the deep link that binds a chat to a unit."""
        return f"https://t.me/{self.username}?start={token}" if self.username else None

    # updates ------------------------------------------------------------------------------

    async def on_message(self, update: Update, _context: Any) -> None:
        """Handle a typed message, a command or an attached file."""
        message, chat, user = update.effective_message, update.effective_chat, update.effective_user
        if message is None or chat is None or user is None:
            return
        incoming = Incoming(CHANNEL, str(chat.id), str(user.id),
                            text=message.text or message.caption,
                            attachment=_attachment(message),
                            message_id=f"u{update.update_id}", name=user.full_name)
        if is_coordinator_command(incoming.text) or (message.document and self.is_admin(user.id)):
            replies = await self.coordinate(incoming, update)
        else:
            replies = await self.engine.handle(incoming, TELEGRAM)
            if incoming.text and incoming.text.split()[0].split("@")[0] == "/help" and \
                    self.is_admin(user.id):
                replies.append(Outgoing(incoming.chat_id, texts.render("coordinator.help", "html"),
                                        channel=CHANNEL))
        await self.deliver(replies)

    async def coordinate(self, incoming: Incoming, update: Update) -> list[Outgoing]:
        """Run a coordinator command, or refuse it politely."""
        command = (incoming.text or "/new").lstrip("/").split()[0].split("@")[0].lower()
        if not self.is_admin(int(incoming.user_id or 0)):
            text = texts.render("coordinator.refused", "html", command=command)
            return [Outgoing(incoming.chat_id, text, channel=CHANNEL)]
        document = update.effective_message.document if update.effective_message else None
        upload = None
        if document is not None:
            file = await document.get_file()
            upload = Upload(document.file_name or "campaign.yaml",
                            bytes(await file.download_as_bytearray()))
        return await self.coordinator.handle(incoming, TELEGRAM, upload)

    async def on_button(self, update: Update, _context: Any) -> None:
        """Handle a pressed inline button."""
        query, chat, user = update.callback_query, update.effective_chat, update.effective_user
        if query is None or chat is None or user is None:
            return
        try:
            await self.call(query.answer)
        except BadRequest as error:  # answered already (a redelivered update) or too old
            log.info("callback query not answered: %s", error)
        incoming = Incoming(CHANNEL, str(chat.id), str(user.id), button=query.data,
                            message_id=f"u{update.update_id}")
        await self.deliver(await self.engine.handle(incoming, TELEGRAM))

    async def on_error(self, update: object, context: Any) -> None:
        """Log a handler's error without secrets; polling goes on."""
        error = getattr(context, "error", None)
        update_id = update.update_id if isinstance(update, Update) else None
        log.error("update %s failed: %s: %s", update_id, type(error).__name__, error)

    def is_admin(self, user_id: int) -> bool:
        """Return whether a user is a coordinator."""
        return str(user_id) in self.admins

    # sending ------------------------------------------------------------------------------

    async def deliver(self, replies: Sequence[Outgoing]) -> None:
        """Send replies in order; after a submit, the unit's report (and a compile if last)."""
        for reply in replies:
            await self.send(reply)
            if reply.extra.get("event") == "submitted":
                await self.deliver(await self.coordinator.on_submitted(
                    reply, TELEGRAM, sorted(self.admins)))

    async def send(self, reply: Outgoing) -> None:
        """Send one Outgoing (split under 4096 characters); buttons go on the last part."""
        parts = split_message(reply.text, TELEGRAM.max_length, "html") if reply.text else []
        for index, part in enumerate(parts):
            message: dict[str, Any] = {"text": part, "parse_mode": ParseMode.HTML.value}
            if index == len(parts) - 1 and reply.buttons:
                message["reply_markup"] = _keyboard(reply)
            if not await self.send_text(reply.chat_id, message, reply.gate if index == 0 else None):
                return
        if reply.document is not None:
            with reply.document.open("rb") as handle:
                await self.paced(reply.chat_id, self.app.bot.send_document, document=handle,
                                 filename=reply.document.name)

    async def send_text(self, chat: str, message: dict[str, Any], gate: Any) -> bool:
        """Send one sendMessage; refused markup is sent again as plain text, never dropped."""
        # The raw call skips building a Message from the answer, which we never read.
        try:
            return await self.paced(chat, self.app.bot.do_api_request, endpoint="sendMessage",
                                    api_kwargs=message, gate=gate)
        except BadRequest as error:
            log.error("chat %s: Telegram refused a message (%s); sending it as plain text",
                      chat, error)
        plain = {**message, "text": html_to_plain(message["text"])}
        del plain["parse_mode"]
        try:
            return await self.paced(chat, self.app.bot.do_api_request, endpoint="sendMessage",
                                    api_kwargs=plain)
        except BadRequest as error:
            log.error("chat %s: Telegram refused the plain text too (%s); message lost",
                      chat, error)
            return False

    async def paced(self, chat: str, method: Any, gate: Any = None, **kwargs: Any) -> bool:
        """Send to a chat within the pace; return False if it was not sent."""
        await self.pacer.wait(chat)
        if gate is not None and not await gate():
            return False
        if "api_kwargs" in kwargs:
            kwargs["api_kwargs"] = {"chat_id": int(chat), **kwargs["api_kwargs"]}
        else:
            kwargs["chat_id"] = int(chat)
        try:
            await self.call(method, **kwargs)
        except Forbidden:
            await self.unreachable(chat)
            return False
        return True

    async def call(self, method: Any, **kwargs: Any) -> Any:
        """Call the Bot API, retrying 429 after the time Telegram names and network errors."""
        delay = 1.0
        for attempt in range(1, SEND_ATTEMPTS + 1):
            try:
                return await method(**kwargs)
            except RetryAfter as error:
                wait = _seconds(error.retry_after)
                log.warning("429 from Telegram: waiting %.1f s (attempt %d)", wait, attempt)
                await asyncio.sleep(wait)
            except (Forbidden, BadRequest, InvalidToken):
                raise
            except (TimedOut, NetworkError) as error:
                if attempt == SEND_ATTEMPTS:
                    raise
                log.warning("network error %s: retrying in %.0f s", type(error).__name__, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30)
        raise NetworkError("gave up after retries")

    async def unreachable(self, chat_id: str) -> None:
        """Mark a contact who blocked the bot, and tell the coordinators once."""
        contact = await self.store.mark_unreachable(CHANNEL, chat_id)
        log.warning("chat %s blocked the bot", chat_id)
        if contact is None:
            return
        text = texts.render("coordinator.unreachable", "html", unit=contact.unit_code or "?",
                            chat_id=chat_id)
        for admin in sorted(self.admins):
            if admin != chat_id:
                await self.send(Outgoing(admin, text, channel=CHANNEL))

    # running ------------------------------------------------------------------------------

    async def start(self) -> None:
        """Check the token with Telegram, learn the bot's name, register the command menus."""
        try:
            await self.app.initialize()
        except InvalidToken as error:
            raise ConfigError("Telegram refused TELEGRAM_BOT_TOKEN (Unauthorized)") from error
        self.username = self.username or self.app.bot.username
        await self.call(self.app.bot.set_my_commands, commands=_menu(CONTACT_MENU),
                        scope=BotCommandScopeDefault())
        for admin in sorted(self.admins):
            try:
                await self.call(self.app.bot.set_my_commands, commands=_menu(COORDINATOR_MENU),
                                scope=BotCommandScopeChat(chat_id=int(admin)))
            except (BadRequest, Forbidden) as error:
                log.warning("coordinator %s: command menu not set (%s)", admin, error)

    async def poll(self, stop: asyncio.Event) -> None:
        """Fetch and process updates until `stop` is set; confirm each batch after it is done."""
        offset: int | None = None
        delay = 1.0
        while not stop.is_set():
            try:
                updates = await _until(stop, self.app.bot.get_updates(
                    offset=offset, timeout=POLL_TIMEOUT,
                    allowed_updates=["message", "callback_query"]))
            except RetryAfter as error:
                await asyncio.sleep(_seconds(error.retry_after))
                continue
            except (TimedOut, NetworkError) as error:
                log.warning("getUpdates failed (%s): retrying in %.0f s", type(error).__name__,
                            delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 60)
                continue
            delay = 1.0
            if updates:
                await self.process(updates)
                offset = updates[-1].update_id + 1

    async def remind(self, stop: asyncio.Event, every: float = SWEEP_SECONDS) -> None:
        """Send due reminders and digests at start-up and then every minute until `stop`."""
        while not stop.is_set():
            try:
                sent = await self.sweeper.sweep(self.engine.clock())
                if sent:
                    log.info("sent %d reminders", sent)
            except Exception as error:  # a failed sweep is retried at the next tick
                log.error("reminder sweep failed: %s: %s", type(error).__name__, error)
            await _until(stop, asyncio.sleep(every))

    async def process(self, updates: Sequence[Update]) -> None:
        """Process one batch of updates."""
        await self.process_batch(self.app, updates)

    @staticmethod
    async def process_batch(app: Application[Any, Any, Any, Any, Any, Any],
                            updates: Sequence[Update]) -> None:
        """Process a batch: chats in parallel, each chat's updates in order."""
        by_chat: dict[int, list[Update]] = defaultdict(list)
        for update in updates:
            by_chat[update.effective_chat.id if update.effective_chat else 0].append(update)

        async def run(chat_updates: list[Update]) -> None:
            for update in chat_updates:
                await app.process_update(update)

        await asyncio.gather(*(run(chat_updates) for chat_updates in by_chat.values()))

    async def stop(self) -> None:
        """Release PTB's resources."""
        await self.app.shutdown()


async def _until(stop: asyncio.Event, call: Any) -> Any:
    """Await a call, or return [] as soon as `stop` is set."""
    task = asyncio.ensure_future(call)
    stopper = asyncio.ensure_future(stop.wait())
    done, _ = await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
    stopper.cancel()
    if task in done:
        return task.result()
    task.cancel()
    return []


def _attachment(message: Any) -> Attachment | None:
    """Return the file a person sent (a document, or the largest size of a photo)."""
    if message.document is not None:
        doc = message.document
        return Attachment(doc.file_name or "tep", doc.mime_type or "application/octet-stream",
                          doc.file_size or 0, doc.file_id)
    if message.photo:
        photo = message.photo[-1]
        return Attachment(f"anh-{photo.file_unique_id}.jpg", "image/jpeg", photo.file_size or 0,
                          photo.file_id)
    return None


def _seconds(value: Any) -> float:
    return float(value.total_seconds()) if hasattr(value, "total_seconds") else float(value)


def _keyboard(reply: Outgoing) -> dict[str, Any]:
    """Return an inline keyboard as the Bot API's JSON."""
    rows = [[{"text": b.label, "callback_data": b.data} for b in row] for row in reply.buttons]
    return {"inline_keyboard": rows}


def _menu(names: Sequence[str]) -> list[BotCommand]:
    return [BotCommand(name, texts.render(f"command.{name}")) for name in names]


assert set(CONTACT_MENU) <= CONTACT_COMMANDS and set(COORDINATOR_MENU) <= COMMANDS | {"whoami",
                                                                                       "help"}
