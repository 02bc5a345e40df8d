"""A TCP pass-through to one of our real servers that a test can cut and restore.

Not a fake: every byte goes to the real server (the Rasa server, say). Cutting it is the
network fault a test needs - connections dropped, new ones refused - without killing a
server the rest of the test session shares.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlsplit


class Switch:
    def __init__(self, target_url: str) -> None:
        parts = urlsplit(target_url)
        self._host, self._port = parts.hostname or "127.0.0.1", parts.port or 80
        self.up = True
        # cut_after: the request carrying it, and whether answers are being swallowed.
        self._marker: bytes | None = None
        self._swallowing = False
        self._writers: set[asyncio.StreamWriter] = set()
        self._server: asyncio.Server | None = None
        self.url = ""

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._client, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"

    async def close(self) -> None:
        self.cut()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    def cut(self) -> None:
        """Drops every open connection; new ones are closed at once."""
        self.up = False
        for writer in list(self._writers):
            writer.close()
        self._writers.clear()

    def restore(self) -> None:
        self.up = True

    def cut_after(self, marker: bytes) -> None:
        """The next request that carries ``marker`` reaches the server; its answer does
        not: every connection drops first (the server did the work, the client never
        hears of it). New connections are taken again at once."""
        self._marker = marker

    def _cut_now(self) -> None:
        self.cut()
        self._swallowing = False
        self.restore()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self.up:
            writer.close()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(self._host, self._port)
        except OSError:
            writer.close()
            return
        self._writers |= {writer, up_writer}
        await asyncio.gather(self._pipe(reader, up_writer, True), self._pipe(up_reader, writer))
        self._writers -= {writer, up_writer}

    async def _pipe(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, asking: bool = False
    ) -> None:
        with contextlib.suppress(OSError, asyncio.IncompleteReadError):
            while data := await reader.read(65536):
                if not asking and self._swallowing:
                    continue
                writer.write(data)
                await writer.drain()
                if asking and self._marker is not None and self._marker in data:
                    self._marker, self._swallowing = None, True
                    # Time for the server to do it; then the connections drop.
                    asyncio.get_running_loop().call_later(0.2, self._cut_now)
        writer.close()


@asynccontextmanager
async def switch_to(url: str) -> AsyncIterator[Switch]:
    switch = Switch(url)
    await switch.start()
    try:
        yield switch
    finally:
        await switch.close()
