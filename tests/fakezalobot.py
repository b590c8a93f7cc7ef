"""A faithful fake of the Zalo Bot Platform API (/work/shared/ZALO.md §1), for tests; no internet.

Start it on 127.0.0.1 (a free port) in a background thread and point the Zalo client at it::

    with FakeZaloBot() as fake:
        client = ZaloBotClient(fake.token, base_url=fake.base_url)  # calls {base}/bot<TOKEN>/<m>

Tests play the contacts (``send_text``, ``send_image``, ``send_sticker``, ``send_unsupported``;
``send_photo`` serves the picture's bytes at ``<base>/cdn/<id>.jpg`` as Zalo's CDN would),
then look at what the bot did (``calls``, ``sent_messages``, ``wait_for_sent``, ``polls``,
``deliveries``) and inject faults (``fail_next``, ``proxy_limit``, ``replay``, the quota).

What it models, as strictly as ZALO.md describes the real server:

* calls ``/bot<TOKEN>/<method>``, method names case-sensitive, GET or POST, parameters as JSON,
  urlencoded form, multipart or query string (form values are strings; JSON keeps its types);
  a wrong token answers 401, a method Zalo lacks (``sendDocument``, ``getFile``,
  ``answerCallbackQuery``, ``setMyCommands``, ``editMessageText``, ``deleteMessage``, any
  other name or spelling) answers 404;
* answers ``{"ok": true, "result": ...}`` or ``{"ok": false, "error_code": n,
  "description": "..."}``; the HTTP status of an error is ``error_code`` (default) or 200 for
  every error (``errors_http_200=True``), the two readings ZALO.md reports; sendChatAction
  answers ``{"ok": true}`` with no ``result`` key;
* getUpdates: ``timeout`` in seconds (a string, numbers accepted), answers ONE update object;
  an empty poll waits the timeout (capped by ``max_poll_wait``) and answers 408
  "Request timeout", or ``{"ok": true, "result": {}}`` with ``empty_poll="ok_empty"``; refused
  with 400 while a webhook is set; ``offset``/``limit``/``allowed_updates`` do nothing;
* delivery semantics, both reported readings: ``delivery="consume"`` (a read update is gone) or
  ``delivery="replay"`` (read updates come back at once on every later poll while the queue is
  not empty: unread ones first, then the read ones in turn; a read update leaves the queue
  ``replay_ttl`` seconds after its first read, or on ``drain()``); ``replay()`` redelivers;
* setWebhook (https ``url``, ``secret_token`` of 8-256 characters), deleteWebhook,
  getWebhookInfo (404 when none); with a webhook set each update is POSTed with
  ``X-Bot-Api-Secret-Token``, wrapped ``{"ok": true, "result": update}`` or flat, alternating by
  default; only 127.0.0.1/localhost is ever contacted and https is spoken as plain HTTP;
* sendMessage/sendPhoto: ``chat_id`` a non-empty string of a contact who wrote to the bot,
  ``text``/``caption`` at most 2,000 characters (text non-empty), ``photo`` an http(s) URL
  (an uploaded file is refused); results ``{"message_id": <20 hex>, "date": <ms>}``;
* the free plan: ``monthly_quota`` successful sends (3,000), then 429 "Quota exceeded";
  ``max_users`` distinct contacts (50): a newer contact's messages never reach the bot;
* a proxy in front that answers hard polling with an HTML 429 page (``proxy_limit``);
* a contact who blocked the bot (``block``): ZALO.md does not document Zalo's answer, so the
  fake assumes 403 "Forbidden: The user has blocked the bot" for every send to them.

Parameters Zalo does not have (``reply_markup``, ``parse_mode``, ``offset``...) are ignored as
an HTTP API ignores unknown fields, but recorded (``Call.unsupported``,
``unsupported_params()``) so a test can assert they were never sent; with
``unsupported="reject"`` they answer 400.

Not modelled (unknown or out of scope): group chats (beta), TLS, webhook retries (undocumented:
a failed delivery is recorded, not retried), a second concurrent getUpdates (both wait), the
month boundary of the quota (``reset_quota()``), validation texts beyond the one ZALO.md quotes
("Bad request: The chat_id must not be empty"): the others follow its style.
"""

from __future__ import annotations

import copy
import email.parser
import email.policy
import email.utils
import http
import http.client
import itertools
import json
import math
import queue
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Literal, cast
from urllib.parse import parse_qsl, unquote, urlsplit

import pytest

from tests.localserver import LocalServer, TrackingHandler

JSONDict = dict[str, Any]

DEFAULT_TOKEN = "1459232241454765289:FakeZaloBotSecret-9f8e7d6c"
ACCOUNT_NAME = "bot.ReportbotTest"
MAX_TEXT = 2000
SECRET_LENGTH = (8, 256)
DEFAULT_QUOTA = 3000
DEFAULT_MAX_USERS = 50
DEFAULT_POLL_TIMEOUT = 30.0  # seconds, when getUpdates has no timeout (undocumented)
WEBHOOK_SET = "You cannot use this API while a webhook is set. Delete the webhook first."
IMAGE_FIELDS = ("photo", "photo_url", "url")
BLOCKED = "Forbidden: The user has blocked the bot"  # assumed: ZALO.md does not document it

# Zalo's methods and the parameters each one has; anything else is "unsupported".
METHOD_PARAMS: dict[str, frozenset[str]] = {
    "getMe": frozenset(),
    "getUpdates": frozenset({"timeout"}),
    "setWebhook": frozenset({"url", "secret_token"}),
    "deleteWebhook": frozenset(),
    "getWebhookInfo": frozenset(),
    "sendMessage": frozenset({"chat_id", "text"}),
    "sendPhoto": frozenset({"chat_id", "photo", "caption"}),
    "sendChatAction": frozenset({"chat_id", "action"}),
}


