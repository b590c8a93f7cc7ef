"""A faithful fake of the Zalo Official Account API v3 (../shared/ZALO.md §2), for tests; offline.

One HTTP server on 127.0.0.1 (a free port, background thread) answers both of Zalo's hosts, so
``ZALO_OA_API_BASE_URL`` and ``ZALO_OAUTH_BASE_URL`` can both be ``fake.base_url``::

    with FakeZaloOA() as fake:
        fake.webhook_url = "http://127.0.0.1:8080/zalo-oa"   # set once in Zalo's console
        fake.send_text(user, "Chào")                          # POSTed, signed, to the bot
        ... the bot answers with POST {base}/v3.0/oa/message/cs (header access_token) ...
        fake.wait_for_sent(user).text

What it models, as strictly as ZALO.md describes the real server:

* ``POST /v3.0/oa/message/cs``: the token in the ``access_token`` header only (``Authorization``
  or ``?access_token=`` in the URL count as no token: -216; both are recorded, see
  ``Call.token_in_url``); a JSON body ``{"recipient": {"user_id": "<string>"}, "message": ...}``;
  ``message.text`` at most 2,000 characters (longer: -210, never cut), non-empty unless a
  file is attached; ``message.attachment`` a button template (``{"type": "template", "payload":
  {"buttons": [...]}}`` beside ``message.text``, no ``template_type``; the older style with
  ``template_type: "button"`` (text in ``message.text`` or ``payload.text``) or ``"list"``
  (``elements``) too), 1-5 buttons (6: -210), ``title`` 1-100 characters, ``type``
  ``oa.query.hide``/``oa.query.show`` (``payload`` a string of 1-1,000 characters) or
  ``oa.open.url``/``oa.open.phone``/``oa.open.sms`` (``payload`` an object); or a file
  ``{"type": "file", "payload": {"token": ...}}`` with a token from the upload (and no text);
  ``message.quote_message_id`` must name a message that user sent (else -201);
* every failure answers **HTTP 200** with ``{"error": <negative>, "message": ...}``: -216
  invalid token (and an expired one, or -220 with ``expired_error=-220``), -201 invalid
  field, -210 over a limit, -213 not a follower (someone who unfollowed; everyone not
  following with ``followers_only=True``), -230 no interaction in 7 days (or -232 with
  ``window_error=-232``), -227 banned or inactive 45 days (``ban``), -211 out of quota
  (``reply_cap``: the old 8-replies cap, off by default; -218 by ``quota_error``), -32 rate
  limit (``rate_limit`` calls per minute of the fake's clock, 4,000 by default, counted over
  the message and upload calls of the app); ``fail_next`` injects any of them;
* success: ``{"error": 0, "message": "Success", "data": {"message_id", "user_id", "sent_time":
  "<ms>", "quota": {"quota_type": "reply", "remain": "<8 - replies since the user's last
  interaction, at least 0>", "total": "8"}}}``; ``include_quota=False`` leaves ``quota`` out
  (the field is being retired since 2026-01-01);
* the reply window on the fake's own clock (``clock``, ``advance``; frozen unless
  ``ticking=True``): each user's last interaction is the time the fake delivered an event
  from them (``send_text``, ``send_image``, ``send_file``, ``follow``, ``tap``,
  ``send_event("user_send_...")``), whether or not the webhook took it; a cs message up to
  48 h after it is free, up to 7 days is accepted and charged (``SentMessage.charged``), later
  refused -230; a user who never interacted: -230;
* ``POST /v2.0/oa/upload/file``: multipart field ``file``, header ``access_token``; only
  ``.pdf``/``.doc``/``.docx`` with the matching content type (``check_upload_type=False``
  checks the extension only), 1 byte to 5 MB (over: -210; another type: -201) → ``{"data":
  {"token"}, "error": 0, "message": "Success"}``; ``file(token)`` gives back name and bytes;
* ``POST /v4/oa/access_token`` (the OAuth host): header ``secret_key: <app secret>``, a FORM
  body ``refresh_token, app_id, grant_type=refresh_token`` → ``{"access_token",
  "refresh_token", "expires_in": "<seconds as a string>"}``; a refresh token is single-use
  (the old one dies) and lives ``refresh_lifetime`` (3 months); a reused, unknown, expired or
  revoked one answers ``{"error": -118, "error_name", "error_description"}`` (HTTP 200) or
  ``{"error": "invalid_grant", "error_description"}`` (HTTP 400) by ``oauth_errors``; a wrong
  ``secret_key``/``app_id``/``grant_type`` or a non-form body answers -14003 /
  ``invalid_client`` / ``invalid_request`` in the same style; access tokens expire
  ``expires_in`` seconds after issue on the fake's clock; an earlier access token keeps
  working until then unless ``refresh_kills_old=True``; ``revoke()`` withdraws consent (every
  token dies, every refresh fails) and ``authorize()`` grants a new pair;
* webhook events as ZALO.md shows them (``app_id``, ``event_name``, ``timestamp`` a string of
  epoch ms, ``sender.id``, ``recipient.id``, ``message.msg_id``, ``user_id_by_app``; ``follow``
  /``unfollow`` with ``oa_id`` and ``follower.id``), compact JSON, POSTed with ``X-ZEvent-
  Signature: mac=<sha256(app_id + body + timestamp + OA secret key)>`` (``zevent_mac``;
  ``sign_with="oa_id"`` signs with the OA id, the minority guide); an answer other than 200
  within ``webhook_timeout`` (2 s) is a failure: the same bytes (same ``msg_id``) are re-sent
  after ``redelivery_delay`` (doubling, at most ``redelivery_delay_max``), up to
  ``max_redeliveries`` times or ``redelivery_period`` seconds of the fake's clock (12 h), then
  the webhook is disabled (``webhook_disabled``; setting ``webhook_url`` again enables it);
  other events go on meanwhile (so they can arrive out of order); every attempt is recorded
  (``deliveries``); ``post_signed``/``post_unsigned`` send hand-made bodies once;
* the OA's own sends come back as ``oa_send_text``/``oa_send_file`` events with ``sender.id``
  the OA id (``echo_sends``, on by default); receipts by ``received``/``seen``;
* only 127.0.0.1/localhost is ever contacted (https is spoken as plain HTTP); any other path or
  HTTP method answers 404; every call is recorded with its headers, query and body.

Not modelled (unknown or out of scope): ZNS and paid templates, promotion/transaction
messages, images sent by the OA (``template_type: "media"``), list elements' contents beyond
their titles, the authorization-code grant, a grace period for a used refresh token, the
expiry of upload tokens, per-user charges beyond a flag, events other than those named (any
can be sent with ``send_event``), the exact wording of Zalo's error texts (they follow
ZALO.md; the OAuth bodies are reported, not documented), which events count as interactions
beyond the ``user_send_*`` and ``follow`` ones (receipts do not), TLS, and the real 12 h
retry schedule (the backoff here is short, real time).
"""

from __future__ import annotations

import copy
import email.parser
import email.policy
import email.utils
import hashlib
import heapq
import http.client
import itertools
import json
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Literal, cast
from urllib.parse import parse_qsl, urlsplit

import pytest

from tests.localserver import LocalServer, TrackingHandler

JSONDict = dict[str, Any]

APP_ID = "430912365"
OA_ID = "579745863508352884"
APP_SECRET = "FakeZaloAppSecret-7Q2wX9"
OA_SECRET_KEY = "FakeZaloOASecretKey-3k9PzR"

