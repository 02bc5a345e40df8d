"""HELPLINE_LOG_FORMAT=json (issue 20): one JSON object per log line, and the lines of
one message carry its id. Against a real `helpline run` with its NLU down, so handling
a message logs a warning that must carry the message's inbox id."""

from __future__ import annotations

import json
from pathlib import Path

import aiohttp

from tests import processes
from tests.conftest import nlu_nowhere
from tests.eventually import eventually


async def test_json_log_lines_carry_the_message_id(
    redis_url: str, key_prefix: str, tmp_path: Path
) -> None:
    env = processes.environment(redis_url, nlu_nowhere(), key_prefix, HELPLINE_LOG_FORMAT="json")
    bot = processes.start(tmp_path, "bot", env)
    try:
        await processes.ready(bot)
        async with aiohttp.ClientSession() as session:
            async with session.post(f"{bot.url}/api/chat/conversations") as response:
                token = (await response.json())["token"]
            async with session.post(
                f"{bot.url}/api/chat/messages",
                json={"text": "gaji saya belum dibayar"},
                headers={"Authorization": f"Bearer {token}"},
            ) as response:
                entry = (await response.json())["message_id"]

        def lines() -> list[dict[str, object]]:
            text = bot.log.read_text(errors="replace").splitlines()
            return [json.loads(line) for line in text if line.startswith("{")]

        found = await eventually(
            lines, lambda found: any(line.get("id") == entry for line in found),
            what="a log line of the message with its id",
        )  # fmt: skip
        assert all({"at", "level", "logger", "message"} <= set(line) for line in found)
        ours = [line for line in found if line.get("id") == entry]
        assert any("NLU unavailable" in str(line["message"]) for line in ours), ours
        # Requests carry an id of their own (the access log lines).
        assert any(line["logger"] == "aiohttp.access" and line.get("id") for line in found)
    finally:
        processes.stop(bot)
