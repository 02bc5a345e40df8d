"""`helpline retention`: what the helpline holds, how old it is, and what goes when."""

from __future__ import annotations

import argparse
import asyncio
import time

from bot.config import Settings
from bot.store.cases import CaseStore
from bot.store.connection import connect_redis
from bot.store.keys import Keys
from bot.store.retention import Retention, Rules
from bot.store.sealing import Sealer
from bot.users_cli import redis_url


def _age(at: float | None) -> str:
    if at is None:
        return "-"
    days = (time.time() - at) / 86400
    return f"{days:.0f} days" if days >= 1 else f"{days * 24:.0f} hours"


async def _report(settings: Settings, url: str, sweep: bool) -> int:
    redis, binary = connect_redis(url), connect_redis(url, decode=False)
    keys = Keys(settings.key_prefix)
    cases = CaseStore(redis, keys, Sealer.load(settings.data_key, settings.data_dir))
    rules = Rules.of(settings)
    retention = Retention(redis, binary, keys, cases, rules)
    try:
        if sweep:
            done = await retention.sweep()
            print("removed now: " + ", ".join(f"{n} {kind}" for kind, n in done.items()))
        print(f"{'what':<34}{'held':>8}  {'oldest':>10}  {'goes within 30 days':>20}  rule")
        for held in await retention.report():
            print(
                f"{held.kind:<34}{held.count:>8}  {_age(held.oldest):>10}  {held.due:>20}  "
                f"{held.rule}"
            )
    finally:
        await redis.aclose()
        await binary.aclose()
    return 0


def retention_command(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    with redis_url(settings) as url:
        return asyncio.run(_report(settings, url, args.sweep))


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    retention = commands.add_parser(
        "retention", help="what is held, how old, and what goes when (the README's table)"
    )
    retention.add_argument("--sweep", action="store_true", help="apply the rules now")
    retention.set_defaults(func=retention_command)