MESSAGE_PATH = "/v3.0/oa/message/cs"
UPLOAD_PATH = "/v2.0/oa/upload/file"
TOKEN_PATH = "/v4/oa/access_token"

MAX_TEXT = 2000
MAX_BUTTONS = 5
MAX_TITLE = 100
MAX_PAYLOAD = 1000
MAX_UPLOAD = 5 * 1024 * 1024
FREE_WINDOW = 48 * 3600.0
CHARGED_WINDOW = 7 * 86400.0
DEFAULT_EXPIRES_IN = 90000
REFRESH_LIFETIME = 90 * 86400.0
RATE_LIMIT = 4000
QUOTA_TOTAL = 8
SIGNATURE_HEADER = "X-ZEvent-Signature"
UPLOAD_TYPES = {
    ".pdf": "application/pdf",
    ".doc": "application/msword",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}
QUERY_BUTTONS = frozenset({"oa.query.hide", "oa.query.show"})
BUTTON_TYPES = QUERY_BUTTONS | {"oa.open.url", "oa.open.phone", "oa.open.sms"}

MESSAGES = {
    -32: "The app has exceeded the rate limit",
    -201: "Parameter is invalid",
    -210: "Parameter exceeds the limit",
    -211: "Out of quota",
    -213: "User has not followed the OA",
    -216: "Access token is invalid",
    -218: "Out of quota for this user",
    -220: "Access token has expired",
    -227: "User is banned or has been inactive for more than 45 days",
    -230: "User has not interacted with the OA in the past 7 days",
    -232: "User has not interacted with the OA for more than 7 days",
}
_OAUTH_BODIES: dict[str, tuple[int | str, str, str]] = {
    # kind: (numeric code, OAuth 2 error, description)
    "grant": (-118, "invalid_grant", "Invalid refresh token: expired, revoked or already used"),
    "client": (-14003, "invalid_client", "Invalid secret key"),
    "request": (-14003, "invalid_request", "Invalid parameter"),
}


def zevent_mac(app_id: str, body: bytes, timestamp: str, secret_key: str) -> str:
    """Zalo's webhook MAC: hex SHA-256 (not HMAC) of app_id + raw body + timestamp + key."""
    return hashlib.sha256(app_id.encode() + body + timestamp.encode()
                          + secret_key.encode()).hexdigest()


def new_user_id() -> str:
    """An OA-scoped user id: a numeric string of 19 digits."""
    return str(secrets.randbelow(9 * 10**18) + 10**18)


def new_msg_id() -> str:
    """A message id: 32 lowercase hex digits."""
    return secrets.token_hex(16)


def _new_token() -> str:
    """An opaque access/refresh token (Zalo's are long url-safe strings)."""
    return secrets.token_urlsafe(96)


# --------------------------------------------------------------------------- records


class OAError(Exception):
    """An OA API failure: ``{"error": code, "message": ...}`` (always with HTTP 200)."""

    def __init__(self, code: int, message: str | None = None) -> None:
        self.code = code
        self.text = message or MESSAGES.get(code, "Unknown error")
        super().__init__(f"{code} {self.text}")

    def payload(self) -> JSONDict:
        """The JSON body."""
        return {"error": self.code, "message": self.text}


class OAuthError(Exception):
    """An OAuth failure of one ``kind`` (``grant``, ``client``, ``request``)."""

    def __init__(self, kind: str, description: str | None = None) -> None:
        self.kind = kind
        self.description = description or _OAUTH_BODIES[kind][2]
        super().__init__(self.description)


def _invalid(what: str) -> OAError:
    """-201 naming the field."""
    return OAError(-201, f"Parameter is invalid: {what}")


def _over(what: str) -> OAError:
    """-210 naming the limit."""
    return OAError(-210, f"Parameter exceeds the limit: {what}")


@dataclass(frozen=True)
class UploadedFile:
    """A file the bot uploaded: its token, name, bytes and content type."""

    token: str
    name: str
    content: bytes
    mime: str
    uploaded_at: float

    @property
    def size(self) -> int:
        """Bytes."""
        return len(self.content)


@dataclass
class Call:
    """One HTTP request to the fake.

    ``kind`` is ``message``, ``upload``, ``oauth`` or ``unknown``; ``headers`` have lower-case
    names; ``params`` the decoded body (JSON object, form fields, multipart fields; files as
    UploadedFile with an empty token); ``clock`` the fake's clock, ``at`` time.monotonic();
    ``status`` the HTTP status and ``answer`` the JSON answered.
    """

    kind: str
    http_method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    clock: float
    at: float
    seq: int
    params: Any = None
    status: int | None = None
    answer: Any = None

    @property
    def error(self) -> Any:
        """The answer's ``error`` (0 on an API success; None for an OAuth success)."""
        return self.answer.get("error") if isinstance(self.answer, dict) else None

    @property
    def ok(self) -> bool:
        """An API success (``error`` 0) or an OAuth answer carrying an access token."""
        if self.kind == "oauth":
            return isinstance(self.answer, dict) and "access_token" in self.answer
        return bool(self.error == 0)

    @property
    def access_token(self) -> str | None:
        """The ``access_token`` header sent (the only place Zalo reads it from)."""
        return self.headers.get("access_token")

    @property
    def token_in_url(self) -> bool:
        """The bot put a token in the query string (it must never)."""
        return any("token" in name.lower() for name in self.query)


@dataclass(frozen=True)
class SentMessage:
    """A cs message the fake accepted.

    ``buttons`` the template's buttons; ``file`` the uploaded file sent; ``charged`` True when
    sent 48 h-7 days after the user's last interaction; ``sent_time`` epoch ms as answered;
    ``body`` the whole request.
    """

    seq: int
    user_id: str
    message_id: str
    text: str
    buttons: tuple[JSONDict, ...]
    template_type: str | None
    file: UploadedFile | None
    quote_message_id: str | None
    charged: bool
    since_interaction: float
    sent_time: int
    clock: float
    access_token: str
    body: JSONDict


@dataclass(frozen=True)
class Refresh:
    """One successful token refresh: the refresh token spent and the pair issued."""

    old_refresh_token: str
    access_token: str
    refresh_token: str
    expires_in: int
    clock: float
    seq: int


@dataclass
class Delivery:
    """One POST of an event to the webhook (or a hand-made one: ``forged``).

    ``event_id`` is the same for every attempt of one event; ``attempt`` 1 is the first send;
    ``signature`` the header value sent (None: left out); ``status`` the bot's HTTP answer
    (None when it did not answer in time or could not be reached: ``error``); ``elapsed``
    seconds to the answer.
    """

    event_id: int
    attempt: int
    url: str
    event_name: str | None
    msg_id: str | None
    body: bytes
    signature: str | None
    at: float
    clock: float
    seq: int = 0
    status: int | None = None
    elapsed: float | None = None
    response: bytes = b""
    error: str | None = None
    forged: bool = False

    @property
    def ok(self) -> bool:
        """The bot answered 200 in time."""
        return self.status == 200 and self.error is None

    def json(self) -> Any:
        """The body as sent, decoded."""
        return json.loads(self.body)


@dataclass
class OAUser:
    """A person as the OA sees them."""

    user_id: str
    user_id_by_app: str
    follower: bool = False
    unfollowed: bool = False
    banned: bool = False
    last_interaction: float | None = None
    replies_since: int = 0
    msg_ids: set[str] = field(default_factory=set)


