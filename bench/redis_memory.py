"""Redis memory per conversation: what a helpline with N active conversations needs.

Starts a private Redis and the bot in this process (the NLU left down, so every message
is also kept to be read again: the upper end), plays N web chat conversations of six
messages, and prints the growth of Redis's used memory and key count per conversation.

Run: .venv/bin/python -m bench.redis_memory [--conversations 200]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from pathlib import Path

from bot.net import free_port
from bot.redis_server import private_redis
from tests.chat import Chat
from tests.conftest import make_settings

SCRIPT = (
    "halo",
    "brp gaji minimum di hongkong",
    "libur saya hari minggu?",
    "terima kasih",
    "agen potong gaji saya",
    "dadah",
)


async def measure(url: str, conversations: int) -> tuple[float, float]:
    settings = make_settings(url, f"http://127.0.0.1:{free_port()}", "bench-memory")
    async with Chat.serve(settings) as chat:
        redis = chat.redis
        await asyncio.sleep(1)
        memory, keys = (await redis.info("memory"))["used_memory"], await redis.dbsize()
        slots = asyncio.Semaphore(20)

        async def one() -> None:
            async with slots:
                worker = await chat.new_worker()
                for words in SCRIPT:
                    await worker.say(words)

        await asyncio.gather(*(one() for _ in range(conversations)))
        await asyncio.sleep(1)
        grown = (await redis.info("memory"))["used_memory"] - memory
        return grown / conversations, (await redis.dbsize() - keys) / conversations


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder, private_redis(Path(folder) / "redis") as url:
        per_conversation, keys = asyncio.run(measure(url, args.conversations))
    print(f"conversations            : {args.conversations} ({len(SCRIPT)} messages each)")
    print(f"Redis memory per one     : {per_conversation / 1024:.1f} KiB")
    print(f"keys per conversation    : {keys:.1f}")
    print(f"10,000 conversations need: {per_conversation * 10_000 / 1e6:.0f} MB")


if __name__ == "__main__":
    main()
