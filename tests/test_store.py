"""The store: schema and pragmas, invites, and durability across a killed process."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

from bot.store import Store, hash_token
from tests.conftest import SMALL_CAMPAIGN


async def test_new_database_is_migrated_with_wal_and_foreign_keys(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "a.sqlite3")
    await store.close()
    conn = sqlite3.connect(tmp_path / "a.sqlite3")
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA user_version").fetchone()[0] >= 1
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"campaigns", "campaign_units", "answers", "answer_history", "sessions",
            "processed_updates", "contacts"} <= tables


async def test_reopening_keeps_data_and_does_not_migrate_twice(tmp_path: Path, spec) -> None:
    from datetime import UTC, datetime

    store = await Store.open(tmp_path / "a.sqlite3")
    campaign_id, _ = await store.create_campaign(spec, datetime(2023, 10, 1, tzinfo=UTC))
    await store.close()
    store = await Store.open(tmp_path / "a.sqlite3")
    assert [c.id for c in await store.campaigns()] == [campaign_id]
    await store.close()


async def test_invite_tokens_are_random_and_stored_only_hashed(tmp_path: Path, spec) -> None:
    from datetime import UTC, datetime

    store = await Store.open(tmp_path / "a.sqlite3")
    _, invites = await store.create_campaign(spec, datetime(2023, 10, 1, tzinfo=UTC))
    await store.close()
    assert len({i.token for i in invites}) == len(invites) == 2
    assert all(len(i.token) >= 22 for i in invites)  # 16 random bytes, URL-safe
    dump = "\n".join(sqlite3.connect(tmp_path / "a.sqlite3").iterdump())
    assert not any(i.token in dump for i in invites)
    assert all(hash_token(i.token) in dump for i in invites)


async def test_foreign_keys_are_enforced(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "a.sqlite3")
    try:
        await store.transaction(lambda conn: conn.execute(
            "INSERT INTO campaign_units (campaign_id, unit_code, position, invite_hash)"
            " VALUES (999, 'NONE', 0, 'x')"))
    except sqlite3.IntegrityError:
        pass
    else:
        raise AssertionError("a row pointing to no campaign was accepted")
    finally:
        await store.close()


KILLED_AFTER_CONFIRM = textwrap.dedent(
    """
    import asyncio, os, signal, sys
    from zoneinfo import ZoneInfo
    from bot.campaigns.campaign import load_campaign_text
    from bot.channels.base import CONSOLE, Incoming
    from bot.engine import Engine
    from bot.store import Store

    async def main():
        store = await Store.open(sys.argv[1])
        spec = load_campaign_text("small.yaml", sys.stdin.read(), ZoneInfo("Asia/Ho_Chi_Minh"))
        from datetime import UTC, datetime
        campaign_id, _ = await store.create_campaign(spec, datetime.now(UTC))
        engine = Engine(store)
        await engine.bind("test", "c1", "SXD")
        await engine.handle(Incoming("test", "c1"), CONSOLE, campaign_id)
        replies = await engine.handle(Incoming("test", "c1", text="1.250"), CONSOLE, campaign_id)
        print("CONFIRMED" if "Đã lưu" in replies[0].text else "REFUSED", flush=True)
        os.kill(os.getpid(), signal.SIGKILL)

    asyncio.run(main())
    """
)


def test_answer_survives_a_kill_right_after_the_confirmation(tmp_path: Path) -> None:
    db = tmp_path / "killed.sqlite3"
    proc = subprocess.run(
        [sys.executable, "-c", KILLED_AFTER_CONFIRM, str(db)],
        input=SMALL_CAMPAIGN, capture_output=True, text=True, timeout=60,
        cwd=Path(__file__).resolve().parent.parent,
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert proc.stdout.strip() == "CONFIRMED"
    conn = sqlite3.connect(db)
    rows = conn.execute("SELECT question_id, value_json FROM answers").fetchall()
    assert rows == [("so_nguoi", "1250")]
    assert conn.execute("SELECT status FROM campaign_units WHERE unit_code = 'SXD'").fetchone() == (
        "in_progress",)


async def test_a_write_by_another_process_is_seen_by_the_next_step(tmp_path: Path, spec) -> None:
    from datetime import UTC, datetime

    from bot.channels.base import CONSOLE, Incoming
    from bot.engine import Engine

    bot_store = await Store.open(tmp_path / "shared.sqlite3")
    cli_store = await Store.open(tmp_path / "shared.sqlite3")  # a second connection
    try:
        campaign_id, _ = await bot_store.create_campaign(spec, datetime(2023, 10, 1, tzinfo=UTC))
        bot = Engine(bot_store)
        await bot.bind("test", "c1", "SXD")
        await bot.handle(Incoming("test", "c1"), CONSOLE, campaign_id)
        await bot.handle(Incoming("test", "c1", text="12"), CONSOLE, campaign_id)  # cached now
        cli = Engine(cli_store)
        await cli.bind("test", "c2", "SXD")
        await cli.handle(Incoming("test", "c2"), CONSOLE, campaign_id)
        await cli.handle(Incoming("test", "c2", text="không"), CONSOLE, campaign_id)
        replies = await bot.handle(Incoming("test", "c1", text="/review"), CONSOLE, campaign_id)
        assert "Không" in replies[0].text  # the other connection's answer, not a stale copy
        await cli_store.set_campaign_status(campaign_id, "closed")
        replies = await bot.handle(Incoming("test", "c1", text="bỏ qua"), CONSOLE, campaign_id)
        assert "đã kết thúc" in replies[0].text
    finally:
        await bot_store.close()
        await cli_store.close()


async def test_a_step_failing_in_a_group_commit_fails_alone(tmp_path: Path, spec,
                                                            monkeypatch) -> None:
    import asyncio
    from datetime import UTC, datetime

    import bot.store.steps as steps
    from bot.channels.base import CONSOLE, Incoming
    from bot.engine import Engine

    store = await Store.open(tmp_path / "a.sqlite3")
    try:
        campaign_id, _ = await store.create_campaign(spec, datetime(2023, 10, 1, tzinfo=UTC))
        engine = Engine(store)
        for chat, unit in (("c1", "SXD"), ("c2", "SYT")):
            await engine.bind("test", chat, unit)
            await engine.handle(Incoming("test", chat), CONSOLE, campaign_id)  # cached now
        apply = steps._apply

        def failing(conn, state, changes, now):  # type: ignore[no-untyped-def]
            if state.contact.chat_id == "c1":
                raise RuntimeError("disk says no")
            apply(conn, state, changes, now)

        monkeypatch.setattr(steps, "_apply", failing)
        first, second = await asyncio.gather(  # decided together: one group commit
            engine.handle(Incoming("test", "c1", text="12"), CONSOLE, campaign_id),
            engine.handle(Incoming("test", "c2", text="15"), CONSOLE, campaign_id),
            return_exceptions=True)
        assert isinstance(first, RuntimeError)
        assert not isinstance(second, BaseException) and "15" in second[0].text
        sheets = {s.code: s.answers for s in await store.sheets(campaign_id)}
        assert sheets == {"SXD": {}, "SYT": {"so_nguoi": 15}}
    finally:
        await store.close()


async def test_a_group_commit_with_a_redelivered_incoming(tmp_path: Path, spec,
                                                          monkeypatch) -> None:
    """Steps written set by set: a redelivery among fresh steps gives nothing new, each fresh
    one is written once, and the failure of one step's rows fails that step alone."""
    import asyncio
    import time
    from datetime import UTC, datetime

    import bot.store.sql as sql
    import bot.store.steps as steps
    from bot.channels.base import CONSOLE, Incoming
    from bot.engine import Engine

    store = await Store.open(tmp_path / "a.sqlite3")
    try:
        campaign_id, _ = await store.create_campaign(spec, datetime(2023, 10, 1, tzinfo=UTC))
        engine = Engine(store, durable=True)
        for chat, unit in (("c1", "SXD"), ("c2", "SYT")):
            await engine.bind("test", chat, unit)
            await engine.handle(Incoming("test", chat, message_id="m0"), CONSOLE, campaign_id)
        await engine.handle(Incoming("test", "c1", text="12", message_id="m1"), CONSOLE,
                            campaign_id)  # the sheets are in progress: no status change below
        await engine.handle(Incoming("test", "c2", text="13", message_id="m1"), CONSOLE,
                            campaign_id)
        busy = store._submit(lambda _conn: time.sleep(0.2))  # the steps below wait together
        replies = await asyncio.gather(  # decided together: one group commit
            engine.handle(Incoming("test", "c1", text="12", message_id="m1"), CONSOLE,
                          campaign_id),  # redelivered
            engine.handle(Incoming("test", "c2", text="không", message_id="m2"), CONSOLE,
                          campaign_id))
        await busy
        assert replies[0] == [] and len(replies[1]) == 1
        for chat in ("c1", "c2"):  # cached again (the redelivery made the batch start over)
            await engine.handle(Incoming("test", chat, text="/review", message_id="r"), CONSOLE,
                                campaign_id)
        rows = sql._step_rows

        def failing(state, changes, at):  # type: ignore[no-untyped-def]
            if state.contact.chat_id == "c2":
                raise RuntimeError("disk says no")
            return rows(state, changes, at)

        monkeypatch.setattr(steps, "_step_rows", failing)  # written set by set
        monkeypatch.setattr(sql, "_step_rows", failing)  # step by step, decided again
        busy = store._submit(lambda _conn: time.sleep(0.2))
        first, second = await asyncio.gather(
            engine.handle(Incoming("test", "c2", text="bỏ qua", message_id="m3"), CONSOLE,
                          campaign_id),
            engine.handle(Incoming("test", "c1", text="không", message_id="m2"), CONSOLE,
                          campaign_id), return_exceptions=True)
        await busy
        assert isinstance(first, RuntimeError) and not isinstance(second, BaseException)
        monkeypatch.undo()
        sheets = {s.code: s.answers for s in await store.sheets(campaign_id)}
        assert sheets == {"SXD": {"so_nguoi": 12, "co_vb": False},
                          "SYT": {"so_nguoi": 13, "co_vb": False}}
        causes = [row[0] for row in await store._run(lambda conn: conn.execute(
            "SELECT cause FROM outbox ORDER BY id").fetchall())]
        assert len(causes) == len(set(causes)) == 8  # 2 welcomes, 2 reviews, 4 answers
    finally:
        await store.close()
