"""Settings from the environment or a `.env` file; every key with its default and help.

`.env.example` lists the same keys (a test keeps them in step).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dotenv import dotenv_values

KEYS: dict[str, tuple[str, str]] = {
    "TELEGRAM_BOT_TOKEN": ("", "Bot token from @BotFather; needed only by `reportbot run`."),
    "TELEGRAM_API_BASE_URL": (
        "",
        "Optional Bot API server (self-hosted or a local emulator), e.g. http://127.0.0.1:8081/bot",
    ),
    "TELEGRAM_BOT_USERNAME": (
        "", "Bot username for invite links made while the bot is not running."
    ),
    "REPORTBOT_DB": ("reportbot.sqlite3", "SQLite database file."),
    "REPORTBOT_ADMINS": ("", "Coordinators, comma-separated: telegram:<id>, zalo:<id> or"
                         " zalo_oa:<id> (a bare number is Telegram); /whoami prints yours."),
    "REPORTBOT_TZ": ("Asia/Ho_Chi_Minh", "Time zone of deadlines and reminders."),
    "REPORTBOT_DATA_DIR": ("reportbot-data", "Folder for received files and generated outputs."),
    "REPORTBOT_NOTICE_WINDOW": (
        "120", "Seconds the coordinators' notice of a submit or edit waits for others, to tell"
        " them in one message (0: each at once)."
    ),
    "REPORTBOT_PUBLIC_URL": (
        "", "Optional public base URL of the bot's HTTP server (e.g. https://bot.example.gov.vn"
        " behind a reverse proxy); starts it: download links and the webhooks whose secrets"
        " are set."
    ),
    "REPORTBOT_WEBHOOK_LISTEN": ("127.0.0.1:8080", "host:port the bot's HTTP server listens on."),
    "REPORTBOT_WEBHOOK_SECRET": (
        "", "Optional: with REPORTBOT_PUBLIC_URL, Telegram uses a webhook at <public>/telegram with"
        " this secret (1-256 of A-Z a-z 0-9 _ -); without it Telegram keeps long polling."
    ),
    "REPORTBOT_WEBHOOK_URL": (
        "", "Replaced by REPORTBOT_PUBLIC_URL (the base URL, without /telegram); still read."
    ),
    "ZALO_BOT_TOKEN": ("", "Zalo Bot Platform token (<digits>:<secret>); starts the Zalo channel."),
    "ZALO_BOT_API_BASE_URL": (
        "https://bot-api.zaloplatforms.com",
        "Zalo Bot API base; the bot calls {base}/bot{token}/{method}.",
    ),
    "ZALO_OA_APP_ID": ("", "Zalo Official Account: the app id (developers.zalo.me); starts the OA"
                       " channel, whose webhook is <public>/zalo-oa."),
    "ZALO_OA_APP_SECRET": ("", "The app's secret key, sent as secret_key when refreshing tokens."),
    "ZALO_OA_SECRET_KEY": ("", "The OA secret key that signs webhook events (X-ZEvent-Signature)."),
    "ZALO_OA_ACCESS_TOKEN": ("", "The first access token; rotated ones are kept in the database."),
    "ZALO_OA_REFRESH_TOKEN": (
        "", "The first refresh token (single-use); a different one here starts a new chain."
    ),
    "ZALO_OA_API_BASE_URL": ("https://openapi.zalo.me", "Zalo OA API base."),
    "ZALO_OAUTH_BASE_URL": ("https://oauth.zaloapp.com", "Zalo OAuth base (token refresh)."),
    "ZALO_BOT_WEBHOOK_SECRET": (
        "", "Optional (8-256 characters): with REPORTBOT_PUBLIC_URL, Zalo Bot uses a webhook at"
        " <public>/zalo; otherwise long polling."
    ),
}


class ConfigError(ValueError):
    """A setting has a value that cannot be used."""


@dataclass(frozen=True)
class Settings:
    """Frozen settings of one process."""

    telegram_bot_token: str
    telegram_api_base_url: str
    telegram_bot_username: str
    db: Path
    admins: frozenset[str]  # entries "<channel>:<user id>"
    tz: ZoneInfo
    data_dir: Path
    notice_window: float = 120.0  # seconds (REPORTBOT_NOTICE_WINDOW)
    public_url: str = ""
    webhook_listen: tuple[str, int] = ("127.0.0.1", 8080)
    webhook_secret: str = ""
    zalo_bot_token: str = ""
    zalo_bot_api_base_url: str = "https://bot-api.zaloplatforms.com"
    zalo_bot_webhook_secret: str = ""
    zalo_oa_app_id: str = ""
    zalo_oa_app_secret: str = ""
    zalo_oa_secret_key: str = ""
    zalo_oa_access_token: str = ""
    zalo_oa_refresh_token: str = ""
    zalo_oa_api_base_url: str = "https://openapi.zalo.me"
    zalo_oauth_base_url: str = "https://oauth.zaloapp.com"
    notes: tuple[str, ...] = ()  # what the operator should know about these settings (logged)

    def __repr__(self) -> str:
        return f"Settings(db={self.db}, tz={self.tz.key}, admins={len(self.admins)})"

    @property
    def zalo_configured(self) -> bool:
        """Return whether a Zalo channel is set up (its contacts bind with `/start <token>`)."""
        return bool(self.zalo_bot_token or self.zalo_oa_app_id)

    def coordinators(self, channel: str) -> list[str]:
        """Return the user ids of the coordinators on one channel, sorted."""
        return sorted(entry.split(":", 1)[1] for entry in self.admins
                      if entry.split(":", 1)[0] == channel)


def load(
    environ: Mapping[str, str] | None = None, env_file: Path | None = Path(".env")
) -> Settings:
    """Read settings: the process environment wins over `.env`, which wins over defaults."""
    values = {key: default for key, (default, _help) in KEYS.items()}
    if env_file is not None and env_file.is_file():
        values.update({k: v for k, v in dotenv_values(env_file).items() if k in KEYS and v})
    source = os.environ if environ is None else environ
    values.update({k: v for k, v in source.items() if k in KEYS and v})
    notes: list[str] = []
    public_url = _public_url(values, notes)
    return Settings(
        telegram_bot_token=values["TELEGRAM_BOT_TOKEN"].strip(),
        telegram_api_base_url=values["TELEGRAM_API_BASE_URL"].strip().rstrip("/"),
        telegram_bot_username=values["TELEGRAM_BOT_USERNAME"].strip().lstrip("@"),
        db=Path(values["REPORTBOT_DB"]),
        admins=_admins(values["REPORTBOT_ADMINS"]),
        tz=_zone(values["REPORTBOT_TZ"]),
        data_dir=Path(values["REPORTBOT_DATA_DIR"]),
        notice_window=_seconds("REPORTBOT_NOTICE_WINDOW", values["REPORTBOT_NOTICE_WINDOW"]),
        public_url=public_url,
        webhook_listen=_listen(values["REPORTBOT_WEBHOOK_LISTEN"]),
        webhook_secret=_secret("REPORTBOT_WEBHOOK_SECRET", values, 1, TELEGRAM_SECRET_RE),
        zalo_bot_token=values["ZALO_BOT_TOKEN"].strip(),
        zalo_bot_api_base_url=values["ZALO_BOT_API_BASE_URL"].strip().rstrip("/"),
        zalo_bot_webhook_secret=_secret("ZALO_BOT_WEBHOOK_SECRET", values, 8, None),
        **{key.lower(): values[key].strip().rstrip("/") for key in OA_KEYS},
        notes=tuple(notes),
    )


OA_KEYS = ("ZALO_OA_APP_ID", "ZALO_OA_APP_SECRET", "ZALO_OA_SECRET_KEY", "ZALO_OA_ACCESS_TOKEN",
           "ZALO_OA_REFRESH_TOKEN", "ZALO_OA_API_BASE_URL", "ZALO_OAUTH_BASE_URL")
TELEGRAM_SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


def _public_url(values: dict[str, str], notes: list[str]) -> str:
    """Return the public base URL; the old REPORTBOT_WEBHOOK_URL (ending /telegram) still works."""
    public = values["REPORTBOT_PUBLIC_URL"].strip().rstrip("/")
    old = values["REPORTBOT_WEBHOOK_URL"].strip().rstrip("/")
    if old and not public:
        if not old.endswith("/telegram"):
            raise ConfigError("REPORTBOT_WEBHOOK_URL is replaced by REPORTBOT_PUBLIC_URL: set it"
                              " to the base URL the bot's HTTP server is reachable under")
        public = old.removesuffix("/telegram")
        notes.append(f"REPORTBOT_WEBHOOK_URL is replaced by REPORTBOT_PUBLIC_URL={public}")
    if public and not re.match(r"^https?://[^/\s]+(/\S*)?$", public):
        raise ConfigError(f"REPORTBOT_PUBLIC_URL: expected http(s)://host[/path], got {public!r}")
    return public


def _secret(key: str, values: dict[str, str], shortest: int, pattern: re.Pattern[str] | None
            ) -> str:
    """Return a webhook secret, refusing one the platform would refuse."""
    value = values[key].strip()
    if value and not (shortest <= len(value) <= 256):
        raise ConfigError(f"{key}: expected {shortest}-256 characters, got {len(value)}")
    if value and pattern is not None and not pattern.match(value):
        raise ConfigError(f"{key}: only A-Z, a-z, 0-9, _ and - are allowed")
    return value


def _seconds(key: str, value: str) -> float:
    try:
        seconds = float(value.strip())
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds <= 86_400:  # NaN fails too
        raise ConfigError(f"{key}: expected seconds from 0 to 86400, got {value!r}")
    return seconds


def _listen(value: str) -> tuple[str, int]:
    host, _, port = value.strip().rpartition(":")
    if not host or not port.isdigit():
        raise ConfigError(f"REPORTBOT_WEBHOOK_LISTEN: expected host:port, got {value!r}")
    return host, int(port)


ADMIN_CHANNELS = ("telegram", "zalo", "zalo_oa")


def _admins(value: str) -> frozenset[str]:
    """Return the coordinator entries as "<channel>:<id>"; a bare number means Telegram."""
    entries = set()
    for item in (part.strip() for part in value.split(",")):
        if not item:
            continue
        channel, _, user = item.rpartition(":")
        if not channel and user.isdigit():
            channel = "telegram"
        if channel not in ADMIN_CHANNELS or not user:
            raise ConfigError(f"REPORTBOT_ADMINS: {item!r} is not telegram:<id>, zalo:<id>,"
                              " zalo_oa:<id> or a Telegram user id")
        entries.add(f"{channel}:{user}")
    return frozenset(entries)


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ConfigError(f"REPORTBOT_TZ: unknown time zone {name!r}") from error
