"""The WhatsApp channel, through Meta's Cloud API.

Webhook on the shared aiohttp app (/whatsapp/webhook): GET answers Meta's verification
handshake; every POST is checked against X-Hub-Signature-256 (HMAC-SHA256 of the raw
body with the app secret) before anything is parsed, then stored as it came in a Redis
stream and answered 200 at once. A processor reads that stream through a consumer
group and acknowledges a payload only once every message in it is in the inbox (media
fetched and kept as evidence), so nothing accepted is lost; duplicates are dropped by
message id (Meta redelivers for days). Status callbacks are recorded on the outbound
message; a failure is put on the worker's open case, where the operator sees it.

The 24-hour customer-service window is tracked per worker: outside it only the approved
template goes out, and an operator who tries to reply is told so and offered it.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import os
import socket
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import aiohttp
from aiohttp import web
from redis.exceptions import RedisError

from bot.channels.base import SendFailed
from bot.channels.notices import UNSUPPORTED, notice
from bot.channels.whatsapp.convert import (
    CHANNEL,
    MEDIA_TYPES,
    Incoming,
    StatusUpdate,
    bodies,
    inbound_of,
    read_payload,
    template_body,
)
from bot.channels.whatsapp.graph import RATE_LIMIT_CODES, GraphClient, GraphError, MediaTooLarge
from bot.config import Settings
from bot.i18n import _, use_locale
from bot.logs import masked
from bot.messages import NOT_FETCHED, TOO_LARGE, Inbound, MediaRef, Outbound
from bot.store.whatsapp import Deliveries, Payloads
from bot.tasks import being_cancelled, stop_tasks

if TYPE_CHECKING:
    from bot.helpline import Helpline

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/whatsapp/webhook"
# What fetching a file through the Graph API can fail with (an odd answer included).
_FETCH_ERRORS = (GraphError, aiohttp.ClientError, OSError, TimeoutError, LookupError, ValueError,
                 TypeError, AttributeError)  # fmt: skip
MAX_PAYLOAD = 1024 * 1024
# Messages older than the duplicate window (bot/store/inbox.py SEEN_TTL) are replays.
REPLAY_SECONDS = 13 * 86400


class WhatsAppChannel:
    name = CHANNEL
    reads_outbox = False

    @staticmethod
    def configured(settings: Settings) -> bool:
        return settings.whatsapp_enabled

    def __init__(self, helpline: Helpline) -> None:
        settings = helpline.settings
        assert settings.whatsapp_token and settings.whatsapp_phone_id
        self.settings = settings
        services = helpline.services
        self._runner, self._evidence = helpline.runner, services.evidence
        self._cases, self._sessions = services.cases, services.sessions
        self.payloads = Payloads(helpline.redis, helpline.keys, helpline.sealer)
        self._deliveries = Deliveries(helpline.redis, helpline.keys)
        self.graph = GraphClient(
            settings.whatsapp_api_url,
            settings.whatsapp_api_version,
            settings.whatsapp_phone_id,
            settings.whatsapp_token,
            backoff=settings.whatsapp_backoff_seconds,
        )
        self._consumer = f"{socket.gethostname()}-{os.getpid()}"
        # A payload another process took but never finished (it died) is taken over
        # once it has lain untouched this long.
        self.reclaim_after_ms = 60_000
        self._task: asyncio.Task[None] | None = None

    def routes(self) -> list[web.RouteDef]:
        return [web.get(WEBHOOK_PATH, self.verify), web.post(WEBHOOK_PATH, self.receive)]

    async def start(self) -> None:
        await self.graph.open()
        await self.payloads.ensure_group()
        self._task = asyncio.create_task(self._process_loop())

    async def stop(self) -> None:
        if self._task is not None:
            await stop_tasks([self._task])
        await self.graph.close()

    # -- the webhook -------------------------------------------------------------------

    async def verify(self, request: web.Request) -> web.Response:
        """Meta's subscription handshake."""
        query = request.query
        token = query.get("hub.verify_token", "")
        expected = self.settings.whatsapp_verify_token or ""
        if query.get("hub.mode") == "subscribe" and hmac.compare_digest(token, expected):
            return web.Response(text=query.get("hub.challenge", ""))
        log.warning("whatsapp: failed verification handshake from %s", request.remote)
        return web.Response(status=403, text="verification failed")

    async def receive(self, request: web.Request) -> web.Response:
        raw = await _read_at_most(request, MAX_PAYLOAD + 1)
        if len(raw) > MAX_PAYLOAD:
            log.warning("whatsapp: payload over %d bytes from %s", MAX_PAYLOAD, request.remote)
            return web.json_response({"error": "payload too large"}, status=413)
        if not self._signed(raw, request.headers.get("X-Hub-Signature-256", "")):
            log.warning("whatsapp: bad or missing signature from %s", request.remote)
            return web.json_response({"error": "bad signature"}, status=403)
        try:
            read_payload(json.loads(raw))
        except (ValueError, KeyError, TypeError, RecursionError) as exc:
            log.warning("whatsapp: malformed payload from %s: %s", request.remote, exc)
            return web.json_response({"error": "malformed payload"}, status=400)
        try:
            # Stored as it came, but sealed: it holds the worker's number, name and words.
            await self.payloads.add(raw.decode())
        except RedisError as exc:
            # Not stored, so not accepted: Meta delivers it again.
            log.error("whatsapp: could not store a payload: %s", exc)
            return web.json_response({"error": "try again"}, status=503)
        return web.json_response({"ok": True})

    def _signed(self, raw: bytes, header: str) -> bool:
        secret = (self.settings.whatsapp_app_secret or "").encode()
        if not secret or not header.startswith("sha256="):
            return False
        digest = hmac.new(secret, raw, hashlib.sha256).hexdigest()
        return hmac.compare_digest(digest, header.removeprefix("sha256="))

    # -- processing stored payloads ------------------------------------------------------

    async def _process_loop(self) -> None:
        while True:
            try:
                for entry_id, raw in await self.payloads.take(
                    self._consumer, self.reclaim_after_ms
                ):
                    await self._process_entry(entry_id, raw)
            except Exception as exc:
                if being_cancelled():
                    raise asyncio.CancelledError from exc
                log.warning("whatsapp: processing paused (%s); retrying", exc)
                await asyncio.sleep(1)

    async def _process_entry(self, entry_id: str, raw: str) -> None:
        failed = None
        try:
            messages, statuses = read_payload(json.loads(raw))
            for message in messages:
                await self._message(message)
            for status in statuses:
                await self._status(status)
        except RedisError:
            raise  # left pending; taken again after a pause
        except Exception:
            log.exception("whatsapp: payload %s could not be processed; kept aside", entry_id)
            failed = raw
        await self.payloads.done(entry_id, failed_raw=failed)

    async def _message(self, message: Incoming) -> None:
        if message.timestamp and time.time() - message.timestamp > REPLAY_SECONDS:
            # Older than duplicates are remembered for: a replay, not a new message.
            log.warning("whatsapp: a message from %.0f days ago dropped as a replay",
                        (time.time() - message.timestamp) / 86400)  # fmt: skip
            return
        await self._deliveries.wrote(message.wa_id)
        if message.type in MEDIA_TYPES:
            inbound = await self._media_inbound(message)
        else:
            inbound = inbound_of(message)
        if inbound is None:
            if message.type not in MEDIA_TYPES:
                log.info("whatsapp: unsupported message type %s", message.type)
                await self._polite(message.wa_id, UNSUPPORTED)
            return
        if await self._runner.submit(inbound) is None:
            log.info("whatsapp: duplicate %s dropped", message.wamid)
            if inbound.media is not None and inbound.media.ref:
                await self._evidence.discard(inbound.media.ref, inbound.sender)

    async def _media_inbound(self, message: Incoming) -> Inbound | None:
        """The file fetched and kept as evidence; one that is too large or cannot be
        fetched still goes through, marked, with its caption."""
        media: dict[str, Any] = message.raw.get(message.type) or {}
        if not isinstance(media, dict):
            media = {}
        if await self._runner.seen(CHANNEL, message.wa_id, message.wamid):
            return None  # a redelivery: do not fetch the file again
        limit = self.settings.media_max_bytes
        sender = f"{CHANNEL}:{message.wa_id}"
        kind = MEDIA_TYPES[message.type]
        name = str(media.get("filename") or message.type)[:200]
        mime = str(media.get("mime_type") or "application/octet-stream")
        ref, size, problem = "", None, None
        try:
            data, mime = await self.graph.media(str(media.get("id", "")), limit)
            size = len(data)
            ref = await self._evidence.put(data, mime=mime, name=name, sender=sender)
        except MediaTooLarge as exc:
            log.warning("whatsapp: a %s is too large (%s)", message.type, exc)
            problem = TOO_LARGE
        except _FETCH_ERRORS as exc:
            log.warning("whatsapp: could not fetch media %s: %s", media.get("id"), exc)
            problem = NOT_FETCHED
        return Inbound(
            channel=CHANNEL,
            user_id=message.wa_id,
            message_id=message.wamid,
            text=str(media.get("caption") or ""),
            media=MediaRef(kind, ref, mime, size, name, problem),
        )

    async def _polite(self, wa_id: str, what: str) -> None:
        session = await self._sessions.load(f"{CHANNEL}:{wa_id}")
        with use_locale(session.locale or "id"):
            text = notice(what)
        try:
            await self.send(wa_id, [Outbound(text=text)], session.locale or "id")
        except SendFailed as exc:
            log.warning("whatsapp: a notice to a worker was not sent: %s", exc)

    async def _status(self, status: StatusUpdate) -> None:
        sender = await self._deliveries.sender_of(status.wamid)
        if sender is None:
            # Not a message we sent (or one sent so long ago it is forgotten): nothing to
            # record, and nothing an old or forged callback can make us store.
            log.info("whatsapp: status of an unknown message ignored")
            return
        await self._deliveries.status(status.wamid, status.status, status.timestamp, status.errors)
        if status.status == "failed":
            await self._failed(sender, status.errors)

    async def _failed(self, sender: str, errors: list[dict[str, Any]]) -> None:
        """Shown to the operator: on the worker's open case."""
        log.warning("whatsapp: a message to %s failed: %s", masked(sender), errors)
        case = await self._cases.open_case_of(sender)
        if case is not None:
            detail = "; ".join(
                f"{e.get('code')}: {e.get('title') or e.get('message')}" for e in errors
            )
            await self._cases.add_event(case.id, "delivery_failed", {"error": detail})

    # -- sending -----------------------------------------------------------------------

    async def send(self, wa_id: str, messages: Sequence[Outbound], locale: str) -> None:
        with use_locale(locale):
            menu = _("Menu")
        for message in messages:
            for body in bodies(wa_id, message, menu):
                await self._send_body(wa_id, body)

    async def _send_body(self, wa_id: str, body: dict[str, Any]) -> None:
        sender = f"{CHANNEL}:{wa_id}"
        try:
            wamid = await self.graph.send(body)
        except GraphError as exc:
            # After the client's own retries. No answer, a 5xx or throttling may pass;
            # a 4xx (not on WhatsApp, the 24-hour window closed) will not.
            later = exc.status == 0 or exc.status >= 500 or exc.code in RATE_LIMIT_CODES
            raise SendFailed(str(exc), later=later) from exc
        try:
            await self._deliveries.sent(wamid, wa_id, sender)
        except RedisError as exc:  # sent all the same: not to be sent again
            log.error("whatsapp: a sent message is not noted: %s", exc)

    async def erase(self, wa_id: str) -> None:
        """The worker erased their data: what this channel keeps of them goes too - the
        webhook payloads still stored (pending or set aside as dead letters, with their
        number, name and words), their 24-hour window, and the records of what was sent
        to them."""
        removed = await self.payloads.erase(lambda raw: _mentions(raw, wa_id))
        await self._deliveries.forget(wa_id)
        log.info("whatsapp: erased a worker's data (%d stored payloads)", removed)

    async def window_open(self, wa_id: str) -> bool:
        """False when the worker's last message is more than 24 hours old."""
        return await self._deliveries.window_open(wa_id)

    async def send_template(self, wa_id: str, locale: str, text: str = "") -> bool:
        name = self.settings.whatsapp_alert_template if text else self.settings.whatsapp_template
        if not name:
            return False
        language = "id" if locale == "id" else "en"
        await self._send_body(wa_id, template_body(wa_id, name, language, text))
        return True


def _mentions(raw: str, wa_id: str) -> bool:
    """True when a stored webhook payload carries this number (as sender or contact)."""
    try:
        payload = json.loads(raw)
    except ValueError:
        return wa_id in raw
    for entry in payload.get("entry") or [] if isinstance(payload, dict) else []:
        for change in (entry or {}).get("changes") or []:
            value = (change or {}).get("value") or {}
            people = [m.get("from") for m in value.get("messages") or [] if isinstance(m, dict)]
            people += [c.get("wa_id") for c in value.get("contacts") or [] if isinstance(c, dict)]
            people += [s.get("recipient_id") for s in value.get("statuses") or []
                       if isinstance(s, dict)]  # fmt: skip
            if wa_id in people:
                return True
    return False


async def _read_at_most(request: web.Request, limit: int) -> bytes:
    """The raw body, but no more than ``limit`` bytes of it (the rest is not read)."""
    chunks: list[bytes] = []
    size = 0
    while size < limit:
        chunk = await request.content.read(min(65536, limit - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)
