"""A private redis-server for local runs and tests, with append-only persistence."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bot.net import free_port
from bot.nlu.rasa_env import stop_process

# While it runs, the private server's URL is written here, for `helpline users` and friends.
URL_FILE = "url"


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
    """Start redis-server keeping its append-only file under ``data_dir``; yield its URL."""
    data_dir.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    process = subprocess.Popen(
        [
            redis_server_binary(),
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
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
    )
    url_file = data_dir / URL_FILE
    try:
        _wait_for_ping(port, process)
        url = f"redis://127.0.0.1:{port}/0"
        url_file.write_text(url + "\n")
        yield url
    finally:
        url_file.unlink(missing_ok=True)
        stop_process(process)


def running_private_redis(data_dir: Path) -> str | None:
    """The URL of the private redis-server already running on ``data_dir``, if any."""
    try:
        url = (data_dir / URL_FILE).read_text().strip()
        port = int(url.rsplit(":", 1)[1].split("/")[0])
        with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            if sock.recv(16).startswith(b"+PONG"):
                return url
    except (OSError, ValueError, IndexError):
        pass
    return None


def _wait_for_ping(port: int, process: subprocess.Popen[bytes], timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RedisServerError(f"redis-server exited with code {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                if sock.recv(16).startswith(b"+PONG"):
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise RedisServerError(f"redis-server on port {port} did not answer within {timeout} s")
