"""At rest (issue 18, medium): the private Redis asks for a password kept in a file only
its owner can read; its data folder and the files in it are the owner's only."""

from __future__ import annotations

import stat
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import redis

from bot.redis_server import PASSWORD_FILE, URL_FILE, private_redis


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _rewritten(client: redis.Redis, seconds: float = 20) -> None:
    """Waits for the append-only rewrite to finish: while it runs, its temporary file can
    vanish between listing the folder and looking at the file (a flaky failure in CI)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        info = client.info("persistence")
        if not info["aof_rewrite_in_progress"] and not info["aof_rewrite_scheduled"]:
            return
        time.sleep(0.05)
    raise AssertionError("the append-only rewrite did not finish")


def test_the_private_redis_needs_its_password_and_keeps_its_files_private(
    tmp_path: Path,
) -> None:
    data = tmp_path / "redis"
    with private_redis(data) as url:
        parts = urlsplit(url)
        assert parts.password and parts.hostname == "127.0.0.1"
        anonymous = redis.Redis(host="127.0.0.1", port=parts.port or 0)
        with pytest.raises(redis.exceptions.AuthenticationError):
            anonymous.set("x", "1")
        client = redis.Redis.from_url(url)
        client.set("testimony", "majikan pukul saya")
        client.bgrewriteaof()
        _rewritten(client)
        client.close()
        anonymous.close()
        assert _mode(data) == 0o700
        assert _mode(data / PASSWORD_FILE) == 0o600
        assert _mode(data / URL_FILE) == 0o600
        written = [p for p in data.rglob("*") if p.is_file() and p.name != "redis.log"]
        assert written and all(_mode(p) & 0o077 == 0 for p in written), {
            str(p): oct(_mode(p)) for p in written
        }
    # The same folder, the same password: a restart finds its data.
    with private_redis(data) as again:
        assert urlsplit(again).password == parts.password
        client = redis.Redis.from_url(again)
        assert client.get("testimony") == b"majikan pukul saya"
        client.close()
