"""When `helpline run` dies its Redis and Rasa die with it (issue 24), against the real
processes: kill -9 leaves no child, a restart on the same data folder keeps every write,
a second helpline on the folder refuses, and a server a dead helpline left behind is
stopped cleanly before a new one starts."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import redis

from bot.net import free_port
from bot.redis_server import PASSWORD_FILE, PID_FILE, URL_FILE, private_redis, redis_server_binary

pytestmark = pytest.mark.rasa


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _start(data: Path, port: int, **env: str) -> subprocess.Popen[bytes]:
    data.mkdir(parents=True, exist_ok=True)
    with (data.parent / f"run-{port}.log").open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "run"],
            env=dict(os.environ, HELPLINE_DATA_DIR=str(data), HELPLINE_PORT=str(port), **env),
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def _output(data: Path, port: int) -> str:
    return (data.parent / f"run-{port}.log").read_text(errors="replace")[-3000:]


def _wait_healthy(port: int, process: subprocess.Popen[bytes], seconds: float = 240) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process.poll() is None, f"helpline run exited with {process.returncode}"
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
                return
        except OSError:
            time.sleep(0.5)
    raise AssertionError("helpline run did not come up")


def _redis(data: Path) -> redis.Redis:
    return redis.Redis.from_url((data / "redis" / URL_FILE).read_text().strip())


def test_kill_9_of_helpline_run_takes_its_children_and_loses_no_write(
    tmp_path: Path, rasa_url: str
) -> None:
    data, port = tmp_path / "data", free_port()
    first = _start(data, port)
    try:
        _wait_healthy(port, first)
        children = _children(first.pid)
        commands = [Path(f"/proc/{c}/cmdline").read_bytes() for c in children]
        assert any(b"redis-server" in c for c in commands) and any(b"rasa" in c for c in commands)
        client = _redis(data)
        for n in range(50):
            client.set(f"marker:{n}", f"written before the kill {n}")
        client.close()
        time.sleep(1.5)  # appendfsync everysec: on disk within a second
        # A second helpline on the same data folder refuses, naming the first.
        other_port = free_port()
        second = _start(data, other_port, HELPLINE_NLU_URL=rasa_url)
        assert second.wait(timeout=60) == 1
        output = _output(data, other_port)
        assert f"process {first.pid}" in output and "in use" in output, output
        first.send_signal(signal.SIGKILL)
        first.wait()
        deadline = time.monotonic() + 5
        while any(_alive(c) for c in children) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not [c for c in children if _alive(c)], "a child outlived helpline run"
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    again = _start(data, port, HELPLINE_NLU_URL=rasa_url)
    try:
        _wait_healthy(port, again)
        client = _redis(data)
        assert [client.get(f"marker:{n}") for n in range(50)] == [
            f"written before the kill {n}".encode() for n in range(50)
        ]
        client.close()
    finally:
        again.send_signal(signal.SIGTERM)
        again.wait(timeout=60)


def test_a_server_a_dead_helpline_left_is_stopped_cleanly_first(tmp_path: Path) -> None:
    """Where no parent-death signal exists, a killed helpline leaves its redis-server
    running: the next start stops it (a clean shutdown: nothing written is lost) rather
    than run a second server on the same append-only files."""
    data = tmp_path / "redis"
    with private_redis(data) as url:  # makes the folder, its password and files
        pass
    password = (data / PASSWORD_FILE).read_text().strip()
    port = free_port()
    orphan = subprocess.Popen(
        [redis_server_binary(), "--port", str(port), "--bind", "127.0.0.1", "--dir", str(data),
         "--appendonly", "yes", "--save", "", "--requirepass", password],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    (data / PID_FILE).write_text(f"{orphan.pid}\n")
    try:
        client = redis.Redis(host="127.0.0.1", port=port, password=password)
        for _ in range(50):
            try:
                client.set("orphan-wrote", "this")
                break
            except redis.exceptions.ConnectionError:
                time.sleep(0.1)
        client.close()
        with private_redis(data) as url:
            assert orphan.wait(timeout=20) == 0  # stopped, and cleanly
            fresh = redis.Redis.from_url(url)
            assert fresh.get("orphan-wrote") == b"this"
            fresh.close()
    finally:
        if orphan.poll() is None:
            orphan.kill()
            orphan.wait()
