"""The Zalo OA's sending rules against tests/fakezalooa.py: HTTP-200 failures, the error codes,
the token chain (refresh on -216 and before expiry, kept across a kill, a new env pair, revoked
consent) and the reply window (free, charged, closed)."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

import pytest

from bot.channels.base import (
    ChannelDown,
    ContactUnreachable,
    MessageRefused,
    Outgoing,
    OutsideWindow,
    QuotaExhausted,
    RetryLater,
)
from bot.store.channel_state import ChannelState
from tests.zalo_oa_rig import DESK, Bot, MakeBot, make_bot

__all__ = ["make_bot"]  # the fixture

USER = "2468458835296197922"


def part(text: str = "Câu 1/7") -> Outgoing:
    return Outgoing(USER, text, channel="zalo_oa")


async def wrote(bot: Bot, user: str = USER) -> None:
    """The person writes once (the window opens) and gets the bot's answer."""
    await bot.say(user, "xin chào")


@pytest.mark.parametrize(("code", "expected"), [
    (-230, OutsideWindow), (-232, OutsideWindow), (-213, ContactUnreachable),
    (-227, ContactUnreachable), (-211, QuotaExhausted), (-218, QuotaExhausted),
    (-32, RetryLater), (-201, MessageRefused), (-210, MessageRefused)])
async def test_http_200_failures_are_failures_mapped_by_code(
        make_bot: MakeBot, code: int, expected: type[Exception]) -> None:
    bot = await make_bot()
    await wrote(bot)
    before = len(bot.fake.sent_messages())
    bot.channel.transport.replying.clear()  # no quote: a refused quote is retried without it
    bot.fake.fail_next("message", code)
    with pytest.raises(expected):
        await bot.channel.transport.send(part())
    failed = bot.fake.calls("message")[-1]
    assert failed.status == 200 and failed.error == code  # HTTP 200, and a failure
    assert len(bot.fake.sent_messages()) == before and len(bot.fake.calls("oauth")) == 0


async def test_an_invalid_token_is_refreshed_once_and_the_call_made_once_more(
        make_bot: MakeBot) -> None:
    bot = await make_bot(expired_error=-220)
    await wrote(bot)
    bot.fake.fail_next("message", -216)
    await bot.channel.transport.send(part("lần một"))
    assert len(bot.fake.refreshes) == 1
    assert bot.fake.sent_messages(USER)[-1].access_token == bot.fake.refreshes[0].access_token
    bot.fake.fail_next("message", -220, times=2)  # refused again after the refresh
    with pytest.raises(RetryLater):
        await bot.channel.transport.send(part("lần hai"))
    assert len(bot.fake.refreshes) == 2  # one refresh per send, never a loop


async def test_the_access_token_is_refreshed_before_it_expires_by_the_clock(
        make_bot: MakeBot) -> None:
    bot = await make_bot(expires_in=3600)
    await wrote(bot)
    bot.fake.advance(3700)  # the environment's token has expired: -216, refresh, retry
    await bot.channel.transport.send(part("một"))
    assert len(bot.fake.refreshes) == 1
    bot.fake.advance(0.95 * 3600)  # past 90 % of expires_in: refreshed before use
    mark = bot.fake.mark()
    await bot.channel.transport.send(part("hai"))
    assert len(bot.fake.refreshes) == 2
    calls = [c for c in bot.fake.calls() if c.seq > mark]
    assert [c.kind for c in calls] == ["oauth", "message"] and calls[-1].ok


async def test_a_kill_right_after_a_refresh_keeps_the_new_chain(make_bot: MakeBot) -> None:
    bot = await make_bot()
    await wrote(bot)
    access = await bot.channel.tokens.refresh(await bot.channel.tokens.access())
    await bot.close()  # killed: the pair was committed before anything used it
    again = await make_bot(fake=bot.fake)  # same environment: the original, now dead, pair
    await again.channel.transport.send(part())
    assert bot.fake.sent_messages(USER)[-1].access_token == access
    again.fake.fail_next("message", -216)
    await again.channel.transport.send(part("sau"))
    first, second = bot.fake.refreshes
    assert second.old_refresh_token == first.refresh_token  # the chain, not the env's pair
    assert all(c.ok for c in bot.fake.calls("oauth"))  # no spent token was ever sent


async def test_a_different_pair_in_the_environment_starts_a_new_chain(
        make_bot: MakeBot) -> None:
    bot = await make_bot()
    await wrote(bot)
    await bot.channel.tokens.refresh(await bot.channel.tokens.access())
    await bot.close()
    access, refresh = bot.fake.authorize()  # the operator authorized again
    again = await make_bot(fake=bot.fake, env={"ZALO_OA_ACCESS_TOKEN": access,
                                               "ZALO_OA_REFRESH_TOKEN": refresh})
    await again.channel.transport.send(part())
    assert bot.fake.sent_messages(USER)[-1].access_token == access
    again.fake.fail_next("message", -216)
    await again.channel.transport.send(part("sau"))
    assert bot.fake.refreshes[-1].old_refresh_token == refresh


