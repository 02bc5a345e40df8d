"""Redis with a replica and three sentinels on one machine: for a demonstration of the
production topology (`helpline topology`) and for the failover tests.

Every server is redis-server from PATH (the sentinels in its sentinel mode), listening
on 127.0.0.1 with one random password, with append-only persistence in a folder of its
own under ``data_dir``; all of them end with this process (bot/processes.py). In
production the same topology runs on three machines (README, "Production topology").
"""

from __future__ import annotations

import os
import secrets
import subprocess
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis

from bot.net import free_port
from bot.nlu_model.rasa_env import stop_process
from bot.processes import die_with_parent
from bot.redis_server import RedisServerError, redis_server_binary

MASTER = "helpline"
# How long the sentinels wait before they call the primary down (production: a few
# seconds; the failover then takes about as long again).
DOWN_AFTER_MS = 1500


@dataclass
class Node:
    port: int
    process: subprocess.Popen[bytes]


@dataclass
class RedisHA:
    password: str
    primary: Node
    replica: Node
    sentinels: list[Node] = field(default_factory=list)

    @property
    def sentinel_addresses(self) -> str:
        return ",".join(f"127.0.0.1:{s.port}" for s in self.sentinels)

    @property
    def url(self) -> str:
        """The address the helpline is given (bot/store/connection.py)."""
        return f"redis+sentinel://:{self.password}@{self.sentinel_addresses}/{MASTER}"

    def current_primary(self) -> int:
        """The port the sentinels name as the primary now."""
        for node in self.sentinels:
            try:
                client = redis.Redis(port=node.port, socket_timeout=1)
                found: Any = client.sentinel_get_master_addr_by_name(MASTER)
                port = found[1]
                client.close()
                return int(port)
            except (redis.RedisError, TypeError):
                continue
        raise RedisServerError("no sentinel answers")


def _spawn(folder: Path, args: list[str]) -> subprocess.Popen[bytes]:
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o700)
    return subprocess.Popen(
        [redis_server_binary(), *args],
        cwd=folder,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        umask=0o077,
        preexec_fn=die_with_parent(),
    )


def _data_node(folder: Path, port: int, password: str, *extra: str) -> Node:
    args = [
        "--bind", "127.0.0.1", "--port", str(port), "--requirepass", password,
        "--masterauth", password, "--dir", str(folder), "--appendonly", "yes",
        "--appendfsync", "everysec", "--save", "", "--logfile", str(folder / "redis.log"),
        *extra,
    ]  # fmt: skip
    return Node(port, _spawn(folder, args))


def _sentinel(folder: Path, port: int, primary: int, password: str) -> Node:
    folder.mkdir(parents=True, exist_ok=True)
    conf = folder / "sentinel.conf"
    conf.write_text(
        f"bind 127.0.0.1\nport {port}\ndir {folder}\nlogfile {folder / 'sentinel.log'}\n"
        f"sentinel monitor {MASTER} 127.0.0.1 {primary} 2\n"
        f"sentinel auth-pass {MASTER} {password}\n"
        f"sentinel down-after-milliseconds {MASTER} {DOWN_AFTER_MS}\n"
        f"sentinel failover-timeout {MASTER} 10000\n"
        f"sentinel parallel-syncs {MASTER} 1\n"
    )
    os.chmod(conf, 0o600)
    return Node(port, _spawn(folder, [str(conf), "--sentinel"]))


def _wait(port: int, password: str | None, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            client = redis.Redis(port=port, password=password, socket_timeout=1)
            client.ping()
            client.close()
            return
        except redis.RedisError:
            time.sleep(0.1)
    raise RedisServerError(f"redis-server on port {port} did not answer")


def _replicating(replica: int, password: str, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    client = redis.Redis(port=replica, password=password, socket_timeout=1)
    try:
        while time.monotonic() < deadline:
            if client.info("replication").get("master_link_status") == "up":
                return
            time.sleep(0.1)
    finally:
        client.close()
    raise RedisServerError("the replica did not catch up with the primary")


@contextmanager
def redis_with_sentinels(data_dir: Path) -> Iterator[RedisHA]:
    """A primary, a replica following it and three sentinels watching them."""
    password = secrets.token_urlsafe(24)
    with ExitStack() as stack:
        ports = [free_port() for _ in range(5)]
        primary = _data_node(data_dir / "primary", ports[0], password)
        stack.callback(stop_process, primary.process)
        _wait(primary.port, password)
        replica = _data_node(
            data_dir / "replica", ports[1], password, "--replicaof", "127.0.0.1", str(ports[0])
        )
        stack.callback(stop_process, replica.process)
        _wait(replica.port, password)
        _replicating(replica.port, password)
        ha = RedisHA(password, primary, replica)
        for index, port in enumerate(ports[2:]):
            node = _sentinel(data_dir / f"sentinel{index}", port, primary.port, password)
            stack.callback(stop_process, node.process)
            ha.sentinels.append(node)
        for node in ha.sentinels:
            _wait(node.port, None)
        yield ha
