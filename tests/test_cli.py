"""`helpline classify` as a worker-facing pipe: JSON lines out, clear errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.net import free_port

HELPLINE = [sys.executable, "-m", "bot.cli"]


def run_classify(lines: list[str], url: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, HELPLINE_NLU_URL=url)
    return subprocess.run(
        [*HELPLINE, "classify"],
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


@pytest.mark.rasa
def test_classify_writes_one_json_object_per_line(rasa_url: str) -> None:
    lines = ["majikan mukul sy", "brp gaji minimum di taiwan", "", "terima kasih kak"]
    result = run_classify(lines, rasa_url)
    assert result.returncode == 0, result.stderr
    objects = [json.loads(line) for line in result.stdout.splitlines()]
    assert [o["text"] for o in objects] == lines
    for o in objects:
        assert {"text", "intent", "confidence", "category", "emergency", "country"} <= set(o)
    assert objects[0]["emergency"] is True and objects[0]["category"] == "emergency"
    assert objects[1]["category"] == "rights_question" and objects[1]["country"] == "taiwan"
    assert objects[2]["intent"] == "out_of_scope" and objects[2]["emergency"] is False
    assert objects[3]["category"] == "other"


def test_classify_without_server_fails_clearly() -> None:
    result = run_classify(["halo"], f"http://127.0.0.1:{free_port()}")
    assert result.returncode == 2
    assert "not reachable" in result.stderr
    assert result.stdout == ""


def test_train_reports_up_to_date_model(trained_model: Path) -> None:
    result = subprocess.run(
        [*HELPLINE, "nlu", "train"], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "up to date" in result.stderr and trained_model.name in result.stderr


def _users(
    args: list[str], redis_url: str, prefix: str, stdin: str
) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, HELPLINE_REDIS_URL=redis_url, HELPLINE_KEY_PREFIX=prefix)
    return subprocess.run(
        [*HELPLINE, "users", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


def test_users_add_list_and_passwd(redis_url: str, key_prefix: str) -> None:
    added = _users(
        ["add", "ana", "--role", "supervisor", "--name", "Ana S", "--password-stdin"],
        redis_url,
        key_prefix,
        "a long enough password\n",
    )
    assert added.returncode == 0, added.stderr
    listed = _users(["list"], redis_url, key_prefix, "")
    assert listed.stdout.splitlines() == ["ana\tsupervisor\tAna S"]
    again = _users(["add", "ana", "--password-stdin"], redis_url, key_prefix, "another password\n")
    assert again.returncode == 1 and "exists already" in again.stderr
    short = _users(["passwd", "ana", "--password-stdin"], redis_url, key_prefix, "short\n")
    assert short.returncode == 1 and "at least 12 characters" in short.stderr
    common = _users(["passwd", "ana", "--password-stdin"], redis_url, key_prefix, "password1234\n")
    assert common.returncode == 1 and "common" in common.stderr
    changed = _users(
        ["passwd", "ana", "--password-stdin"], redis_url, key_prefix, "new password ok\n"
    )
    assert changed.returncode == 0, changed.stderr
