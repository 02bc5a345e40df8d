"""Testimony is encrypted before it reaches Redis (issue 18, medium): a worker's words,
location and photo are nowhere in Redis in the clear, while operators read and search
them in the console as before; and `helpline keys rotate` re-seals with a new key."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.store.connection import connect_redis
from bot.store.sealing import key_id, new_key, parse_keys
from tests.chat import Chat
from tests.conftest import make_settings
from tests.console import Operator
from tests.redis_dump import everything

pytestmark = pytest.mark.rasa

WORDS = "temulawakrahasia"
PHOTO = b"\xff\xd8 SEALEDPHOTOzz42"
LATITUDE = "1.98761234"
KEY = new_key()


@pytest.fixture
async def sealed(redis_url: str, rasa_url: str, key_prefix: str) -> AsyncIterator[Chat]:
    settings = make_settings(redis_url, rasa_url, key_prefix, data_key=KEY)
    async with Chat.serve(settings) as chat:
        yield chat


async def test_testimony_is_sealed_in_redis_and_readable_in_the_console(
    sealed: Chat, redis_url: str, key_prefix: str
) -> None:
    chat = sealed
    worker = await chat.new_worker()
    await worker.say(f"tolong majikan sy mukul sy td malam {WORDS}")
    await worker.share_location(float(LATITUDE), 103.5)
    await worker.upload(PHOTO, caption=f"lengan sy {WORDS}")
    case = await chat.services.cases.open_case_of(worker.sender)
    assert case is not None
    raw = connect_redis(redis_url, decode=False)
    try:
        stored = b"\n".join(await everything(raw, key_prefix))
    finally:
        await raw.aclose()
    assert b"enc1:" in stored
    for marker in (WORDS.encode(), PHOTO, LATITUDE.encode()):
        assert marker not in stored, f"{marker!r} is stored in the clear"
    operator = await Operator.signed_in(chat, "ida")
    try:
        page = (await operator.get(f"/console/cases/{case.id}"))[1]
        assert WORDS in page and LATITUDE in page
        found = (await operator.get(f"/console/cases?q={WORDS}&status="))[1]
        assert f'href="/console/cases/{case.id}"' in found  # search still works
    finally:
        await operator.close()
    evidence = (await chat.media_refs(case.id))[0]
    stored_file = await chat.services.evidence.get(evidence)
    assert stored_file is not None and stored_file.data == PHOTO


async def test_rotating_the_key_reseals_what_can_be_rewritten(
    sealed: Chat, redis_url: str, key_prefix: str
) -> None:
    chat = sealed
    worker = await chat.new_worker()
    await worker.say(f"tolong majikan sy mukul sy td malam {WORDS}")
    case = await chat.services.cases.open_case_of(worker.sender)
    assert case is not None
    fresh = new_key()
    env = dict(
        os.environ,
        HELPLINE_REDIS_URL=redis_url,
        HELPLINE_KEY_PREFIX=key_prefix,
        HELPLINE_DATA_KEY=f"{fresh},{KEY}",
    )
    result = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "bot.cli", "keys", "rotate"],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    new_id, old_id = key_id(parse_keys(fresh)[0]), key_id(parse_keys(KEY)[0])
    assert f"current key: {new_id}" in result.stdout
    raw = connect_redis(redis_url, decode=False)
    try:
        record: Any = await raw.get(f"{key_prefix}:case:{case.id}")
        timeline: Any = await raw.lrange(f"{key_prefix}:case:{case.id}:timeline", 0, -1)
    finally:
        await raw.aclose()
    assert record is not None and record.startswith(f"enc1:{new_id}:".encode())
    assert all(entry.startswith(f"enc1:{new_id}:".encode()) for entry in timeline)
    assert f"{old_id} record" not in result.stdout
