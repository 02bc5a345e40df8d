"""`helpline users add|passwd|list|disable|enable|delete|sessions|unlock|reset-2fa`:
console accounts, from the server's shell.

Uses HELPLINE_REDIS_URL; without it, the private Redis of `helpline run` (running, or
started for the moment on the same data folder).
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

from bot.config import Settings
from bot.redis_server import private_redis, running_private_redis
from bot.store.connection import connect_redis
from bot.store.console_sessions import ConsoleSessions
from bot.store.keys import Keys
from bot.store.logins import LoginGuard
from bot.store.users import Role, UserError, UserStore, strong_password


@contextmanager
def redis_url(settings: Settings) -> Iterator[str]:
    if settings.redis_url:
        yield settings.redis_url
        return
    data = settings.data_dir / "redis"
    running = running_private_redis(data)
    if running:
        yield running
        return
    with private_redis(data) as url:
        yield url


def _password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("password: ")
    if first != getpass.getpass("again: "):
        raise UserError("the two passwords differ")
    return first


async def _with_store(settings: Settings, url: str, action: str, args: argparse.Namespace) -> int:
    redis = connect_redis(url)
    try:
        keys = Keys(settings.key_prefix)
        store = UserStore(redis, keys)
        sessions = ConsoleSessions(
            redis, keys, settings.console_session_hours, settings.console_session_max_hours
        )
        if action == "add":
            user = await store.add(
                args.username,
                _password(args),
                Role(args.role),
                args.name or "",
                args.locale or settings.operators_locale,
                args.telegram or "",
            )
            print(f"added {user.username} ({user.role})", file=sys.stderr)
        elif action == "passwd":
            await store.set_password(args.username, _password(args))
            await sessions.end_all(args.username)
            print(f"password of {args.username} changed; their sessions ended", file=sys.stderr)
        elif action in ("disable", "enable"):
            await store.set_disabled(args.username, action == "disable")
            if action == "disable":
                await sessions.end_all(args.username)
            print(f"{args.username} {action}d", file=sys.stderr)
        elif action == "delete":
            await store.delete(args.username)
            await sessions.end_all(args.username)
            print(f"{args.username} deleted", file=sys.stderr)
        elif action == "sessions":
            found = await sessions.of(args.username)
            for session, left in found:
                started = time.strftime("%Y-%m-%d %H:%M", time.gmtime(session.created_at))
                where = session.remote or "-"
                print(f"{started} UTC\t{session.stage}\t{where}\t{left // 60} min left")
            if args.end:
                await store.revoke_sessions(args.username)
                count = await sessions.end_all(args.username)
                print(f"{count} sessions of {args.username} ended", file=sys.stderr)
        elif action == "unlock":
            count = await LoginGuard(redis, keys).clear(args.username)
            print(f"slow-down of {args.username} lifted ({count} addresses)", file=sys.stderr)
        elif action == "reset-2fa":
            await store.clear_totp(args.username)
            await sessions.end_all(args.username)
            print(f"two-factor sign-in of {args.username} reset", file=sys.stderr)
        else:
            for user in await store.all():
                state = " (disabled)" if user.disabled else ""
                print(f"{user.username}\t{user.role}\t{user.display_name}{state}")
    finally:
        await redis.aclose()
    return 0


def users_command(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    try:
        with redis_url(settings) as url:
            return asyncio.run(_with_store(settings, url, args.users_command, args))
    except UserError as exc:
        print(f"helpline users: {exc}", file=sys.stderr)
        return 1


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    users = commands.add_parser("users", help="console accounts")
    sub = users.add_subparsers(dest="users_command", required=True)
    add = sub.add_parser("add", help="add a console user")
    add.add_argument("username")
    add.add_argument("--role", choices=[r.value for r in Role], default=Role.OPERATOR.value)
    add.add_argument("--name", help="the name workers and colleagues see")
    add.add_argument("--locale", choices=["id", "en"], help="default: HELPLINE_OPERATORS_LOCALE")
    add.add_argument(
        "--telegram", help="Telegram user id (digits; /whoami in the operators' group tells it)"
    )
    add.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    passwd = sub.add_parser("passwd", help="set a new password (ends their sessions)")
    passwd.add_argument("username")
    passwd.add_argument("--password-stdin", action="store_true")
    sub.add_parser("list", help="list console users")
    for name, text in (
        ("disable", "disable a user (ends their sessions)"),
        ("enable", "enable a disabled user"),
        ("delete", "delete a user"),
        ("unlock", "lift the slow-down after wrong passwords, from every address"),
        ("reset-2fa", "turn two-factor sign-in off; the user enrols again"),
    ):
        sub.add_parser(name, help=text).add_argument("username")
    sessions = sub.add_parser("sessions", help="list a user's console sessions")
    sessions.add_argument("username")
    sessions.add_argument("--end", action="store_true", help="and end them all")
    users.set_defaults(func=users_command)
    for parser in sub.choices.values():
        parser.set_defaults(func=users_command)


async def ensure_first_admin(store: UserStore, locale: str = "id") -> str | None:
    """On a helpline with no users yet, an admin with a random password (returned once),
    speaking ``locale`` (the operators' language) in the console."""
    if await store.count():
        return None
    password = strong_password()
    try:
        await store.add("admin", password, Role.ADMIN, "Admin", locale)
    except UserError:
        return None
    return password
