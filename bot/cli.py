"""The ``helpline`` command."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import subprocess
import sys
from collections.abc import Sequence

from bot import logs
from bot.nlu.client import NLUClient
from bot.nlu_model.rasa_env import RasaProject, RasaSetupError
from bot.processes import DataDirBusy, die_with_parent

DEFAULT_NLU_URL = "http://127.0.0.1:5005"


def nlu_url() -> str:
    return os.environ.get("HELPLINE_NLU_URL", DEFAULT_NLU_URL)


def _train(args: argparse.Namespace) -> int:
    project = RasaProject.default()
    target = project.model_path()
    if target.exists() and not args.force:
        print(f"model up to date: {target}", file=sys.stderr)
        return 0
    print(f"training the NLU model (config.yml + nlu/ changed) -> {target}", file=sys.stderr)
    path, seconds = project.train(force=args.force)
    print(f"trained {path} in {seconds:.0f} s", file=sys.stderr)
    return 0


def _serve(args: argparse.Namespace) -> int:
    project = RasaProject.default()
    project.require_rasa()
    model = project.model_path()
    if not model.exists():
        print(
            f"no model for the current config.yml + nlu/; training first -> {model}",
            file=sys.stderr,
        )
        project.train()
    token = os.environ.get("HELPLINE_NLU_TOKEN") or secrets.token_hex(24)
    cmd = project.serve_command(model, args.port, args.host, token=token)
    print(f"serving {model.name} on http://{args.host}:{args.port}", file=sys.stderr)
    if not os.environ.get("HELPLINE_NLU_TOKEN"):
        # To the terminal only: the bot needs it as HELPLINE_NLU_TOKEN.
        print(f"auth token of this run (set HELPLINE_NLU_TOKEN to it): {token}", file=sys.stderr)
    try:
        return subprocess.call(
            cmd, env=project.rasa_env(), cwd=project.root, preexec_fn=die_with_parent()
        )
    except KeyboardInterrupt:
        return 130


async def _classify_stream(url: str) -> int:
    async with NLUClient(url, token=os.environ.get("HELPLINE_NLU_TOKEN") or None) as client:
        if not await client.is_ready():
            print(
                f"helpline classify: the Rasa server at {client.base_url} is not reachable, "
                "refuses the token (HELPLINE_NLU_TOKEN) or has no model loaded; start it "
                "with `helpline nlu serve` or set HELPLINE_NLU_URL",
                file=sys.stderr,
            )
            return 2
        for line in sys.stdin:
            result = await client.classify(line.rstrip("\r\n"))
            sys.stdout.write(json.dumps(result.as_json(), ensure_ascii=False) + "\n")
            sys.stdout.flush()
    return 0


def _classify(args: argparse.Namespace) -> int:
    return asyncio.run(_classify_stream(args.url or nlu_url()))


def _evaluate(args: argparse.Namespace) -> int:
    from bot.nlu_model.evaluate import run_evaluation

    return run_evaluation(folds=args.folds, report_dir=args.report_dir, port=args.port)


def _run(args: argparse.Namespace) -> int:
    from bot.run import run

    return run()


def _topology(args: argparse.Namespace) -> int:
    from bot.topology import main as topology

    return topology(args.check)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="helpline", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    commands = parser.add_subparsers(dest="command", required=True)

    nlu = commands.add_parser("nlu", help="train, serve and evaluate the NLU model")
    nlu_commands = nlu.add_subparsers(dest="nlu_command", required=True)
    train = nlu_commands.add_parser("train", help="train unless config.yml and nlu/ are unchanged")
    train.add_argument("--force", action="store_true", help="train even when up to date")
    train.set_defaults(func=_train)
    serve = nlu_commands.add_parser("serve", help="run the stock Rasa server in the foreground")
    serve.add_argument("--port", type=int, default=5005)
    serve.add_argument("--host", default="127.0.0.1")
    serve.set_defaults(func=_serve)
    evaluate = nlu_commands.add_parser("evaluate", help="cross-validate and write a report")
    evaluate.add_argument("--folds", type=int, default=5)
    evaluate.add_argument("--report-dir", default="reports/nlu")
    evaluate.add_argument("--port", type=int, default=5035, help="port for the latency check")
    evaluate.set_defaults(func=_evaluate)

    run = commands.add_parser("run", help="start Redis, Rasa and the bot in the foreground")
    run.set_defaults(func=_run)
    shape = commands.add_parser(
        "topology",
        help="the production topology on this machine: Redis with a replica and sentinels, "
        "two Rasa servers, two bots behind HAProxy",
    )
    shape.add_argument("--check", action="store_true", help="check it works, then stop")
    shape.set_defaults(func=_topology)
    kb = commands.add_parser("kb", help="knowledge-base content")
    kb_commands = kb.add_subparsers(dest="kb_command", required=True)
    from bot.kb_cli import add_parsers as add_kb_parsers

    add_kb_parsers(kb_commands, nlu_commands)

    from bot.keys_cli import add_parser as add_keys_parser
    from bot.reports_cli import add_parsers as add_report_parsers
    from bot.retention_cli import add_parser as add_retention_parser
    from bot.users_cli import add_parser as add_users_parser

    add_users_parser(commands)
    add_keys_parser(commands)
    add_retention_parser(commands)
    add_report_parsers(commands)

    classify = commands.add_parser(
        "classify", help="classify messages from stdin, one JSON object per line on stdout"
    )
    classify.add_argument(
        "--url", help=f"Rasa server (default $HELPLINE_NLU_URL or {DEFAULT_NLU_URL})"
    )
    classify.set_defaults(func=_classify)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logs.configure(verbose=args.verbose)
    try:
        code: int = args.func(args)
    except RasaSetupError as exc:
        print(f"helpline: {exc}", file=sys.stderr)
        return 2
    except DataDirBusy as exc:
        print(f"helpline: {exc}", file=sys.stderr)
        return 1
    return code


if __name__ == "__main__":
    sys.exit(main())
