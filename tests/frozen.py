"""Servers that take connections and requests and never answer: a frozen process or a
black-holed host, as the helpline sees one (tests/test_nlu_servers.py, test_locks.py)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator


@contextlib.asynccontextmanager
async def frozen_servers(count: int) -> AsyncIterator[list[str]]:
    """``count`` such servers' URLs; each connection is let go when its client gives up,
    and all are closed at the end."""
    taken: list[asyncio.StreamWriter] = []

    async def hang(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        taken.append(writer)
        while await reader.read(65536):
            pass
        writer.close()

    servers = [await asyncio.start_server(hang, "127.0.0.1", 0) for _ in range(count)]
    try:
        yield [f"http://127.0.0.1:{s.sockets[0].getsockname()[1]}" for s in servers]
    finally:
        for server in servers:
            server.close()
        for writer in taken:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()
        for server in servers:
            await server.wait_closed()
