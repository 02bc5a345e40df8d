"""What `helpline run` says at its first start (issue 22): the first admin's password
comes last, in a frame, and signs in; `make users-add` adds a console account."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import aiohttp

from tests import processes
from tests.conftest import nlu_nowhere
from tests.console import CSRF
from tests.eventually import eventually


async def test_the_first_admin_password_is_printed_last_framed_and_signs_in(
    redis_url: str, key_prefix: str, tmp_path: Path
) -> None:
    env = processes.environment(redis_url, nlu_nowhere(), key_prefix)
    bot = processes.start(tmp_path, "first", env)
    try:
        await processes.ready(bot)
        output = await eventually(
            bot.output, lambda text: "Press Ctrl-C to stop." in text, what="the start-up text"
        )
    finally:
        processes.stop(bot)
    lines = output[: output.index("Press Ctrl-C to stop.")].rstrip().splitlines()
    # The frame closes just before "Press Ctrl-C", after Telegram's and WhatsApp's lines.
    assert re.fullmatch(r"\+-+\+", lines[-1]), lines[-4:]
    frame = lines[max(i for i, line in enumerate(lines[:-1]) if line.startswith("+-")) :]
    assert all(line.startswith(("|", "+")) for line in frame)
    assert any("WhatsApp:" in line for line in lines[: -len(frame)])
    password = next(
        line.split("password:", 1)[1].strip(" |") for line in frame if "password:" in line
    )
    bot = processes.start(tmp_path, "again", env)
    try:
        await processes.ready(bot)
        assert "password:" not in bot.output(), "shown once only"
        jar = aiohttp.CookieJar(unsafe=True)
        async with aiohttp.ClientSession(cookie_jar=jar) as session:
            async with session.get(f"{bot.url}/console/login") as response:
                token = CSRF.findall(await response.text())[0]
            form = {"username": "admin", "password": password, "csrf_token": token}
            async with session.post(f"{bot.url}/console/login", data=form) as response:
                assert response.url.path == "/console/account/2fa", "the password signs in"
    finally:
        processes.stop(bot)


def test_make_users_add_says_how_when_a_name_is_missing() -> None:
    done = subprocess.run(
        ["make", "-s", "users-add", "ROLE=operator"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2 and "usage: make users-add NAME=" in done.stdout
