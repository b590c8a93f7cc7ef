"""The command line: a thin layer over the library (`reportbot --help`)."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import shutil
import signal
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot import config, texts
from bot.campaigns.campaign import check_file, load_campaign
from bot.campaigns.checks import CampaignFileError
from bot.campaigns.spec import CampaignSpec
from bot.channels.console import ConsoleChannel
from bot.coordinator import unit_table
from bot.documents.export import export
from bot.documents.outputs import write_outputs
from bot.engine import Engine, utc_now
from bot.evidence import EvidenceStore
from bot.invites import from_settings as invites_of
from bot.model import REPORTED, Campaign, Sheet, UnitProgress
from bot.questionnaire import Questionnaire
from bot.store import Store

log = logging.getLogger("reportbot")


class CliError(Exception):
    """A user-facing error: printed to stderr, exit status 1."""


@dataclass(frozen=True)
class Context:
    """What every command gets: parsed arguments and settings."""

    args: argparse.Namespace
    settings: config.Settings


def say(key: str, **context: Any) -> str:
    """Render a plain-text catalogue message."""
    return texts.render(key, "plain", **context)


def main(argv: list[str] | None = None) -> int:
    """Run one command; return the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        settings = config.load()
        texts.use_timezone(settings.tz)
        return int(asyncio.run(args.handler(Context(args, settings))) or 0)
    except (CliError, CampaignFileError, config.ConfigError) as error:
        print(str(error), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # the reader (e.g. `| head`) went away: nothing left to say
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except Exception as error:  # the last line of defence: a message, never a traceback
        log.debug("unexpected error", exc_info=True)
        print(f"reportbot: internal error: {type(error).__name__}: {error}", file=sys.stderr)
        return 70


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser with every subcommand."""
    parser = argparse.ArgumentParser(prog="reportbot", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="play a whole round offline on the default campaign")
    demo.add_argument("--out", type=Path, default=Path("reportbot-demo"))
    demo.add_argument("--web", action="store_true",
                      help="then serve the coordinators' web page on 127.0.0.1 (Ctrl+C ends)")
    demo.add_argument("--port", type=int, default=8080, help="the web page's port (0: any)")
    demo.set_defaults(handler=cmd_demo)
    check = sub.add_parser("check", help="validate a campaign or questionnaire file")
    check.add_argument("file", type=Path)
    check.set_defaults(handler=cmd_check)
    campaign = sub.add_parser("campaign", help="create or list rounds")
    campaign_sub = campaign.add_subparsers(dest="action", required=True)
    create = campaign_sub.add_parser("create", help="create and open a round from a file")
    create.add_argument("file", type=Path)
    create.add_argument("--json", action="store_true")
    create.set_defaults(handler=cmd_campaign_create)
    campaign_sub.add_parser("list", help="list rounds").set_defaults(handler=cmd_campaign_list)
    status = sub.add_parser("status", help="every unit's status in a round")
    status.add_argument("campaign", type=int)
    status.add_argument("--json", action="store_true")
    status.set_defaults(handler=cmd_status)
    chat = sub.add_parser("chat", help="answer as a contact of a unit in the terminal")
    chat.add_argument("campaign", type=int)
    chat.add_argument("--unit", required=True)
    chat.add_argument("--as", dest="contact", default="terminal",
                      help="contact name (default: terminal)")
    chat.set_defaults(handler=cmd_chat)
    run = sub.add_parser("run", help="run the bot on every configured channel")
    run.set_defaults(handler=cmd_run)
    comp = sub.add_parser("compile", help="write the consolidated report and every output")
    comp.add_argument("campaign", type=int)
    comp.add_argument("--out", type=Path, required=True)
    comp.set_defaults(handler=cmd_compile)
    exp = sub.add_parser("export", help="write du-lieu.xlsx and du-lieu.csv")
    exp.add_argument("campaign", type=int)
    exp.add_argument("--out", type=Path, required=True)
    exp.set_defaults(handler=cmd_export)
    return parser


async def with_store(path: Path, work: Callable[[Store], Awaitable[int]]) -> int:
    """Open the database, run `work`, close it."""
    store = await Store.open(path)
    try:
        return await work(store)
    finally:
        await store.close()


async def require_campaign(store: Store, campaign_id: int) -> Campaign:
    """Return a round or fail with a clear message."""
    campaign = await store.campaign(campaign_id)
    if campaign is None:
        raise CliError(say("cli.no_such_campaign", id=campaign_id))
    return campaign


async def cmd_check(ctx: Context) -> int:
    """Validate a file; print a one-line summary."""
    loaded = check_file(ctx.args.file, ctx.settings.tz)
    questionnaire = loaded if isinstance(loaded, Questionnaire) else loaded.questionnaire
    units = None if isinstance(loaded, Questionnaire) else len(loaded.units)
    print(say("cli.check_ok", file=ctx.args.file.name, sections=len(questionnaire.sections),
              questions=len(questionnaire.questions), units=units))
    return 0


async def cmd_campaign_create(ctx: Context) -> int:
    """Create a round; print its id and one invite per unit."""
    spec = load_campaign(ctx.args.file, ctx.settings.tz)

    async def work(store: Store) -> int:
        campaign_id, invites = await store.create_campaign(spec, utc_now())
        rows = [invite_row(ctx.settings, i.code, i.name, i.token) for i in invites]
        if ctx.args.json:
            print(json.dumps({"campaign": campaign_id, "units": rows}, ensure_ascii=False))
        else:
            settings = ctx.settings
            no_link = bool(settings.telegram_bot_token) and not settings.telegram_bot_username
            print(say("cli.created", id=campaign_id, title=spec.title, deadline=spec.deadline,
                      no_link=no_link,
                      invites=[{**r, "ways": invites_of(ctx.settings, i.token)}
                               for r, i in zip(rows, invites, strict=True)]))
        return 0

    return await with_store(ctx.settings.db, work)


def invite_row(settings: config.Settings, code: str, name: str, token: str) -> dict[str, Any]:
    """Return one unit's invite for --json: its Telegram link and its Zalo line when configured."""
    ways = {way.channel: way.text for way in invites_of(settings, token)}
    row: dict[str, Any] = {"code": code, "name": name, "invite_url": ways.get("telegram"),
                           "token": token}
    if "zalo" in ways:
        row["zalo"] = ways["zalo"]
    return row


async def cmd_campaign_list(ctx: Context) -> int:
    """List rounds, newest first."""

    async def work(store: Store) -> int:
        found = await store.campaigns()
        if not found:
            print(say("cli.no_campaigns"))
        for c in found:
            print(say("cli.campaign_row", id=c.id, status=say(f"campaign.{c.status}"),
                      reported=c.reported, units=c.units, deadline=c.deadline, title=c.title))
        return 0

    return await with_store(ctx.settings.db, work)


async def cmd_status(ctx: Context) -> int:
    """Print every unit's status in a round."""

    async def work(store: Store) -> int:
        campaign = await require_campaign(store, ctx.args.campaign)
        table = await unit_table(store, campaign)
        if ctx.args.json:
            units = [{"code": r.code, "name": r.name, "status": r.status, "answered": r.answered,
                      "total": r.total, "contacts": r.contacts} for r in table]
            print(json.dumps({"campaign": campaign.id, "units": units}, ensure_ascii=False))
        else:
            print(render_status(campaign, table))
        return 0

    return await with_store(ctx.settings.db, work)


def render_status(campaign: Campaign, table: list[UnitProgress]) -> str:
    """Return the human status table."""
    reported = sum(1 for row in table if row.status in REPORTED)
    lines = [say("cli.status_header", id=campaign.id, title=campaign.spec.title,
                 reported=reported, total=len(table)), say("cli.status_columns")]
    for row in table:
        lines.append(f"{row.code} | {row.name} | {say('status.' + row.status)} | "
                     f"{row.answered}/{row.total} | {row.contacts}")
    return "\n".join(lines)


async def cmd_chat(ctx: Context) -> int:
    """Answer as a contact in the terminal, one message per input line."""

    async def work(store: Store) -> int:
        campaign = await require_campaign(store, ctx.args.campaign)
        codes = [u.code for u in campaign.spec.units]
        if ctx.args.unit not in codes:
            raise CliError(say("cli.no_such_unit", id=campaign.id, code=ctx.args.unit,
                               codes=", ".join(codes)))
        channel = ConsoleChannel(Engine(store), f"{ctx.args.unit}:{ctx.args.contact}",
                                 sys.stdout, echo=not sys.stdin.isatty())
        if sys.stdin.isatty():
            print(say("cli.chat_intro", unit=ctx.args.unit))
        await channel.open(ctx.args.unit, campaign.id)
        await channel.run(sys.stdin, campaign.id)
        return 0

    return await with_store(ctx.settings.db, work)


async def cmd_run(ctx: Context) -> int:
    """Run every configured channel in one process until SIGINT or SIGTERM."""
    from bot.app import quiet_libraries, run_bot

    logging.getLogger().setLevel(logging.DEBUG if ctx.args.verbose else logging.INFO)
    quiet_libraries()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await run_bot(ctx.settings, stop)
    return 0


async def cmd_export(ctx: Context) -> int:
    """Write the data files of a round."""

    async def work(store: Store) -> int:
        campaign = await require_campaign(store, ctx.args.campaign)
        xlsx, csv_path = export(campaign.spec, await store.sheets(campaign.id), ctx.args.out)
        print(say("cli.exported", xlsx=xlsx, csv=csv_path))
        return 0

    return await with_store(ctx.settings.db, work)


async def cmd_compile(ctx: Context) -> int:
    """Write every output of a round (a draft naming the missing units until all reported)."""

    async def work(store: Store) -> int:
        campaign = await require_campaign(store, ctx.args.campaign)
        print(compiled(campaign, await store.sheets(campaign.id), ctx.args.out,
                       EvidenceStore(ctx.settings.data_dir)))
        return 0

    return await with_store(ctx.settings.db, work)


def compiled(campaign: Campaign, sheets: list[Sheet], out: Path,
             evidence: EvidenceStore | None = None) -> str:
    """Write the outputs (with the evidence files kept in `evidence`) and return the message
    that lists them."""
    report, paths = write_outputs(campaign.spec, sheets, utc_now(), out, evidence=evidence)
    return say("cli.compiled", final=report.final, reported=len(report.reported),
               total=len(report.units), missing=", ".join(u.name for u in report.missing),
               paths=paths)


async def cmd_demo(ctx: Context) -> int:
    """Play a whole round offline and write every output."""
    from bot.demo import DEMO_DATA, demo_evidence, run_demo

    out: Path = ctx.args.out
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    print(say("demo.header"))

    async def work(store: Store) -> int:
        campaign_id, played = await run_demo(store, ctx.settings.tz, out)
        campaign = await require_campaign(store, campaign_id)
        table = await unit_table(store, campaign)
        statuses = {row.code: row.status for row in table}
        for p in played:
            print(say("demo.unit_done", code=p.code, name=_unit_name(campaign.spec, p.code),
                      messages=p.messages, status=say("status." + statuses[p.code])))
        print()
        print(render_status(campaign, table))
        print()
        print(compiled(campaign, await store.sheets(campaign_id), out, demo_evidence(out)))
        extra = [out / "hoi-thoai", out / DEMO_DATA, out / "reportbot-demo.sqlite3"]
        print(say("demo.outputs", out=out, paths=extra))
        if ctx.args.web:
            await demo_web(store, ctx.settings, out, ctx.args.port)
        return 0

    return await with_store(out / "reportbot-demo.sqlite3", work)


async def demo_web(store: Store, settings: config.Settings, out: Path, port: int) -> None:
    """Serve the demo round's web page until Ctrl+C or SIGTERM; print its sign-in link."""
    from bot.demo import serve_web

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)

    def show(url: str) -> None:
        print(say("demo.web", url=url), flush=True)

    await serve_web(store, settings, out, port, stop, show)


def _unit_name(spec: CampaignSpec, code: str) -> str:
    return next(u.name for u in spec.units if u.code == code)


if __name__ == "__main__":
    sys.exit(main())
