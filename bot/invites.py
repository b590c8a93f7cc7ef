"""What an invite shows, per channel: a Telegram deep link, the line a Zalo contact sends (pure).

A Zalo contact binds by sending `/start <token>` (or only the token) to the bot: Zalo has no
deep link that carries a parameter. One unit's token works on every channel.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.config import Settings


@dataclass(frozen=True)
class Way:
    """One way to bind to a unit: the channel it is for and what to open or send."""

    channel: str  # "telegram", "zalo" (both Zalo channels take the same line), or "any"
    text: str


def telegram_link(username: str, token: str) -> str:
    """Return the Telegram deep link that binds a chat to a unit."""
    return f"https://t.me/{username}?start={token}"


def zalo_line(token: str) -> str:
    """Return the message a Zalo contact sends to bind."""
    return f"/start {token}"


def from_settings(settings: Settings, token: str) -> list[Way]:
    """Return the ways of the configured channels (for invites made while the bot is not running).

    Without any channel configured the bare `/start <token>` line stands for every channel.
    """
    ways = []
    if settings.telegram_bot_username:
        ways.append(Way("telegram", telegram_link(settings.telegram_bot_username, token)))
    if settings.zalo_configured:
        ways.append(Way("zalo", zalo_line(token)))
    return ways or [Way("any", zalo_line(token))]


def merged(ways: list[Way | None]) -> list[Way]:
    """Return the ways without gaps and without the same text twice (Zalo Bot and OA)."""
    seen: set[str] = set()
    kept = []
    for way in ways:
        if way is not None and way.text not in seen:
            seen.add(way.text)
            kept.append(way)
    return kept
