"""The Telegram channel: the only module that imports `telegram`.

Updates are fetched with our own long-polling loop so that the offset that confirms them to
Telegram only moves after they were processed: every answer committed with the replies it owes
(the outbox). A bot killed at any moment gets unconfirmed updates again; one already processed
gives nothing new. Replies leave through the outbox sender (bot/outbox.py), paced per chat and
overall (<= 1/s per chat, <= 30 messages/s), each chat on its own; `TelegramTransport` maps the
Bot API's errors onto the channel error hierarchy (a 403 marks the contact unreachable and tells
the coordinators once).
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from functools import partial
from typing import IO, TYPE_CHECKING, Any

from telegram import BotCommand, BotCommandScopeChat, BotCommandScopeDefault, Update
from telegram.error import (
    BadRequest,
    Conflict,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.ext import Application, ApplicationBuilder, CallbackQueryHandler, MessageHandler
from telegram.ext import filters as tg_filters

from bot import texts
from bot.campaigns.upload import Upload
from bot.channels.base import (
    TELEGRAM,
    Attachment,
    Incoming,
    Links,
)
from bot.channels.telegram_transport import TelegramTransport, seconds
from bot.config import ConfigError, Settings
from bot.coordinator import COMMANDS
from bot.engine import CONTACT_COMMANDS
from bot.evidence import Download, NotFetched, Offer, TooBig, read_offer
from bot.invites import Way, telegram_link

if TYPE_CHECKING:
    from bot.hub import Hub
    from bot.web import DownloadLinks, WebServer

log = logging.getLogger(__name__)
CHANNEL = "telegram"
TOKEN_RE = re.compile(r"^[0-9]{3,}:[A-Za-z0-9_-]{20,}$")
POLL_TIMEOUT = 25
SEND_ATTEMPTS = 6
CONTACT_MENU = ("start", "review", "edit", "submit", "help", "whoami")
COORDINATOR_MENU = ("status", "new", "invites", "compile", "export", "remind", "return", "history",
                    "close", "whoami", "help")


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


def configure(settings: Settings, hub: Hub,
              web: tuple[WebServer, DownloadLinks] | None) -> TelegramChannel:
    """Build the channel: long polling, or the webhook on the HTTP server when its secret is set."""
    from bot.channels.telegram_webhook import telegram_webhook_loop

    channel = TelegramChannel(build_application(settings), hub, web[1] if web else None)
    if web is not None and settings.webhook_secret:
        channel.receive_loop = telegram_webhook_loop(channel, web[0], settings.public_url,
                                                     settings.webhook_secret)
    return channel


class TelegramChannel:
    """Turns Telegram updates into Incoming for the hub; every reply the hub owes leaves
    through `transport`."""

    name = CHANNEL
    caps = TELEGRAM

    def __init__(self, app: Application[Any, Any, Any, Any, Any, Any], hub: Hub,
                 links: Links | None = None) -> None:
        self.app = app
        self.hub = hub
        self.admins = frozenset(hub.settings.coordinators(CHANNEL))
        self.username = hub.settings.telegram_bot_username
        self.transport = TelegramTransport(app, links)
        self.receive_loop: Callable[[asyncio.Event], Awaitable[None]] = self.poll
        app.add_handler(CallbackQueryHandler(self.on_button))
        app.add_handler(MessageHandler(tg_filters.ALL & ~tg_filters.UpdateType.EDITED,
                                       self.on_message))
        app.add_error_handler(self.on_error)
        hub.add(self)

    def invite(self, token: str) -> Way | None:
        """Return the deep link that binds a chat to a unit (none before the username is known)."""
        return Way(CHANNEL, telegram_link(self.username, token)) if self.username else None

    # updates ------------------------------------------------------------------------------

    async def on_message(self, update: Update, _context: Any) -> None:
        """Hand a typed message, a command or an attached file to the hub."""
        message, chat, user = update.effective_message, update.effective_chat, update.effective_user
        if message is None or chat is None or user is None:
            return
        incoming = Incoming(CHANNEL, str(chat.id), str(user.id),
                            text=message.text or message.caption,
                            attachment=_attachment(message),
                            message_id=f"u{update.update_id}", name=user.full_name)
        document = message.document
        offer = None
        if incoming.attachment is not None:
            source = document or message.photo[-1]
            offer = Offer(incoming.attachment.name, incoming.attachment.size or None,
                          _download(source))
        # Made only for a document: a closure per text message is garbage the collector scans.
        fetch = None if document is None or offer is None else partial(_upload, document, offer)
        await self.hub.receive(incoming, fetch, offer)

    async def on_button(self, update: Update, _context: Any) -> None:
        """Hand a pressed inline button to the hub."""
        query, chat, user = update.callback_query, update.effective_chat, update.effective_user
        if query is None or chat is None or user is None:
            return
        try:
            await self.call(query.answer)
        except TelegramError as error:  # answered already (a redelivered update) or too old
            log.info("callback query not answered: %s", error)
        await self.hub.receive(Incoming(CHANNEL, str(chat.id), str(user.id), button=query.data,
                                        message_id=f"u{update.update_id}"))

    async def on_error(self, update: object, context: Any) -> None:
        """Log a handler's error without secrets; polling goes on."""
        error = getattr(context, "error", None)
        update_id = update.update_id if isinstance(update, Update) else None
        log.error("update %s failed: %s: %s", update_id, type(error).__name__, error)

    async def call(self, method: Any, **kwargs: Any) -> Any:
        """Call the Bot API (menus, webhook, button answers), retrying 429 and network errors."""
        delay = 1.0
        for attempt in range(1, SEND_ATTEMPTS + 1):
            try:
                return await method(**kwargs)
            except RetryAfter as error:
                wait = seconds(error.retry_after)
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

    # running ------------------------------------------------------------------------------

    async def start(self) -> None:
        """Check the token with Telegram (retried while Telegram cannot be reached), learn the
        bot's name, register the command menus. Only a refused token (401) ends the process."""
        delay = 1.0
        while True:
            try:
                await self.app.initialize()
                break
            except InvalidToken as error:
                raise ConfigError("Telegram refused TELEGRAM_BOT_TOKEN (Unauthorized)") from error
            except TelegramError as error:  # 5xx, the network: Telegram may come back
                log.warning("Telegram cannot be reached at start-up (%s: %s); retrying in %.0f s",
                            type(error).__name__, error, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 60)
        self.username = self.username or self.app.bot.username
        log.info("telegram: running as @%s", self.username)
        await self.menus()

    async def menus(self) -> None:
        """Register the Vietnamese command menus; a failure is logged, never fatal."""
        try:
            await self.call(self.app.bot.set_my_commands, commands=_menu(CONTACT_MENU),
                            scope=BotCommandScopeDefault())
        except TelegramError as error:
            log.warning("command menu not set (%s)", error)
        for admin in sorted(self.admins):
            try:
                await self.call(self.app.bot.set_my_commands, commands=_menu(COORDINATOR_MENU),
                                scope=BotCommandScopeChat(chat_id=admin))
            except TelegramError as error:
                log.warning("coordinator %s: command menu not set (%s)", admin, error)

    async def run(self, stop: asyncio.Event) -> None:
        """Receive updates until `stop` is set: long polling, or the webhook when set up."""
        await self.receive_loop(stop)

    async def poll(self, stop: asyncio.Event) -> None:
        """Fetch and process updates until `stop` is set; confirm each batch after it is done.

        Nothing but a refused token ends this loop: 409 (another instance polls), 5xx, the
        network and any other error are logged and retried with backoff.
        """
        await self.forget_webhook()
        offset: int | None = None
        delay = 1.0
        while not stop.is_set():
            try:
                updates = await _until(stop, self.app.bot.get_updates(
                    offset=offset, timeout=POLL_TIMEOUT,
                    allowed_updates=["message", "callback_query"]))
                if updates:
                    await self.process(updates)
                    offset = updates[-1].update_id + 1
                delay = 1.0
                continue
            except RetryAfter as error:
                await asyncio.sleep(seconds(error.retry_after))
                continue
            except InvalidToken as error:
                raise ConfigError("Telegram refused TELEGRAM_BOT_TOKEN (Unauthorized)") from error
            except Conflict as error:
                log.warning("getUpdates: another instance of the bot is polling (409: %s);"
                            " retrying in %.0f s", error, delay)
            except Exception as error:  # 5xx, the network, anything else: never the end
                log.warning("getUpdates failed (%s: %s): retrying in %.0f s",
                            type(error).__name__, error, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 60)

    async def forget_webhook(self) -> None:
        """Delete a webhook a webhook run left behind (getUpdates answers 409 while one is set)."""
        try:
            await self.app.bot.delete_webhook()
        except TelegramError as error:  # once, not retried: polling says why if it matters
            log.warning("webhook not deleted (%s)", error)

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


async def _upload(document: Any, offer: Offer) -> Upload:
    """Download a document a coordinator sent (a campaign file)."""
    return Upload(document.file_name or "campaign.yaml", await read_offer(offer))


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


def _download(source: Any) -> Download:
    """Return the download of a document or photo: getFile (Telegram serves at most 20 MB),
    then the file itself."""

    async def download(out: IO[bytes], limit: int) -> None:
        try:
            file = await source.get_file()
        except BadRequest as error:
            if "too big" in str(error).lower():
                raise TooBig(str(error)) from None
            raise NotFetched(str(error)) from None
        except TelegramError as error:
            raise NotFetched(type(error).__name__) from None
        if file.file_size is not None and file.file_size > limit:
            raise TooBig(str(file.file_size))
        try:
            await file.download_to_memory(out)
        except TelegramError as error:
            raise NotFetched(type(error).__name__) from None

    return download


def _menu(names: Sequence[str]) -> list[BotCommand]:
    return [BotCommand(name, texts.render(f"command.{name}")) for name in names]


assert set(CONTACT_MENU) <= CONTACT_COMMANDS and set(COORDINATOR_MENU) <= COMMANDS | {"whoami",
                                                                                       "help"}