@pytest.mark.parametrize("oauth_errors", ["numeric", "oauth2"])
async def test_revoked_consent_stops_oa_sending_and_tells_a_coordinator_once(
        make_bot: MakeBot, oauth_errors: str, caplog: pytest.LogCaptureFixture) -> None:
    bot = await make_bot(oauth_errors=oauth_errors)
    await wrote(bot)
    bot.fake.revoke()
    await bot.store.outbox.owe("t1", [part("một"), part("hai")], bot.clock())
    await bot.hub.sender.drain()
    assert "zalo_oa" in bot.hub.sender.paused
    with pytest.raises(ChannelDown):
        await bot.channel.transport.send(part("ba"))
    assert len(bot.fake.calls("oauth")) == 1  # a dead chain is not tried again
    notices = bot.desk.transport.texts(DESK)
    assert len(notices) == 1 and "ZALO_OA_REFRESH_TOKEN" in notices[0]
    assert "hạn mức" not in notices[0]  # not the quota notice
    assert "ZALO_OA_REFRESH_TOKEN" in caplog.text and "developers.zalo.me" in caplog.text
    await bot.close()
    again = await make_bot(fake=bot.fake)  # a restart with the same, dead, pair
    await again.hub.sender.drain()
    assert len(bot.fake.calls("oauth")) == 1 and len(again.desk.transport.texts(DESK)) == 0
    state = await ChannelState(again.store).get("zalo_oa", "tokens")
    assert state is not None and '"down": true' in state


async def test_the_window_free_charged_and_closed_without_a_call(make_bot: MakeBot) -> None:
    bot = await make_bot()
    await bot.say(USER, f"/start {await bot.token('SXD')}")
    month = bot.clock().astimezone(bot.settings.tz).strftime("%Y-%m")
    free_before = await bot.store.usage.messages_this_month("zalo_oa", month)
    bot.fake.advance(47 * 3600)
    assert await bot.channel.window(USER, bot.clock()) == "free"
    await bot.channel.transport.send(part("47 giờ"))
    bot.fake.advance(3 * 3600)
    assert await bot.channel.window(USER, bot.clock()) == "charged"
    await bot.channel.transport.send(part("50 giờ"))
    free, charged = bot.fake.sent_messages(USER)[-2:]
    assert not free.charged and charged.charged
    assert await bot.store.usage.messages_this_month("zalo_oa", month) == free_before + 1
    assert await bot.store.usage.messages_this_month("zalo_oa:charged", month) == 1
    bot.fake.advance(6 * 86400)  # 8 days and 2 h since they wrote
    assert await bot.channel.window(USER, bot.clock()) == "closed"
    calls = len(bot.fake.calls("message"))
    await bot.store.outbox.owe("nhac", [part("Nhắc nhở")], bot.clock())
    await bot.hub.sender.drain()
    assert len(bot.fake.calls("message")) == calls  # not attempted
    assert await bot.store.unreachable_contacts(1, "window") == [("SXD", USER, None)]
    assert await bot.store.unreachable_contacts(1) == []  # not blocked: the digest names it
    assert "Câu 2/7" in await bot.say(USER, "12")  # writing again opens the window
    assert await bot.store.unreachable_contacts(1, "window") == []
    never = await bot.channel.window("2468458835296197999", datetime.now(UTC))
    assert never == "closed"


async def test_tokens_never_reach_a_log_line_nor_a_url(make_bot: MakeBot,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    bot = await make_bot()
    tokens = {bot.fake.access_token, bot.fake.refresh_token}
    await wrote(bot)
    bot.fake.fail_next("message", -216)
    await bot.channel.transport.send(part())
    bot.fake.fail_next("message", -201)
    with pytest.raises(MessageRefused):
        await bot.channel.transport.send(part())
    bot.fake.revoke()
    bot.fake.fail_next("message", -216)
    with pytest.raises(ChannelDown):
        await bot.channel.transport.send(part())
    await asyncio.sleep(0)
    tokens |= {r.access_token for r in bot.fake.refreshes}
    tokens |= {r.refresh_token for r in bot.fake.refreshes}
    assert caplog.records and not any(token in caplog.text for token in tokens)
    assert all(not c.token_in_url and not any(t in c.path for t in tokens)
               for c in bot.fake.calls())
    assert repr(bot.channel.tokens.chain).startswith("Chain(origin=")
    assert not any(token in repr(bot.channel.tokens.chain) for token in tokens)
