"""A worker talking to the bot through the web chat API, and readable transcripts."""

from __future__ import annotations

import asyncio
import io
import json
import re
import textwrap
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.app import CONSOLE, HELPLINE, create_app
from bot.casework import Casework
from bot.config import Settings
from bot.console import Console
from bot.helpline import Helpline
from bot.logs import PathOnlyAccessLogger
from bot.services import Services
from bot.store.escalations import RedisEscalationQueue


@dataclass
class Worker:
    session: aiohttp.ClientSession
    base: str
    conversation_id: str
    token: str
    last: list[dict[str, Any]] = field(default_factory=list)

    @property
    def sender(self) -> str:
        return f"webchat:{self.conversation_id}"

    async def post(self, body: dict[str, Any], language: str = "id") -> aiohttp.ClientResponse:
        return await self.session.post(
            f"{self.base}/api/chat/messages",
            json=body,
            headers={"Authorization": f"Bearer {self.token}", "Accept-Language": language},
        )

    async def send(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        body.setdefault("client_message_id", uuid.uuid4().hex)
        async with await self.post(body) as response:
            answer = await response.json()
            assert response.status == 200, answer
        assert answer["accepted"] is True
        self.last = answer["replies"]
        return self.last

    async def say(self, text: str) -> list[dict[str, Any]]:
        return await self.send({"text": text})

    async def share_location(self, latitude: object, longitude: object) -> list[dict[str, Any]]:
        return await self.send({"location": {"latitude": latitude, "longitude": longitude}})

    async def upload(
        self,
        data: bytes,
        *,
        filename: str = "photo.jpg",
        mime: str = "image/jpeg",
        caption: str = "",
        status: int = 200,
    ) -> list[dict[str, Any]]:
        """A file sent from the page (multipart), with an optional caption."""
        form = aiohttp.FormData()
        form.add_field("file", io.BytesIO(data), filename=filename, content_type=mime)
        form.add_field("caption", caption)
        form.add_field("client_message_id", uuid.uuid4().hex)
        async with self.session.post(
            f"{self.base}/api/chat/media",
            data=form,
            headers={"Authorization": f"Bearer {self.token}", "Accept-Language": "id"},
        ) as response:
            answer = await response.json()
            assert response.status == status, answer
        if status != 200:
            return []
        self.last = answer["replies"]
        return self.last

    async def press(self, payload: str) -> list[dict[str, Any]]:
        offered = {b["payload"]: b["label"] for r in self.last for b in r["buttons"]}
        return await self.send({"payload": payload, "text": offered.get(payload, payload)})

    def texts(self) -> str:
        return "\n".join(r["text"] for r in self.last)

    def payloads(self) -> list[str]:
        return [b["payload"] for r in self.last for b in r["buttons"]]

    async def events_url(self) -> str:
        """Where the event stream opens: with a single-use ticket, never the token."""
        async with self.session.post(
            f"{self.base}/api/chat/tickets", headers={"Authorization": f"Bearer {self.token}"}
        ) as response:
            assert response.status == 201
            ticket = (await response.json())["ticket"]
        return f"{self.base}/api/chat/events?ticket={ticket}"

    async def events(self, count: int, seconds: float = 10) -> list[dict[str, Any]]:
        """The first ``count`` messages of the conversation's event stream."""
        found: list[dict[str, Any]] = []
        url = await self.events_url()
        async with self.session.get(url, timeout=aiohttp.ClientTimeout(total=seconds)) as resp:
            assert resp.status == 200
            assert resp.headers["Content-Type"].startswith("text/event-stream")
            async for raw in resp.content:
                line = raw.decode().rstrip("\n")
                if line.startswith("data: "):
                    found.append(json.loads(line[6:]))
                    if len(found) >= count:
                        break
        return found

    async def until(
        self, check: Callable[[list[dict[str, Any]]], bool], seconds: float = 10
    ) -> list[dict[str, Any]]:
        """The conversation's messages from the start, read until ``check`` holds."""
        found: list[dict[str, Any]] = []
        url = await self.events_url()
        try:
            async with self.session.get(url, timeout=aiohttp.ClientTimeout(total=seconds)) as resp:
                async for raw in resp.content:
                    line = raw.decode().rstrip("\n")
                    if line.startswith("data: "):
                        found.append(json.loads(line[6:]))
                        if check(found):
                            return found
        except TimeoutError:
            pass
        raise AssertionError(f"not seen within {seconds} s; the conversation: {found}")


@dataclass
class Chat:
    app: web.Application
    base: str
    session: aiohttp.ClientSession

    @classmethod
    @asynccontextmanager
    async def serve(cls, settings: Settings) -> AsyncIterator[Chat]:
        app = create_app(settings)
        server = TestServer(app, host="127.0.0.1")
        # The access log as `helpline run` writes it (no query strings).
        await server.start_server(access_log_class=PathOnlyAccessLogger)
        try:
            async with aiohttp.ClientSession() as session:
                yield cls(app, str(server.make_url("")).rstrip("/"), session)
        finally:
            await server.close()

    @property
    def helpline(self) -> Helpline:
        return self.app[HELPLINE]

    @property
    def services(self) -> Services:
        return self.helpline.services

    @property
    def casework(self) -> Casework:
        return self.helpline.casework

    @property
    def console(self) -> Console:
        return self.app[CONSOLE]

    @property
    def queue(self) -> RedisEscalationQueue:
        return self.helpline.queue

    @property
    def redis(self) -> Any:
        return self.helpline.redis

    async def media_refs(self, case_id: str) -> list[str]:
        """The stored files of a case, in timeline order (their evidence refs)."""
        timeline = await self.services.cases.timeline(case_id)
        return [e["media"]["ref"] for e in timeline if e["kind"] == "media"]

    async def new_worker(self) -> Worker:
        async with self.session.post(f"{self.base}/api/chat/conversations") as response:
            assert response.status == 201
            body = await response.json()
        return Worker(self.session, self.base, body["conversation_id"], body["token"])


async def transcript(worker: Worker, script: str) -> None:
    """Plays a conversation written the way a person reads it.

    worker: <text>     the worker writes
    press: <payload>   the worker presses the button with that payload
    bot: ~<words>      one of the bot's replies contains these words (any case)
    bot: !<words>      none of the bot's replies contains them
    bot: ? <payload>   the bot offers a button with that payload
    bot: (silent)      the bot says nothing
    """
    for number, line in enumerate(textwrap.dedent(script).strip().splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        who, _, what = line.partition(":")
        what = what.strip()
        where = f"line {number} ({line!r}); the bot said:\n{worker.texts()}\n{worker.payloads()}"
        if who == "worker":
            await worker.say(what)
        elif who == "press":
            await worker.press(what)
        elif who == "bot" and what == "(silent)":
            assert worker.last == [], where
        elif who == "bot" and what.startswith("~"):
            assert re.search(re.escape(what[1:].strip()), worker.texts(), re.I), where
        elif who == "bot" and what.startswith("!"):
            assert not re.search(re.escape(what[1:].strip()), worker.texts(), re.I), where
        elif who == "bot" and what.startswith("?"):
            assert what[1:].strip() in worker.payloads(), where
        else:
            raise ValueError(f"transcript line {number} is not understood: {line!r}")
        await asyncio.sleep(0)


C = TypeVar("C")


def channel_of(chat: Chat, kind: type[C]) -> C:
    """The running helpline's channel of this class (it must be configured)."""
    found = next(c for c in chat.helpline.channels if isinstance(c, kind))
    return found
