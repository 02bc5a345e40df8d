"""The web chat channel: a page at /chat and a small JSON API with server-sent events.

API (documented in README.md):
- POST /api/chat/conversations -> 201 {"conversation_id", "token"}
- POST /api/chat/messages (Authorization: Bearer <token>) with {"text"} or
  {"payload", "text"}, and "client_message_id" (duplicates are dropped by it)
  -> 200 {"accepted": true, "message_id", "replies": [...]}
- POST /api/chat/messages may carry {"location": {"latitude", "longitude"}} instead
- POST /api/chat/media (multipart: file, caption, client_message_id) -> the same answer
- POST /api/chat/tickets (Authorization: Bearer <token>) -> 201 {"ticket", "expires_in"}:
  a single-use ticket for opening the event stream (a URL must never carry the token)
- GET /api/chat/events?ticket=<ticket> -> text/event-stream of every message of the
  conversation (worker echoes, bot replies, operator messages), resumable with
  Last-Event-ID.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import secrets
import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from aiohttp import BodyPartReader, web
from redis.exceptions import RedisError

from bot.config import Settings
from bot.i18n import _, preferred_language, use_locale
from bot.messages import Inbound, Location, MediaRef, Outbound
from bot.sse import StreamLimits, TooManyStreams, client_gone, frame, open_stream, too_many
from bot.store.webchat import TICKET_SECONDS, WebChatAccess
from bot.templating import environment

if TYPE_CHECKING:
    from bot.helpline import Helpline

log = logging.getLogger(__name__)

CHANNEL = "webchat"
MAX_TEXT = 4096
MAX_BODY = 64 * 1024
REPLY_WAIT_SECONDS = 15.0
# A stream with nothing new still writes this often, so a client that left is noticed.
KEEPALIVE_SECONDS = 5.0
# Concurrent outbox reads of all open streams together (on their own small pool).
STREAM_READS = 16
_STREAM_ID = re.compile(r"\d{1,20}-\d{1,20}")


class WebChat:
    """The page and its API; the conversation's outbox is what the page shows, so
    sending is keeping (delivery writes every reply to the outbox first)."""

    name = CHANNEL
    reads_outbox = True

    @staticmethod
    def configured(settings: Settings) -> bool:
        return True

    def __init__(self, helpline: Helpline) -> None:
        settings = helpline.settings
        self.settings = settings
        self._access = WebChatAccess(helpline.redis, helpline.keys)
        # Whichever process handles a message keeps its replies there for the POST.
        self._replies = helpline.replies
        self._runner, self._outbox = helpline.runner, helpline.services.outbox
        self._evidence, self._media_max = helpline.services.evidence, settings.media_max_bytes
        # Streams read on a Redis client of their own (a small, bounded pool): they
        # never take the connections that accept messages.
        self._stream_outbox, self._feed = helpline.stream_outbox, helpline.outbox_feed
        self._limits = StreamLimits(
            settings.streams_per_conversation, settings.streams_per_address, settings.streams_total
        )
        self._conversations_per_hour = settings.conversations_per_address_hour
        self._closing = helpline.shutting_down
        self._reads = asyncio.Semaphore(STREAM_READS)

    @property
    def open_streams(self) -> int:
        return self._limits.open

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/chat", self.page),
            web.post("/api/chat/conversations", self.create_conversation),
            web.post("/api/chat/messages", self.post_message),
            web.post("/api/chat/media", self.post_media),
            web.post("/api/chat/tickets", self.create_ticket),
            web.get("/api/chat/events", self.events),
        ]

    async def start(self) -> None:
        """Nothing to start: the helpline's feeds and inbox serve the web chat."""

    async def stop(self) -> None:
        """Open streams end when the helpline begins to stop (``shutting_down``)."""

    async def send(self, user_id: str, messages: Sequence[Outbound], locale: str) -> None:
        """Nothing more to do: the page reads the outbox, where delivery kept them."""

    async def window_open(self, user_id: str) -> bool:
        return True

    async def send_template(self, user_id: str, locale: str, text: str = "") -> bool:
        return False

    async def page(self, request: web.Request) -> web.Response:
        lang = request.query.get("lang") or preferred_language(
            request.headers.get("Accept-Language", "")
        )
        exit_url = self.settings.quick_exit_url or "https://www.google.com/search?q=weather"
        # The page refuses a file over the limit itself: a worker's data plan is not spent on it.
        media_max = str(self._media_max or 0)
        with use_locale(lang):
            values = _page_texts(lang, exit_url, media_max)
        nonce = secrets.token_urlsafe(16)
        # The console's Jinja2 setup (autoescaping on) renders the page.
        body = (
            environment()
            .get_template("chat.html")
            .render(**values, api_base="/api/chat", nonce=nonce)
        )
        response = web.Response(text=body, content_type="text/html", charset="utf-8")
        # Only this page's own script and style run; no other site may frame it.
        response.headers.update(
            {
                "Content-Security-Policy": (
                    f"default-src 'none'; script-src 'nonce-{nonce}'; "
                    f"style-src 'nonce-{nonce}'; img-src 'self' data:; connect-src 'self'; "
                    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
                ),
                "X-Frame-Options": "DENY",
                "X-Content-Type-Options": "nosniff",
                "Referrer-Policy": "no-referrer",
                "Cache-Control": "no-store",
            }
        )
        return response

    async def create_conversation(self, request: web.Request) -> web.Response:
        try:
            if await self._access.opened_from(request.remote or "?") > self._conversations_per_hour:
                log.warning("webchat: too many new conversations from %s", request.remote)
                return web.json_response(
                    {"error": "too many new conversations from this address; try again later"},
                    status=429,
                    headers={"Retry-After": "600"},
                )
            conversation_id = secrets.token_urlsafe(12)
            token = secrets.token_urlsafe(32)
            await self._access.open(conversation_id, token)
        except RedisError:
            return _unavailable(request)
        return web.json_response({"conversation_id": conversation_id, "token": token}, status=201)

    async def create_ticket(self, request: web.Request) -> web.Response:
        """A single-use ticket, valid for a minute, to open the event stream with: an
        EventSource cannot send the token in a header, and a URL ends up in logs."""
        try:
            conversation = await self._authorised(request)
            ticket = secrets.token_urlsafe(24)
            await self._access.new_ticket(ticket, conversation)
        except RedisError:
            return _unavailable(request)
        return web.json_response({"ticket": ticket, "expires_in": TICKET_SECONDS}, status=201)

    async def _ticket(self, ticket: str | None) -> str:
        if not ticket:
            raise _error(401, "missing ticket (POST /api/chat/tickets first)")
        found = await self._access.take_ticket(ticket)
        if found is None:
            raise _error(401, "unknown, used or expired ticket")
        return found

    async def erase(self, conversation_id: str) -> None:
        """The worker erased their data: the conversation's token stops working."""
        await self._access.forget(conversation_id)

    async def _conversation(self, token: str | None) -> str:
        if not token:
            raise _error(401, "missing token")
        found = await self._access.conversation(token)
        if found is None:
            raise _error(401, "unknown or expired token")
        return found

    async def _authorised(self, request: web.Request) -> str:
        auth = request.headers.get("Authorization", "")
        token = auth.removeprefix("Bearer ").strip() if auth.startswith("Bearer ") else None
        return await self._conversation(token)

    async def post_message(self, request: web.Request) -> web.Response:
        try:
            conversation = await self._authorised(request)
        except RedisError:
            return _unavailable(request)
        body = await _json_body(request)
        return await self._accept(request, _inbound(conversation, body))

    async def post_media(self, request: web.Request) -> web.Response:
        """A photo, document, video or voice note, with an optional caption (multipart).
        A file over the limit is refused (413) before anything is stored."""
        try:
            conversation = await self._authorised(request)
        except RedisError:
            return _unavailable(request)
        if request.content_length is not None and request.content_length > self._media_max + (
            MAX_BODY
        ):
            raise _error(413, f"files can be at most {self._media_max // (1024 * 1024)} MB")
        form = await _media_form(request, self._media_max)
        data = form.pop("file")
        assert isinstance(data, bytes)
        name = str(form.get("filename") or "file")[:200]
        mime = str(form.get("mime") or "application/octet-stream")[:100]
        caption = str(form.get("caption") or "")
        if len(caption) > MAX_TEXT:
            raise _error(400, f"caption longer than {MAX_TEXT} characters")
        message_id = _message_id(form.get("client_message_id") or None)
        sender = f"{CHANNEL}:{conversation}"
        try:
            ref = await self._evidence.put(data, mime=mime, name=name, sender=sender)
        except RedisError:
            return _unavailable(request)
        inbound = Inbound(
            channel=CHANNEL,
            user_id=conversation,
            message_id=message_id,
            text=caption,
            media=MediaRef(_kind_of(mime), ref, mime, len(data), name),
        )
        return await self._accept(request, inbound)

    async def _accept(self, request: web.Request, inbound: Inbound) -> web.Response:
        duplicate = False
        try:
            # Accepted and shown in the transcript in one step.
            entry_id = await self._runner.submit(inbound, self._outbox.sealed(_echo(inbound)))
            if entry_id is None:
                # Sent again: the page did not hear "accepted" (Redis went away after
                # accepting it, or the network did); it gets the first one's replies.
                log.info("webchat: duplicate %s dropped", inbound.message_id)
                duplicate = True
                if inbound.media is not None and inbound.media.ref:
                    await self._evidence.discard(inbound.media.ref, inbound.sender)
                entry_id = await self._runner.inbox.accepted_as(inbound)
                if entry_id is None:
                    return web.json_response({"accepted": True, "duplicate": True, "replies": []})
        except RedisError as exc:
            log.error("webchat: could not accept a message: %s", exc)
            return _unavailable(request)
        try:
            replies = await self._wait_for_replies(entry_id, inbound.sender)
        except RedisError as exc:
            log.warning("webchat: replies to an accepted message not read: %s", exc)
            replies = None
        return web.json_response(
            {
                "accepted": True,
                "message_id": entry_id,
                "replies": replies or [],
                "pending": replies is None,
                **({"duplicate": True} if duplicate else {}),
            }
        )

    async def _wait_for_replies(self, entry_id: str, sender: str) -> list[dict[str, Any]] | None:
        """The replies, from whichever process handled the message; None if they take
        longer than REPLY_WAIT_SECONDS (the page then reads them from its stream)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + REPLY_WAIT_SECONDS
        async with self._feed.waiter(sender) as changed:
            while True:
                changed.clear()
                found = await self._replies.get(entry_id)
                left = deadline - loop.time()
                if found is not None or left <= 0 or self._closing.is_set():
                    return found
                with contextlib.suppress(TimeoutError):
                    # A notice missed (Redis restarted) costs at most a second.
                    await asyncio.wait_for(changed.wait(), min(left, 1.0))

    async def events(self, request: web.Request) -> web.StreamResponse:
        """The conversation's messages as server-sent events. The stream holds no Redis
        connection while it waits: the process's one feed wakes it when the outbox
        changes, and it reads what is new in one short call (bot/store/feeds.py)."""
        after = request.headers.get("Last-Event-ID") or request.query.get("after") or "0-0"
        if not _STREAM_ID.fullmatch(after):
            raise _error(400, "Last-Event-ID must be a message id such as 1712345678901-0")
        try:
            conversation = await self._ticket(request.query.get("ticket"))
        except RedisError:
            return _unavailable(request)
        sender = f"{CHANNEL}:{conversation}"
        try:
            with self._limits.slot(sender, request.remote or "?"):
                return await self._stream(request, sender, after)
        except TooManyStreams as exc:
            log.warning("webchat events: %s (%s)", exc, request.remote)
            return too_many(exc)

    async def _stream(self, request: web.Request, sender: str, after: str) -> web.StreamResponse:
        response = await open_stream(request)
        async with self._feed.waiter(sender) as changed:
            while not self._closing.is_set() and not client_gone(request):
                changed.clear()
                try:
                    async with self._reads:
                        messages = await self._stream_outbox.read(sender, after)
                except RedisError as exc:
                    log.warning("webchat events: %s", exc)
                    messages = []
                try:
                    for entry_id, message in messages:
                        await response.write(frame("message", message, entry_id))
                        after = entry_id
                    if not messages:
                        await response.write(b": keep-alive\n\n")
                except (ConnectionResetError, RuntimeError):
                    break
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(changed.wait(), KEEPALIVE_SECONDS)
        return response


def _page_texts(lang: str, exit_url: str, media_max: str) -> dict[str, str]:
    """The page's words, in the current locale."""
    return {
        "lang": lang,
        "title": _("Migrant worker helpline"),
        "subtitle": _("Ask about your rights, report a problem, or get help now."),
        "placeholder": _("Write a message"),
        "send": _("Send"),
        "connecting": _("Connecting..."),
        "offline": _("Connection lost. Trying again..."),
        "privacy_link_label": _("Privacy"),
        "new_chat": _("New chat"),
        "exit_url": exit_url,
        "media_max": media_max,
        "quick_exit": _("Quick exit"),
        "quick_exit_hint": _(
            "Leaves this page at once for another site and removes this chat from "
            "the phone. On a keyboard: press Esc twice."
        ),
        "not_private": _("This phone is not private"),
        "discreet_hint": _(
            "If someone else may look at this phone, tap the button below: the page "
            "gets a plain title and keeps nothing on the phone, so reloading it starts "
            "a new chat."
        ),
        "discreet_on": _(
            "Nothing of this chat is kept on this phone now. Reloading the page starts a new chat."
        ),
        "neutral_title": _("Notes"),
        "neutral_subtitle": _("Personal notes"),
        "close": _("Close"),
        "attach": _("Send a photo, document, video or audio"),
        "share_location": _("Share my location"),
        "my_location": _("My location"),
        "location_failed": _(
            "Your location could not be shared: it was not allowed or is not "
            "available on this phone. You can write where you are instead."
        ),
        "file_too_large": _(
            "This file is too large to send. Try a smaller photo or a shorter video."
        ),
        "file_failed": _("The file could not be sent. Please try again."),
        # Shown next to the text box when a message did not go through (it stays there).
        "send_offline": _(
            "Your message was not sent: the connection failed. Check your internet, then try again."
        ),
        "send_busy": _(
            "Your message was not sent: too many messages in a short time. Wait a "
            "minute, then try again."
        ),
        "send_failed": _("Your message was not sent. Please try again in a moment."),
    }


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
    except (ValueError, UnicodeDecodeError, RecursionError):
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
    location = _location(body.get("location"))
    if not text.strip() and not payload and location is None:
        raise _error(400, "send a text, a button payload or a location")
    return Inbound(
        channel=CHANNEL,
        user_id=conversation,
        message_id=_message_id(body.get("client_message_id")),
        text=text,
        payload=payload[:200] if payload else None,
        location=location,
    )


