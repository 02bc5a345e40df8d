"""`helpline kb check|import|export` and `helpline nlu export-examples`: the content in
Redis and the files in the repository (kb/, nlu/), both ways, and whether it is fit to serve."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import sys
from pathlib import Path
from typing import TextIO

from bot.config import Settings
from bot.kb import KB_DIR, REVIEW_WARNING_DAYS, FigureReview, KnowledgeBase
from bot.nlu_model.proposed import export_proposed
from bot.nlu_model.rasa_env import project_dir
from bot.store.connection import connect_redis
from bot.store.kb_store import KBStore
from bot.store.keys import Keys
from bot.store.proposals import ExampleProposals
from bot.users_cli import redis_url


def kb_check(
    kb: KnowledgeBase,
    *,
    today: dt.date,
    strict: bool = False,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """`helpline kb check`: problems on ``out``, exit 1 when there are any. A figure past
    its next review date is a warning, and a problem with ``strict`` (CI); one due within
    REVIEW_WARNING_DAYS is a warning."""
    out, err = out or sys.stdout, err or sys.stderr
    problems = kb.check()
    due = kb.figures_due(today)
    overdue = [review for review in due if review.overdue]
    if strict:
        problems += [_review_line(review) for review in overdue]
    for problem in problems:
        print(problem, file=out)
    for review in due:
        if not (strict and review.overdue):
            print(f"warning: {_review_line(review)}", file=out)
    unverified = sum(a.unverified for a in kb.answers.values())
    print(
        f"{len(kb.answers)} answers, {len(kb.referrals)} referral countries, "
        f"{unverified} answers marked unverified, {len(problems)} problems",
        file=err,
    )
    figures = kb.figures.values()
    print(
        f"{len(kb.figures)} figures: {sum(f.unverified for f in figures)} unverified, "
        f"{sum(not f.source_url for f in figures)} without a source URL, "
        f"{sum(f.secondary for f in figures)} on a secondary source, "
        f"{len(overdue)} past their review date, "
        f"{len(due) - len(overdue)} due within {REVIEW_WARNING_DAYS} days"
        + ("" if strict or not overdue else " (--strict fails on past review dates)"),
        file=err,
    )
    return 1 if problems else 0


def _review_line(review: FigureReview) -> str:
    figure = review.figure
    when = (
        f"past its review date {figure.next_review} ({-review.days_left} days ago)"
        if review.overdue
        else f"due for review on {figure.next_review} (in {review.days_left} days)"
    )
    value = f"{figure.currency} {figure.value}" if figure.currency else figure.value
    return f"figures/{figure.id}: {when}; value {value}, checked {figure.checked}"


def check_command(args: argparse.Namespace) -> int:
    kb = KnowledgeBase.load(Path(args.dir))
    return kb_check(kb, today=dt.date.today(), strict=args.strict)


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
            for key in report.removed:
                print(f"removed {key}: no longer in figures.yml", file=sys.stderr)
            for key in report.still_named:
                print(
                    f"kept {key}: no longer in figures.yml, but an answer still names it "
                    "(change the answer, then import again)",
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
    check = kb.add_parser("check", help="validate the kb/ content")
    check.add_argument("--dir", default=str(KB_DIR))
    check.add_argument(
        "--strict",
        action="store_true",
        help="fail (exit 1) on figures past their next review date, as CI should",
    )
    check.set_defaults(func=check_command)
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
