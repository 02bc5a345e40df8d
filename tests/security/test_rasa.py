"""The Rasa server is not an open door (issue 18): it listens on 127.0.0.1 and every API
call needs the token of this run. Before, any local process could DELETE /model and
every emergency became "unknown"."""

from __future__ import annotations

import aiohttp
import pytest

from bot.nlu.client import NLUClient, split_token

pytestmark = pytest.mark.rasa


async def test_the_model_cannot_be_removed_or_used_without_the_token(rasa_url: str) -> None:
    base, token = split_token(rasa_url)
    assert token and base.startswith("http://127.0.0.1:")
    async with aiohttp.ClientSession() as session:
        for params in ({}, {"token": "guess"}):
            async with session.delete(f"{base}/model", params=params) as response:
                assert response.status == 401
            async with session.post(
                f"{base}/model/parse", json={"text": "halo"}, params=params
            ) as response:
                assert response.status == 401
    async with NLUClient(rasa_url) as nlu:
        assert await nlu.is_ready()
        result = await nlu.classify("majikan pukul saya td malam")
        assert result.nlu_available and result.emergency
    async with NLUClient(base) as tokenless:
        assert not await tokenless.is_ready()
