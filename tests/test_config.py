"""Settings: defaults, .env, and .env.example in step with the code."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.config import KEYS, ConfigError, load

ROOT = Path(__file__).resolve().parent.parent


def test_env_example_lists_exactly_the_settings() -> None:
    text = (ROOT / ".env.example").read_text(encoding="utf-8")
    assert set(re.findall(r"^([A-Z_]+)=", text, re.M)) == set(KEYS)


def test_environment_wins_over_env_file_and_defaults(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("REPORTBOT_DB=from-file.sqlite3\nREPORTBOT_ADMINS=1, 2\n", "utf-8")
    settings = load({"REPORTBOT_DB": "from-env.sqlite3"}, env_file=env_file)
    assert str(settings.db) == "from-env.sqlite3"
    assert settings.admins == frozenset({"telegram:1", "telegram:2"})
    assert settings.tz.key == "Asia/Ho_Chi_Minh"


def test_bad_values_are_one_line_errors() -> None:
    with pytest.raises(ConfigError, match="REPORTBOT_TZ"):
        load({"REPORTBOT_TZ": "Mars/Olympus"}, env_file=None)
    with pytest.raises(ConfigError, match="REPORTBOT_WEBHOOK_LISTEN"):
        load({"REPORTBOT_WEBHOOK_LISTEN": "nowhere"}, env_file=None)
    for bad in ("two minutes", "-1", "nan", "100000"):
        with pytest.raises(ConfigError, match="REPORTBOT_NOTICE_WINDOW"):
            load({"REPORTBOT_NOTICE_WINDOW": bad}, env_file=None)
    assert load({"REPORTBOT_NOTICE_WINDOW": "0"}, env_file=None).notice_window == 0
    assert load({}, env_file=None).notice_window == 120


def test_token_never_appears_in_repr() -> None:
    settings = load({"TELEGRAM_BOT_TOKEN": "123456:secret-secret-secret-secret"}, env_file=None)
    assert "secret" not in repr(settings)


def test_coordinators_are_named_per_channel() -> None:
    """Issue #11 item 2: telegram:<id>, zalo:<id>, zalo_oa:<id>; a bare number is Telegram."""
    settings = load({"REPORTBOT_ADMINS": "900, zalo:6ede9afa66b88fe6d6a9, telegram:901,"
                                         " zalo_oa:4451830583000000000"}, env_file=None)
    assert settings.coordinators("telegram") == ["900", "901"]
    assert settings.coordinators("zalo") == ["6ede9afa66b88fe6d6a9"]
    assert settings.coordinators("zalo_oa") == ["4451830583000000000"]
    for bad in ("zalo:", "viber:12", "abc"):
        with pytest.raises(ConfigError, match="REPORTBOT_ADMINS"):
            load({"REPORTBOT_ADMINS": bad}, env_file=None)


def test_old_webhook_url_keeps_working_as_the_public_url() -> None:
    settings = load({"REPORTBOT_WEBHOOK_URL": "https://bot.example.vn/rb/telegram"}, env_file=None)
    assert settings.public_url == "https://bot.example.vn/rb"
    assert any("REPORTBOT_PUBLIC_URL" in note for note in settings.notes)
    with pytest.raises(ConfigError, match="REPORTBOT_PUBLIC_URL"):
        load({"REPORTBOT_WEBHOOK_URL": "https://bot.example.vn/hook"}, env_file=None)


def test_webhook_secrets_the_platforms_would_refuse_are_refused() -> None:
    with pytest.raises(ConfigError, match="ZALO_BOT_WEBHOOK_SECRET"):
        load({"ZALO_BOT_WEBHOOK_SECRET": "short"}, env_file=None)
    with pytest.raises(ConfigError, match="REPORTBOT_WEBHOOK_SECRET"):
        load({"REPORTBOT_WEBHOOK_SECRET": "has space"}, env_file=None)
    with pytest.raises(ConfigError, match="REPORTBOT_PUBLIC_URL"):
        load({"REPORTBOT_PUBLIC_URL": "bot.example.vn"}, env_file=None)
    assert load({"ZALO_BOT_WEBHOOK_SECRET": "x" * 8}, env_file=None).zalo_bot_webhook_secret
