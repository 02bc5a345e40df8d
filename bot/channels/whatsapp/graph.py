"""The WhatsApp Cloud API (Meta's Graph API): sending messages and fetching media.

One aiohttp session for the life of the bot, a timeout on every call, and back-off on
the rate-limit errors (130429 throughput, 131056 pair rate limit) and on 5xx answers.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import aiohttp

log = logging.getLogger(__name__)

RATE_LIMIT_CODES = frozenset({130429, 131056, 80007, 4, 613})
_TRIES = 5


class GraphError(Exception):
    def __init__(self, status: int, code: int | None, message: str) -> None:
        super().__init__(f"Graph API {status} (code {code}): {message}")
        self.status, self.code = status, code


class MediaTooLarge(Exception):
    pass


class GraphClient:
    def __init__(
        self,
        base_url: str,
        version: str,
        phone_number_id: str,
        token: str,
        *,
        timeout: float = 10.0,
        backoff: float = 0.5,
    ) -> None:
        self._base = f"{base_url.rstrip('/')}/{version}"
        self._phone = phone_number_id
        self._headers = {"Authorization": f"Bearer {token}"}
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self._backoff = backoff
        self._session: aiohttp.ClientSession | None = None

    async def open(self) -> None:
        self._session = aiohttp.ClientSession(headers=self._headers, timeout=self.timeout)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    @property
    def session(self) -> aiohttp.ClientSession:
        assert self._session is not None, "GraphClient.open() first"
        return self._session

    async def send(self, body: dict[str, Any]) -> str:
        """Sends one message; its wamid. Retries rate limits and 5xx with back-off."""
        url = f"{self._base}/{self._phone}/messages"
        payload = {"messaging_product": "whatsapp", "recipient_type": "individual", **body}
        delay = self._backoff
        for attempt in range(1, _TRIES + 1):
            try:
                async with self.session.post(url, json=payload) as response:
                    answer = await response.json(content_type=None)
                    if response.status < 300:
                        return str(answer["messages"][0]["id"])
                    error = (answer or {}).get("error", {})
                    code = error.get("code")
                    failure = GraphError(response.status, code, str(error.get("message", "")))
                    if response.status < 500 and code not in RATE_LIMIT_CODES:
                        raise failure
            except (aiohttp.ClientError, TimeoutError) as exc:
                failure = GraphError(0, None, f"{type(exc).__name__}: {exc}")
            if attempt == _TRIES:
                raise failure
            log.warning("whatsapp: %s; retrying in %.1f s", failure, delay)
            await asyncio.sleep(delay)
            delay *= 2
        raise AssertionError("unreachable")

    async def media(self, media_id: str, limit: int) -> tuple[bytes, str]:
        """The bytes and mime type of a media id, if it is no larger than ``limit``."""
        async with self.session.get(f"{self._base}/{media_id}") as response:
            info = await response.json(content_type=None)
            if response.status >= 300:
                error = (info or {}).get("error", {})
                raise GraphError(response.status, error.get("code"), str(error.get("message")))
        size = info.get("file_size")
        if size is not None and int(size) > limit:
            raise MediaTooLarge(f"{size} bytes")
        async with self.session.get(info["url"]) as response:
            if response.status >= 300:
                raise GraphError(response.status, None, "media download failed")
            data = await response.content.read(limit + 1)
        if len(data) > limit:
            raise MediaTooLarge(f"over {limit} bytes")
        return data, str(info.get("mime_type") or "application/octet-stream")
