"""Several Rasa servers behind one NLU client (issue 20): requests go round them, a server
that fails is skipped and tried again later, and with all of them down the lexicon reads.

The real Rasa server with the trained model answers every request; two small relays in
front of it stand for two Rasa servers, count what each is asked, and can be stopped.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.net import free_port
from bot.nlu import client as nlu_client
from bot.nlu.client import NLUClient, split_token
from tests.frozen import frozen_servers

pytestmark = pytest.mark.rasa


@dataclass
class Relay:
    server: TestServer
    url: str = ""
    asked: int = 0


async def _relay(target: str) -> Relay:
    relay: Relay

    async def forward(request: web.Request) -> web.Response:
        relay.asked += 1
        async with (
            aiohttp.ClientSession() as session,
            session.request(
                request.method,
                f"{target}{request.path}",
                params=request.query,
                data=await request.read(),
                headers={"Content-Type": request.content_type},
            ) as answer,
        ):
            return web.Response(
                body=await answer.read(), status=answer.status, content_type="application/json"
            )

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", forward)
    relay = Relay(TestServer(app, host="127.0.0.1", port=free_port()))
    await relay.server.start_server()
    relay.url = str(relay.server.make_url("")).rstrip("/")
    return relay


@pytest.fixture
async def relays(rasa_url: str) -> AsyncIterator[tuple[list[Relay], str | None]]:
    target, token = split_token(rasa_url)
    started = [await _relay(target), await _relay(target)]
    yield started, token
    for relay in started:
        await relay.server.close()


async def test_requests_go_round_the_servers(relays: tuple[list[Relay], str | None]) -> None:
    servers, token = relays
    async with NLUClient(",".join(r.url for r in servers), token=token) as nlu:
        assert await nlu.is_ready()
        before = [r.asked for r in servers]
        for _ in range(10):
            found = await nlu.classify("brp gaji minimum di hongkong skrg?")
            assert found.nlu_available and found.category == "rights_question"
    assert [r.asked - b for r, b in zip(servers, before, strict=True)] == [5, 5]


async def test_a_server_that_fails_is_skipped_then_tried_again(
    relays: tuple[list[Relay], str | None], monkeypatch: pytest.MonkeyPatch
) -> None:
    servers, token = relays
    monkeypatch.setattr(nlu_client, "RETRY_SECONDS", 1.0)
    async with NLUClient(",".join(r.url for r in servers), token=token, timeout=2) as nlu:
        await servers[0].server.close()  # the first server goes down
        started = time.monotonic()
        for _ in range(6):
            found = await nlu.classify("majikan pukul saya tadi malam")
            assert found.nlu_available and found.emergency
        # One failed try at the dead server, then it is left alone: every answer came
        # from the other one, without waiting for the dead one each time.
        assert servers[1].asked == 6
        assert time.monotonic() - started < 5
        # After its rest it is asked again in its turn (and, still down, rests again).
        await asyncio.sleep(1.1)
        assert nlu.resting() == []
        await nlu.classify("halo")
        await nlu.classify("halo")
        assert nlu.resting() == [servers[0].url]


async def test_with_every_server_down_the_lexicon_still_reads(
    relays: tuple[list[Relay], str | None],
) -> None:
    servers, token = relays
    async with NLUClient(",".join(r.url for r in servers), token=token, timeout=2) as nlu:
        for relay in servers:
            await relay.server.close()
        assert not await nlu.is_ready()
        found = await nlu.classify("tolong majikan mukul saya, saya takut mati")
        assert not found.nlu_available and found.emergency


async def test_one_hung_server_leaves_the_nlu_ready_and_answering(
    relays: tuple[list[Relay], str | None],
) -> None:
    """A server that takes connections and never answers (a frozen process, a black-holed
    host) is waited for within the time limit only: readiness is the other server's, and
    messages are read by the model through it."""
    servers, token = relays
    async with frozen_servers(1) as frozen:
        urls = f"{frozen[0]},{servers[0].url}"
        async with NLUClient(urls, token=token, timeout=1.0) as nlu:
            started = time.monotonic()
            assert await nlu.is_ready(within=1.0), "one server answers: ready"
            assert time.monotonic() - started < 1.5
            found = await nlu.classify("berapa gaji minimum di hong kong")
            assert found.nlu_available and found.intent == "rights_wages"
