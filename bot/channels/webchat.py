"""The web chat channel: a page at /chat and a small JSON API with server-sent events.

API (documented in README.md):
- POST /api/chat/conversations -> 201 {"conversation_id", "token"}
- POST /api/chat/messages (Authorization: Bearer <token>) with {"text"} or
  {"payload", "text"}, and "client_message_id" (duplicates are dropped by it)
  -> 200 {"accepted": true, "message_id", "replies": [...]}
- GET /api/chat/events?token=<token> -> text/event-stream of every message of the
  conversation (worker echoes, bot replies, operator messages), resumable with
  Last-Event-ID.
"""

from __future__ import annotations

import asyncio
import hashlib
import html
import json
import logging
import secrets
import string
import uuid
from pathlib import Path
from typing import Any

from aiohttp import web
from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.i18n import _, preferred_language, use_locale
from bot.messages import Inbound
from bot.runner import InboxRunner
from bot.sse import frame, open_stream
from bot.store.keys import Keys
from bot.store.outbox import Outbox

log = logging.getLogger(__name__)

CHANNEL = "webchat"
MAX_TEXT = 4096
MAX_BODY = 64 * 1024
REPLY_WAIT_SECONDS = 15.0
TOKEN_TTL = 180 * 86400
_PAGE = string.Template((Path(__file__).parent / "webchat_page.html").read_text("utf-8"))


class WebChat:
    """Routes are registered when the app is built; resources are bound at start-up."""

    _redis: Redis
    _keys: Keys
    _runner: InboxRunner
    _outbox: Outbox

    def bind(self, redis: Redis, keys: Keys, runner: InboxRunner, outbox: Outbox) -> None:
        self._redis, self._keys, self._runner, self._outbox = redis, keys, runner, outbox

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/chat", self.page),
            web.post("/api/chat/conversations", self.create_conversation),
            web.post("/api/chat/messages", self.post_message),
            web.get("/api/chat/events", self.events),
        ]

    async def page(self, request: web.Request) -> web.Response:
        lang = request.query.get("lang") or preferred_language(
            request.headers.get("Accept-Language", "")
        )
        with use_locale(lang):
            values = {
                "lang": lang,
                "title": _("Migrant worker helpline"),
                "subtitle": _("Ask about your rights, report a problem, or get help now."),
                "placeholder": _("Write a message"),
                "send": _("Send"),
                "connecting": _("Connecting..."),
                "offline": _("Connection lost. Trying again..."),
                "privacy_link_label": _("Privacy"),
                "new_chat": _("New chat"),
            }
        escaped = {k: html.escape(v, quote=True) for k, v in values.items()}
        body = _PAGE.substitute(escaped, api_base="/api/chat")
        return web.Response(text=body, content_type="text/html", charset="utf-8")

    async def create_conversation(self, request: web.Request) -> web.Response:
        conversation_id = secrets.token_urlsafe(12)
        token = secrets.token_urlsafe(32)
        await self._redis.set(self._keys.webchat_token(_hash(token)), conversation_id, ex=TOKEN_TTL)
        return web.json_response({"conversation_id": conversation_id, "token": token}, status=201)

    async def _conversation(self, token: str | None) -> str:
        if not token:
            raise _error(401, "missing token")
        found = await self._redis.get(self._keys.webchat_token(_hash(token)))
        if found is None:
            raise _error(401, "unknown or expired token")
        return found.decode() if isinstance(found, bytes) else str(found)

    async def post_message(self, request: web.Request) -> web.Response:
        auth = request.headers.get("Authorization", "")
        token = auth.removeprefix("Bearer ").strip() if auth.startswith("Bearer ") else None
        try:
            conversation = await self._conversation(token)
        except RedisError:
            return _unavailable(request)
        body = await _json_body(request)
        inbound = _inbound(conversation, body)
        try:
            entry_id = await self._runner.submit(inbound)
            if entry_id is None:
                log.info("webchat: duplicate %s dropped", inbound.message_id)
                return web.json_response({"accepted": True, "duplicate": True, "replies": []})
            await self._outbox.push(
                inbound.sender,
                {
                    "from": "worker",
                    "text": inbound.text,
                    "buttons": [],
                    "client_message_id": inbound.message_id,
                },
            )
        except RedisError as exc:
            log.error("webchat: could not accept a message: %s", exc)
            return _unavailable(request)
        replies = await self._runner.wait(entry_id, REPLY_WAIT_SECONDS)
        return web.json_response(
            {
                "accepted": True,
                "message_id": entry_id,
                "replies": [r.to_json() for r in replies or []],
                "pending": replies is None,
            }
        )

    async def events(self, request: web.Request) -> web.StreamResponse:
        try:
            conversation = await self._conversation(request.query.get("token"))
        except RedisError:
            return _unavailable(request)
        sender = f"{CHANNEL}:{conversation}"
        after = request.headers.get("Last-Event-ID") or request.query.get("after") or "0-0"
        response = await open_stream(request)
        while True:
            try:
                messages = await self._outbox.read(sender, after, block_ms=15_000)
            except RedisError as exc:
                log.warning("webchat events: %s", exc)
                await asyncio.sleep(1)
                continue
            try:
                if not messages:
                    await response.write(b": keep-alive\n\n")
                for entry_id, message in messages:
                    await response.write(frame("message", message, entry_id))
                    after = entry_id
            except (ConnectionResetError, RuntimeError):
                break
        return response


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _error(status: int, message: str) -> web.HTTPException:
    body = json.dumps({"error": message})
    if status == 413:
        return web.HTTPRequestEntityTooLarge(
            max_size=MAX_BODY, actual_size=MAX_BODY + 1, text=body, content_type="application/json"
        )
    cls = web.HTTPUnauthorized if status == 401 else web.HTTPBadRequest
    return cls(text=body, content_type="application/json")


def _unavailable(request: web.Request) -> web.Response:
    """Redis is unreachable: the message was not accepted, and the worker is told so."""
    with use_locale(preferred_language(request.headers.get("Accept-Language", ""))):
        return _unavailable_in_locale()


def _unavailable_in_locale() -> web.Response:
    return web.json_response(
        {
            "error": _(
                "The helpline is having a technical problem. Your message was not "
                "sent: please try again in a moment. If you are in danger, call the "
                "local emergency number now."
            )
        },
        status=503,
    )


async def _json_body(request: web.Request) -> dict[str, Any]:
    if request.content_length is not None and request.content_length > MAX_BODY:
        raise _error(413, "message too large")
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise _error(413, "message too large") from None
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        log.warning("webchat: malformed JSON from %s", request.remote)
        raise _error(400, "the body must be JSON") from None
    if not isinstance(body, dict):
        raise _error(400, "the body must be a JSON object")
    return body


def _inbound(conversation: str, body: dict[str, Any]) -> Inbound:
    text, payload = body.get("text", ""), body.get("payload")
    if not isinstance(text, str) or (payload is not None and not isinstance(payload, str)):
        raise _error(400, "text and payload must be strings")
    if len(text) > MAX_TEXT:
        raise _error(400, f"text longer than {MAX_TEXT} characters")
    if not text.strip() and not payload:
        raise _error(400, "send a text or a button payload")
    message_id = body.get("client_message_id") or uuid.uuid4().hex
    if not isinstance(message_id, str) or len(message_id) > 100:
        raise _error(400, "client_message_id must be a short string")
    return Inbound(
        channel=CHANNEL,
        user_id=conversation,
        message_id=message_id,
        text=text,
        payload=payload[:200] if payload else None,
    )
