"""`helpline run`: Redis (private, unless HELPLINE_REDIS_URL), Rasa (unless
HELPLINE_NLU_URL) and the bot, in the foreground; Ctrl-C stops all three."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import signal
from contextlib import ExitStack

from aiohttp import web

from bot.app import CONSOLE, create_app
from bot.config import Settings
from bot.logs import PathOnlyAccessLogger
from bot.net import free_port
from bot.nlu_model.rasa_env import RasaProject, rasa_server
from bot.processes import DataDirBusy, locked, stop_orphan
from bot.redis_server import private_redis
from bot.users_cli import ensure_first_admin

log = logging.getLogger(__name__)

RASA_PID_FILE = "rasa.pid"


def _say(message: str) -> None:
    print(message, flush=True)


SHUTDOWN_GRACE_SECONDS = 3.0


def first_admin_notice(base: str, password: str) -> str:
    """The first admin's password, in a frame that stands out in a scrolling terminal."""
    lines = [
        "FIRST SIGN-IN (shown only now - copy it)",
        f"console:  {base}/console",
        "user:     admin",
        f"password: {password}",
        "Then: change it (`helpline users passwd admin` or the account page) and add",
        "operators: `make users-add NAME=sari ROLE=operator`.",
    ]
    width = max(len(line) for line in lines)
    rule = "+" + "-" * (width + 2) + "+"
    return "\n".join(["", rule, *(f"| {line.ljust(width)} |" for line in lines), rule, ""])


async def _serve(settings: Settings) -> None:
    app = create_app(settings)
    # Requests still running when a stop begins get this long (a web chat POST waiting
    # for its reply: the message is already accepted, and answered on the event stream).
    runner = web.AppRunner(
        app, access_log_class=PathOnlyAccessLogger, shutdown_timeout=SHUTDOWN_GRACE_SECONDS
    )
    await runner.setup()
    site = web.TCPSite(runner, settings.host, settings.port)
    await site.start()
    base = f"http://{settings.host}:{settings.port}"
    _say(
        f"\nThe helpline is running:\n  web chat:  {base}/chat\n  console:   {base}/console"
        f"\n  health:    {base}/healthz"
    )
    password = await ensure_first_admin(app[CONSOLE].users, settings.operators_locale)
    if settings.telegram_token:
        mode = "webhook" if settings.telegram_webhook_secret else "long polling"
        group = settings.telegram_operators_chat
        _say(
            f"Telegram: on ({mode}); operators' group: "
            + (str(group) if group is not None else "not set (HELPLINE_TELEGRAM_OPERATORS_CHAT)")
        )
    else:
        _say(
            "Telegram: not enabled. To enable it, create a bot with @BotFather and set "
            "HELPLINE_TELEGRAM_TOKEN (and HELPLINE_TELEGRAM_OPERATORS_CHAT for the "
            "operators' group)."
        )
    if settings.whatsapp_enabled:
        _say(f"WhatsApp: on (webhook at {settings.public_url}/whatsapp/webhook).")
    else:
        _say(
            "WhatsApp: not enabled. To enable it, set HELPLINE_WHATSAPP_TOKEN, "
            "HELPLINE_WHATSAPP_PHONE_ID, HELPLINE_WHATSAPP_APP_SECRET and "
            "HELPLINE_WHATSAPP_VERIFY_TOKEN from your Meta app, and point its webhook "
            "at HELPLINE_PUBLIC_URL/whatsapp/webhook."
        )
    if password:
        # Last, and framed: the one thing to copy before it scrolls away.
        _say(first_admin_notice(base, password))
    _say("Press Ctrl-C to stop.")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        _say("stopping the bot...")
        await runner.cleanup()


def run(settings: Settings | None = None) -> int:
    settings = settings or Settings.from_env()
    # The data folder holds the helpline's Redis files, keys and logs: the owner's only.
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    settings.data_dir.chmod(0o700)
    try:
        with locked(settings.data_dir, "helpline run"):
            return _run_locked(settings)
    except DataDirBusy as exc:
        _say(f"helpline run: {exc}")
        return 1


def _run_locked(settings: Settings) -> int:
    # Children that outlived a helpline killed on a system without parent-death signals.
    stop_orphan(settings.data_dir / RASA_PID_FILE, "rasa", _say)
    with ExitStack() as stack:
        if settings.redis_url is None:
            data = settings.data_dir / "redis"
            _say(f"==> starting a private redis-server (append-only files in {data})")
            url = stack.enter_context(private_redis(data))
            settings = dataclasses.replace(settings, redis_url=url)
        if settings.nlu_url is None:
            project = RasaProject.default()
            model, _ = project.train()
            _say(f"==> starting the Rasa server with {model.name} (about 20 s)")
            url = stack.enter_context(
                rasa_server(
                    project,
                    free_port(),
                    model=model,
                    log_file=settings.data_dir / "rasa.log",
                    pid_file=settings.data_dir / RASA_PID_FILE,
                )
            )
            settings = dataclasses.replace(settings, nlu_url=url)
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(_serve(settings))
        _say("stopping Redis and Rasa...")
    return 0
