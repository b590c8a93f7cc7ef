"""A faithful fake of the Telegram Bot API HTTP server, for tests; no internet.

Start it on 127.0.0.1 (a free port) in a background thread and point python-telegram-bot at it::

    with FakeBotApi() as fake:
        bot = telegram.Bot(fake.token, base_url=fake.base_url, base_file_url=fake.base_file_url)

or run ``reportbot run`` with ``TELEGRAM_API_BASE_URL=fake.base_url``. Tests play the people
(``send_text``, ``press_button``, ``send_document``, ``send_photo``), then look at what the bot
did (``calls``, ``sent_messages``, ``wait_for``) and inject faults (``fail_next``,
``blocked_users``, ``limits``).

What it models, as the real server does:

* requests as PTB sends them: urlencoded or multipart form fields, every value a string
  (strings raw, everything else JSON-encoded), so fields are decoded by their Bot API type;
  JSON bodies and query strings work too;
* getUpdates: ``offset`` confirms (drops) older updates, so a bot killed before confirming
  gets them again; long polling wakes as soon as an update is queued; a newer getUpdates ends
  a waiting older one with 409 Conflict, as when a second bot instance starts;
* HTML ``parse_mode`` parsed like Telegram (unsupported or unbalanced tags and a stray ``<``
  answer 400 "can't parse entities"), text trimmed, 4096/1024-character limits, 64-byte
  callback_data, "message is not modified", unknown or twice-answered callback queries.

Markdown parse modes are not checked. Any chat id is accepted (the real server refuses users who
never started the bot).
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import itertools
import json
import math
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import TracebackType
from typing import Any, cast
from urllib.parse import parse_qsl, unquote, urlsplit

import pytest

from tests.localserver import LocalServer, TrackingHandler

JSONDict = dict[str, Any]

DEFAULT_TOKEN = "123456:TEST-token"
BOT_USERNAME = "reportbot_test_bot"
BOT_FIRST_NAME = "Reportbot Test"
MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_DOWNLOAD = 20 * 1024 * 1024


_JSON_FIELDS = frozenset({
    "reply_markup", "allowed_updates", "commands", "scope", "entities", "caption_entities",
    "link_preview_options", "reply_parameters", "media", "results", "menu_button",
    "permissions", "options", "reaction", "rights",
})
_INT_FIELDS = frozenset({
    "chat_id", "from_chat_id", "message_id", "offset", "limit", "cache_time",
    "reply_to_message_id", "user_id", "max_connections", "message_thread_id",
})
_FLOAT_FIELDS = frozenset({"timeout"})
_BOOL_FIELDS = frozenset({
    "disable_notification", "protect_content", "drop_pending_updates", "show_alert",
    "disable_web_page_preview", "allow_sending_without_reply", "disable_content_type_detection",
    "has_spoiler", "for_channels",
})
_SEND_METHODS = frozenset({
    "sendmessage", "senddocument", "sendphoto", "sendaudio", "sendvideo", "sendvoice",
    "sendanimation", "sendsticker", "sendmediagroup", "sendlocation", "sendcontact", "sendpoll",
    "copymessage", "forwardmessage", "copymessages", "forwardmessages",
})
_TRUE_METHODS = (
    "sendChatAction", "setMyDescription", "setMyShortDescription", "setMyName",
    "setChatMenuButton", "setMyDefaultAdministratorRights", "close", "logOut",
)
_KNOWN_METHODS = (
    "getMe", "getUpdates", "sendMessage", "sendDocument", "editMessageText",
    "editMessageReplyMarkup", "deleteMessage", "answerCallbackQuery", "getFile", "setMyCommands",
    "getMyCommands", "deleteMyCommands", "setWebhook", "deleteWebhook", "getWebhookInfo",
    "getChat", "sendPhoto", "copyMessage", "forwardMessage", "sendMediaGroup",
    "editMessageCaption",
)
_DEFAULT_UPDATE_TYPES_OFF = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
_DESCRIPTIONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    409: "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running",
    500: "Internal Server Error",
    502: "Bad Gateway",
}
_NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)
_QUERY_INVALID = (
    "Bad Request: query is too old and response timeout expired or query ID is invalid"
)


# --------------------------------------------------------------------------- records


@dataclass
class Call:
    """One request the bot made: canonical method name, decoded params, arrival time.

    ``at`` is ``time.monotonic()``; ``status`` (HTTP code) and ``result`` (the ``result`` or
    error payload) are filled in when the answer is ready (a waiting getUpdates has None).
    File downloads are recorded as method ``"download"`` with param ``file_path``.
    """

    method: str
    params: JSONDict
    at: float
    seq: int = 0
    status: int | None = None
    result: Any = None


@dataclass(frozen=True)
class UploadedFile:
    """A file part of a multipart request."""

    filename: str
    content: bytes
    mime: str


@dataclass(frozen=True)
class SentMessage:
    """A message the bot sent or edited successfully (sendMessage, sendDocument, editMessageText).

    ``text`` is what the person sees (text or caption after HTML parsing and trimming);
    ``raw_text`` is the parameter as sent; ``reply_markup`` is the parsed dict or None.
    """

    method: str
    chat_id: int
    message_id: int
    text: str
    raw_text: str
    parse_mode: str | None
    reply_markup: JSONDict | None
    entities: tuple[JSONDict, ...] = ()
    document_name: str | None = None
    document_bytes: bytes | None = None
    document_mime: str | None = None
    at: float = 0.0
    seq: int = 0


class ApiError(Exception):
    """An error answer of the Bot API: ``{"ok": false, "error_code": ..., ...}``."""

    def __init__(self, code: int, description: str | None = None,
                 retry_after: int | None = None) -> None:
        super().__init__(description or _DESCRIPTIONS.get(code, "Error"))
        self.code = code
        self.description = description or _DESCRIPTIONS.get(code, "Error")
        self.retry_after = retry_after

    def payload(self) -> JSONDict:
        """The JSON body Telegram answers with."""
        body: JSONDict = {"ok": False, "error_code": self.code, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


def _bad(description: str) -> ApiError:
    """A 400 Bad Request."""
    return ApiError(400, f"Bad Request: {description}")


@dataclass
class _FailRule:
    method: str
    error: ApiError
    times: int
    chat_id: int | None


@dataclass
class _StoredFile:
    file_id: str
    unique_id: str
    path: str
    content: bytes
    name: str | None
    mime: str | None


class _Bucket:
    """Token bucket: ``rate`` sends a second, bursts up to ``max(rate, 1)``."""

    def __init__(self, rate: float, now: float) -> None:
        self.rate, self.capacity = rate, max(rate, 1.0)
        self.tokens, self.stamp = self.capacity, now

    def wait(self, now: float, tolerance: float) -> float:
        """Seconds until a send is allowed (0 when allowed now)."""
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        return 0.0 if self.tokens >= 1 - tolerance else (1 - self.tokens) / self.rate

    def take(self) -> None:
        """Spend one send."""
        self.tokens -= 1


# --------------------------------------------------------------------------- request parsing


def _decode_field(name: str, value: str) -> Any:
    """Decode one form field by its Bot API type (PTB JSON-encodes every non-string value)."""
    if name in _JSON_FIELDS:
        try:
            return json.loads(value)
        except ValueError:
            raise _bad(f"can't parse {name} JSON object") from None
    if name in _INT_FIELDS:
        with contextlib.suppress(ValueError):
            return int(value)
        return value
    if name in _FLOAT_FIELDS:
        with contextlib.suppress(ValueError):
            return float(value)
        return value
    if name in _BOOL_FIELDS:
        return value.strip().lower() in ("true", "1")
    return value


def _header_param(header: str, key: str) -> str | None:
    """A ``key="value"`` parameter of a Content-Disposition header, as httpx encodes it."""
    match = re.search(rf'(?:^|;)\s*{key}="((?:[^"\\]|\\.)*)"', header)
    if match is None:
        return None
    value = match.group(1).replace("\\\\", "\\").replace("%22", '"')
    return re.sub(r"%([01][0-9A-F])", lambda m: chr(int(m.group(1), 16)), value)


def _parse_multipart(body: bytes, boundary: str) -> JSONDict:
    """Split a multipart/form-data body into decoded fields and UploadedFile parts."""
    params: JSONDict = {}
    delimiter = b"--" + boundary.encode()
    for chunk in body.split(delimiter)[1:]:
        if chunk.startswith(b"--"):
            break
        head, _, content = chunk.partition(b"\r\n\r\n")
        content = content.removesuffix(b"\r\n")
        headers = {}
        for line in head.decode("utf-8", "replace").strip().split("\r\n"):
            key, _, value = line.partition(":")
            headers[key.strip().lower()] = value.strip()
        disposition = headers.get("content-disposition", "")
        name = _header_param(disposition, "name") or ""
        filename = _header_param(disposition, "filename")
        if filename is not None:
            mime = headers.get("content-type", "application/octet-stream")
            params[name] = UploadedFile(filename, content, mime)
        else:
            params[name] = _decode_field(name, content.decode("utf-8"))
    return params


def parse_params(content_type: str, body: bytes, query: str = "") -> JSONDict:
    """Decode request parameters from a query string and a urlencoded, multipart or JSON body."""
    params: JSONDict = {k: _decode_field(k, v) for k, v in parse_qsl(query)}
    kind = content_type.split(";")[0].strip().lower()
    if not body:
        return params
    if kind == "application/json":
        loaded = json.loads(body)
        if not isinstance(loaded, dict):
            raise _bad("JSON object expected")
        params.update(loaded)
    elif kind == "multipart/form-data":
        boundary = _header_param(content_type, "boundary")
        if boundary is None:
            match = re.search(r"boundary=([^;\s]+)", content_type)
            boundary = match.group(1) if match else ""
        params.update(_parse_multipart(body, boundary))
    else:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True)
        params.update({k: _decode_field(k, v) for k, v in pairs})
    return params


# --------------------------------------------------------------------------- HTML parse mode

_HTML_TAGS = {
    "b": "bold", "strong": "bold", "i": "italic", "em": "italic", "u": "underline",
    "ins": "underline", "s": "strikethrough", "strike": "strikethrough", "del": "strikethrough",
    "tg-spoiler": "spoiler", "span": "spoiler", "code": "code", "pre": "pre",
    "a": "text_link", "blockquote": "blockquote", "tg-emoji": "custom_emoji",
}
_HTML_ENTITY = re.compile(r"&(?:#(\d{1,7})|#[xX]([0-9a-fA-F]{1,6})|(lt|gt|amp|quot));")
_HTML_ATTR = re.compile(r"""\s*([^\s=>]+)\s*=\s*("[^"]*"|'[^']*'|[^\s>"']+)""")
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}


