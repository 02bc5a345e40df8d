"""A private redis-server for local runs and tests, with append-only persistence.

It listens on 127.0.0.1 only and asks for a random password, kept in a file of the data
directory that only the owner can read (and in the URL file while it runs, for
`helpline users` and friends); the data directory is the owner's only (0700) and so are
the files Redis writes (umask 077).
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

from bot.net import free_port
from bot.nlu_model.rasa_env import stop_process
from bot.processes import die_with_parent, locked, stop_orphan, write_pid

# While it runs, the private server's URL is written here, for `helpline users` and friends.
URL_FILE = "url"
PASSWORD_FILE = "redis.password"
PID_FILE = "redis.pid"


class RedisServerError(RuntimeError):
    pass


def redis_server_binary() -> str:
    found = shutil.which("redis-server")
    if found is None:
        raise RedisServerError(
            "redis-server was not found on PATH: install it (apt-get install redis-server) "
            "or set HELPLINE_REDIS_URL to a Redis you run"
        )
    return found


@contextmanager
def private_redis(data_dir: Path, port: int | None = None) -> Iterator[str]:
    """Start redis-server keeping its append-only file under ``data_dir``; yield its URL.

    The folder is locked while the server runs (a second one refuses), a server a dead
    helpline left on it is stopped first, and the server ends with this process
    (bot/processes.py)."""
    with locked(data_dir, "helpline's redis-server"):
        stop_orphan(data_dir / PID_FILE, "redis-server", _say)
        with _started(data_dir, port) as url:
            yield url


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@contextmanager
def _started(data_dir: Path, port: int | None) -> Iterator[str]:
    data_dir.chmod(0o700)
    port = port or free_port()
    password = _password(data_dir)
    process = subprocess.Popen(
        [
            redis_server_binary(),
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--requirepass",
            password,
            "--dir",
            str(data_dir),
            "--appendonly",
            "yes",
            "--appendfsync",
            "everysec",
            "--save",
            "",
            "--daemonize",
            "no",
            "--logfile",
            str(data_dir / "redis.log"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        umask=0o077,
        preexec_fn=die_with_parent(),
    )
    write_pid(data_dir / PID_FILE, process.pid)
    url_file = data_dir / URL_FILE
    try:
        _wait_for_ping(port, process, password)
        url = f"redis://:{password}@127.0.0.1:{port}/0"
        fd = os.open(url_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(url + "\n")
        yield url
    finally:
        url_file.unlink(missing_ok=True)
        stop_process(process)
        (data_dir / PID_FILE).unlink(missing_ok=True)


def _password(data_dir: Path) -> str:
    """The server's password: random, kept in a file only the owner can read."""
    path = data_dir / PASSWORD_FILE
    try:
        found = path.read_text().strip()
        if found:
            return found
    except FileNotFoundError:
        pass
    password = secrets.token_urlsafe(24)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(password + "\n")
    return password


def running_private_redis(data_dir: Path) -> str | None:
    """The URL of the private redis-server already running on ``data_dir``, if any."""
    try:
        url = (data_dir / URL_FILE).read_text().strip()
        parts = urlsplit(url)
        if parts.port and _pong(parts.port, parts.password):
            return url
    except (OSError, ValueError, IndexError):
        pass
    return None


def _pong(port: int, password: str | None) -> bool:
    with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
        if password:
            sock.sendall(_command("AUTH", password))
            if not sock.recv(64).startswith(b"+OK"):
                return False
        sock.sendall(b"PING\r\n")
        return sock.recv(16).startswith(b"+PONG")


def _command(*parts: str) -> bytes:
    """A Redis command in RESP (a password may hold any character)."""
    encoded = [p.encode() for p in parts]
    return b"*%d\r\n" % len(encoded) + b"".join(b"$%d\r\n%s\r\n" % (len(p), p) for p in encoded)


def _wait_for_ping(
    port: int, process: subprocess.Popen[bytes], password: str | None = None, timeout: float = 15
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RedisServerError(f"redis-server exited with code {process.returncode}")
        try:
            if _pong(port, password):
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise RedisServerError(f"redis-server on port {port} did not answer within {timeout} s")