_COUNTED = frozenset({"sendMessage", "sendPhoto"})
_DESCRIPTIONS = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    408: "Request timeout",
    429: "Quota exceeded",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}
_NO_RESULT = object()  # a success answered as {"ok": true} alone


def now_ms() -> int:
    """Epoch milliseconds, Zalo's unit for every date."""
    return int(time.time() * 1000)


def new_id() -> str:
    """A Zalo-looking id: 20 lowercase hex digits (user and message ids)."""
    return secrets.token_hex(10)


# --------------------------------------------------------------------------- records


class ZaloError(Exception):
    """An error answer: ``{"ok": false, "error_code": ..., "description": ...}``.

    ``html`` makes it an HTML page from the proxy in front (always with HTTP ``code``).
    """

    def __init__(self, code: int, description: str | None = None, *, html: bool = False) -> None:
        self.code = code
        self.description = description or _DESCRIPTIONS.get(code, "Error")
        self.html = html
        super().__init__(self.description)

    def payload(self) -> JSONDict:
        """The JSON body."""
        return {"ok": False, "error_code": self.code, "description": self.description}

    def page(self) -> str:
        """The HTML body a proxy (nginx) answers."""
        try:
            reason = http.HTTPStatus(self.code).phrase
        except ValueError:
            reason = "Error"
        title = f"{self.code} {reason}"
        return (f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n"
                f"<center><h1>{title}</h1></center>\r\n<hr><center>nginx</center>\r\n"
                "</body>\r\n</html>\r\n")


def _bad(description: str) -> ZaloError:
    """A 400 in Zalo's wording: ``Bad request: The chat_id must not be empty``."""
    return ZaloError(400, f"Bad request: {description}")


@dataclass(frozen=True)
class UploadedFile:
    """A file part of a multipart request (Zalo accepts none: they are refused)."""

    filename: str
    content: bytes
    mime: str


@dataclass
class Call:
    """One request the bot made.

    ``method`` is the path's method name as sent (case kept; ``""`` when the path has none);
    ``params`` the decoded parameters (form values are strings, JSON keeps its types);
    ``encoding`` is ``json``, ``form``, ``multipart``, ``query`` or ``none``; ``unsupported``
    the parameter names Zalo's method does not have. ``at`` and ``answered_at`` are
    ``time.monotonic()``; ``status`` is the HTTP status and ``body`` the JSON answer (a dict)
    or the HTML text. ``immediate`` is False only for a getUpdates that had to wait (for an
    update or its timeout): every other answer was decided at once.
    """

    method: str
    params: JSONDict
    at: float
    seq: int = 0
    http_method: str = "POST"
    encoding: str = "none"
    unsupported: tuple[str, ...] = ()
    status: int | None = None
    body: Any = None
    html: bool = False
    answered_at: float | None = None
    immediate: bool = True

    @property
    def ok(self) -> bool:
        """The answer's ``ok`` (False for an HTML page or no answer yet)."""
        return isinstance(self.body, dict) and self.body.get("ok") is True

    @property
    def error_code(self) -> int | None:
        """The answer's ``error_code`` (429 for an HTML 429 page; None on success)."""
        if self.html:
            return self.status
        return self.body.get("error_code") if isinstance(self.body, dict) else None

    @property
    def result(self) -> Any:
        """The answer's ``result`` (None when absent)."""
        return self.body.get("result") if isinstance(self.body, dict) else None


@dataclass(frozen=True)
class SentMessage:
    """A successful sendMessage or sendPhoto.

    ``text`` is the text (the caption for a photo, ``""`` when none); ``photo`` the URL;
    ``date`` epoch ms as answered; ``unsupported`` the extra parameters the call carried
    (``reply_markup``...) and ``params`` all of them.
    """

    method: str
    chat_id: str
    message_id: str
    text: str
    date: int
    photo: str | None
    unsupported: tuple[str, ...]
    params: JSONDict
    at: float
    seq: int


@dataclass
class WebhookDelivery:
    """One POST of an update to the bot's webhook.

    ``shape`` is ``wrapped``, ``flat`` or ``raw`` (``post_to_webhook`` with bytes); ``secret``
    the ``X-Bot-Api-Secret-Token`` sent (None: header left out); ``status`` what the bot
    answered (None when it could not be reached: see ``error``).
    """

    url: str
    shape: str
    body: bytes
    secret: str | None
    message_id: str | None
    at: float
    seq: int = 0
    status: int | None = None
    response: bytes = b""
    error: str | None = None
    forged: bool = False

    def json(self) -> Any:
        """The body as sent, decoded."""
        return json.loads(self.body)


@dataclass
class _FailRule:
    method: str
    error: ZaloError
    times: int
    chat_id: str | None


@dataclass
class _Queued:
    update: JSONDict
    message_id: str
    order: int
    reads: int = 0
    first_read_at: float | None = None


@dataclass
class _Webhook:
    url: str
    secret: str
    updated_at: int


class _Bucket:
    """Token bucket: ``rate`` requests a second, bursts up to ``burst``."""

    def __init__(self, rate: float, burst: float, now: float) -> None:
        self.rate, self.capacity = rate, burst
        self.tokens, self.stamp = burst, now

    def take(self, now: float) -> bool:
        """Spend one request if allowed now."""
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


# --------------------------------------------------------------------------- request parsing


def _parse_multipart(content_type: str, body: bytes) -> JSONDict:
    """Split a multipart/form-data body into string fields and UploadedFile parts."""
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    if not message.is_multipart():
        raise _bad("The multipart body is malformed")
    params: JSONDict = {}
    for part in cast(Any, message).iter_parts():
        name = part.get_param("name", header="content-disposition")
        if name is None:
            continue
        name = email.utils.collapse_rfc2231_value(name)
        content = part.get_payload(decode=True) or b""
        filename = part.get_filename()
        if filename is not None:
            params[name] = UploadedFile(filename, content, part.get_content_type())
        else:
            params[name] = content.decode("utf-8")
    return params


