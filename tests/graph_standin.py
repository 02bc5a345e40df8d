"""A local stand-in for Meta's Graph API (WhatsApp Cloud API): sending messages and
fetching media, in the documented shapes, recording every call; it can answer with
rate-limit errors, server errors, or not at all (a timeout)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.eventually import eventually
from tests.standin import serving

TOKEN = "test-graph-token"
PHONE_ID = "1555000111"
APP_SECRET = "test-app-secret"
VERIFY_TOKEN = "test-verify-token"
VERSION = "v21.0"


@dataclass
class GraphAPI:
    base: str = ""
    sent: list[dict[str, Any]] = field(default_factory=list)
    media: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    # The next N sends answer this error code (130429, 131056) or a 5xx status.
    errors: list[int] = field(default_factory=list)
    slow_media: set[str] = field(default_factory=set)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    attempts: int = 0

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post(f"/{VERSION}/{{phone}}/messages", self._messages)
        app.router.add_get(f"/{VERSION}/{{media_id}}", self._media_info)
        app.router.add_get("/files/{media_id}", self._media_file)
        return app

    def to(self, wa_id: str) -> list[dict[str, Any]]:
        return [m for m in self.sent if m.get("to") == wa_id]

    def texts_to(self, wa_id: str) -> list[str]:
        return [body_text(m) for m in self.to(wa_id)]

    async def wait_for(
        self, check: Callable[[dict[str, Any]], bool], seconds: float = 15, after: int = 0
    ) -> dict[str, Any]:
        sent = await eventually(
            lambda: self.sent[after:],
            lambda sent: any(map(check, sent)),
            what="a message sent that passes the check",
            seconds=seconds,
        )
        return next(filter(check, sent))

    def _authorised(self, request: web.Request) -> bool:
        return request.headers.get("Authorization") == f"Bearer {TOKEN}"

    async def _messages(self, request: web.Request) -> web.Response:
        if not self._authorised(request) or request.match_info["phone"] != PHONE_ID:
            return _error(401, 190, "Invalid OAuth access token")
        self.attempts += 1
        body = await request.json()
        if self.errors:
            code = self.errors.pop(0)
            if code >= 500:
                return _error(code, 1, "Service temporarily unavailable")
            return _error(400, code, "(#130429) Rate limit hit")
        assert body["messaging_product"] == "whatsapp"
        self.sent.append(body)
        wamid = f"wamid.out-{next(self._ids)}"
        return web.json_response(
            {
                "messaging_product": "whatsapp",
                "contacts": [{"input": body["to"], "wa_id": body["to"]}],
                "messages": [{"id": wamid}],
            }
        )

    async def _media_info(self, request: web.Request) -> web.Response:
        media_id = request.match_info["media_id"]
        if not self._authorised(request):
            return _error(401, 190, "Invalid OAuth access token")
        if media_id in self.slow_media:
            await asyncio.sleep(30)
        if media_id not in self.media:
            return _error(404, 100, "Unsupported get request: media not found")
        data, mime = self.media[media_id]
        return web.json_response(
            {
                "messaging_product": "whatsapp",
                "url": f"{self.base}/files/{media_id}",
                "mime_type": mime,
                "sha256": hashlib.sha256(data).hexdigest(),
                "file_size": len(data),
                "id": media_id,
            }
        )

    async def _media_file(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return web.Response(status=401)
        data, mime = self.media[request.match_info["media_id"]]
        return web.Response(body=data, content_type=mime)


def body_text(body: dict[str, Any]) -> str:
    if body["type"] == "text":
        return str(body["text"]["body"])
    if body["type"] == "interactive":
        return str(body["interactive"]["body"]["text"])
    return f"[{body['type']}]"


def choices(body: dict[str, Any]) -> list[str]:
    if body["type"] != "interactive":
        return []
    action = body["interactive"]["action"]
    if "buttons" in action:
        return [b["reply"]["id"] for b in action["buttons"]]
    return [r["id"] for section in action["sections"] for r in section["rows"]]


def _error(status: int, code: int, message: str) -> web.Response:
    return web.json_response(
        {"error": {"message": message, "type": "OAuthException", "code": code}}, status=status
    )


@asynccontextmanager
async def running_graph_api() -> AsyncIterator[GraphAPI]:
    api = GraphAPI()
    async with serving(api.app()) as api.base:
        yield api


# -- webhook payloads in the documented shapes ------------------------------------------

_wamids = itertools.count(1)


def payload(*values: dict[str, Any]) -> dict[str, Any]:
    """One entry per value, each with one "messages" change."""
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {"id": "WABA-1", "changes": [{"field": "messages", "value": value}]} for value in values
        ],
    }


def value(
    messages: Sequence[dict[str, Any]] = (), statuses: Sequence[dict[str, Any]] = ()
) -> dict[str, Any]:
    found: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550001111", "phone_number_id": PHONE_ID},
    }
    if messages:
        found["contacts"] = [{"profile": {"name": "Worker"}, "wa_id": m["from"]} for m in messages]
        found["messages"] = list(messages)
    if statuses:
        found["statuses"] = list(statuses)
    return found


def msg(wa_id: str, kind: str, **content: Any) -> dict[str, Any]:
    return {
        "from": wa_id,
        "id": f"wamid.in-{next(_wamids)}-{time.monotonic_ns()}",
        "timestamp": str(int(time.time())),
        "type": kind,
        **content,
    }


def text(wa_id: str, body: str) -> dict[str, Any]:
    return msg(wa_id, "text", text={"body": body})


def button_reply(wa_id: str, reply_id: str, title: str = "") -> dict[str, Any]:
    reply = {"type": "button_reply", "button_reply": {"id": reply_id, "title": title or reply_id}}
    return msg(wa_id, "interactive", interactive=reply)


def list_reply(wa_id: str, reply_id: str, title: str = "") -> dict[str, Any]:
    reply = {"type": "list_reply", "list_reply": {"id": reply_id, "title": title or reply_id}}
    return msg(wa_id, "interactive", interactive=reply)


def sign(raw: bytes, secret: str = APP_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()


def encode(data: dict[str, Any]) -> bytes:
    return json.dumps(data).encode()
