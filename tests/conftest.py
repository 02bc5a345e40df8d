"""Shared fixtures: the trained model and one real Rasa server per test session."""

from __future__ import annotations

import dataclasses
import os
import shutil
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, BrowserContext, async_playwright

from bot.config import Settings
from bot.net import free_port
from bot.nlu.safety import CrisisLexicon
from bot.nlu_model.rasa_env import RasaProject, rasa_server
from bot.redis_server import private_redis
from tests.chat import Chat


@pytest.fixture(scope="session")
def project() -> RasaProject:
    return RasaProject.default()


@pytest.fixture(scope="session")
def lexicon() -> CrisisLexicon:
    return CrisisLexicon.load()


@pytest.fixture(scope="session")
def trained_model(project: RasaProject) -> Path:
    """The model for the current config.yml + nlu/, trained only if it is missing."""
    path, _ = project.train()
    return path


@pytest.fixture(scope="session")
def rasa_url(
    project: RasaProject, trained_model: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """The stock Rasa server with the trained model, started once per test session."""
    log = tmp_path_factory.mktemp("rasa") / "rasa.log"
    with rasa_server(project, free_port(), model=trained_model, log_file=log) as url:
        yield url


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A private redis-server with append-only persistence, started by our own code."""
    data = tmp_path_factory.mktemp("redis")
    with private_redis(data) as url:
        yield url


@pytest.fixture
def key_prefix(request: pytest.FixtureRequest) -> str:
    """A Redis key prefix of the test's own, so tests never see each other's state."""
    return f"test-{uuid.uuid4().hex[:10]}"


CHROMIUM = os.environ.get("HELPLINE_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
HAVE_CHROMIUM = os.path.exists(CHROMIUM)


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    if not HAVE_CHROMIUM:
        if os.environ.get("HELPLINE_REQUIRE_BROWSER"):
            pytest.fail(f"Chromium not found at {CHROMIUM}; .ci/run installs it")
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield launched
        await launched.close()


def make_settings(
    redis_url: str | None, nlu_url: str | None, prefix: str, **extra: Any
) -> Settings:
    base = Settings.from_env()
    # Staffed around the clock unless a test says otherwise: answers must not depend on
    # the hour the suite runs.
    extra.setdefault("staffed_hours", "always")
    return dataclasses.replace(
        base, redis_url=redis_url, nlu_url=nlu_url, key_prefix=prefix, **extra
    )


@pytest.fixture
async def chat(redis_url: str, rasa_url: str, key_prefix: str) -> AsyncIterator[Chat]:
    """The whole bot (real Redis, real Rasa server) behind its web chat API."""
    async with Chat.serve(make_settings(redis_url, rasa_url, key_prefix)) as started:
        yield started


@pytest.fixture
async def desk(redis_url: str, key_prefix: str) -> AsyncIterator[Chat]:
    """The whole bot with Redis only: its NLU URL is a closed port, so every message is
    read by the safety layer's fallback (the crisis lexicon). For the console, the queue
    and the content, which do not need the model's classification."""
    async with Chat.serve(make_settings(redis_url, nlu_nowhere(), key_prefix)) as started:
        yield started


def nlu_nowhere() -> str:
    """An NLU URL where nothing listens (the client falls back to the crisis lexicon)."""
    return f"http://127.0.0.1:{free_port()}"


@pytest.fixture
async def desk_and_phone(browser: Browser) -> AsyncIterator[tuple[BrowserContext, BrowserContext]]:
    """Two browsers side by side: a staff member at a desk, a worker on a phone."""
    desk = await browser.new_context(viewport={"width": 1200, "height": 900}, locale="en-US")
    phone = await browser.new_context(viewport={"width": 390, "height": 844}, locale="en-US")
    yield desk, phone
    await desk.close()
    await phone.close()


# -- nothing left behind ---------------------------------------------------------------

_SERVERS = (b"redis-server", b"rasa\x00run")


def _servers() -> set[int]:
    """Redis and Rasa servers that are this test run's: still its children, or orphans
    (re-parented to init) - not those of other programs on the machine."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes()
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        state, parent = fields[0], int(fields[1])
        if state == "Z" or parent not in (1, os.getpid()):
            continue
        if any(name in command for name in _SERVERS):
            found.add(int(entry.name))
    return found


def pytest_sessionstart(session: pytest.Session) -> None:
    session.config.stash[_BEFORE] = _servers()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fails the run when a test left a Redis or Rasa server running (issue 24)."""
    if not os.path.isdir("/proc"):
        return
    before = session.config.stash.get(_BEFORE, set())
    deadline = time.monotonic() + 5
    left = _servers() - before
    while left and time.monotonic() < deadline:
        time.sleep(0.2)
        left = _servers() - before
    if left:
        commands = {pid: Path(f"/proc/{pid}/cmdline").read_bytes()[:120] for pid in left}
        print(f"\nERROR: the test run left servers running: {commands}", file=sys.stderr)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


_BEFORE = pytest.StashKey[set[int]]()