def parse_params(content_type: str, body: bytes, query: str = "") -> tuple[JSONDict, str]:
    """Parameters from a query string and a JSON, urlencoded or multipart body; the encoding."""
    params: JSONDict = dict(parse_qsl(query, keep_blank_values=True))
    encoding = "query" if params else "none"
    if not body:
        return params, encoding
    kind = content_type.split(";")[0].strip().lower()
    try:
        if kind == "application/json":
            loaded = json.loads(body)
            if not isinstance(loaded, dict):
                raise _bad("The request body must be a JSON object")
            params.update(loaded)
            return params, "json"
        if kind == "multipart/form-data":
            params.update(_parse_multipart(content_type, body))
            return params, "multipart"
        if kind in ("application/x-www-form-urlencoded", ""):
            params.update(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
            return params, "form"
    except ValueError:  # bad JSON or bad UTF-8
        raise _bad("The request body is malformed") from None
    raise _bad(f"Unsupported Content-Type {kind}")


# --------------------------------------------------------------------------- the server


class _Server(LocalServer):
    def __init__(self, fake: FakeZaloBot, port: int = 0) -> None:
        super().__init__(fake, _Handler, port)


class _Handler(TrackingHandler):
    def do_POST(self) -> None:
        """Answer one API call."""
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        fake = cast(_Server, self.server).fake
        status, content_type, payload = fake.handle_http(
            self.command, self.path, self.headers.get("Content-Type", ""), body
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


class FakeZaloBot:
    """The fake Zalo Bot Platform server. See the module docstring; public methods are thread-safe.

    Options (attributes of the same names may be changed while it runs):

    * ``token``: ``<digits>:<secret>``; the digits are the bot's id (``bot_id``);
    * ``errors_http_200``: answer every JSON error with HTTP 200 (default: HTTP = error_code);
    * ``delivery``: ``"consume"`` (default) or ``"replay"``; ``replay_ttl``: seconds a read
      update stays in the replay queue (None: until ``drain()``);
    * ``empty_poll``: ``"timeout"`` (408, default) or ``"ok_empty"`` (``{"ok": true,
      "result": {}}``); ``max_poll_wait``: the longest a poll waits, whatever its ``timeout``
      (None: honour it fully);
    * ``webhook_body``: ``"alternate"`` (default: wrapped, flat, wrapped...), ``"wrapped"`` or
      ``"flat"``; ``webhook_timeout``: seconds to wait for the bot's answer to a POST;
    * ``monthly_quota`` (3,000; None: unlimited) and ``max_users`` (50; None: unlimited);
    * ``unsupported``: ``"record"`` (default) or ``"reject"`` parameters Zalo lacks;
    * ``count_utf16``: count text length in UTF-16 units instead of characters.
    """

    def __init__(self, token: str = DEFAULT_TOKEN, *, errors_http_200: bool = False,
                 delivery: Literal["consume", "replay"] = "consume",
                 replay_ttl: float | None = 2.0,
                 empty_poll: Literal["timeout", "ok_empty"] = "timeout",
                 max_poll_wait: float | None = 2.0,
                 webhook_body: Literal["alternate", "wrapped", "flat"] = "alternate",
                 webhook_timeout: float = 5.0,
                 monthly_quota: int | None = DEFAULT_QUOTA,
                 max_users: int | None = DEFAULT_MAX_USERS,
                 unsupported: Literal["record", "reject"] = "record",
                 count_utf16: bool = False) -> None:
        if delivery not in ("consume", "replay"):
            raise ValueError(f"delivery must be consume or replay, not {delivery!r}")
        if empty_poll not in ("timeout", "ok_empty"):
            raise ValueError(f"empty_poll must be timeout or ok_empty, not {empty_poll!r}")
        if webhook_body not in ("alternate", "wrapped", "flat"):
            raise ValueError(f"webhook_body must be alternate, wrapped or flat: {webhook_body!r}")
        self.token = token
        head = token.split(":", 1)[0]
        self.bot_id = head if head.isdigit() else "1459232241454765289"
        self.bot_info: JSONDict = {
            "id": self.bot_id, "account_name": ACCOUNT_NAME, "account_type": "BASIC",
            "can_join_groups": False,
        }
        self.errors_http_200 = errors_http_200
        self.delivery = delivery
        self.replay_ttl = replay_ttl
        self.empty_poll = empty_poll
        self.max_poll_wait = max_poll_wait
        self.webhook_body = webhook_body
        self.webhook_timeout = webhook_timeout
        self.monthly_quota = monthly_quota
        self.max_users = max_users
        self.unsupported = unsupported
        self.count_utf16 = count_utf16
        self.proxy_rejections = 0
        self._cond = threading.Condition()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._worker: threading.Thread | None = None
        self._outbox: queue.Queue[tuple[str, str, str, JSONDict] | None] = queue.Queue()
        self._stopping = False
        self._seq = itertools.count(1)
        self._order = itertools.count(1)
        self._calls: list[Call] = []
        self._sent: list[SentMessage] = []
        self._deliveries: list[WebhookDelivery] = []
        self._queue: list[_Queued] = []
        self._history: dict[str, JSONDict] = {}  # every update read or POSTed, by message_id
        self._times_delivered: dict[str, int] = {}
        self._dropped: list[JSONDict] = []
        self._contacts: dict[str, JSONDict] = {}
        self._webhook: _Webhook | None = None
        self._webhook_posts = 0
        self._quota_used = 0
        self._fail_rules: list[_FailRule] = []
        self._blocked: set[str] = set()
        self._photos: dict[str, tuple[bytes, str]] = {}  # what the CDN serves, by path
        self._proxy: _Bucket | None = None
        self._handlers: dict[str, Callable[[Call], Any]] = {
            "getMe": lambda _call: dict(self.bot_info),
            "getUpdates": self._get_updates,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "sendMessage": self._send_message,
            "sendPhoto": self._send_photo,
            "sendChatAction": self._send_chat_action,
        }

    # ------------------------------------------------------------------ lifecycle

    def start(self, port: int = 0) -> FakeZaloBot:
        """Listen on 127.0.0.1 (a free port by default); serve and deliver from threads."""
        self._stopping = False
        self._server = _Server(self, port)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
            name="FakeZaloBot", daemon=True,
        )
        self._thread.start()
        self._worker = threading.Thread(target=self._deliver_loop, name="FakeZaloBot-webhook",
                                        daemon=True)
        self._worker.start()
        return self

    def stop(self) -> None:
        """Stop serving and delivering, end waiting polls and close open connections."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        self._outbox.put(None)
        server, self._server = self._server, None
        if server is not None:
            server.close()
        for thread in (self._thread, self._worker):
            if thread is not None:
                thread.join(timeout=5)
        self._thread = self._worker = None

    def __enter__(self) -> FakeZaloBot:
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
            raise RuntimeError("FakeZaloBot is not started")
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``: calls go to ``{base_url}/bot<TOKEN>/<method>``."""
        return f"http://127.0.0.1:{self.port}"

    def api_url(self, method: str, token: str | None = None) -> str:
        """The URL of one method (with this fake's token unless another is given)."""
        return f"{self.base_url}/bot{self.token if token is None else token}/{method}"

    # ------------------------------------------------------------------ contacts' side

    new_id = staticmethod(new_id)

    def contact(self, user_id: str, display_name: str | None = None) -> JSONDict:
        """The ``from`` dict of a person; renames a known contact.

        A person becomes a contact (someone the bot may message) when their first message is
        queued, never before: Zalo lets no bot write first.
        """
        if not isinstance(user_id, str) or not user_id:
            raise TypeError(f"Zalo user ids are non-empty strings, not {user_id!r}")
        with self._cond:
            person = self._contacts.get(user_id) or {
                "id": user_id, "display_name": f"Người dùng {user_id[:4]}", "is_bot": False,
            }
            if display_name:
                person["display_name"] = display_name
            return dict(person)

    def send_event(self, user_id: str, event_name: str, *, display_name: str | None = None,
                   is_bot: bool | None = None, message_id: str | None = None,
                   date: int | None = None, **content: Any) -> str:
        """A private message of any kind from ``user_id``; return its message_id.

        ``content`` goes into ``message`` (``text``, ``photo_url``, ``sticker``...). Pass an
        existing ``message_id`` to send a duplicate; ``user_id=fake.bot_id`` (or ``is_bot``)
        makes a message the bot itself or another bot sent.
        """
        sender = self.contact(user_id, display_name)
        if is_bot is not None or user_id == self.bot_id:
            sender["is_bot"] = bool(is_bot) or user_id == self.bot_id
        message_id = message_id or new_id()
        message: JSONDict = {
            "from": sender, "chat": {"id": user_id, "chat_type": "PRIVATE"}, **content,
            "message_id": message_id, "date": now_ms() if date is None else date,
        }
        self.enqueue({"event_name": event_name, "message": message})
        return message_id

    def send_text(self, user_id: str, text: str, *, display_name: str | None = None,
                  is_bot: bool | None = None, message_id: str | None = None) -> str:
        """The contact types ``text`` (``message.text.received``); return the message_id."""
        return self.send_event(user_id, "message.text.received", display_name=display_name,
                               is_bot=is_bot, message_id=message_id, text=text)

    def send_image(self, user_id: str, url: str, caption: str | None = None, *,
                   fields: Iterable[str] = IMAGE_FIELDS,
                   display_name: str | None = None) -> str:
        """The contact sends a picture (``message.image.received``); return the message_id.

        The URL is put under each of ``fields`` (ZALO.md's sources name ``photo``,
        ``photo_url`` and ``url``): pass one to check a client reads them all.
        """
        content: JSONDict = {name: url for name in fields}
        if caption is not None:
            content["caption"] = caption
        return self.send_event(user_id, "message.image.received", display_name=display_name,
                               **content)

    def host_photo(self, content: bytes, mime: str = "image/jpeg") -> str:
        """Serve ``content`` as Zalo's CDN serves a picture a contact sent; return its URL."""
        path = f"/cdn/{new_id()}.jpg"
        with self._cond:
            self._photos[path] = (content, mime)
        return self.base_url + path

    def send_photo(self, user_id: str, content: bytes, caption: str | None = None) -> str:
        """The contact sends a picture whose bytes are ``content``; return the message_id."""
        return self.send_image(user_id, self.host_photo(content), caption)

    def send_sticker(self, user_id: str, sticker: str | None = None, *,
                     url: str | None = None, display_name: str | None = None) -> str:
        """The contact sends a sticker (``message.sticker.received``); return the message_id."""
        sticker = sticker or new_id()[:8]
        content: JSONDict = {"sticker": sticker,
                             "url": url or f"https://zalo-api.zadn.vn/api/emoticon/{sticker}"}
        return self.send_event(user_id, "message.sticker.received", display_name=display_name,
                               **content)

    def send_unsupported(self, user_id: str, *, display_name: str | None = None) -> str:
        """The contact sends a file, link or other kind: it arrives with no content."""
        return self.send_event(user_id, "message.unsupported.received",
                               display_name=display_name)

    def enqueue(self, update: JSONDict) -> str:
        """Queue a raw update (or POST it to the webhook); return its message_id.

        A new contact beyond ``max_users`` never reaches the bot (see ``dropped_updates``).
        """
        message = update.get("message") if isinstance(update.get("message"), dict) else {}
        message_id = str(message.get("message_id") or new_id())
        sender = message.get("from") if isinstance(message.get("from"), dict) else {}
        user_id = sender.get("id")
        with self._cond:
            if isinstance(user_id, str) and not sender.get("is_bot"):
                if (user_id not in self._contacts and self.max_users is not None
                        and len(self._contacts) >= self.max_users):
                    self._dropped.append(copy.deepcopy(update))
                    return message_id
                known = self._contacts.setdefault(user_id, dict(sender))
                known.update(sender)
            if self._webhook is not None:
                self._post_later(update, message_id)
            else:
                self._queue.append(_Queued(copy.deepcopy(update), message_id, next(self._order)))
            self._cond.notify_all()
            return message_id

    # ------------------------------------------------------------------ delivery control

    def replay(self, message_ids: Iterable[str] | None = None) -> int:
        """Deliver again updates already read (all of them by default); return how many.

        Polling: they go back to the front of the queue, unread. Webhook: POSTed again.
        """
        with self._cond:
            ids = list(self._history) if message_ids is None else [str(m) for m in message_ids]
            unknown = [m for m in ids if m not in self._history]
            if unknown:
                raise ValueError(f"never delivered: {unknown}")
            if self._webhook is not None:
                for message_id in ids:
                    self._post_later(self._history[message_id], message_id)
                return len(ids)
            chosen = set(ids)
            self._queue = [e for e in self._queue if e.message_id not in chosen]
            self._queue[0:0] = [
                _Queued(copy.deepcopy(self._history[m]), m, next(self._order)) for m in ids
            ]
            self._cond.notify_all()
            return len(ids)

    def drain(self) -> int:
        """Replay mode: drop the read updates still in the queue now; return how many."""
        with self._cond:
            before = len(self._queue)
            self._queue = [e for e in self._queue if not e.reads]
            return before - len(self._queue)

    def block(self, user_id: str) -> None:
        """The contact blocks the bot: every send to them answers 403 (an assumption, below)."""
        with self._cond:
            self._blocked.add(user_id)

    def reset_quota(self) -> None:
        """A new month: the quota is whole again."""
        with self._cond:
            self._quota_used = 0

    @property
    def quota_used(self) -> int:
        """Successful sendMessage/sendPhoto counted against ``monthly_quota``."""
        with self._cond:
            return self._quota_used

    # ------------------------------------------------------------------ inspection

    def calls(self, method: str | None = None) -> list[Call]:
        """Recorded requests in order, optionally of one method (exact spelling)."""
        with self._cond:
            return [c for c in self._calls if method is None or c.method == method]

    def polls(self) -> list[Call]:
        """Every getUpdates, in order of arrival."""
        return self.calls("getUpdates")

    def gaps_after_immediate_polls(self) -> list[float]:
        """Seconds between each answered getUpdates that returned at once and the next poll.

        A poll "returns at once" when it did not wait (an update was ready, or an error, or
        ``timeout`` 0). A client that is not busy-looping keeps every gap >= 1 s.
        """
        with self._cond:
            polls = sorted((c for c in self._calls if c.method == "getUpdates"),
                           key=lambda c: c.at)
            return [after.at - before.answered_at
                    for before, after in itertools.pairwise(polls)
                    if before.immediate and before.answered_at is not None]

    def sent_messages(self, chat_id: str | None = None) -> list[SentMessage]:
        """Successful sendMessage/sendPhoto in order, optionally to one chat."""
        with self._cond:
            return [m for m in self._sent if chat_id is None or m.chat_id == chat_id]

    def unsupported_params(self, method: str | None = None) -> list[tuple[str, str]]:
        """``(method, name)`` of every parameter Zalo lacks that a call carried."""
        with self._cond:
            return [(c.method, name) for c in self._calls
                    if method is None or c.method == method for name in c.unsupported]

    def deliveries(self) -> list[WebhookDelivery]:
        """Webhook POSTs made, in order."""
        with self._cond:
            return list(self._deliveries)

    def pending_updates(self) -> list[JSONDict]:
        """Updates in the queue not read yet."""
        with self._cond:
            self._expire(time.monotonic())
            return [copy.deepcopy(e.update) for e in self._queue if not e.reads]

    def queued_updates(self) -> list[JSONDict]:
        """Every update in the queue (in replay mode, read ones too)."""
        with self._cond:
            self._expire(time.monotonic())
            return [copy.deepcopy(e.update) for e in self._queue]

    def dropped_updates(self) -> list[JSONDict]:
        """Updates of contacts beyond ``max_users``: the bot never got them."""
        with self._cond:
            return copy.deepcopy(self._dropped)

    def times_delivered(self, message_id: str) -> int:
        """How often an update was handed out (polls answered with it + webhook POSTs)."""
        with self._cond:
            return self._times_delivered.get(message_id, 0)

    @property
    def webhook(self) -> JSONDict | None:
        """``{"url", "secret_token", "updated_at"}`` of the webhook set, or None."""
        with self._cond:
            hook = self._webhook
            if hook is None:
                return None
            return {"url": hook.url, "secret_token": hook.secret, "updated_at": hook.updated_at}

    def mark(self) -> int:
        """The seq of the last record, for ``wait_for(..., since=mark)``."""
        with self._cond:
            return max((r.seq for r in (*self._calls, *self._deliveries)), default=0)

    def clear(self) -> None:
        """Forget recorded calls, sent messages and deliveries (server state stays)."""
        with self._cond:
            self._calls.clear()
            self._sent.clear()
            self._deliveries.clear()
            self.proxy_rejections = 0

    def _wait(self, find: Callable[[], Any], timeout: float, what: str) -> Any:
        """Block until ``find()`` returns something not None; AssertionError after timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = find()
                if found is not None:
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"no {what} within {timeout}s; last calls:\n{self._describe()}"
                    )
                self._cond.wait(left)

    def wait_for(self, predicate: Callable[[Call], bool] | None = None, timeout: float = 10.0,
                 *, method: str | None = None, since: int = 0) -> Call:
        """Block until an answered call (after seq ``since``) matches; return the first."""
        return cast(Call, self._wait(lambda: next((
            c for c in self._calls
            if c.seq > since and c.status is not None and (method is None or c.method == method)
            and (predicate is None or predicate(c))
        ), None), timeout, "matching call"))

    def wait_for_sent(self, chat_id: str | None = None,
                      predicate: Callable[[SentMessage], bool] | None = None,
                      timeout: float = 10.0, *, since: int = 0) -> SentMessage:
        """Block until the bot has sent a matching message (after seq ``since``)."""
        return cast(SentMessage, self._wait(lambda: next((
            m for m in self._sent
            if m.seq > since and (chat_id is None or m.chat_id == chat_id)
            and (predicate is None or predicate(m))
        ), None), timeout, f"message sent to {chat_id}"))

    def wait_for_delivery(self, predicate: Callable[[WebhookDelivery], bool] | None = None,
                          timeout: float = 10.0, *, since: int = 0) -> WebhookDelivery:
        """Block until a webhook POST (after seq ``since``) is done and matches."""
        return cast(WebhookDelivery, self._wait(lambda: next((
            d for d in self._deliveries
            if d.seq > since and (predicate is None or predicate(d))
        ), None), timeout, "webhook delivery"))

    def _describe(self, last: int = 15) -> str:
        """The last calls, one a line, long values shortened."""
        lines = []
        for call in self._calls[-last:]:
            params = {k: repr(v)[:60] for k, v in call.params.items()}
            lines.append(f"  #{call.seq} {call.method} {params} -> {call.status} "
                         f"{call.error_code or ''}")
        return "\n".join(lines) or "  (none)"

    # ------------------------------------------------------------------ fault injection

    def fail_next(self, method: str, error_code: int, description: str | None = None,
                  times: int = 1, chat_id: str | None = None, *, html: bool = False) -> None:
        """Answer the next ``times`` calls of ``method`` (to ``chat_id``, if given) with an error.

        ``html`` answers the proxy's HTML page instead of JSON (HTTP ``error_code``).
        Default descriptions: 408 "Request timeout", 429 "Quota exceeded", ...
        """
        error = ZaloError(error_code, description, html=html)
        with self._cond:
            self._fail_rules.append(_FailRule(method, error, times, chat_id))

    def proxy_limit(self, per_second: float | None, burst: float | None = None) -> FakeZaloBot:
        """Beyond ``per_second`` requests (bursts of ``burst``), the proxy answers an HTML 429.

        Counts ``proxy_rejections``; ``proxy_limit(None)`` turns it off.
        """
        with self._cond:
            self._proxy = None if per_second is None else _Bucket(
                per_second, burst if burst is not None else max(per_second, 1.0),
                time.monotonic())
        return self

    def _injected_error(self, call: Call) -> ZaloError | None:
        """The first fail_next rule matching the call, spent once."""
        chat_id = call.params.get("chat_id")
        for rule in self._fail_rules:
            if rule.method == call.method and rule.chat_id in (None, chat_id):
                rule.times -= 1
                if rule.times <= 0:
                    self._fail_rules.remove(rule)
                return rule.error
        return None

    # ------------------------------------------------------------------ HTTP entry point

    def handle_http(self, http_method: str, path: str, content_type: str,
                    body: bytes) -> tuple[int, str, bytes]:
        """Answer one HTTP request: status, content type, body (recorded atomically)."""
        arrived = time.monotonic()
        url = urlsplit(path)
        if http_method == "GET" and url.path.startswith("/cdn/"):
            with self._cond:
                photo = self._photos.get(url.path)
            return (200, photo[1], photo[0]) if photo else (404, "text/plain", b"Not Found")
        parse_error: ZaloError | None = None
        try:
            params, encoding = parse_params(content_type, body, url.query)
        except ZaloError as error:
            params, encoding, parse_error = {}, "none", error
        match = re.fullmatch(r"/bot([^/]*)/([^/]*)", url.path)
        token, method = (unquote(match[1]), unquote(match[2])) if match else (None, "")
        with self._cond:
            call = Call(method, params, arrived, next(self._seq), http_method, encoding)
            self._calls.append(call)
            self._cond.notify_all()
            try:
                result = self._dispatch(call, token, parse_error)
                payload: JSONDict = {"ok": True}
                if result is not _NO_RESULT:
                    payload["result"] = result
                status = 200
            except ZaloError as error:
                if error.html:
                    page = error.page()
                    self._answered(call, error.code, page, html=True)
                    return error.code, "text/html; charset=utf-8", page.encode()
                status = 200 if self.errors_http_200 else error.code
                payload = error.payload()
            except Exception as error:  # a bug of the fake or a malformed request: say so
                status = 500
                payload = ZaloError(500, f"Internal Server Error: {error!r}").payload()
            self._answered(call, status, payload)
        return status, "application/json; charset=utf-8", json.dumps(
            payload, ensure_ascii=False).encode()

    def _answered(self, call: Call, status: int, body: Any, *, html: bool = False) -> None:
        """Complete the call record and wake waiters."""
        call.status, call.body, call.html = status, copy.deepcopy(body), html
        call.answered_at = time.monotonic()
        self._cond.notify_all()

    def _dispatch(self, call: Call, token: str | None, parse_error: ZaloError | None) -> Any:
        """Proxy, token, method, faults, then the method itself (called under the lock)."""
        if self._proxy is not None and not self._proxy.take(call.at):
            self.proxy_rejections += 1
            raise ZaloError(429, html=True)
        if token is None:
            raise ZaloError(404, "Not Found")
        if token != self.token:
            raise ZaloError(401, "Unauthorized")
        known = METHOD_PARAMS.get(call.method)
        if known is None:
            raise ZaloError(404, "Not Found")
        call.unsupported = tuple(sorted(set(call.params) - known))
        if parse_error is not None:
            raise parse_error
        if error := self._injected_error(call):
            raise error
        if call.unsupported and self.unsupported == "reject":
            raise _bad(f"The parameter {call.unsupported[0]} is not supported")
        return self._handlers[call.method](call)

    # ------------------------------------------------------------------ methods

    def _get_updates(self, call: Call) -> Any:
        """One update at once if any is ready; else wait the timeout for one."""
        if self._webhook is not None:
            raise ZaloError(400, WEBHOOK_SET)
        timeout = self._timeout(call.params.get("timeout"))
        if self.max_poll_wait is not None:
            timeout = min(timeout, self.max_poll_wait)
        deadline = call.at + timeout
        waited = False
        while True:
            entry = self._next_update(time.monotonic())
            if entry is not None:
                call.immediate = not waited
                return self._hand_out(entry)
            left = deadline - time.monotonic()
            if left <= 0 or self._stopping or self._webhook is not None:
                call.immediate = not waited
                if self.empty_poll == "ok_empty":
                    return {}
                raise ZaloError(408, "Request timeout")
            waited = True
            self._cond.wait(left)

    @staticmethod
    def _timeout(raw: Any) -> float:
        """getUpdates' ``timeout`` in seconds (a string as documented; a number is accepted)."""
        if raw is None or raw == "":
            return DEFAULT_POLL_TIMEOUT
        if isinstance(raw, bool) or not isinstance(raw, (str, int, float)):
            raise _bad("The timeout must be a number of seconds")
        try:
            value = float(raw)
        except ValueError:
            raise _bad("The timeout must be a number of seconds") from None
        if not math.isfinite(value):
            raise _bad("The timeout must be a number of seconds")
        return max(value, 0.0)

    def _next_update(self, now: float) -> _Queued | None:
        """The queue entry the next poll answers: unread first, then (replay) read in turn."""
        self._expire(now)
        unread = next((e for e in self._queue if not e.reads), None)
        if unread is not None or self.delivery == "consume":
            return unread
        return min(self._queue, key=lambda e: (e.reads, e.order), default=None)

    def _expire(self, now: float) -> None:
        """Replay mode: read updates leave the queue ``replay_ttl`` s after their first read."""
        if self.delivery == "replay" and self.replay_ttl is not None:
            ttl = self.replay_ttl
            self._queue = [e for e in self._queue
                           if e.first_read_at is None or now - e.first_read_at < ttl]

    def _hand_out(self, entry: _Queued) -> JSONDict:
        """Mark an entry read (removing it in consume mode); return a copy of its update."""
        entry.reads += 1
        if entry.first_read_at is None:
            entry.first_read_at = time.monotonic()
        if self.delivery == "consume":
            self._queue.remove(entry)
        self._history[entry.message_id] = copy.deepcopy(entry.update)
        self._times_delivered[entry.message_id] = self._times_delivered.get(
            entry.message_id, 0) + 1
        return copy.deepcopy(entry.update)

    def _set_webhook(self, call: Call) -> JSONDict:
        """setWebhook: an https url and a secret_token of 8-256 characters."""
        url, secret = call.params.get("url"), call.params.get("secret_token")
        if not isinstance(url, str) or not url.strip():
            raise _bad("The url must not be empty")
        parts = urlsplit(url)
        if parts.scheme != "https" or not parts.hostname:
            raise _bad("The url must be a valid https URL")
        if not isinstance(secret, str) or not secret:
            raise _bad("The secret_token must not be empty")
        low, high = SECRET_LENGTH
        if not low <= len(secret) <= high:
            raise _bad(f"The secret_token must be between {low} and {high} characters")
        self._webhook = _Webhook(url, secret, now_ms())
        unread = [e for e in self._queue if not e.reads]
        self._queue.clear()
        for entry in unread:  # what was waiting for a poll now goes to the webhook
            self._post_later(entry.update, entry.message_id)
        self._cond.notify_all()
        return {"url": url, "updated_at": self._webhook.updated_at}

    def _delete_webhook(self, _call: Call) -> JSONDict:
        """deleteWebhook (also when none is set)."""
        self._webhook = None
        return {"url": "", "updated_at": now_ms()}

    def _get_webhook_info(self, _call: Call) -> JSONDict:
        """getWebhookInfo: 404 "Not Found" when no webhook is set."""
        if self._webhook is None:
            raise ZaloError(404, "Not Found")
        return {"url": self._webhook.url, "updated_at": self._webhook.updated_at}

    def _send_message(self, call: Call) -> JSONDict:
        """sendMessage: a contact's chat_id, text of 1-2,000 characters."""
        chat_id = self._chat_id(call.params)
        text = self._text(call.params, "text", required=True)
        return self._sent_ok(call, chat_id, text, None)

    def _send_photo(self, call: Call) -> JSONDict:
        """sendPhoto: an http(s) photo URL (no upload), caption up to 2,000 characters."""
        chat_id = self._chat_id(call.params)
        photo = call.params.get("photo")
        if isinstance(photo, UploadedFile):
            raise _bad("The photo must be an http(s) URL: uploading a file is not supported")
        if photo is None or photo == "":
            raise _bad("The photo must not be empty")
        parts = urlsplit(photo) if isinstance(photo, str) else None
        if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
            raise _bad("The photo must be a valid http(s) URL")
        caption = self._text(call.params, "caption", required=False)
        return self._sent_ok(call, chat_id, caption, photo)

    def _send_chat_action(self, call: Call) -> Any:
        """sendChatAction ``typing``: ``{"ok": true}`` with no result."""
        self._chat_id(call.params)
        action = call.params.get("action")
        if action is None or action == "":
            raise _bad("The action must not be empty")
        if action != "typing":
            raise _bad("The action must be typing")
        return _NO_RESULT

    def _chat_id(self, params: JSONDict) -> str:
        """The string chat_id of a contact who wrote to the bot."""
        chat_id = params.get("chat_id")
        if chat_id is None or chat_id == "":
            raise _bad("The chat_id must not be empty")
        if not isinstance(chat_id, str):
            raise _bad("The chat_id must be a string")
        if chat_id in self._blocked:  # undocumented: 403 in the style of the other errors
            raise ZaloError(403, BLOCKED)
        if chat_id not in self._contacts:
            raise _bad("The chat_id is invalid")
        return chat_id

    def _text(self, params: JSONDict, key: str, *, required: bool) -> str:
        """A text parameter of at most MAX_TEXT characters (non-blank when required)."""
        value = params.get(key)
        if value is None or value == "":
            if required:
                raise _bad(f"The {key} must not be empty")
            return ""
        if not isinstance(value, str):
            raise _bad(f"The {key} must be a string")
        if required and not value.strip():
            raise _bad(f"The {key} must not be empty")
        size = len(value.encode("utf-16-le")) // 2 if self.count_utf16 else len(value)
        if size > MAX_TEXT:
            raise _bad(f"The {key} must not be longer than {MAX_TEXT} characters")
        return value

    def _sent_ok(self, call: Call, chat_id: str, text: str, photo: str | None) -> JSONDict:
        """Spend the quota and record a successful send; its result."""
        if self.monthly_quota is not None and self._quota_used >= self.monthly_quota:
            raise ZaloError(429, "Quota exceeded")
        self._quota_used += 1
        result = {"message_id": new_id(), "date": now_ms()}
        self._sent.append(SentMessage(
            method=call.method, chat_id=chat_id, message_id=result["message_id"], text=text,
            date=result["date"], photo=photo, unsupported=call.unsupported,
            params=copy.deepcopy(call.params), at=call.at, seq=call.seq,
        ))
        return result

    # ------------------------------------------------------------------ webhook delivery

    def _post_later(self, update: JSONDict, message_id: str) -> None:
        """Queue a POST of ``update`` to the webhook (called under the lock)."""
        hook = self._webhook
        assert hook is not None
        if self.webhook_body == "alternate":
            shape = "wrapped" if self._webhook_posts % 2 == 0 else "flat"
        else:
            shape = self.webhook_body
        self._webhook_posts += 1
        self._history[message_id] = copy.deepcopy(update)
        self._times_delivered[message_id] = self._times_delivered.get(message_id, 0) + 1
        self._outbox.put((hook.url, hook.secret, shape, copy.deepcopy(update)))

    def _deliver_loop(self) -> None:
        """The webhook worker: one POST at a time, in order."""
        while True:
            item = self._outbox.get()
            if item is None:
                return
            url, secret, shape, update = item
            body = {"ok": True, "result": update} if shape == "wrapped" else update
            message_id = (update.get("message") or {}).get("message_id")
            self._post(url, shape, json.dumps(body, ensure_ascii=False).encode(), secret,
                       message_id)

    def post_to_webhook(self, body: JSONDict | bytes, *, secret: str | None = "",
                        url: str | None = None) -> WebhookDelivery:
        """POST a forged or hand-made body to the webhook now (waiting for the answer).

        ``secret`` defaults to the webhook's own; None leaves the header out. A dict body
        is sent as JSON as it is (wrap it yourself); bytes are sent raw.
        """
        with self._cond:
            hook = self._webhook
        if url is None:
            if hook is None:
                raise RuntimeError("no webhook is set: pass url=")
            url = hook.url
        if secret == "":
            secret = hook.secret if hook is not None else None
        if isinstance(body, bytes):
            data, shape, message_id = body, "raw", None
        else:
            data = json.dumps(body, ensure_ascii=False).encode()
            shape = "wrapped" if "result" in body else "flat"
            inner = body.get("result", body)
            message_id = (inner.get("message") or {}).get("message_id") if isinstance(
                inner, dict) else None
        return self._post(url, shape, data, secret, message_id, forged=True)

    def _post(self, url: str, shape: str, data: bytes, secret: str | None,
              message_id: str | None, *, forged: bool = False) -> WebhookDelivery:
        """POST to 127.0.0.1 only (https spoken as plain HTTP) and record the answer."""
        delivery = WebhookDelivery(url, shape, data, secret, message_id, time.monotonic(),
                                   forged=forged)
        parts = urlsplit(url)
        if parts.hostname not in ("127.0.0.1", "localhost"):
            delivery.error = "not delivered: the fake only reaches 127.0.0.1"
        else:
            port = parts.port or (443 if parts.scheme == "https" else 80)
            target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            headers = {"Content-Type": "application/json", "Host": parts.netloc}
            if secret is not None:
                headers["X-Bot-Api-Secret-Token"] = secret
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=self.webhook_timeout)
            try:
                conn.request("POST", target, body=data, headers=headers)
                answer = conn.getresponse()
                delivery.status, delivery.response = answer.status, answer.read()
            except (OSError, http.client.HTTPException) as error:
                delivery.error = f"{type(error).__name__}: {error}"
            finally:
                conn.close()
        with self._cond:
            delivery.seq = next(self._seq)
            self._deliveries.append(delivery)
            self._cond.notify_all()
        return delivery


@pytest.fixture(name="fake_zalo_bot")
def fake_zalo_bot_fixture() -> Iterator[FakeZaloBot]:
    """Fixture ``fake_zalo_bot``: a started FakeZaloBot with default options, stopped after.

    Test modules that take a ``fake_zalo_bot`` parameter should import
    ``fake_zalo_bot_fixture`` (importing ``fake_zalo_bot`` itself makes ruff report F811).
    """
    with FakeZaloBot() as fake:
        yield fake


fake_zalo_bot = fake_zalo_bot_fixture
