"""The one test harness for the whole helpline on its channels: the bot behind its web
chat API (tests/chat.py), started with the stand-ins of the platforms a test asks for -
Telegram's Bot API (tests/telegram_standin.py), Meta's Graph API
(tests/graph_standin.py), or both."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any

from tests.chat import Chat
from tests.conftest import make_settings
from tests.graph_standin import (
    APP_SECRET,
    PHONE_ID,
    VERIFY_TOKEN,
    VERSION,
    GraphAPI,
    encode,
    payload,
    running_graph_api,
    sign,
    value,
)
from tests.graph_standin import TOKEN as GRAPH_TOKEN
from tests.telegram_standin import TOKEN as BOT_TOKEN
from tests.telegram_standin import BotAPI, running_bot_api

# The operators' Telegram group of every harness that has Telegram.
GROUP = -100777


@dataclass
class Helpline:
    chat: Chat
    bot_api: BotAPI | None = None
    graph_api: GraphAPI | None = None

    @property
    def telegram(self) -> BotAPI:
        """The Bot API's stand-in: what the bot sent to Telegram."""
        assert self.bot_api is not None, "this helpline was started without Telegram"
        return self.bot_api

    @property
    def whatsapp(self) -> GraphAPI:
        """The Graph API's stand-in: what the bot sent to WhatsApp."""
        assert self.graph_api is not None, "this helpline was started without WhatsApp"
        return self.graph_api

    @property
    def whatsapp_url(self) -> str:
        return f"{self.chat.base}/whatsapp/webhook"

    async def post(self, data: dict[str, Any] | bytes, signature: str | None = None) -> int:
        """Posts a WhatsApp webhook body, signed with the app secret unless ``signature``
        says otherwise ("" sends none)."""
        raw = data if isinstance(data, bytes) else encode(data)
        headers = {"Content-Type": "application/json"}
        headers["X-Hub-Signature-256"] = sign(raw) if signature is None else signature
        if signature == "":
            del headers["X-Hub-Signature-256"]
        async with self.chat.session.post(
            self.whatsapp_url, data=io.BytesIO(raw), headers=headers
        ) as response:
            return response.status

    async def says(self, *messages: dict[str, Any]) -> int:
        """WhatsApp messages in one webhook call; returns the mark after which the
        bot's answers to them are sent."""
        mark = len(self.whatsapp.sent)
        assert await self.post(payload(value(list(messages)))) == 200
        return mark


@asynccontextmanager
async def serving(
    redis_url: str,
    nlu_url: str,
    prefix: str,
    *,
    telegram: bool = False,
    whatsapp: bool = False,
    **extra: Any,
) -> AsyncIterator[Helpline]:
    """The helpline on the web chat and on the platforms asked for; ``extra`` overrides
    any setting."""
    async with AsyncExitStack() as stack:
        bot_api = graph_api = None
        options: dict[str, Any] = {}
        if telegram:
            bot_api = await stack.enter_async_context(running_bot_api())
            options |= {
                "telegram_token": BOT_TOKEN,
                "telegram_api_url": bot_api.base,
                "telegram_operators_chat": GROUP,
                "operators_locale": "en",
            }
        if whatsapp:
            graph_api = await stack.enter_async_context(running_graph_api())
            options |= {
                "whatsapp_token": GRAPH_TOKEN,
                "whatsapp_phone_id": PHONE_ID,
                "whatsapp_app_secret": APP_SECRET,
                "whatsapp_verify_token": VERIFY_TOKEN,
                "whatsapp_api_url": graph_api.base,
                "whatsapp_api_version": VERSION,
                "whatsapp_backoff_seconds": 0.05,
            }
        settings = make_settings(redis_url, nlu_url, prefix, **(options | extra))
        chat = await stack.enter_async_context(Chat.serve(settings))
        yield Helpline(chat, bot_api, graph_api)
