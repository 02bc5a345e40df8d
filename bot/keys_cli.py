"""`helpline keys status|rotate`: the keyring that seals testimony (bot/store/sealing.py).

``rotate`` puts a new key in front (in the data folder's key file; with HELPLINE_DATA_KEY,
put the new key first there yourself, on every bot process, and then run it), re-seals
every sealed record, timeline entry, session and file with it, and says what is left on
older keys: stream entries (transcripts, queue entries, accepted messages) cannot be
rewritten in place and keep their key until they leave (capped, handled or erased).
``--drop-old`` then removes the older keys from the key file once nothing uses them.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections import Counter

from bot.config import Settings
from bot.store.connection import connect_redis
from bot.store.rekeying import count_sealed
from bot.store.sealing import (
    Sealer,
    add_key_to_file,
    drop_old_keys_from_file,
)
from bot.users_cli import redis_url


def _report(counts: Counter[str], sealer: Sealer) -> int:
    """Prints the counts; returns how many values an older key still holds."""
    older = 0
    for label, count in sorted(counts.items()):
        kid = label.split(" ", 1)[0]
        mark = "current" if kid == sealer.current_id else "older key"
        print(f"{count:8d}  {label}  ({mark})")
        if kid != sealer.current_id:
            older += count
    return older


async def _run(settings: Settings, url: str, action: str, drop_old: bool) -> int:
    if action == "rotate" and not settings.data_key:
        add_key_to_file(settings.data_dir)
        print(f"a new key is now first in {settings.data_dir / 'data.key'}", file=sys.stderr)
    sealer = Sealer.load(settings.data_key, settings.data_dir)
    redis = connect_redis(url, decode=False)
    try:
        counts = await count_sealed(redis, settings.key_prefix, sealer, reseal=action == "rotate")
    finally:
        await redis.aclose()
    print(f"current key: {sealer.current_id}; keys in the ring: {len(sealer.keys)}")
    older = _report(counts, sealer)
    if action == "rotate" and drop_old:
        if older:
            print(f"{older} values still use an older key: keeping it", file=sys.stderr)
        elif settings.data_key:
            print(
                "nothing uses the older keys: remove them from HELPLINE_DATA_KEY", file=sys.stderr
            )
        else:
            print(
                f"dropped {drop_old_keys_from_file(settings.data_dir)} older keys", file=sys.stderr
            )
    return 0


def keys_command(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    with redis_url(settings) as url:
        return asyncio.run(_run(settings, url, args.keys_command, args.drop_old))


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    keys = commands.add_parser("keys", help="the keyring that seals what workers tell us")
    sub = keys.add_subparsers(dest="keys_command", required=True)
    sub.add_parser("status", help="how many sealed values each key holds")
    rotate = sub.add_parser("rotate", help="a new current key, and re-seal with it")
    rotate.add_argument(
        "--drop-old", action="store_true", help="then remove older keys nothing uses any more"
    )
    keys.set_defaults(func=keys_command, drop_old=False)
    for parser in sub.choices.values():
        parser.set_defaults(func=keys_command)