def _u16(text: str) -> int:
    """Length in UTF-16 code units, the unit of entity offsets."""
    return len(text.encode("utf-16-le")) // 2


def _entities_error(text: str, message: str, pos: int | None = None) -> ApiError:
    """Telegram's 400 for bad markup; ``pos`` is a str index reported as a byte offset."""
    where = "" if pos is None else f" at byte offset {len(text[:pos].encode())}"
    return _bad(f"can't parse entities: {message}{where}")


def _html_entity(tag: str, attrs: dict[str, str], offset: int, length: int) -> JSONDict | None:
    """The MessageEntity dict of a closed tag, or None when it makes none."""
    entity: JSONDict = {"type": _HTML_TAGS[tag], "offset": offset, "length": length}
    if tag == "a":
        if not attrs.get("href"):
            return None
        entity["url"] = attrs["href"]
    elif tag == "pre" and attrs.get("language"):
        entity["language"] = attrs["language"]
    elif tag == "tg-emoji":
        entity["custom_emoji_id"] = attrs.get("emoji-id", "")
    return entity


def _start_tag(text: str, i: int) -> tuple[str, dict[str, str], int]:
    """Parse ``<tag attr="v">`` at ``i``; return the tag, its attributes and the index after."""
    j = i + 1
    while j < len(text) and not text[j].isspace() and text[j] != ">":
        j += 1
    if j >= len(text):
        raise _entities_error(text, "Unclosed start tag", i)
    tag = text[i + 1 : j].lower()
    if tag not in _HTML_TAGS:
        raise _entities_error(text, f'Unsupported start tag "{tag}"', i)
    attrs: dict[str, str] = {}
    while True:
        match = _HTML_ATTR.match(text, j)
        if match is None:
            break
        value = match.group(2).strip("\"'")
        attrs[match.group(1).lower()] = _HTML_ENTITY.sub(_decode_html_entity, value)
        j = match.end()
    close = re.compile(r"\s*>").match(text, j)
    if close is None:
        raise _entities_error(text, "Unclosed start tag", i)
    if tag == "span" and attrs.get("class") != "tg-spoiler":
        raise _entities_error(text, 'Tag "span" must have class "tg-spoiler"', i)
    return tag, attrs, close.end()


