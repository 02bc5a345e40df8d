"""`helpline kb import|export` and `helpline nlu export-examples`: the content in Redis
and the files in the repository (kb/, nlu/), both ways."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from bot.config import Settings
from bot.kb import KB_DIR
from bot.nlu_model.proposed import export_proposed
from bot.nlu_model.rasa_env import project_dir
from bot.store.connection import connect_redis
from bot.store.kb_store import KBStore
from bot.store.keys import Keys
from bot.store.proposals import ExampleProposals
from bot.users_cli import redis_url


async def _run(settings: Settings, url: str, args: argparse.Namespace) -> int:
    redis = connect_redis(url)
    keys = Keys(settings.key_prefix)
    store = KBStore(redis, keys)
    try:
        if args.kb_action == "import":
            report = await store.import_files(Path(args.dir), force=args.force)
            print(
                f"imported: {report.added} added, {report.updated} updated, "
                f"{report.unchanged} unchanged",
                file=sys.stderr,
            )
            for key in report.kept:
                print(
                    f"kept {key}: edited in the console since the last import "
                    "(use --force to overwrite it with the file's text)",
                    file=sys.stderr,
                )
            return 0
        if args.kb_action == "export":
            written = await store.export_files(Path(args.dir))
            print(f"exported {written} files to {args.dir}", file=sys.stderr)
            return 0
        count = await export_proposed(ExampleProposals(redis, keys), project_dir())
        print(f"{count} proposed examples written to nlu/<lang>/proposed.yml", file=sys.stderr)
        return 0
    finally:
        await redis.aclose()


def kb_command(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    with redis_url(settings) as url:
        return asyncio.run(_run(settings, url, args))


def add_parsers(
    kb: argparse._SubParsersAction[argparse.ArgumentParser],
    nlu: argparse._SubParsersAction[argparse.ArgumentParser],
) -> None:
    imp = kb.add_parser("import", help="the kb/ files into the helpline's store")
    imp.add_argument("--dir", default=str(KB_DIR))
    imp.add_argument("--force", action="store_true", help="overwrite console edits too")
    imp.set_defaults(func=kb_command, kb_action="import")
    exp = kb.add_parser("export", help="the published content as kb/ files")
    exp.add_argument("--dir", default=str(KB_DIR))
    exp.set_defaults(func=kb_command, kb_action="export")
    examples = nlu.add_parser(
        "export-examples", help="editors' proposed examples into nlu/<lang>/proposed.yml"
    )
    examples.set_defaults(func=kb_command, kb_action="examples")
