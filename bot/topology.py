"""`helpline topology [--check]`: the production topology on one machine.

Redis primary, one replica and three sentinels (bot/redis_ha.py), two Rasa servers with
the trained model, two bot processes given the sentinels and both Rasa servers, and
HAProxy (Debian's package) in front of the bots, health-checking /readyz. For a
demonstration (it runs until Ctrl-C) and, with ``--check``, as a test: a message through
the balancer, then one bot killed with SIGKILL and more messages through the balancer,
each answered; it prints what it measured and stops.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from bot.net import free_port
from bot.nlu_model.rasa_env import RasaProject, rasa_server, stop_process
from bot.processes import die_with_parent
from bot.redis_ha import RedisHA, redis_with_sentinels
from bot.store.sealing import new_key

_HAPROXY = """global
    maxconn 4096
defaults
    mode http
    timeout connect 2s
    timeout client 120s
    timeout server 120s
    timeout tunnel 1h
    # A bot that died: the request goes to another at once (before the health check
    # notices). Only connection failures are retried: nothing reached the dead bot.
    retries 3
    option redispatch 1
    retry-on conn-failure
    http-reuse never
frontend helpline
    bind 127.0.0.1:{port}
    default_backend bots
backend bots
    balance roundrobin
    option httpchk GET /readyz
    http-check expect status 200
    default-server check inter 1s fall 2 rise 1
{servers}
"""


@dataclass
class Topology:
    url: str
    bots: list[subprocess.Popen[bytes]]
    bot_ports: list[int]
    redis: RedisHA
    rasa: list[str]


def _say(message: str) -> None:
    print(message, flush=True)


def _http(url: str, body: dict[str, Any] | None = None, token: str = "") -> dict[str, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method="POST" if data else "GET")
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=30) as response:
        answer: dict[str, Any] = json.loads(response.read() or b"{}")
        return answer


def _wait(url: str, seconds: float = 180) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except (urllib.error.URLError, OSError):
            time.sleep(0.5)
    raise RuntimeError(f"{url} did not answer within {seconds:.0f} s")


@contextmanager
def topology(data_dir: Path) -> Iterator[Topology]:
    haproxy = shutil.which("haproxy") or "/usr/sbin/haproxy"
    if not os.path.exists(haproxy):
        raise RuntimeError("haproxy is not installed (apt-get install haproxy)")
    with ExitStack() as stack:
        _say("==> Redis: a primary, a replica and three sentinels")
        ha = stack.enter_context(redis_with_sentinels(data_dir / "redis"))
        _say("==> two Rasa servers with the trained model")
        project = RasaProject.default()
        rasa = [
            stack.enter_context(
                rasa_server(project, free_port(), log_file=data_dir / f"rasa{i}.log")
            )
            for i in range(2)
        ]
        env = dict(
            os.environ,
            HELPLINE_REDIS_SENTINELS=ha.sentinel_addresses,
            HELPLINE_REDIS_PASSWORD=ha.password,
            HELPLINE_NLU_URL=",".join(rasa),
            HELPLINE_DATA_KEY=new_key(),
        )
        env.pop("HELPLINE_REDIS_URL", None)
        ports = [free_port(), free_port()]
        bots = []
        _say("==> two bot processes")
        for i, port in enumerate(ports):
            folder = data_dir / f"bot{i}"
            folder.mkdir(parents=True, exist_ok=True)
            with (data_dir / f"bot{i}.log").open("ab") as out:
                bot = subprocess.Popen(
                    [sys.executable, "-m", "bot.cli", "run"],
                    env=dict(env, HELPLINE_PORT=str(port), HELPLINE_DATA_DIR=str(folder)),
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    # Its own process group: stop_process signals the group.
                    start_new_session=True,
                    preexec_fn=die_with_parent(),
                )
            stack.callback(stop_process, bot)
            bots.append(bot)
        for port in ports:
            _wait(f"http://127.0.0.1:{port}/readyz")
        _say("==> HAProxy in front of the bots")
        front = free_port()
        servers = "\n".join(f"    server bot{i} 127.0.0.1:{p}" for i, p in enumerate(ports))
        config = data_dir / "haproxy.cfg"
        config.write_text(_HAPROXY.format(port=front, servers=servers))
        balancer = subprocess.Popen(
            [haproxy, "-db", "-f", str(config)],
            stdout=(data_dir / "haproxy.log").open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=die_with_parent(),
        )
        stack.callback(stop_process, balancer)
        url = f"http://127.0.0.1:{front}"
        _wait(f"{url}/readyz", 30)
        yield Topology(url, bots, ports, ha, rasa)


def _retried(call: Callable[[], dict[str, Any]], tries: list[int]) -> dict[str, Any]:
    """As the web chat page does: a send the balancer could not deliver (a bot died with
    the request in its hands) is sent again, with the same message id."""
    for attempt in range(5):
        try:
            return call()
        except urllib.error.HTTPError as exc:
            if exc.code not in (502, 503) or attempt == 4:
                raise
            tries.append(exc.code)
        except (urllib.error.URLError, http.client.HTTPException, ConnectionError):
            # The connection dropped with the bot that held it.
            if attempt == 4:
                raise
            tries.append(0)
        time.sleep(0.2)
    raise AssertionError("unreachable")


def _converse(url: str, words: str, count: int, tries: list[int]) -> list[float]:
    """``count`` conversations through the balancer; how long each answer took."""
    took = []
    for n in range(count):
        token = _retried(lambda: _http(f"{url}/api/chat/conversations", {}), tries)["token"]
        started = time.monotonic()
        body = {"text": words, "client_message_id": f"check-{n}"}
        answer = _retried(partial(_http, f"{url}/api/chat/messages", body, token), tries)
        if answer.get("duplicate"):
            continue  # accepted by the first try: answered on the conversation's stream
        if answer.get("pending") or not answer.get("replies"):
            raise RuntimeError(f"not answered: {answer}")
        took.append(time.monotonic() - started)
    return took


def check(top: Topology) -> None:
    """A message through the balancer; one bot killed; more messages, all answered."""
    tries: list[int] = []
    took = _converse(top.url, "majikan pukul saya, tolong", 10, tries)
    _say(f"10 emergencies through HAProxy: slowest answer {max(took):.2f} s")
    top.bots[0].send_signal(signal.SIGKILL)
    killed = time.monotonic()
    took = _converse(top.url, "brp gaji minimum di hongkong", 10, tries)
    _say(
        f"bot0 killed: 10 more messages answered, slowest {max(took, default=0):.2f} s, "
        f"all within {time.monotonic() - killed:.1f} s of the kill "
        f"({len(tries)} sends refused by the balancer and sent again)"
    )


def main(run_check: bool) -> int:
    with (
        tempfile.TemporaryDirectory(prefix="helpline-topology-") as folder,
        topology(Path(folder)) as top,
    ):
        _say(f"\nThe helpline behind HAProxy: {top.url}/chat  (console: {top.url}/console)")
        _say(f"Redis sentinels: {top.redis.sentinel_addresses}")
        if run_check:
            check(top)
            return 0
        _say("Press Ctrl-C to stop.")
        with suppress(KeyboardInterrupt):
            signal.pause()
    return 0
