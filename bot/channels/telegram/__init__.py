"""The Telegram channel: workers in private chats, on-call operators in their group.

python-telegram-bot (v22) is the client: long polling by default, or a webhook on the
shared aiohttp app (POST /telegram/webhook, Telegram's secret-token header checked before
anything is parsed) when HELPLINE_TELEGRAM_WEBHOOK_SECRET is set. Sending goes through
PTB's AIORateLimiter, which also retries on RetryAfter.

A worker's update becomes a neutral Inbound and goes into the durable inbox (the update
id is its message id, so a redelivered update is dropped); dispatch handles it like any
other. Photos, documents, videos and voice notes are fetched with getFile, size-limited,
and kept as case evidence; one that is too large or cannot be fetched still goes
through, marked, so its caption is read and the operator sees what is missing. Updates
the helpline does not take (stickers, polls, edits, channel posts, strangers' groups)
get a polite word or silence, and a log line.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from aiohttp import web
from redis.exceptions import RedisError
from telegram import Message, Update
from telegram.error import (
    BadRequest,
    ChatMigrated,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    TelegramError,
)
from telegram.ext import AIORateLimiter, Application, ContextTypes, TypeHandler

from bot.channels.base import SendFailed
from bot.channels.notices import UNSUPPORTED, notice
from bot.channels.telegram.convert import CHANNEL, inbound_of, keyboard
from bot.channels.telegram.operators import OperatorGroup
from bot.config import Settings
from bot.i18n import preferred_language, use_locale
from bot.logs import masked
from bot.messages import NOT_FETCHED, TOO_LARGE, Inbound, MediaRef, Outbound
from bot.store.telegram import GroupPosts, PrivateChats
from bot.tasks import being_cancelled, stop_tasks

if TYPE_CHECKING:
    from bot.helpline import Helpline

log = logging.getLogger(__name__)

# Durations as timedelta (PTB's coming default), which also keeps PTB's own rate limiter
# from warning that the old int form is deprecated.
os.environ.setdefault("PTB_TIMEDELTA", "1")

WEBHOOK_PATH = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
_SUBMIT_TRIES = 5
# Errors that sending again cannot mend (BadRequest and the others are NetworkErrors to
# PTB, so they are told apart first).
NEVER = (Forbidden, BadRequest, ChatMigrated, EndPointNotFound, InvalidToken)


class TelegramChannel:
    name = CHANNEL
    reads_outbox = False

    @staticmethod
    def configured(settings: Settings) -> bool:
        return bool(settings.telegram_token)

    def __init__(self, helpline: Helpline) -> None:
        settings = helpline.settings
        assert settings.telegram_token
        self.settings = settings
        self._runner, self._evidence = helpline.runner, helpline.services.evidence
        self._chats = PrivateChats(helpline.redis, helpline.keys)
        api = settings.telegram_api_url
        builder = (
            Application.builder()
            .token(settings.telegram_token)
            .base_url(f"{api}/bot")
            .base_file_url(f"{api}/file/bot")
            .rate_limiter(AIORateLimiter(max_retries=3))
        )
        if settings.telegram_webhook_secret:
            builder = builder.updater(None)
        self.application = builder.build()
        self.application.add_handler(TypeHandler(Update, self._on_polled_update))
        self.operators = (
            OperatorGroup(
                self.application.bot,
                settings.telegram_operators_chat,
                GroupPosts(helpline.redis, helpline.keys),
                helpline.events,
                helpline.casework,
                helpline.users,
                settings.operators_locale,
                audit=helpline.audit,
                texts=settings.telegram_group_texts,
            )
            if settings.telegram_operators_chat is not None
            else None
        )
        self._connecting: asyncio.Task[None] | None = None

    @property
    def webhook_mode(self) -> bool:
        return self.settings.telegram_webhook_secret is not None

    async def start(self) -> None:
        """Connects to the Bot API; when it cannot be reached, says so and keeps trying in
        the background - the web chat, WhatsApp and the console start regardless."""
        if self.operators is not None:
            await self.operators.start()
        try:
            await self._connect()
        except (TelegramError, OSError, RuntimeError) as exc:
            log.error("telegram: the Bot API cannot be reached (%s); trying again", exc)
            self._connecting = asyncio.create_task(self._keep_connecting())

    @property
    def connected(self) -> bool:
        return self.application.running

    async def _connect(self) -> None:
        if not self.application.running:
            await self.application.initialize()
            await self.application.start()
        if self.webhook_mode:
            url = f"{self.settings.public_url}{WEBHOOK_PATH}"
            await self.application.bot.set_webhook(
                url,
                secret_token=self.settings.telegram_webhook_secret,
                allowed_updates=Update.ALL_TYPES,
            )
            log.info("telegram: webhook at %s", url)
        else:
            assert self.application.updater is not None
            await self.application.updater.start_polling(allowed_updates=Update.ALL_TYPES)
            log.info("telegram: long polling")

    async def _keep_connecting(self) -> None:
        delay = 1.0
        while True:
            await asyncio.sleep(delay)
            try:
                await self._connect()
                log.info("telegram: connected")
                return
            except (TelegramError, OSError, RuntimeError) as exc:
                if being_cancelled():
                    raise asyncio.CancelledError from exc
                delay = min(delay * 2, 60.0)
                log.warning(
                    "telegram: still cannot reach the Bot API (%s); next try in %.0f s", exc, delay
                )

    async def stop(self) -> None:
        if self._connecting is not None:
            await stop_tasks([self._connecting])
        if self.operators is not None:
            await self.operators.stop()
        if self.application.updater is not None and self.application.updater.running:
            await self.application.updater.stop()
        if self.application.running:
            await self.application.stop()
        with contextlib.suppress(TelegramError, OSError, RuntimeError):
            await self.application.shutdown()

    def routes(self) -> list[web.RouteDef]:
        """The webhook, when it is on (else updates come by long polling)."""
        return [web.post(WEBHOOK_PATH, self.webhook)] if self.webhook_mode else []

    async def webhook(self, request: web.Request) -> web.Response:
        """Telegram's secret token first; then the update, handled before the 200."""
        secret = self.settings.telegram_webhook_secret or ""
        given = request.headers.get(SECRET_HEADER, "")
        if not secret or not hmac.compare_digest(given.encode(), secret.encode()):
            log.warning("telegram webhook: missing or wrong secret token from %s", request.remote)
            return web.json_response({"error": "forbidden"}, status=403)
        try:
            data = json.loads(await request.read())
            update = Update.de_json(data, self.application.bot)
        except (ValueError, TypeError, KeyError, RecursionError) as exc:
            log.warning("telegram webhook: malformed update from %s: %s", request.remote, exc)
            return web.json_response({"error": "malformed update"}, status=400)
        if update is None:
            return web.json_response({"error": "malformed update"}, status=400)
        try:
            await self.handle(update)
        except RedisError as exc:
            # Not accepted: Telegram delivers it again later.
            log.error("telegram webhook: could not accept update %s: %s", update.update_id, exc)
            return web.json_response({"error": "try again"}, status=503)
        return web.json_response({"ok": True})

    async def _on_polled_update(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        for attempt in range(_SUBMIT_TRIES):
            try:
                await self.handle(update)
                return
            except RedisError as exc:
                log.warning("telegram: Redis unavailable (%s); retrying update", exc)
                await asyncio.sleep(0.5 * (attempt + 1))
        log.error("telegram: update %s could not be accepted", update.update_id)

    async def handle(self, update: Update) -> None:
        chat = update.effective_chat
        if self.operators is not None and chat is not None and chat.id == self.operators.chat_id:
            await self.operators.handle(update)
            return
        if update.callback_query is not None:
            await self._answer_callback(update)
        if chat is None or chat.type != "private":
            log.info("telegram: ignoring update %s (%s)", update.update_id, _kind(update))
            return
        message = update.message
        if message is not None:
            await self._remember(chat.id, message.message_id)
        inbound: Inbound | None
        if message is not None and _media_of(message) is not None:
            if await self._runner.seen(CHANNEL, str(chat.id), str(update.update_id)):
                log.info("telegram: duplicate update %s dropped", update.update_id)
                return  # a redelivery: do not fetch the file again
            inbound = await self._media_inbound(update, message)
        else:
            inbound = inbound_of(update)
        if inbound is None:
            await self._unsupported(update)
            return
        entry = await self._runner.submit(inbound)
        if entry is None:
            log.info("telegram: duplicate update %s dropped", update.update_id)
            if inbound.media is not None and inbound.media.ref:
                await self._evidence.discard(inbound.media.ref, inbound.sender)

    async def _answer_callback(self, update: Update) -> None:
        assert update.callback_query is not None
        try:
            await update.callback_query.answer()
        except TelegramError as exc:
            log.info("telegram: could not answer a button press: %s", exc)

    async def _unsupported(self, update: Update) -> None:
        kind = _kind(update)
        log.info("telegram: unsupported update %s (%s)", update.update_id, kind)
        if update.message is None or update.effective_chat is None:
            return  # edits and the like: silence
        user = update.effective_user
        locale = preferred_language(user.language_code or "") if user else "id"
        await self._notify(update.effective_chat.id, locale, UNSUPPORTED)

    async def _media_inbound(self, update: Update, message: Message) -> Inbound:
        """The file fetched and kept as evidence; one that is too large or cannot be
        fetched still goes through, marked, with its caption (the worker still reaches
        a person, and the operator sees what is missing)."""
        media = _media_of(message)
        assert media is not None and update.effective_chat is not None
        kind, file_id, mime, name, size = media
        chat_id = update.effective_chat.id
        sender = f"{CHANNEL}:{chat_id}"
        limit = self.settings.media_max_bytes
        user = update.effective_user
        ref, problem = "", None
        if size is not None and size > limit:
            log.warning("telegram: a %s of %d bytes is over the limit", kind, size)
            problem = TOO_LARGE
        else:
            try:
                file = await self.application.bot.get_file(file_id)
                if file.file_size is not None and file.file_size > limit:
                    size, problem = file.file_size, TOO_LARGE
                else:
                    data = bytes(await file.download_as_bytearray())
                    size = len(data)
                    if size > limit:
                        problem = TOO_LARGE
                    else:
                        ref = await self._evidence.put(data, mime=mime, name=name, sender=sender)
            except (TelegramError, OSError, TimeoutError) as exc:
                log.warning("telegram: could not fetch a %s: %s", kind, exc)
                problem = NOT_FETCHED
        return Inbound(
            channel=CHANNEL,
            user_id=str(chat_id),
            message_id=str(update.update_id),
            text=message.caption or "",
            media=MediaRef(kind, ref, mime, size, name, problem),
            language_hint=user.language_code if user else None,
        )

    async def _notify(self, chat_id: int, locale: str, what: str) -> None:
        with use_locale(locale):
            text = notice(what)
        await self._send_one(chat_id, Outbound(text=text))

    async def window_open(self, user_id: str) -> bool:
        return True

    async def send_template(self, user_id: str, locale: str, text: str = "") -> bool:
        return False

    async def send(self, user_id: str, messages: Sequence[Outbound], locale: str) -> None:
        """Replies and operators' messages to a worker's chat."""
        for message in messages:
            await self._send_one(int(user_id), message)

    async def _send_one(self, chat_id: int, message: Outbound) -> None:
        if not self.connected:
            raise SendFailed("not connected to the Bot API", later=True)
        text = message.text
        if message.author == "operator" and message.author_name:
            text = f"👤 {message.author_name}: {text}"
        try:
            sent = await self.application.bot.send_message(
                chat_id, text, reply_markup=keyboard(message.buttons)
            )
        except NEVER as exc:  # blocked, no such chat: trying again cannot help
            raise SendFailed(f"{type(exc).__name__}: {exc}", later=False) from exc
        except TelegramError as exc:  # the network, Telegram down, throttled past retries
            raise SendFailed(f"{type(exc).__name__}: {exc}", later=True) from exc
        if message.event == "erased":  # the erase confirmation stays for the worker to see
            return
        try:
            await self._remember(chat_id, sent.message_id)
        except RedisError as exc:  # sent all the same: not to be sent again
            log.error("telegram: a sent message is not noted for erasure: %s", exc)

    async def _remember(self, chat_id: int, message_id: int) -> None:
        await self._chats.remember(chat_id, message_id)

    async def erase(self, user_id: str) -> None:
        """Deletes the bot's and the worker's messages in the private chat."""
        ids = await self._chats.take(user_id)
        for start in range(0, len(ids), 100):
            try:
                await self.application.bot.delete_messages(int(user_id), ids[start : start + 100])
            except TelegramError as exc:
                log.warning("telegram: could not delete messages in a chat: %s", exc)
        log.info("telegram: erased %d messages in chat %s", len(ids), masked(user_id))


def _media_of(message: Message) -> tuple[str, str, str, str, int | None] | None:
    """(kind, file id, mime type, file name, size) of a photo, document or voice note."""
    if message.photo:
        photo = message.photo[-1]
        return "image", photo.file_id, "image/jpeg", "photo.jpg", photo.file_size
    if message.document is not None:
        doc = message.document
        name = doc.file_name or "document"
        return (
            "document",
            doc.file_id,
            doc.mime_type or "application/octet-stream",
            name,
            doc.file_size,
        )
    if message.voice is not None:
        voice = message.voice
        return "audio", voice.file_id, voice.mime_type or "audio/ogg", "voice.ogg", voice.file_size
    if message.audio is not None:
        audio = message.audio
        name = audio.file_name or "audio"
        return "audio", audio.file_id, audio.mime_type or "audio/mpeg", name, audio.file_size
    if message.video is not None:
        video = message.video
        name = video.file_name or "video.mp4"
        return "video", video.file_id, video.mime_type or "video/mp4", name, video.file_size
    if message.video_note is not None:
        note = message.video_note
        return "video", note.file_id, "video/mp4", "video_note.mp4", note.file_size
    return None


def _kind(update: Update) -> str:
    """What an update carries, for log lines."""
    for name in (
        "edited_message",
        "channel_post",
        "edited_channel_post",
        "poll",
        "poll_answer",
        "my_chat_member",
        "chat_member",
        "message_reaction",
    ):
        if getattr(update, name, None) is not None:
            return name
    message: Any = update.message
    if message is not None:
        for name in ("sticker", "poll", "animation", "contact", "dice"):
            if getattr(message, name, None):
                return f"message with {name}"
        return "message"
    return "other"
