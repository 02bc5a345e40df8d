"""Server-sent events: the stream the web chat and the console listen on."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from aiohttp import web


async def open_stream(request: web.Request) -> web.StreamResponse:
    """A prepared event stream; the browser reconnects 2 s after losing it."""
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream",
            "Cache-Control": "no-store",
            "X-Accel-Buffering": "no",
        }
    )
    await response.prepare(request)
    await response.write(b"retry: 2000\n\n")
    return response


def frame(event: str, data: Any, event_id: str | None = None) -> bytes:
    head = f"id: {event_id}\n" if event_id else ""
    return f"{head}event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n".encode()


class TooManyStreams(Exception):
    """Over one of the limits; the message says which."""


class StreamLimits:
    """Open event streams per key (a conversation, a console user), per address and in
    all, in this process. One client, however many streams it tries, cannot take them all.
    """

    def __init__(self, per_key: int, per_address: int, total: int) -> None:
        self.per_key, self.per_address, self.total = per_key, per_address, total
        self._keys: Counter[str] = Counter()
        self._addresses: Counter[str] = Counter()
        self.open = 0

    @contextmanager
    def slot(self, key: str, address: str) -> Iterator[None]:
        if self.open >= self.total:
            raise TooManyStreams("too many open streams on this server; try again later")
        if self._addresses[address] >= self.per_address:
            raise TooManyStreams("too many open streams from this address")
        if self._keys[key] >= self.per_key:
            raise TooManyStreams("too many open streams for this conversation")
        self._keys[key] += 1
        self._addresses[address] += 1
        self.open += 1
        try:
            yield
        finally:
            self.open -= 1
            self._keys[key] -= 1
            self._addresses[address] -= 1
            if not self._keys[key]:
                del self._keys[key]
            if not self._addresses[address]:
                del self._addresses[address]


def too_many(exc: TooManyStreams) -> web.Response:
    """429 with the reason; a page backs off before it tries again."""
    return web.json_response({"error": str(exc)}, status=429, headers={"Retry-After": "30"})


def client_gone(request: web.Request) -> bool:
    transport = request.transport
    return transport is None or transport.is_closing()