def _message_id(given: object) -> str:
    message_id = given or uuid.uuid4().hex
    if not isinstance(message_id, str) or len(message_id) > 100:
        raise _error(400, "client_message_id must be a short string")
    return message_id


def _location(given: object) -> Location | None:
    """{"latitude", "longitude"}: kept even when it does not read as a place (marked)."""
    if given is None:
        return None
    if not isinstance(given, dict):
        raise _error(400, "location must be an object with latitude and longitude")
    return Location.read(given.get("latitude"), given.get("longitude"))


def _echo(inbound: Inbound) -> dict[str, Any]:
    """The worker's own message as the conversation shows it."""
    echo: dict[str, Any] = {
        "from": "worker",
        "text": inbound.text,
        "buttons": [],
        "client_message_id": inbound.message_id,
    }
    if inbound.media is not None:
        echo["file"] = {"kind": inbound.media.kind, "name": inbound.media.name}
    if inbound.location is not None:
        echo["location"] = True
    return echo


def _kind_of(mime: str) -> str:
    head = mime.partition("/")[0]
    return {"image": "image", "audio": "audio", "video": "video"}.get(head, "document")


async def _media_form(request: web.Request, limit: int) -> dict[str, str | bytes]:
    """The multipart parts: ``file`` (bytes, at most ``limit``), its filename and type,
    ``caption`` and ``client_message_id``."""
    try:
        reader = await request.multipart()
    except (AssertionError, ValueError, KeyError):
        raise _error(400, "send the file as multipart/form-data") from None
    found: dict[str, str | bytes] = {}
    while True:
        part = await reader.next()
        if part is None:
            break
        if not isinstance(part, BodyPartReader):
            raise _error(400, "nested multipart is not accepted")
        if part.name == "file":
            data = bytearray()
            while chunk := await part.read_chunk(65536):
                data += chunk
                if len(data) > limit:
                    raise _error(413, f"files can be at most {limit // (1024 * 1024)} MB")
            found["file"] = bytes(data)
            found["filename"] = part.filename or "file"
            found["mime"] = part.headers.get("Content-Type", "application/octet-stream")
        elif part.name in ("caption", "client_message_id"):
            value = await part.read(decode=False)
            if len(value) > MAX_TEXT * 4:
                raise _error(400, f"{part.name} is too long")
            found[part.name] = value.decode("utf-8", "replace")
    if not found.get("file"):
        raise _error(400, "no file in the form (field 'file')")
    return found
