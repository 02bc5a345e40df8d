"""`helpline topology --check` (issue 20): the production topology on one machine - Redis
primary, replica and three sentinels, two Rasa servers, two bots behind HAProxy - answers
through the balancer, and keeps answering when one bot is killed with SIGKILL."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

pytestmark = pytest.mark.rasa


@pytest.mark.timeout(600)
def test_the_topology_answers_and_survives_a_dead_bot(trained_model: object) -> None:
    if shutil.which("haproxy") is None and not shutil.which("/usr/sbin/haproxy"):
        pytest.fail("haproxy is not installed; .ci/run installs it (apt-get install haproxy)")
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "topology", "--check"],
        capture_output=True,
        text=True,
        timeout=540,
    )
    output = done.stdout + done.stderr[-3000:]
    assert done.returncode == 0, output
    assert "10 emergencies through HAProxy" in done.stdout, output
    assert "bot0 killed: 10 more messages answered" in done.stdout, output
    print("\n" + "\n".join(s for s in done.stdout.splitlines() if "through" in s or "killed" in s))