@dataclass
class _FailRule:
    kind: str
    error: int | str
    message: str | None
    times: int
    user_id: str | None


@dataclass(order=True)
class _Pending:
    due: float
    order: int
    event_id: int = field(compare=False)
    attempt: int = field(compare=False)
    body: bytes = field(compare=False)
    signature: str = field(compare=False)
    event: JSONDict = field(compare=False)
    first_clock: float = field(compare=False)


# --------------------------------------------------------------------------- parsing


def _parse_multipart(content_type: str, body: bytes) -> JSONDict:
    """Fields of a multipart/form-data body: strings, and UploadedFile for file parts."""
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    if not message.is_multipart():
        raise _invalid("the multipart body is malformed")
    fields: JSONDict = {}
    for part in cast(Any, message).iter_parts():
        name = part.get_param("name", header="content-disposition")
        if name is None:
            continue
        name = email.utils.collapse_rfc2231_value(name)
        content = part.get_payload(decode=True) or b""
        filename = part.get_filename()
        if filename is None:
            fields[name] = content.decode("utf-8", "replace")
        else:
            fields[name] = UploadedFile("", filename, content, part.get_content_type(), 0.0)
    return fields


def _media_type(headers: dict[str, str]) -> str:
    """The request's media type, lower case, without parameters."""
    return headers.get("content-type", "").split(";")[0].strip().lower()


# --------------------------------------------------------------------------- the server


