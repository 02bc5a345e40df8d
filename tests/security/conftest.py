"""The helpline with WhatsApp on, against the Graph API's stand-in, for the security
tests that replay attacks through it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.harness import Helpline, serving


@pytest.fixture
async def wa(redis_url: str, rasa_url: str, key_prefix: str) -> AsyncIterator[Helpline]:
    async with serving(redis_url, rasa_url, key_prefix, whatsapp=True) as helpline:
        yield helpline
