"""The helpline with WhatsApp on, against the Graph API's stand-in, for the security
tests that replay attacks through it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.chat import Chat
from tests.graph_standin import running_graph_api
from tests.test_whatsapp import Helpline as WhatsApp
from tests.test_whatsapp import _settings


@pytest.fixture
async def wa(redis_url: str, rasa_url: str, key_prefix: str) -> AsyncIterator[WhatsApp]:
    async with (
        running_graph_api() as api,
        Chat.serve(_settings(redis_url, rasa_url, key_prefix, api)) as chat,
    ):
        yield WhatsApp(chat, api)
