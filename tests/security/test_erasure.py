"""Erasing really erases (issue 18, high finding 1).

A WhatsApp worker leaves markers everywhere the helpline writes - words, number, profile
name, location, photo bytes, a payload set aside as a dead letter, a queue entry - and
erases their data. Then none of the markers is found in Redis (keys and values of every
type) nor in the files under Redis's data directory once the append-only file has been
rewritten. And on Telegram, the operators' group posts about the case are deleted.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis

from bot.store.connection import connect_redis
from tests.eventually import eventually
from tests.graph_standin import button_reply, msg, payload, text, value
from tests.harness import GROUP, Helpline, serving
from tests.redis_dump import everything
from tests.telegram_standin import person, press
from tests.test_telegram import _operator, play

pytestmark = pytest.mark.rasa

PHONE = "6289911223344"
NAME = "Siti Qzmarker Wulandari"
WORDS = "rahasiaxq7731"
LATITUDE, LONGITUDE = 1.23456789, 103.98765432
PHOTO = b"\xff\xd8 PHOTOMARKERzz91 bruises"
MARKERS = [PHONE.encode(), NAME.encode(), WORDS.encode(), b"103.98765432", b"PHOTOMARKERzz91"]


@pytest.fixture
async def wa(redis_url: str, rasa_url: str, key_prefix: str) -> AsyncIterator[Helpline]:
    async with serving(
        redis_url,
        rasa_url,
        key_prefix,
        whatsapp=True,
        queue_watch_seconds=0.1,
        erase_rewrite_minutes=0.001,
    ) as helpline:
        yield helpline


def _files(directory: Path) -> dict[str, bytes]:
    return {
        str(path): path.read_bytes()
        for path in directory.rglob("*")
        if path.is_file() and path.name != "redis.log"
    }


async def _rewritten(redis: Redis, directory: Path, before: dict[str, bytes]) -> None:
    """Waits until a rewrite of the append-only file has finished after ``before``."""

    def manifest_changed() -> bool:
        manifest = next(directory.rglob("*.manifest"), None)
        return manifest is not None and before.get(str(manifest)) != manifest.read_bytes()

    async def state() -> tuple[int, bool]:
        info = await redis.info("persistence")
        changed = await asyncio.to_thread(manifest_changed)
        return int(info["aof_rewrite_in_progress"]), changed

    await eventually(state, lambda s: s == (0, True), what="the AOF rewrite", seconds=20)


async def test_erasing_leaves_no_marker_in_redis_or_its_files(wa: Helpline) -> None:
    raw = connect_redis(_url(wa), decode=False)
    try:
        directory = Path(str((await raw.config_get("dir"))["dir"]))
        # Written as commands, not compressed: the files can be searched for the markers.
        await raw.config_set("aof-use-rdb-preamble", "no")
        wa.whatsapp.media["IMG-M"] = (PHOTO, "image/jpeg")
        people = {"contacts": [{"profile": {"name": NAME}, "wa_id": PHONE}]}
        first = value([text(PHONE, f"tolong majikan sy mukul sy td malam {WORDS}")])
        await wa.post(payload({**first, **people}))
        case = await eventually(
            lambda: wa.chat.services.cases.open_case_of(f"whatsapp:{PHONE}"),
            lambda found: found is not None,
            what="the emergency case",
        )
        assert case is not None and await wa.chat.queue.find(case.id) is not None
        where = {"latitude": LATITUDE, "longitude": LONGITUDE}
        await wa.says(msg(PHONE, "location", location=where))
        await wa.says(msg(PHONE, "image", image={"id": "IMG-M", "caption": WORDS}))
        # A payload the processor cannot read is set aside as a dead letter, as it came.
        await wa.says(msg(PHONE, "button", button=["not", "an", "object"]))
        dead = wa.chat.helpline.keys.whatsapp_dead()
        await eventually(lambda: raw.xlen(dead), lambda n: n >= 1, what="a dead letter")
        await eventually(
            lambda: wa.chat.services.cases.timeline(case.id),
            lambda events: sum(e["kind"] in ("location", "media") for e in events) == 2,
            what="the pin and the photo on the case",
        )
        before = await asyncio.to_thread(_files, directory)
        assert any(PHONE.encode() in data for data in before.values())  # the test can see
        mark = len(wa.whatsapp.sent)
        await wa.says(text(PHONE, "hapus data saya"))
        await wa.whatsapp.wait_for(lambda b: "delete:confirm" in str(b), after=mark)
        mark = len(wa.whatsapp.sent)
        await wa.says(button_reply(PHONE, "delete:confirm"))
        await wa.whatsapp.wait_for(lambda b: b["to"] == PHONE, after=mark)
        await _rewritten(raw, directory, before)
        # The last writes of the turn may still be coming.
        stored = await eventually(
            lambda: everything(raw),
            lambda stored: not [s for s in stored for m in MARKERS if m in s],
            what="no marker left in Redis",
        )
        for marker in MARKERS:
            assert not [s for s in stored if marker in s], f"{marker!r} is still in Redis"
        for path, data in (await asyncio.to_thread(_files, directory)).items():
            for marker in MARKERS:
                assert marker not in data, f"{marker!r} is still in {path}"
        erased = await wa.chat.services.cases.get(case.id)
        assert erased is not None and erased.sender is None
    finally:
        await raw.config_set("aof-use-rdb-preamble", "yes")
        await raw.aclose()


def _url(wa: Helpline) -> str:
    url = wa.chat.helpline.settings.redis_url
    assert url is not None
    return url


@pytest.fixture
async def tg(redis_url: str, rasa_url: str, key_prefix: str) -> AsyncIterator[Helpline]:
    async with serving(
        redis_url, rasa_url, key_prefix, telegram=True, media_max_bytes=50_000
    ) as helpline:
        yield helpline


async def test_erasing_deletes_the_operators_group_posts(tg: Helpline) -> None:
    api = tg.telegram
    ana = await _operator(tg, "ana", "ana_oncall")
    worker = person(8800, "en")
    await play(api, worker, f"worker: my employer beat me {WORDS}, hong kong\nbot: ~999")
    case = await tg.chat.services.cases.open_case_of(f"telegram:{worker['id']}")
    assert case is not None
    case_id = case.id
    alert = await api.wait_for(
        "sendMessage", lambda p: int(p["chat_id"]) == GROUP and case_id in p["text"]
    )
    api.push(press(ana, f"claim:{case.id}", chat_id=GROUP))
    await eventually(
        lambda: tg.chat.services.cases.get(case_id),
        lambda found: found is not None and found.assignee == "ana",
        what="claimed",
    )
    api.push(press(worker, "delete"))
    await api.wait_for("sendMessage", lambda p: "delete:confirm" in str(p.get("reply_markup")))
    api.push(press(worker, "delete:confirm"))
    await api.wait_for("deleteMessage", lambda p: int(p["chat_id"]) == GROUP)
    posted = _posted_ids(api, GROUP)
    await eventually(
        lambda: _deleted(api, GROUP),
        lambda deleted: posted <= deleted,
        what="every post about the case deleted",
    )
    assert _message_id(api, alert) in _deleted(api, GROUP)


def _posted_ids(api: Any, chat_id: int) -> set[int]:
    return {int(r["message_id"]) for r in api.results if int(r["chat"]["id"]) == chat_id}


def _deleted(api: Any, chat_id: int) -> set[int]:
    return {
        int(p["message_id"])
        for m, p in api.calls
        if m == "deleteMessage" and int(p["chat_id"]) == chat_id
    }


def _message_id(api: Any, params: dict[str, Any]) -> int:
    for result in api.results:
        if result.get("text") == params["text"] and int(result["chat"]["id"]) == GROUP:
            return int(result["message_id"])
    raise AssertionError("no such post")
