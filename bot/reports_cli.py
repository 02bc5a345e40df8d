"""`helpline report` (the monthly report for partners) and `helpline reindex` (rebuilds
the case-list indexes and the reports' counters from the case records)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from bot.config import Settings
from bot.i18n import use_locale
from bot.reports import Figures, Period, ReportError, figures
from bot.store.cases import CaseStore
from bot.store.connection import connect_redis
from bot.store.keys import Keys
from bot.store.sealing import Sealer
from bot.users_cli import redis_url


def _cases(settings: Settings, url: str) -> CaseStore:
    keys = Keys(settings.key_prefix)
    return CaseStore(connect_redis(url), keys, Sealer.load(settings.data_key, settings.data_dir))


async def _figures(settings: Settings, url: str, month: str) -> Figures:
    cases = _cases(settings, url)
    try:
        return await figures(cases.index, Period(month, month))
    finally:
        await cases.index.close()


def report_command(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    try:
        Period(args.month, args.month)
    except ReportError as exc:
        print(f"helpline report: {exc}", file=sys.stderr)
        return 2
    with redis_url(settings) as url:
        data = asyncio.run(_figures(settings, url, args.month))
    # matplotlib on use: the CLI's parser is built by every `helpline` command.
    from bot.documents import markdown, pdf

    with use_locale(args.lang or settings.operators_locale):
        body = pdf(data) if args.format == "pdf" else markdown(data).encode()
    target = Path(args.out or f"helpline-report-{args.month}.{args.format}")
    target.write_bytes(body)
    print(f"helpline report: {target} ({len(body):,} bytes)", file=sys.stderr)
    return 0


async def _reindex(settings: Settings, url: str) -> int:
    cases = _cases(settings, url)
    try:
        count = await cases.reindex()
    finally:
        await cases.index.close()
    print(f"helpline reindex: {count} cases indexed and counted")
    return 0


def reindex_command(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    with redis_url(settings) as url:
        return asyncio.run(_reindex(settings, url))


def add_parsers(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    report = commands.add_parser("report", help="the monthly report for partners (PDF or md)")
    report.add_argument("--month", required=True, help="YYYY-MM")
    report.add_argument("--format", choices=("pdf", "md"), default="pdf")
    report.add_argument("--lang", choices=("id", "en"), help="default: the operators' language")
    report.add_argument("--out", help="file to write (default helpline-report-MONTH.FORMAT)")
    report.set_defaults(func=report_command)
    reindex = commands.add_parser(
        "reindex", help="rebuild the case-list indexes and the reports' counters"
    )
    reindex.set_defaults(func=reindex_command)