def _decode_html_entity(match: re.Match[str]) -> str:
    """The character of ``&lt;``, ``&#65;``, ``&#x41;`` ..."""
    if match.group(3):
        return _NAMED[match.group(3)]
    number = int(match.group(1)) if match.group(1) else int(match.group(2), 16)
    return chr(number) if 0 < number < 0x110000 else match.group(0)


def parse_html(text: str) -> tuple[str, list[JSONDict]]:
    """Render Telegram HTML to plain text and entities, raising 400 where Telegram would."""
    out: list[str] = []
    entities: list[JSONDict] = []
    stack: list[tuple[str, dict[str, str], int]] = []
    offset, i = 0, 0
    while i < len(text):
        char = text[i]
        if char == "&" and (match := _HTML_ENTITY.match(text, i)):
            piece = _decode_html_entity(match)
            out.append(piece)
            offset, i = offset + _u16(piece), match.end()
        elif char != "<":
            out.append(char)
            offset, i = offset + _u16(char), i + 1
        elif text.startswith("</", i):
            i = _end_tag(text, i, stack, entities, offset)
        else:
            tag, attrs, i = _start_tag(text, i)
            stack.append((tag, attrs, offset))
    if stack:
        raise _entities_error(
            text, f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"'
        )
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(out), entities


def _end_tag(text: str, i: int, stack: list[tuple[str, dict[str, str], int]],
             entities: list[JSONDict], offset: int) -> int:
    """Close the innermost open tag at ``</...>``; return the index after it."""
    end = text.find(">", i)
    if end < 0:
        raise _entities_error(text, "Unclosed end tag", i)
    if not stack:
        raise _entities_error(text, "Unexpected end tag", i)
    name = text[i + 2 : end].strip().lower()
    tag, attrs, begin = stack.pop()
    if name and name != tag:
        raise _entities_error(
            text, f'Unmatched end tag at byte offset {len(text[:i].encode())}, '
            f'expected "</{tag}>", found "</{name}>"'
        )
    language = attrs.get("class", "").removeprefix("language-")
    if tag == "code" and stack and stack[-1][0] == "pre":
        if language:
            stack[-1][1]["language"] = language
    elif offset > begin and (entity := _html_entity(tag, attrs, begin, offset - begin)):
        entities.append(entity)
    return end + 1


def _trim(text: str, entities: list[JSONDict]) -> tuple[str, list[JSONDict]]:
    """Strip surrounding whitespace as Telegram does, moving entities along."""
    lead = _u16(text) - _u16(text.lstrip())
    text = text.strip()
    size = _u16(text)
    kept = []
    for entity in entities:
        start = max(entity["offset"] - lead, 0)
        end = min(entity["offset"] + entity["length"] - lead, size)
        if end > start:
            kept.append({**entity, "offset": start, "length": end - start})
    return text, kept


def _command_entities(text: str) -> list[JSONDict]:
    """bot_command entities for every ``/command`` (with optional ``@bot``) in the text."""
    found = []
    for match in re.finditer(r"(?<!\S)/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,})?", text):
        found.append({
            "type": "bot_command",
            "offset": _u16(text[: match.start()]),
            "length": _u16(match.group(0)),
        })
    return found


def _check_markup(markup: Any) -> None:
    """Validate reply_markup the way the server does for inline keyboards."""
    if not isinstance(markup, dict):
        raise _bad("object expected as reply markup")
    rows = markup.get("inline_keyboard")
    if rows is None:
        return
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise _bad("field \"inline_keyboard\" of the InlineKeyboardMarkup must be an Array")
    for button in itertools.chain.from_iterable(rows):
        if not isinstance(button, dict) or not button.get("text"):
            raise _bad("can't parse inline keyboard button: Text must be non-empty")
        if len(button) < 2:
            raise _bad("text buttons are unallowed in the inline keyboard")
        data = button.get("callback_data")
        if data is not None and not 1 <= len(str(data).encode()) <= 64:
            raise _bad("BUTTON_DATA_INVALID")


# --------------------------------------------------------------------------- the server


class _Server(LocalServer):
    def __init__(self, fake: FakeBotApi) -> None:
        super().__init__(fake, _Handler)