class _Handler(TrackingHandler):
    def _answer(self) -> None:
        """Answer one request through the fake."""
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {name.lower(): value for name, value in self.headers.items()}
        fake = cast(LocalServer, self.server).fake
        status, payload = fake.handle_http(self.command, self.path, headers, body)
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
            self.wfile.flush()
        except OSError:  # the client went away (e.g. the bot process was killed)
            self.close_connection = True

    do_POST = do_GET = do_PUT = do_DELETE = do_PATCH = _answer

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet."""


class FakeZaloOA:
    """The fake Zalo OA servers (API, OAuth, webhook sender). Public methods are thread-safe.

    Options (attributes of the same names may be changed while it runs):

    * ``app_id``, ``oa_id``, ``app_secret`` (the ``secret_key`` header of OAuth),
      ``oa_secret_key`` (signs webhooks);
    * ``expires_in``: seconds an access token lives (90,000; "3600" is also reported);
      ``refresh_lifetime``: seconds a refresh token lives (90 days);
    * ``expired_error``: -216 (default, what an expired token gives in practice) or -220;
    * ``window_error``: -230 (default) or -232 for "no interaction in 7 days";
    * ``oauth_errors``: ``"numeric"`` (default: ``{"error": -118, "error_name",
      "error_description"}``, HTTP 200) or ``"oauth2"`` (``{"error": "invalid_grant",
      "error_description"}``, HTTP 400); ``oauth_error_status`` overrides the HTTP status;
    * ``refresh_kills_old``: a refresh kills the access tokens issued before (default False:
      they work until they expire);
    * ``include_quota``: put ``data.quota`` in a send's answer (default True);
    * ``reply_cap``: refuse (``quota_error``, -211 or -218) a user's reply beyond this many since
      their last interaction (the old 8-per-48 h rule; None, default: no cap);
    * ``followers_only``: only followers may be messaged (-213); default False (anyone who wrote);
    * ``rate_limit``: calls a minute (of the fake's clock) per app (4,000);
    * ``check_upload_type``: the upload's content type must match its extension (default True);
    * ``count_utf16``: count text length in UTF-16 units instead of characters;
    * ``echo_sends``: deliver ``oa_send_*`` events for the OA's own sends (default True);
    * ``sign_with``: ``"app_id"`` (default, the majority) or ``"oa_id"``;
    * ``webhook_url``; ``webhook_timeout`` (2 s); ``max_redeliveries`` (5; None: unlimited);
      ``redelivery_period`` (12 h of the fake's clock); ``redelivery_delay`` /
      ``redelivery_delay_max`` (real seconds, doubling);
    * ``start_clock`` (epoch seconds; default now) and ``ticking`` (the clock also follows real
      time; default False: it moves only by ``advance``).
    """

    def __init__(self, *, app_id: str = APP_ID, oa_id: str = OA_ID,
                 app_secret: str = APP_SECRET, oa_secret_key: str = OA_SECRET_KEY,
                 expires_in: int = DEFAULT_EXPIRES_IN,
                 refresh_lifetime: float = REFRESH_LIFETIME,
                 expired_error: Literal[-216, -220] = -216,
                 window_error: Literal[-230, -232] = -230,
                 oauth_errors: Literal["numeric", "oauth2"] = "numeric",
                 oauth_error_status: int | None = None,
                 refresh_kills_old: bool = False,
                 include_quota: bool = True,
                 reply_cap: int | None = None,
                 quota_error: Literal[-211, -218] = -211,
                 followers_only: bool = False,
                 rate_limit: int = RATE_LIMIT,
                 check_upload_type: bool = True,
                 count_utf16: bool = False,
                 echo_sends: bool = True,
                 sign_with: Literal["app_id", "oa_id"] = "app_id",
                 webhook_url: str | None = None,
                 webhook_timeout: float = 2.0,
                 max_redeliveries: int | None = 5,
                 redelivery_period: float = 12 * 3600.0,
                 redelivery_delay: float = 0.05,
                 redelivery_delay_max: float = 1.0,
                 start_clock: float | None = None,
                 ticking: bool = False) -> None:
        if expired_error not in (-216, -220):
            raise ValueError(f"expired_error must be -216 or -220, not {expired_error!r}")
        if window_error not in (-230, -232):
            raise ValueError(f"window_error must be -230 or -232, not {window_error!r}")
        if oauth_errors not in ("numeric", "oauth2"):
            raise ValueError(f"oauth_errors must be numeric or oauth2, not {oauth_errors!r}")
        if sign_with not in ("app_id", "oa_id"):
            raise ValueError(f"sign_with must be app_id or oa_id, not {sign_with!r}")
        self.app_id, self.oa_id = app_id, oa_id
        self.app_secret, self.oa_secret_key = app_secret, oa_secret_key
        self.expires_in = expires_in
        self.refresh_lifetime = refresh_lifetime
        self.expired_error = expired_error
        self.window_error = window_error
        self.oauth_errors = oauth_errors
        self.oauth_error_status = oauth_error_status
        self.refresh_kills_old = refresh_kills_old
        self.include_quota = include_quota
        self.reply_cap = reply_cap
        self.quota_error = quota_error
        self.followers_only = followers_only
        self.rate_limit = rate_limit
        self.check_upload_type = check_upload_type
        self.count_utf16 = count_utf16
        self.echo_sends = echo_sends
        self.sign_with = sign_with
        self.webhook_timeout = webhook_timeout
        self.max_redeliveries = max_redeliveries
        self.redelivery_period = redelivery_period
        self.redelivery_delay = redelivery_delay
        self.redelivery_delay_max = redelivery_delay_max
        self.ticking = ticking
        self._cond = threading.Condition()
        self._clock_value = time.time() if start_clock is None else float(start_clock)
        self._clock_stamp = time.monotonic()
        self._server: LocalServer | None = None
        self._thread: threading.Thread | None = None
        self._worker: threading.Thread | None = None
        self._stopping = False
        self._seq = itertools.count(1)
        self._order = itertools.count(1)
        self._event_ids = itertools.count(1)
        self._calls: list[Call] = []
        self._sent: list[SentMessage] = []
        self._refreshes: list[Refresh] = []
        self._deliveries: list[Delivery] = []
        self._events: list[JSONDict] = []
        self._undelivered: list[JSONDict] = []
        self._pending: list[_Pending] = []
        self._inflight = False
        self._users: dict[str, OAUser] = {}
        self._files: dict[str, UploadedFile] = {}
        self._access: dict[str, float] = {}  # live access token -> expiry (fake clock)
        self._refresh: dict[str, float] = {}  # live refresh token -> expiry
        self._spent_refresh: set[str] = set()
        self._revoked = False
        self._fail_rules: list[_FailRule] = []
        self._rate_minute = -1
        self._rate_count = 0
        self._webhook_url = webhook_url
        self._webhook_disabled = False
        self.access_token, self.refresh_token = self._issue()

    # ------------------------------------------------------------------ lifecycle

    def start(self, port: int = 0) -> FakeZaloOA:
        """Listen on 127.0.0.1 (a free port by default); serve and deliver from threads."""
        self._stopping = False
        self._server = LocalServer(self, _Handler, port)
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05}, name="FakeZaloOA",
                                        daemon=True)
        self._thread.start()
        self._worker = threading.Thread(target=self._deliver_loop, name="FakeZaloOA-webhook",
                                        daemon=True)
        self._worker.start()
        return self

    def stop(self) -> None:
        """Stop delivering and serving; close open connections; join the threads."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        server, self._server = self._server, None
        if server is not None:
            server.close()
        for thread in (self._thread, self._worker):
            if thread is not None:
                thread.join(timeout=5)
        self._thread = self._worker = None

    def __enter__(self) -> FakeZaloOA:
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
            raise RuntimeError("FakeZaloOA is not started")
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``: both the API base and the OAuth base."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def message_url(self) -> str:
        """The cs message endpoint."""
        return self.base_url + MESSAGE_PATH

    @property
    def upload_url(self) -> str:
        """The file upload endpoint."""
        return self.base_url + UPLOAD_PATH

    @property
    def token_url(self) -> str:
        """The OAuth refresh endpoint."""
        return self.base_url + TOKEN_PATH

    # ------------------------------------------------------------------ the clock

    def _now(self) -> float:
        """The fake's clock (epoch seconds); call under the lock."""
        if self.ticking:
            return self._clock_value + time.monotonic() - self._clock_stamp
        return self._clock_value

    @property
    def clock(self) -> float:
        """The fake's clock, epoch seconds (moved by ``advance``; frozen unless ticking)."""
        with self._cond:
            return self._now()

    @clock.setter
    def clock(self, value: float) -> None:
        with self._cond:
            self._clock_value, self._clock_stamp = float(value), time.monotonic()
            self._cond.notify_all()

    def advance(self, seconds: float) -> float:
        """Move the clock forward (no sleeping); return the new time."""
        with self._cond:
            self._clock_value, self._clock_stamp = self._now() + seconds, time.monotonic()
            self._cond.notify_all()
            return self._clock_value

    def _ms(self) -> int:
        """The clock in epoch ms."""
        return int(self._now() * 1000)

    # ------------------------------------------------------------------ tokens

    def _issue(self) -> tuple[str, str]:
        """A new access/refresh pair, live from now (call under the lock or in __init__)."""
        access, refresh = _new_token(), _new_token()
        now = self._now()
        self._access[access] = now + self.expires_in
        self._refresh[refresh] = now + self.refresh_lifetime
        return access, refresh

    def revoke(self) -> None:
        """The agency withdraws consent: every token dies, every refresh fails."""
        with self._cond:
            self._revoked = True
            self._access.clear()
            self._spent_refresh.update(self._refresh)
            self._refresh.clear()

    def authorize(self) -> tuple[str, str]:
        """The agency (re-)authorizes the app: a new pair, now current; return it."""
        with self._cond:
            self._revoked = False
            self.access_token, self.refresh_token = self._issue()
            return self.access_token, self.refresh_token

    def token_expires_at(self, token: str | None = None) -> float | None:
        """When an access token (the current one by default) expires; None if dead."""
        with self._cond:
            return self._access.get(token or self.access_token)

    @property
    def refreshes(self) -> list[Refresh]:
        """Successful refreshes, in order."""
        with self._cond:
            return list(self._refreshes)

    # ------------------------------------------------------------------ users and events

    def user(self, user_id: str) -> OAUser:
        """The record of a user (created, never having interacted, when unknown)."""
        if not isinstance(user_id, str) or not user_id.isdigit():
            raise ValueError(f"OA user ids are numeric strings, not {user_id!r}")
        with self._cond:
            return self._user(user_id)

    def _user(self, user_id: str) -> OAUser:
        known = self._users.get(user_id)
        if known is None:
            known = self._users[user_id] = OAUser(user_id, new_user_id())
        return known

    new_user_id = staticmethod(new_user_id)

    def add_follower(self, user_id: str | None = None, *,
                     last_interaction: float | None = None) -> str:
        """A person who followed before the test (no event); return their id."""
        user_id = user_id or new_user_id()
        with self._cond:
            person = self.user(user_id)
            person.follower, person.unfollowed = True, False
            person.last_interaction = last_interaction
        return user_id

    def ban(self, user_id: str) -> None:
        """The user is banned or inactive for 45 days: every send answers -227."""
        with self._cond:
            self.user(user_id).banned = True

    def _base_event(self, event_name: str, sender: str, recipient: str,
                    user_id: str) -> JSONDict:
        """The common fields, in Zalo's order."""
        return {
            "app_id": self.app_id, "user_id_by_app": self._user(user_id).user_id_by_app,
            "event_name": event_name, "timestamp": str(self._ms()),
            "sender": {"id": sender}, "recipient": {"id": recipient},
        }

    def send_event(self, user_id: str, event_name: str, message: JSONDict | None = None,
                   **extra: Any) -> str | None:
        """An event from ``user_id`` (``user_send_*`` counts as an interaction); its msg_id.

        ``message`` gets a fresh ``msg_id`` unless it has one (pass one to repeat it).
        """
        with self._cond:
            person = self.user(user_id)
            event = self._base_event(event_name, user_id, self.oa_id, user_id)
            msg_id = None
            if message is not None:
                message = dict(message)
                msg_id = message.setdefault("msg_id", new_msg_id())
                event["message"] = message
            event.update(extra)
            if event_name.startswith("user_send_"):
                person.last_interaction, person.replies_since = self._now(), 0
                if msg_id:
                    person.msg_ids.add(msg_id)
            self._emit(event)
            return msg_id

    def send_text(self, user_id: str, text: str, *, msg_id: str | None = None) -> str:
        """The user writes ``text`` (``user_send_text``); return its msg_id."""
        message: JSONDict = {"text": text}
        if msg_id:
            message["msg_id"] = msg_id
        return cast(str, self.send_event(user_id, "user_send_text", message))

    def send_image(self, user_id: str, url: str, text: str | None = None, *,
                   thumbnail: str | None = None) -> str:
        """The user sends a picture (``user_send_image``); return its msg_id."""
        message: JSONDict = {"attachments": [{"type": "image", "payload": {
            "thumbnail": thumbnail or url, "url": url}}]}
        if text is not None:
            message["text"] = text
        return cast(str, self.send_event(user_id, "user_send_image", message))

    def send_file(self, user_id: str, url: str, name: str, size: int | str,
                  type: str = "pdf") -> str:
        """The user sends a file (``user_send_file``; ``size`` as a string); its msg_id."""
        payload = {"url": url, "name": name, "size": str(size), "type": type,
                   "checksum": hashlib.md5(url.encode()).hexdigest()}
        return cast(str, self.send_event(user_id, "user_send_file",
                                         {"attachments": [{"type": "file",
                                                           "payload": payload}]}))

    def tap(self, user_id: str, payload: str, *, check: bool = True) -> str:
        """The user taps a query button: an ordinary ``user_send_text`` of its payload.

        With ``check``, the payload must be on a query button sent to that user.
        """
        if check:
            with self._cond:
                offered = {b.get("payload") for m in self._sent if m.user_id == user_id
                           for b in m.buttons if b.get("type") in QUERY_BUTTONS}
            if payload not in offered:
                raise ValueError(f"no query button with payload {payload!r} was sent to "
                                 f"{user_id}")
        return self.send_text(user_id, payload)

    def follow(self, user_id: str | None = None) -> str:
        """The user follows the OA (an interaction); return their id."""
        user_id = user_id or new_user_id()
        with self._cond:
            person = self.user(user_id)
            person.follower, person.unfollowed = True, False
            person.last_interaction, person.replies_since = self._now(), 0
            self._emit(self._follow_event("follow", person))
        return user_id

    def unfollow(self, user_id: str) -> None:
        """The user unfollows: sends to them answer -213."""
        with self._cond:
            person = self.user(user_id)
            person.follower, person.unfollowed = False, True
            self._emit(self._follow_event("unfollow", person))

    def _follow_event(self, event_name: str, person: OAUser) -> JSONDict:
        return {"oa_id": self.oa_id, "follower": {"id": person.user_id},
                "user_id_by_app": person.user_id_by_app, "event_name": event_name,
                "source": "oa_profile", "app_id": self.app_id, "timestamp": str(self._ms())}

    def received(self, user_id: str, msg_ids: list[str]) -> None:
        """A receipt: the user's phone got these OA messages (``user_received_message``)."""
        self.send_event(user_id, "user_received_message", {"msg_ids": list(msg_ids)})

    def seen(self, user_id: str, msg_ids: list[str]) -> None:
        """A receipt: the user saw these OA messages (``user_seen_message``)."""
        self.send_event(user_id, "user_seen_message", {"msg_ids": list(msg_ids)})

    def echo(self, user_id: str, text: str, msg_id: str | None = None) -> str:
        """The OA's own send coming back (``oa_send_text``, sender the OA); its msg_id."""
        with self._cond:
            msg_id = msg_id or new_msg_id()
            event = self._base_event("oa_send_text", self.oa_id, user_id, user_id)
            event["message"] = {"text": text, "msg_id": msg_id}
            self._emit(event)
            return msg_id

    def _emit(self, event: JSONDict) -> None:
        """Record an event and queue its delivery (call under the lock)."""
        self._events.append(copy.deepcopy(event))
        if self._webhook_url is None or self._webhook_disabled:
            self._undelivered.append(copy.deepcopy(event))
            return
        body = json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode()
        self._schedule(_Pending(time.monotonic(), next(self._order), next(self._event_ids), 1,
                                body, self.sign(body), event, self._now()))

    # ------------------------------------------------------------------ webhook

    @property
    def webhook_url(self) -> str | None:
        """Where events go (set once in Zalo's console); setting it enables the webhook."""
        with self._cond:
            return self._webhook_url

    @webhook_url.setter
    def webhook_url(self, url: str | None) -> None:
        if url is not None and urlsplit(url).scheme not in ("http", "https"):
            raise ValueError(f"the webhook URL must be http(s): {url!r}")
        with self._cond:
            self._webhook_url, self._webhook_disabled = url, False

    @property
    def webhook_disabled(self) -> bool:
        """Zalo gave up on the webhook after failed redeliveries."""
        with self._cond:
            return self._webhook_disabled

    def sign(self, body: bytes, *, app_id: str | None = None, timestamp: str | None = None,
             key: str | None = None) -> str:
        """The ``X-ZEvent-Signature`` value for ``body`` (ids and timestamp from it by default)."""
        try:
            event = json.loads(body)
        except ValueError:
            event = {}
        if not isinstance(event, dict):
            event = {}
        if app_id is None:
            app_id = self.oa_id if self.sign_with == "oa_id" else str(event.get("app_id", ""))
        if timestamp is None:
            timestamp = str(event.get("timestamp", ""))
        return "mac=" + zevent_mac(app_id, body, timestamp, key or self.oa_secret_key)

    def _schedule(self, item: _Pending) -> None:
        heapq.heappush(self._pending, item)
        self._cond.notify_all()

    def _deliver_loop(self) -> None:
        """The webhook worker: attempts in order of due time, retries rescheduled."""
        while True:
            with self._cond:
                item = self._next_due()
                if item is None:
                    return
                url, self._inflight = self._webhook_url, True
            delivery = self._post(url or "", item.body, item.signature, item)
            with self._cond:
                self._after_attempt(item, delivery)
                self._inflight = False
                self._cond.notify_all()

    def _next_due(self) -> _Pending | None:
        """Wait for the next attempt that is due (under the lock); None when stopping."""
        while not self._stopping:
            if self._pending and (self._webhook_disabled or self._webhook_url is None):
                self._undelivered.extend(p.event for p in self._pending if p.attempt == 1)
                self._pending.clear()
            if self._pending:
                wait = self._pending[0].due - time.monotonic()
                if wait <= 0:
                    return heapq.heappop(self._pending)
                self._cond.wait(wait)
            else:
                self._cond.wait()
        return None

    def _after_attempt(self, item: _Pending, delivery: Delivery) -> None:
        """Reschedule a failed attempt, or disable the webhook when out of retries."""
        if delivery.ok:
            return
        redeliveries = item.attempt - 1
        out_of_count = self.max_redeliveries is not None and redeliveries >= self.max_redeliveries
        out_of_time = self._now() - item.first_clock >= self.redelivery_period
        if out_of_count or out_of_time:
            self._webhook_disabled = True
            self._cond.notify_all()
            return
        delay = min(self.redelivery_delay * 2 ** redeliveries, self.redelivery_delay_max)
        self._schedule(_Pending(time.monotonic() + delay, next(self._order), item.event_id,
                                item.attempt + 1, item.body, item.signature, item.event,
                                item.first_clock))

    def post_signed(self, body: JSONDict | bytes, *, signature: str | None = None,
                    key: str | None = None, app_id: str | None = None,
                    url: str | None = None) -> Delivery:
        """POST a hand-made event once, signed (``signature`` overrides the header value)."""
        data = self._bytes(body)
        header = signature if signature is not None else self.sign(data, key=key, app_id=app_id)
        return self._post_once(data, header, url)

    def post_unsigned(self, body: JSONDict | bytes, *, url: str | None = None) -> Delivery:
        """POST a hand-made event once with no signature header."""
        return self._post_once(self._bytes(body), None, url)

    @staticmethod
    def _bytes(body: JSONDict | bytes) -> bytes:
        if isinstance(body, bytes):
            return body
        return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()

    def _post_once(self, data: bytes, signature: str | None, url: str | None) -> Delivery:
        with self._cond:
            target = url or self._webhook_url
            clock = self._now()
        if target is None:
            raise RuntimeError("no webhook_url is set: pass url=")
        item = _Pending(time.monotonic(), 0, 0, 1, data, signature or "", {}, clock)
        return self._post(target, data, signature, item, forged=True)

    def _post(self, url: str, data: bytes, signature: str | None, item: _Pending, *,
              forged: bool = False) -> Delivery:
        """POST to 127.0.0.1 only (https as plain HTTP); record the answer."""
        try:
            event = json.loads(data)
        except ValueError:
            event = None
        event = event if isinstance(event, dict) else {}
        inner = event.get("message")
        message: JSONDict = inner if isinstance(inner, dict) else {}
        with self._cond:
            clock = self._now()
        delivery = Delivery(item.event_id, item.attempt, url, event.get("event_name"),
                            message.get("msg_id"), data, signature, time.monotonic(), clock,
                            forged=forged)
        parts = urlsplit(url)
        if parts.hostname not in ("127.0.0.1", "localhost"):
            delivery.error = "not delivered: the fake only reaches 127.0.0.1"
        else:
            self._request(parts, data, signature, delivery)
        with self._cond:
            delivery.seq = next(self._seq)
            self._deliveries.append(delivery)
            self._cond.notify_all()
        return delivery

    def _request(self, parts: Any, data: bytes, signature: str | None,
                 delivery: Delivery) -> None:
        """One HTTP POST within ``webhook_timeout``; fill in the delivery."""
        port = parts.port or (443 if parts.scheme == "https" else 80)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        headers = {"Content-Type": "application/json", "Host": parts.netloc}
        if signature is not None:
            headers[SIGNATURE_HEADER] = signature
        timeout = self.webhook_timeout
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        try:
            conn.request("POST", target, body=data, headers=headers)
            answer = conn.getresponse()
            delivery.status, delivery.response = answer.status, answer.read()
        except TimeoutError:
            delivery.error = f"no answer within {timeout}s"
        except (OSError, http.client.HTTPException) as error:
            delivery.error = f"{type(error).__name__}: {error}"
        finally:
            conn.close()
        delivery.elapsed = time.monotonic() - delivery.at
        if delivery.error is None and delivery.elapsed > timeout:
            delivery.error = f"answered after {delivery.elapsed:.2f}s (limit {timeout}s)"

    # ------------------------------------------------------------------ inspection

    def calls(self, kind: str | None = None) -> list[Call]:
        """Recorded requests in order (``message``, ``upload``, ``oauth``, ``unknown``)."""
        with self._cond:
            return [c for c in self._calls if kind is None or c.kind == kind]

    def sent_messages(self, user_id: str | None = None) -> list[SentMessage]:
        """Accepted cs messages in order, optionally to one user."""
        with self._cond:
            return [m for m in self._sent if user_id is None or m.user_id == user_id]

    def file(self, token: str) -> UploadedFile:
        """An uploaded file by its token (KeyError if none)."""
        with self._cond:
            return self._files[token]

    def files(self) -> list[UploadedFile]:
        """Every uploaded file, in order."""
        with self._cond:
            return list(self._files.values())

    def deliveries(self, event_id: int | None = None) -> list[Delivery]:
        """Webhook POSTs made (every attempt), in order."""
        with self._cond:
            return [d for d in self._deliveries if event_id is None or d.event_id == event_id]

    def events(self) -> list[JSONDict]:
        """Every event the fake produced, in order (delivered or not)."""
        with self._cond:
            return copy.deepcopy(self._events)

    def undelivered(self) -> list[JSONDict]:
        """Events never sent: no webhook set, or the webhook disabled."""
        with self._cond:
            return copy.deepcopy(self._undelivered)

    def idle(self) -> bool:
        """No delivery attempt is waiting or under way."""
        with self._cond:
            return not self._pending and not self._inflight

    def mark(self) -> int:
        """The seq of the last record, for ``wait_for_*(since=mark)``."""
        with self._cond:
            seqs = [r.seq for r in self._calls] + [r.seq for r in self._sent] + [
                r.seq for r in self._deliveries] + [r.seq for r in self._refreshes]
            return max(seqs, default=0)

    def clear(self) -> None:
        """Forget recorded calls, sent messages, refreshes and deliveries (state stays)."""
        with self._cond:
            self._calls.clear()
            self._sent.clear()
            self._refreshes.clear()
            self._deliveries.clear()

    def _wait(self, find: Callable[[], Any], timeout: float, what: str) -> Any:
        """Block until ``find()`` is not None; AssertionError after ``timeout``."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = find()
                if found is not None:
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no {what} within {timeout}s; last calls:\n"
                                         f"{self._describe()}")
                self._cond.wait(left)

    def wait_for(self, predicate: Callable[[Call], bool] | None = None, timeout: float = 10.0,
                 *, kind: str | None = None, since: int = 0) -> Call:
        """Block until an answered call (after seq ``since``) matches; return it."""
        return cast(Call, self._wait(lambda: next((
            c for c in self._calls if c.seq > since and c.status is not None
            and (kind is None or c.kind == kind) and (predicate is None or predicate(c))
        ), None), timeout, "matching call"))

    def wait_for_sent(self, user_id: str | None = None,
                      predicate: Callable[[SentMessage], bool] | None = None,
                      timeout: float = 10.0, *, since: int = 0) -> SentMessage:
        """Block until the OA accepted a matching cs message (after seq ``since``)."""
        return cast(SentMessage, self._wait(lambda: next((
            m for m in self._sent if m.seq > since
            and (user_id is None or m.user_id == user_id) and (predicate is None or predicate(m))
        ), None), timeout, f"message sent to {user_id}"))

    def wait_for_delivery(self, predicate: Callable[[Delivery], bool] | None = None,
                          timeout: float = 10.0, *, since: int = 0) -> Delivery:
        """Block until a webhook POST (after seq ``since``) is done and matches."""
        return cast(Delivery, self._wait(lambda: next((
            d for d in self._deliveries
            if d.seq > since and (predicate is None or predicate(d))
        ), None), timeout, "webhook delivery"))

    def wait_for_refresh(self, timeout: float = 10.0, *, since: int = 0) -> Refresh:
        """Block until a token refresh succeeded (after seq ``since``)."""
        return cast(Refresh, self._wait(lambda: next((
            r for r in self._refreshes if r.seq > since), None), timeout, "token refresh"))

    def wait_for_disabled(self, timeout: float = 10.0) -> None:
        """Block until the webhook is disabled."""
        self._wait(lambda: True if self._webhook_disabled else None, timeout,
                   "disabled webhook")

    def wait_idle(self, timeout: float = 10.0) -> None:
        """Block until no delivery attempt is waiting or under way."""
        self._wait(lambda: True if not (self._pending or self._inflight) else None, timeout,
                   "idle webhook")

    def _describe(self, last: int = 15) -> str:
        lines = [f"  #{c.seq} {c.http_method} {c.path} -> {c.status} {c.answer!r:.120}"
                 for c in self._calls[-last:]]
        return "\n".join(lines) or "  (none)"

    # ------------------------------------------------------------------ fault injection

    def fail_next(self, kind: str, error: int | str, message: str | None = None,
                  times: int = 1, user_id: str | None = None) -> None:
        """Answer the next ``times`` calls of ``kind`` (to ``user_id``, if given) with an error.

        ``kind`` is ``message``, ``upload`` or ``oauth``; for ``oauth`` the error is a kind
        of OAuth failure (``grant``, ``client``, ``request``) or a raw ``error`` value.
        """
        if kind not in ("message", "upload", "oauth"):
            raise ValueError(f"kind must be message, upload or oauth, not {kind!r}")
        with self._cond:
            self._fail_rules.append(_FailRule(kind, error, message, times, user_id))

    def _injected(self, kind: str, user_id: str | None = None) -> _FailRule | None:
        for rule in self._fail_rules:
            if rule.kind == kind and rule.user_id in (None, user_id):
                rule.times -= 1
                if rule.times <= 0:
                    self._fail_rules.remove(rule)
                return rule
        return None

    # ------------------------------------------------------------------ HTTP entry point

    def handle_http(self, http_method: str, path: str, headers: dict[str, str],
                    body: bytes) -> tuple[int, bytes]:
        """Answer one request: HTTP status and JSON body (recorded atomically)."""
        url = urlsplit(path)
        query = dict(parse_qsl(url.query, keep_blank_values=True))
        routes: dict[str, tuple[str, Callable[[Call], tuple[int, JSONDict]]]] = {
            MESSAGE_PATH: ("message", self._api(self._send_cs)),
            UPLOAD_PATH: ("upload", self._api(self._upload)),
            TOKEN_PATH: ("oauth", self._oauth),
        }
        kind, handler = routes.get(url.path, ("unknown", self._not_found))
        if http_method != "POST":
            kind, handler = "unknown", self._not_found
        with self._cond:
            call = Call(kind, http_method, url.path, query, dict(headers), body, self._now(),
                        time.monotonic(), next(self._seq))
            self._calls.append(call)
            try:
                status, answer = handler(call)
            except Exception as error:  # a bug of the fake: say so loudly
                status, answer = 500, {"error": -1, "message": f"fake bug: {error!r}"}
            call.status, call.answer = status, copy.deepcopy(answer)
            self._cond.notify_all()
        return status, json.dumps(answer, ensure_ascii=False).encode()

    @staticmethod
    def _not_found(_call: Call) -> tuple[int, JSONDict]:
        return 404, {"error": 404, "message": "Not Found"}

    def _api(self, method: Callable[[Call], JSONDict]) -> Callable[[Call], tuple[int, JSONDict]]:
        """Token, rate limit, then the method; every failure is HTTP 200 with a code."""
        def handle(call: Call) -> tuple[int, JSONDict]:
            try:
                self._check_token(call.headers.get("access_token"))
                self._count_rate()
                return 200, {"error": 0, "message": "Success", "data": method(call)}
            except OAError as error:
                return 200, error.payload()
        return handle

    def _check_token(self, token: str | None) -> None:
        """A live access token in the ``access_token`` header, else -216 (or -220 expired)."""
        if not token or token not in self._access:
            raise OAError(-216)
        if self._now() >= self._access[token]:
            raise OAError(self.expired_error)

    def _count_rate(self) -> None:
        """The app's calls in this minute of the clock; -32 beyond ``rate_limit``."""
        minute = int(self._now() // 60)
        if minute != self._rate_minute:
            self._rate_minute, self._rate_count = minute, 0
        self._rate_count += 1
        if self._rate_count > self.rate_limit:
            raise OAError(-32)

    # ------------------------------------------------------------------ /message/cs

    def _send_cs(self, call: Call) -> JSONDict:
        """Validate a cs message, apply the reply window, record it."""
        request = self._json_body(call)
        call.params = request
        recipient = request.get("recipient")
        user_id = recipient.get("user_id") if isinstance(recipient, dict) else None
        if not isinstance(user_id, str) or not user_id.isdigit():
            raise _invalid("recipient.user_id")
        if rule := self._injected("message", user_id):
            raise OAError(int(rule.error), rule.message)
        message = request.get("message")
        if not isinstance(message, dict):
            raise _invalid("message")
        text, buttons, template_type, upload = self._content(message)
        person = self._user(user_id)
        quote = message.get("quote_message_id")
        if quote is not None and (not isinstance(quote, str) or quote not in person.msg_ids):
            raise _invalid("message.quote_message_id")
        since = self._reachable(person)
        if self.reply_cap is not None and person.replies_since >= self.reply_cap:
            raise OAError(self.quota_error)
        person.replies_since += 1
        sent = SentMessage(
            next(self._seq), user_id, new_msg_id(), text, buttons, template_type, upload, quote,
            since > FREE_WINDOW, since, self._ms(), self._now(), call.access_token or "",
            copy.deepcopy(request))
        self._sent.append(sent)
        if self.echo_sends:
            self._echo(sent)
        data: JSONDict = {"message_id": sent.message_id, "user_id": user_id,
                          "sent_time": str(sent.sent_time)}
        if self.include_quota:
            data["quota"] = {"quota_type": "reply",
                             "remain": str(max(QUOTA_TOTAL - person.replies_since, 0)),
                             "total": str(QUOTA_TOTAL)}
        return data

    @staticmethod
    def _json_body(call: Call) -> JSONDict:
        if _media_type(call.headers) != "application/json":
            raise _invalid("the body must be JSON (Content-Type: application/json)")
        try:
            loaded = json.loads(call.body)
        except ValueError:
            raise _invalid("the body is not valid JSON") from None
        if not isinstance(loaded, dict):
            raise _invalid("the body must be a JSON object")
        return loaded

    def _reachable(self, person: OAUser) -> float:
        """Seconds since the user's last interaction, or the error that refuses them."""
        if person.banned:
            raise OAError(-227)
        if person.unfollowed or (self.followers_only and not person.follower):
            raise OAError(-213)
        if person.last_interaction is None:
            raise OAError(self.window_error)
        since = self._now() - person.last_interaction
        if since > CHARGED_WINDOW:
            raise OAError(self.window_error)
        return since

    def _length(self, text: str) -> int:
        return len(text.encode("utf-16-le")) // 2 if self.count_utf16 else len(text)

    def _content(self, message: JSONDict) -> tuple[
            str, tuple[JSONDict, ...], str | None, UploadedFile | None]:
        """Text, buttons, template_type and file of a message, or -201/-210."""
        text = message.get("text")
        if text is not None and not isinstance(text, str):
            raise _invalid("message.text")
        text = text or ""
        if self._length(text) > MAX_TEXT:
            raise _over(f"message.text is longer than {MAX_TEXT} characters")
        attachment = message.get("attachment")
        if attachment is None:
            if not text.strip():
                raise _invalid("message.text is empty")
            return text, (), None, None
        if not isinstance(attachment, dict) or not isinstance(attachment.get("payload"), dict):
            raise _invalid("message.attachment")
        payload = attachment["payload"]
        if attachment.get("type") == "file":
            token = payload.get("token")
            if not isinstance(token, str) or token not in self._files:
                raise _invalid("message.attachment.payload.token")
            if text:  # assumption: a file message carries no text
                raise _invalid("message.text must be absent with a file attachment")
            return "", (), None, self._files[token]
        if attachment.get("type") != "template":
            raise _invalid("message.attachment.type")
        return self._template(text, payload)

    def _template(self, text: str, payload: JSONDict) -> tuple[
            str, tuple[JSONDict, ...], str | None, None]:
        """A button template (new style, or ``template_type`` button/list)."""
        template_type = payload.get("template_type")
        if template_type not in (None, "button", "list"):
            raise _invalid("message.attachment.payload.template_type")
        if template_type == "button" and not text:
            inline = payload.get("text")
            text = inline if isinstance(inline, str) else ""
            if self._length(text) > MAX_TEXT:
                raise _over(f"payload.text is longer than {MAX_TEXT} characters")
        raw = payload.get("buttons")
        if template_type == "list":
            self._elements(payload.get("elements"))
            raw = [] if raw is None else raw
        elif not text.strip():
            raise _invalid("message.text is empty")
        if not isinstance(raw, list) or (template_type != "list" and not raw):
            raise _invalid("message.attachment.payload.buttons")
        if len(raw) > MAX_BUTTONS:
            raise _over(f"at most {MAX_BUTTONS} buttons")
        return text, tuple(self._button(b, i) for i, b in enumerate(raw)), template_type, None

    def _elements(self, elements: Any) -> None:
        if not isinstance(elements, list) or not elements:
            raise _invalid("message.attachment.payload.elements")
        if len(elements) > MAX_BUTTONS:
            raise _over(f"at most {MAX_BUTTONS} elements")
        for element in elements:
            title = element.get("title") if isinstance(element, dict) else None
            if not isinstance(title, str) or not title.strip():
                raise _invalid("elements[].title")
            if self._length(title) > MAX_TITLE:
                raise _over(f"elements[].title is longer than {MAX_TITLE} characters")

    def _button(self, button: Any, index: int) -> JSONDict:
        """One button, validated; a copy of it."""
        where = f"buttons[{index}]"
        if not isinstance(button, dict):
            raise _invalid(where)
        title, kind, payload = button.get("title"), button.get("type"), button.get("payload")
        if not isinstance(title, str) or not title.strip():
            raise _invalid(f"{where}.title")
        if self._length(title) > MAX_TITLE:
            raise _over(f"{where}.title is longer than {MAX_TITLE} characters")
        if kind not in BUTTON_TYPES:
            raise _invalid(f"{where}.type")
        if kind in QUERY_BUTTONS:
            if not isinstance(payload, str) or not payload:
                raise _invalid(f"{where}.payload")
            if self._length(payload) > MAX_PAYLOAD:
                raise _over(f"{where}.payload is longer than {MAX_PAYLOAD} characters")
        elif not isinstance(payload, dict):
            raise _invalid(f"{where}.payload")
        return copy.deepcopy(button)

    def _echo(self, sent: SentMessage) -> None:
        """The OA's send comes back as an ``oa_send_*`` event."""
        if sent.file is not None:
            event = self._base_event("oa_send_file", self.oa_id, sent.user_id, sent.user_id)
            event["message"] = {"msg_id": sent.message_id, "attachments": [{"type": "file",
                                "payload": {"name": sent.file.name, "size": str(sent.file.size),
                                            "type": sent.file.name.rsplit(".", 1)[-1].lower(),
                                            "url": f"https://f.zalo.me/{sent.file.token[:16]}"}}]}
        else:
            event = self._base_event("oa_send_text", self.oa_id, sent.user_id, sent.user_id)
            event["message"] = {"text": sent.text, "msg_id": sent.message_id}
        self._emit(event)

    # ------------------------------------------------------------------ /upload/file

    def _upload(self, call: Call) -> JSONDict:
        """A PDF/DOC/DOCX of 1 byte to 5 MB in the multipart field ``file``: its token."""
        if _media_type(call.headers) != "multipart/form-data":
            raise _invalid("the body must be multipart/form-data")
        fields = _parse_multipart(call.headers["content-type"], call.body)
        call.params = fields
        if rule := self._injected("upload"):
            raise OAError(int(rule.error), rule.message)
        part = fields.get("file")
        if not isinstance(part, UploadedFile):
            raise _invalid("file")
        extension = "." + part.name.rsplit(".", 1)[-1].lower() if "." in part.name else ""
        expected = UPLOAD_TYPES.get(extension)
        if expected is None:
            raise _invalid(f"file type {extension or part.name!r} is not supported "
                           "(only PDF, DOC, DOCX)")
        if self.check_upload_type and part.mime != expected:
            raise _invalid(f"file content type {part.mime!r} does not match {extension}")
        if not part.content:
            raise _invalid("file is empty")
        if len(part.content) > MAX_UPLOAD:
            raise _over("file is larger than 5 MB")
        token = secrets.token_urlsafe(48)
        self._files[token] = UploadedFile(token, part.name, part.content, part.mime,
                                          self._now())
        return {"token": token}

    # ------------------------------------------------------------------ OAuth

    def _oauth(self, call: Call) -> tuple[int, JSONDict]:
        """Refresh: secret_key header, form body, a live single-use refresh token."""
        try:
            return 200, self._refresh_pair(call)
        except OAuthError as error:
            return self._oauth_error(error.kind, error.description)

    def _oauth_error(self, kind: str, description: str) -> tuple[int, JSONDict]:
        code, name, _ = _OAUTH_BODIES[kind]
        if self.oauth_errors == "numeric":
            status, body = 200, {"error": code, "error_name": name,
                                 "error_description": description}
        else:
            status, body = 400, {"error": name, "error_description": description}
        return self.oauth_error_status or status, body

    def _refresh_pair(self, call: Call) -> JSONDict:
        if _media_type(call.headers) != "application/x-www-form-urlencoded":
            raise OAuthError("request", "The body must be a form (x-www-form-urlencoded)")
        form = dict(parse_qsl(call.body.decode("utf-8", "replace"), keep_blank_values=True))
        call.params = form
        if rule := self._injected("oauth"):
            kind = rule.error if rule.error in _OAUTH_BODIES else None
            if kind is None:
                raise OAuthError("grant", rule.message or str(rule.error))
            raise OAuthError(str(kind), rule.message)
        if call.headers.get("secret_key") != self.app_secret:
            raise OAuthError("client")
        if form.get("app_id") != self.app_id:
            raise OAuthError("request", "Invalid app_id")
        if form.get("grant_type") != "refresh_token":
            raise OAuthError("request", "Invalid grant_type (only refresh_token is modelled)")
        old = form.get("refresh_token", "")
        expiry = self._refresh.pop(old, None)
        if self._revoked or expiry is None or self._now() >= expiry:
            self._spent_refresh.add(old)
            raise OAuthError("grant")
        self._spent_refresh.add(old)
        if self.refresh_kills_old:
            self._access.clear()
        self.access_token, self.refresh_token = self._issue()
        self._refreshes.append(Refresh(old, self.access_token, self.refresh_token,
                                       self.expires_in, self._now(), next(self._seq)))
        return {"access_token": self.access_token, "refresh_token": self.refresh_token,
                "expires_in": str(self.expires_in)}


@pytest.fixture(name="fake_zalo_oa")
def fake_zalo_oa_fixture() -> Iterator[FakeZaloOA]:
    """Fixture ``fake_zalo_oa``: a started FakeZaloOA with default options, stopped after.

    Import ``fake_zalo_oa_fixture`` (importing ``fake_zalo_oa`` makes ruff report F811).
    """
    with FakeZaloOA() as fake:
        yield fake


fake_zalo_oa = fake_zalo_oa_fixture