class _Handler(TrackingHandler):
    def do_POST(self) -> None:
        """Answer a Bot API call or a file download."""
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        fake = cast(_Server, self.server).fake
        status, content_type, payload = fake.handle_http(
            self.path, self.headers.get("Content-Type", ""), body
        )
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
            self.wfile.flush()
        except OSError:  # the client went away (e.g. the bot process was killed)
            self.close_connection = True

    do_GET = do_POST

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet."""


class FakeBotApi:
    """The fake server. See the module docstring; all public methods are thread-safe."""

    def __init__(self, token: str = DEFAULT_TOKEN) -> None:
        self.token = token
        head = token.split(":", 1)[0]
        self.bot_user: JSONDict = {
            "id": int(head) if head.isdigit() else 123456, "is_bot": True,
            "first_name": BOT_FIRST_NAME, "username": BOT_USERNAME, "can_join_groups": True,
            "can_read_all_group_messages": False, "supports_inline_queries": False,
            "can_connect_to_business": False, "has_main_web_app": False,
        }
        self.blocked_users: set[int] = set()
        self.too_many_requests = 0
        self._cond = threading.Condition()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._seq = itertools.count(1)
        self._calls: list[Call] = []
        self._sent: list[SentMessage] = []
        self._updates: list[JSONDict] = []
        self._next_update_id = 10_001
        self._allowed_updates: list[str] = []
        self._poll_generation = 0
        self._webhook_url = ""
        self._users: dict[int, JSONDict] = {}
        self._messages: dict[tuple[int, int], JSONDict] = {}
        self._last_message_id: dict[int, int] = {}
        self._files: dict[str, _StoredFile] = {}
        self._queries: dict[str, bool] = {}
        self._commands: dict[str, list[JSONDict]] = {}
        self._fail_rules: list[_FailRule] = []
        self._limits: tuple[float | None, float | None, float] | None = None
        self._buckets: dict[object, _Bucket] = {}
        self._ids = itertools.count(1)
        self._handlers: dict[str, Callable[[JSONDict], Any]] = {
            "getme": lambda _p: self.bot_user,
            "getupdates": self._get_updates,
            "sendmessage": self._send_message,
            "senddocument": self._send_document,
            "editmessagetext": self._edit_message_text,
            "editmessagereplymarkup": self._edit_reply_markup,
            "deletemessage": self._delete_message,
            "answercallbackquery": self._answer_callback_query,
            "getfile": self._get_file,
            "setmycommands": self._set_my_commands,
            "getmycommands": lambda p: self._commands.get(self._commands_key(p), []),
            "deletemycommands": self._delete_my_commands,
            "setwebhook": self._set_webhook,
            "deletewebhook": self._delete_webhook,
            "getwebhookinfo": self._get_webhook_info,
            "getchat": lambda p: self._chat(self._chat_id(p)),
        }
        self._handlers.update({name.lower(): lambda _p: True for name in _TRUE_METHODS})
        self._canonical = {
            name.lower(): name for name in (*_TRUE_METHODS, *_KNOWN_METHODS)
        }

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> FakeBotApi:
        """Listen on 127.0.0.1 on a free port, serving from a background thread."""
        self._stopping = False
        self._server = _Server(self)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
            name="FakeBotApi", daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, end waiting long polls and close open connections."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        server, self._server = self._server, None
        if server is None:
            return
        server.close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeBotApi:
        """Start; stop on exit."""
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        """Stop."""
        self.stop()

    @property
    def port(self) -> int:
        """The port the server listens on."""
        if self._server is None:
            raise RuntimeError("FakeBotApi is not started")
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        """PTB's ``base_url``: ``http://127.0.0.1:PORT/bot`` (PTB appends the token)."""
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        """PTB's ``base_file_url``: ``http://127.0.0.1:PORT/file/bot``."""
        return f"http://127.0.0.1:{self.port}/file/bot"

    # ------------------------------------------------------------------ people's side

    def user(self, user_id: int, first_name: str | None = None,
             username: str | None = None) -> JSONDict:
        """The Telegram User dict of a person, registering or updating their names."""
        with self._cond:
            person = self._users.setdefault(user_id, {
                "id": user_id, "is_bot": False, "first_name": f"User{user_id}",
                "language_code": "vi",
            })
            if first_name:
                person["first_name"] = first_name
            if username:
                person["username"] = username
            return dict(person)

    def enqueue(self, update: JSONDict) -> int:
        """Queue a raw update (``update_id`` is assigned) and wake pollers; return its id."""
        with self._cond:
            update_id = self._next_update_id
            self._next_update_id += 1
            self._updates.append({"update_id": update_id, **update})
            self._cond.notify_all()
            return update_id

    def send_text(self, user_id: int, text: str, *, first_name: str | None = None,
                  username: str | None = None) -> int:
        """The person types ``text`` in their private chat with the bot; return the update_id."""
        message = self._user_message(user_id, first_name, username, text=text)
        if entities := _command_entities(text):
            message["entities"] = entities
        return self.enqueue({"message": message})

    def send_document(self, user_id: int, file_name: str, content: bytes,
                      mime: str = "application/octet-stream", *, caption: str | None = None,
                      first_name: str | None = None) -> int:
        """The person sends a file; getFile and the download then serve ``content``."""
        stored = self._store_file(content, file_name, mime)
        extra: JSONDict = {"document": self._document_dict(stored)}
        if caption is not None:
            extra["caption"] = caption
        return self.enqueue({"message": self._user_message(user_id, first_name, None, **extra)})

    def send_photo(self, user_id: int, content: bytes, *, caption: str | None = None,
                   first_name: str | None = None) -> int:
        """The person sends a picture: Telegram's sizes, a small thumbnail and ``content`` as
        the largest (getFile and the download serve it under photos/)."""
        thumb = self._store_file(content[:64], None, None, folder="photos")
        stored = self._store_file(content, None, None, folder="photos")
        sizes = [{"file_id": f.file_id, "file_unique_id": f.unique_id, "width": width,
                  "height": width * 3 // 4, "file_size": len(f.content)}
                 for f, width in ((thumb, 90), (stored, 1280))]
        extra: JSONDict = {"photo": sizes}
        if caption is not None:
            extra["caption"] = caption
        return self.enqueue({"message": self._user_message(user_id, first_name, None, **extra)})

    def press_button(self, user_id: int, message_id: int, data: str, *,
                     strict: bool = True) -> int:
        """The person presses the inline button with ``data`` under the bot's message.

        With ``strict`` the message must currently show a button with that callback_data
        (as a real client can only press what it shows); pass False to forge stale presses.
        """
        with self._cond:
            message = self._messages.get((user_id, message_id))
            if message is None:
                raise ValueError(f"no message {message_id} in chat {user_id}")
            buttons = itertools.chain.from_iterable(
                message.get("reply_markup", {}).get("inline_keyboard", [])
            )
            if strict and data not in {b.get("callback_data") for b in buttons}:
                raise ValueError(f"message {message_id} shows no button with data {data!r}")
            query_id = str(4_000_000_000_000_000 + next(self._ids))
            self._queries[query_id] = False
            query = {
                "id": query_id, "from": self.user(user_id), "message": copy.deepcopy(message),
                "chat_instance": str(-7_000_000_000 - user_id), "data": data,
            }
        return self.enqueue({"callback_query": query})

    def _user_message(self, user_id: int, first_name: str | None, username: str | None,
                      **content: Any) -> JSONDict:
        """Store and return a message the person wrote in their private chat."""
        person = self.user(user_id, first_name, username)
        with self._cond:
            message = {
                "message_id": self._next_message_id(user_id), "from": person,
                "chat": self._chat(user_id), "date": int(time.time()), **content,
            }
            self._messages[(user_id, message["message_id"])] = message
            return message

    # ------------------------------------------------------------------ inspection

    def calls(self, method: str | None = None) -> list[Call]:
        """Recorded requests in order, optionally only one method."""
        with self._cond:
            return [c for c in self._calls if method is None or c.method == method]

    def sent_messages(self, chat_id: int | None = None) -> list[SentMessage]:
        """Successful sendMessage/sendDocument/editMessageText in order, optionally of a chat."""
        with self._cond:
            return [m for m in self._sent if chat_id is None or m.chat_id == chat_id]

    def message(self, chat_id: int, message_id: int) -> JSONDict:
        """The message as the server holds it now (after edits)."""
        with self._cond:
            return copy.deepcopy(self._messages[(chat_id, message_id)])

    def pending_updates(self) -> list[JSONDict]:
        """Updates not yet confirmed by an offset."""
        with self._cond:
            return copy.deepcopy(self._updates)

    def mark(self) -> int:
        """The seq of the last recorded call, for ``wait_for(..., since=mark)``."""
        with self._cond:
            return self._calls[-1].seq if self._calls else 0

    def clear(self) -> None:
        """Forget recorded calls and sent messages (server state and faults stay)."""
        with self._cond:
            self._calls.clear()
            self._sent.clear()
            self.too_many_requests = 0

    def wait_for(self, predicate: Callable[[Call], bool] | None = None, timeout: float = 10.0,
                 *, method: str | None = None, since: int = 0) -> Call:
        """Block until a recorded call (after seq ``since``) matches; return the first match.

        Raises AssertionError listing the last calls when none matches within ``timeout``.
        """
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for call in self._calls:
                    if call.seq > since and (method is None or call.method == method) and (
                        predicate is None or predicate(call)
                    ):
                        return call
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"no matching call within {timeout}s; last calls:\n{self._describe()}"
                    )
                self._cond.wait(left)

    def wait_for_sent(self, chat_id: int | None = None,
                      predicate: Callable[[SentMessage], bool] | None = None,
                      timeout: float = 10.0, *, since: int = 0) -> SentMessage:
        """Block until the bot has sent (or edited) a matching message after seq ``since``."""

        def matches(call: Call) -> bool:
            return any(
                m.seq == call.seq and (chat_id is None or m.chat_id == chat_id)
                and (predicate is None or predicate(m)) for m in self._sent
            )

        call = self.wait_for(matches, timeout, since=since)
        with self._cond:
            return next(m for m in self._sent if m.seq == call.seq)

    async def wait_for_async(self, predicate: Callable[[Call], bool] | None = None,
                             timeout: float = 10.0,  # noqa: ASYNC109
                             *, method: str | None = None, since: int = 0) -> Call:
        """``wait_for`` without blocking the event loop (for in-process PTB tests)."""
        return await asyncio.to_thread(
            self.wait_for, predicate, timeout, method=method, since=since
        )

    def _describe(self, last: int = 15) -> str:
        """The last calls, one a line, long values shortened."""
        lines = []
        for call in self._calls[-last:]:
            params = {k: (repr(v)[:60] if not isinstance(v, int) else v)
                      for k, v in call.params.items()}
            lines.append(f"  #{call.seq} {call.method} {params} -> {call.status}")
        return "\n".join(lines) or "  (none)"

    # ------------------------------------------------------------------ fault injection

    def fail_next(self, method: str, error_code: int, description: str | None = None,
                  retry_after: int | None = None, times: int = 1,
                  chat_id: int | None = None) -> None:
        """Answer the next ``times`` calls of ``method`` (to ``chat_id``, if given) with an error.

        429 gets ``parameters.retry_after`` (default 1) and Telegram's description.
        """
        if error_code == 429:
            retry_after = 1 if retry_after is None else retry_after
            description = description or f"Too Many Requests: retry after {retry_after}"
        error = ApiError(error_code, description, retry_after)
        with self._cond:
            self._fail_rules.append(_FailRule(method.lower(), error, times, chat_id))

    def limits(self, global_per_second: float | None = 30, per_chat_per_second: float | None = 1,
               tolerance: float = 0.05) -> FakeBotApi:
        """Answer sends beyond these rates with 429 + retry_after, counting too_many_requests.

        Token buckets (burst = rate, like aiolimiter); ``tolerance`` is the fraction of a send
        forgiven, so a client pacing exactly at the rate is not refused for network jitter.
        ``limits(None, None)`` turns them off.
        """
        with self._cond:
            off = global_per_second is None and per_chat_per_second is None
            self._limits = None if off else (global_per_second, per_chat_per_second, tolerance)
            self._buckets.clear()
        return self

    def _injected_error(self, method: str, params: JSONDict) -> ApiError | None:
        """The fault to answer with, if any: fail_next rules, blocked users, rate limits."""
        chat_id = params.get("chat_id")
        for rule in self._fail_rules:
            if rule.method == method and rule.chat_id in (None, chat_id):
                rule.times -= 1
                if rule.times <= 0:
                    self._fail_rules.remove(rule)
                return rule.error
        if method not in _SEND_METHODS and method != "sendchataction":
            return None
        if chat_id in self.blocked_users:
            return ApiError(403, "Forbidden: bot was blocked by the user")
        return self._rate_limited(chat_id) if method in _SEND_METHODS else None

    def _rate_limited(self, chat_id: Any) -> ApiError | None:
        """429 when a send to ``chat_id`` now would exceed the limits; else spend the tokens."""
        if self._limits is None:
            return None
        global_rate, chat_rate, tolerance = self._limits
        now = time.monotonic()
        buckets = []
        if global_rate is not None:
            buckets.append(self._buckets.setdefault("*", _Bucket(global_rate, now)))
        if chat_rate is not None:
            buckets.append(self._buckets.setdefault(("chat", chat_id), _Bucket(chat_rate, now)))
        wait = max(bucket.wait(now, tolerance) for bucket in buckets)
        if wait > 0:
            self.too_many_requests += 1
            seconds = max(1, math.ceil(wait))
            return ApiError(429, f"Too Many Requests: retry after {seconds}", seconds)
        for bucket in buckets:
            bucket.take()
        return None

    # ------------------------------------------------------------------ HTTP entry point

    def handle_http(self, path: str, content_type: str, body: bytes) -> tuple[int, str, bytes]:
        """Answer one HTTP request: status, content type, body.

        A call is recorded and answered atomically, so ``wait_for`` sees it complete; only a
        getUpdates is visible while it waits.
        """
        url = urlsplit(path)
        if url.path.startswith("/file/bot"):
            token, _, file_path = url.path.removeprefix("/file/bot").partition("/")
            return self._download(unquote(token), unquote(file_path))
        if not url.path.startswith("/bot"):
            return self._json(404, ApiError(404).payload())
        token, _, method = url.path.removeprefix("/bot").partition("/")
        parse_error: Exception | None = None
        try:
            params = parse_params(content_type, body, url.query)
        except (ApiError, ValueError) as error:
            params, parse_error = {}, error
        name = self._canonical.get(method.lower(), method)
        with self._cond:
            call = self._record(name, params)
            if method.lower() != "getupdates":
                return self._json(*self._answer(unquote(token), call, parse_error))
        return self._json(*self._answer(unquote(token), call, parse_error))

    def _answer(self, token: str, call: Call,
                parse_error: Exception | None) -> tuple[int, JSONDict]:
        """Run the method (or the fault) and complete the call record."""
        method, params = call.method.lower(), call.params
        try:
            if token != self.token:
                raise ApiError(401, "Unauthorized")
            if parse_error is not None:
                raise parse_error if isinstance(parse_error, ApiError) else _bad(str(parse_error))
            handler = self._handlers.get(method)
            if handler is None:
                raise ApiError(404, "Not Found")
            if method == "getupdates":
                result = self._get_updates(params)
            else:
                with self._cond:
                    if error := self._injected_error(method, params):
                        raise error
                    result = handler(params)
                    if method in ("sendmessage", "senddocument", "editmessagetext"):
                        self._record_sent(call, params, result)
            status, payload = 200, {"ok": True, "result": result}
        except ApiError as error:
            status, payload = error.code, error.payload()
        except Exception as error:  # a bug of the fake or a malformed request: say so
            status, payload = 500, ApiError(500, f"Internal Server Error: {error!r}").payload()
        with self._cond:
            call.status, call.result = status, payload.get("result", payload)
            self._cond.notify_all()
        return status, payload

    def _record(self, method: str, params: JSONDict) -> Call:
        """Append a call and wake waiters."""
        with self._cond:
            call = Call(method, params, time.monotonic(), next(self._seq))
            self._calls.append(call)
            self._cond.notify_all()
            return call

    @staticmethod
    def _json(status: int, payload: JSONDict) -> tuple[int, str, bytes]:
        """A JSON HTTP answer."""
        return status, "application/json", json.dumps(payload, ensure_ascii=False).encode()

    def _download(self, token: str, file_path: str) -> tuple[int, str, bytes]:
        """Serve a stored file's bytes."""
        call = self._record("download", {"file_path": file_path})
        with self._cond:
            stored = next((f for f in self._files.values() if f.path == file_path), None)
            if token != self.token or stored is None:
                call.status = 401 if token != self.token else 404
                self._cond.notify_all()
                error = ApiError(call.status)
                return self._json(error.code, error.payload())
            call.status = 200
            self._cond.notify_all()
            return 200, stored.mime or "application/octet-stream", stored.content

    # ------------------------------------------------------------------ methods

    def _get_updates(self, params: JSONDict) -> list[JSONDict]:
        """Long poll: confirm by offset, wait up to timeout, answer up to limit updates."""
        with self._cond:
            self._poll_generation += 1
            generation = self._poll_generation
            self._cond.notify_all()  # an older poll still waiting now answers 409
            if error := self._injected_error("getupdates", params):
                raise error
            if self._webhook_url:
                raise ApiError(409, "Conflict: can't use getUpdates method while webhook is "
                               "active; use deleteWebhook to delete the webhook first")
            self._confirm(int(params.get("offset") or 0))
            if "allowed_updates" in params:
                self._allowed_updates = list(params["allowed_updates"] or [])
            limit = min(max(int(params.get("limit") or 100), 1), 100)
            deadline = time.monotonic() + max(float(params.get("timeout") or 0), 0.0)
            while True:
                if self._poll_generation != generation:
                    raise ApiError(409)
                ready = self._deliverable()
                left = deadline - time.monotonic()
                if ready or left <= 0 or self._stopping:
                    return copy.deepcopy(ready[:limit])
                self._cond.wait(left)

    def _confirm(self, offset: int) -> None:
        """Forget updates below a positive offset; keep only the last -offset for a negative."""
        if offset > 0:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        elif offset < 0:
            self._updates = self._updates[offset:]

    def _deliverable(self) -> list[JSONDict]:
        """Pending updates of allowed types; others are dropped, as they were never made."""
        def allowed(update: JSONDict) -> bool:
            kind = next(k for k in update if k != "update_id")
            if self._allowed_updates:
                return kind in self._allowed_updates
            return kind not in _DEFAULT_UPDATE_TYPES_OFF

        self._updates = [u for u in self._updates if allowed(u)]
        return self._updates

    def _send_message(self, params: JSONDict) -> JSONDict:
        """sendMessage."""
        chat_id = self._chat_id(params)
        text, entities = self._render(params, "text", MAX_TEXT)
        message = self._bot_message(chat_id, params, text=text)
        if entities:
            message["entities"] = entities
        return self._store_bot_message(chat_id, message)

    def _send_document(self, params: JSONDict) -> JSONDict:
        """sendDocument: an uploaded file part or a known file_id."""
        chat_id = self._chat_id(params)
        document = params.get("document")
        if isinstance(document, str) and document.startswith("attach://"):
            document = params.get(document.removeprefix("attach://"))
        if isinstance(document, UploadedFile):
            if not document.content:
                raise _bad("file must be non-empty")
            stored = self._store_file(document.content, document.filename, document.mime)
        elif isinstance(document, str) and document in self._files:
            stored = self._files[document]
        else:
            raise _bad("wrong file identifier/HTTP URL specified")
        message = self._bot_message(chat_id, params, document=self._document_dict(stored))
        if params.get("caption"):
            caption, entities = self._render(params, "caption", MAX_CAPTION)
            message["caption"] = caption
            if entities:
                message["caption_entities"] = entities
        return self._store_bot_message(chat_id, message)

    def _edit_message_text(self, params: JSONDict) -> JSONDict:
        """editMessageText; a missing reply_markup removes the inline keyboard."""
        message = self._editable(params)
        if "text" not in message:
            raise _bad("there is no text in the message to edit")
        text, entities = self._render(params, "text", MAX_TEXT)
        markup = self._markup(params)
        new = {"text": text, "entities": entities or None, "reply_markup": markup}
        self._apply_edit(message, new)
        return copy.deepcopy(message)

    def _edit_reply_markup(self, params: JSONDict) -> JSONDict:
        """editMessageReplyMarkup."""
        message = self._editable(params)
        self._apply_edit(message, {"reply_markup": self._markup(params)})
        return copy.deepcopy(message)

    def _apply_edit(self, message: JSONDict, new: JSONDict) -> None:
        """Set the new fields (None removes), refusing an edit that changes nothing."""
        if all(message.get(key) == value for key, value in new.items()):
            raise _bad(_NOT_MODIFIED.removeprefix("Bad Request: "))
        for key, value in new.items():
            if value is None:
                message.pop(key, None)
            else:
                message[key] = value
        message["edit_date"] = int(time.time())

    def _editable(self, params: JSONDict) -> JSONDict:
        """The bot's stored message named by chat_id + message_id."""
        if "inline_message_id" in params:
            raise _bad("inline messages are not supported by the fake")
        message = self._messages.get((self._chat_id(params), int(params.get("message_id", 0))))
        if message is None:
            raise _bad("message to edit not found")
        if message["from"]["id"] != self.bot_user["id"]:
            raise _bad("message can't be edited")
        return message

    def _delete_message(self, params: JSONDict) -> bool:
        """deleteMessage."""
        key = (self._chat_id(params), int(params.get("message_id", 0)))
        if self._messages.pop(key, None) is None:
            raise _bad("message to delete not found")
        return True

    def _answer_callback_query(self, params: JSONDict) -> bool:
        """answerCallbackQuery: once per query the server issued."""
        query_id = str(params.get("callback_query_id", ""))
        if self._queries.get(query_id, True):
            raise ApiError(400, _QUERY_INVALID)
        if len(str(params.get("text", ""))) > 200:
            raise _bad("MESSAGE_TOO_LONG")
        self._queries[query_id] = True
        return True

    def _get_file(self, params: JSONDict) -> JSONDict:
        """getFile: the File object with a relative file_path."""
        stored = self._files.get(str(params.get("file_id", "")))
        if stored is None:
            raise _bad("invalid file_id")
        if len(stored.content) > MAX_DOWNLOAD:
            raise _bad("file is too big")
        return {"file_id": stored.file_id, "file_unique_id": stored.unique_id,
                "file_size": len(stored.content), "file_path": stored.path}

    def _set_my_commands(self, params: JSONDict) -> bool:
        """setMyCommands, validating names and descriptions."""
        commands = params.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise _bad("can't parse commands JSON object")
        for command in commands:
            if not re.fullmatch(r"[a-z0-9_]{1,32}", str(command.get("command", ""))):
                raise _bad("BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", "")).strip()) <= 256:
                raise _bad("command description must be non-empty")
        self._commands[self._commands_key(params)] = commands
        return True

    def _delete_my_commands(self, params: JSONDict) -> bool:
        """deleteMyCommands."""
        self._commands.pop(self._commands_key(params), None)
        return True

    @staticmethod
    def _commands_key(params: JSONDict) -> str:
        """Commands are kept per scope and language."""
        scope = params.get("scope") or {"type": "default"}
        return json.dumps([scope, params.get("language_code", "")], sort_keys=True)

    def _set_webhook(self, params: JSONDict) -> bool:
        """setWebhook (only remembered: it makes getUpdates answer 409)."""
        self._webhook_url = str(params.get("url", ""))
        if params.get("drop_pending_updates"):
            self._updates.clear()
        return True

    def _delete_webhook(self, params: JSONDict) -> bool:
        """deleteWebhook, honouring drop_pending_updates."""
        self._webhook_url = ""
        if params.get("drop_pending_updates"):
            self._updates.clear()
        return True

    def _get_webhook_info(self, _params: JSONDict) -> JSONDict:
        """getWebhookInfo."""
        return {"url": self._webhook_url, "has_custom_certificate": False,
                "pending_update_count": len(self._updates)}

    # ------------------------------------------------------------------ helpers

    def _chat_id(self, params: JSONDict) -> int:
        """The integer chat_id of a request; 400 "chat not found" otherwise."""
        chat_id = params.get("chat_id")
        if isinstance(chat_id, bool) or not isinstance(chat_id, int) or chat_id == 0:
            raise _bad("chat not found")
        return chat_id

    def _chat(self, chat_id: int) -> JSONDict:
        """The Chat dict: private chats carry the person's names."""
        if chat_id < 0:
            return {"id": chat_id, "type": "group", "title": f"Group {-chat_id}"}
        person = self._users.get(chat_id, {"first_name": f"User{chat_id}"})
        chat = {"id": chat_id, "first_name": person["first_name"], "type": "private"}
        if "username" in person:
            chat["username"] = person["username"]
        return chat

    def _next_message_id(self, chat_id: int) -> int:
        """Message ids increase per chat, shared by the person's and the bot's messages."""
        self._last_message_id[chat_id] = self._last_message_id.get(chat_id, 0) + 1
        return self._last_message_id[chat_id]

    def _render(self, params: JSONDict, key: str, limit: int) -> tuple[str, list[JSONDict]]:
        """Text or caption as the person sees it, with entities; 400 when empty or too long."""
        raw = params.get(key)
        if not isinstance(raw, str):
            raw = "" if raw is None else str(raw)
        entities: list[JSONDict] = list(params.get("entities" if key == "text" else
                                                   "caption_entities") or [])
        mode = str(params.get("parse_mode") or "").lower()
        if mode == "html" and not entities:
            raw, entities = parse_html(raw)
        text, entities = _trim(raw, entities)
        if key == "text" and not text:
            raise _bad("message text is empty")
        if len(text) > limit:
            raise _bad("message is too long" if key == "text" else "message caption is too long")
        return text, entities

    def _markup(self, params: JSONDict) -> JSONDict | None:
        """The validated reply_markup; only inline keyboards are echoed in messages."""
        markup = params.get("reply_markup")
        if markup is None:
            return None
        _check_markup(markup)
        return markup if "inline_keyboard" in markup else None

    def _bot_message(self, chat_id: int, params: JSONDict, **content: Any) -> JSONDict:
        """A new Message dict from the bot, with reply and inline keyboard when given."""
        markup = self._markup(params)
        message: JSONDict = {
            "message_id": 0, "from": dict(self.bot_user), "chat": self._chat(chat_id),
            "date": int(time.time()), **content,
        }
        reply = params.get("reply_parameters") or {}
        reply_to = reply.get("message_id") or params.get("reply_to_message_id")
        if reply_to:
            original = self._messages.get((chat_id, int(reply_to)))
            if original is not None:
                message["reply_to_message"] = {
                    k: v for k, v in original.items() if k != "reply_to_message"
                }
            elif not (reply.get("allow_sending_without_reply")
                      or params.get("allow_sending_without_reply")):
                raise _bad("message to be replied not found")
        if markup is not None:
            message["reply_markup"] = markup
        return message

    def _store_bot_message(self, chat_id: int, message: JSONDict) -> JSONDict:
        """Give the message its id, keep it, return a copy."""
        message["message_id"] = self._next_message_id(chat_id)
        self._messages[(chat_id, message["message_id"])] = message
        return copy.deepcopy(message)

    def _store_file(self, content: bytes, name: str | None, mime: str | None,
                    folder: str = "documents") -> _StoredFile:
        """Keep a file for getFile and downloads (photos are .jpg, as Telegram's are)."""
        with self._cond:
            number = next(self._ids)
            suffix = name.rsplit(".", 1)[-1] if name and "." in name else "bin"
            suffix = "jpg" if folder == "photos" else suffix
            stored = _StoredFile(
                file_id=f"BQACAgUAAxkBAAI{number:06d}{'x' * 20}", unique_id=f"AgAD{number:06d}",
                path=f"{folder}/file_{number}.{suffix}", content=content, name=name, mime=mime,
            )
            self._files[stored.file_id] = stored
            return stored

    @staticmethod
    def _document_dict(stored: _StoredFile) -> JSONDict:
        """The Document dict of a stored file."""
        document: JSONDict = {"file_id": stored.file_id, "file_unique_id": stored.unique_id,
                              "file_size": len(stored.content)}
        if stored.name:
            document["file_name"] = stored.name
        if stored.mime:
            document["mime_type"] = stored.mime
        return document

    def _record_sent(self, call: Call, params: JSONDict, result: JSONDict) -> None:
        """Note a successful send or edit for sent_messages()."""
        document = params.get("document")
        upload = document if isinstance(document, UploadedFile) else None
        self._sent.append(SentMessage(
            method=call.method, chat_id=result["chat"]["id"], message_id=result["message_id"],
            text=str(result.get("text", result.get("caption", ""))),
            raw_text=str(params.get("text", params.get("caption", ""))),
            parse_mode=params.get("parse_mode"),
            reply_markup=params.get("reply_markup"),
            entities=tuple(result.get("entities") or result.get("caption_entities") or ()),
            document_name=result.get("document", {}).get("file_name"),
            document_bytes=upload.content if upload else self._document_bytes(result),
            document_mime=result.get("document", {}).get("mime_type"),
            at=call.at, seq=call.seq,
        ))

    def _document_bytes(self, result: JSONDict) -> bytes | None:
        """Bytes of a document re-sent by file_id."""
        file_id = result.get("document", {}).get("file_id")
        return self._files[file_id].content if file_id in self._files else None


@pytest.fixture(name="fake_bot_api")
def fake_bot_api_fixture() -> Iterator[FakeBotApi]:
    """Fixture ``fake_bot_api``: a started FakeBotApi with the default token, stopped after.

    Import either name into a conftest or test module. Test modules that take a
    ``fake_bot_api`` parameter should import ``fake_bot_api_fixture`` (importing
    ``fake_bot_api`` itself makes ruff report F811 on every such parameter).
    """
    with FakeBotApi() as fake:
        yield fake


fake_bot_api = fake_bot_api_fixture
