"""Web chat under load: reply latency at 20 concurrent conversations, and the bot's memory.

Starts a private Redis, the Rasa server with the trained model, and the bot as its own
process (`helpline run`), then plays 20 conversations at once through the web chat API.
Prints the median, p95 and p99 time from sending a non-emergency message to having its
replies, and the bot process's resident memory (current and peak).

Targets (issue 3): p95 <= 300 ms; bot process < 200 MB resident.
Run: .venv/bin/python -m bench.webchat_load [--conversations 20] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time

import aiohttp

from bench.stack import helpline_stack
from bot.nlu_model.metrics import percentile

SCRIPT: list[dict[str, str]] = [
    {"text": "halo kak"},
    {"payload": "country:hong_kong", "text": "Hong Kong"},
    {"text": "brp gaji minimum PRT di hongkong"},
    {"payload": "helped:yes", "text": "Ya"},
    {"text": "libur sy hrs hari minggu ya?"},
    {"text": "how much can the agency charge me"},
    {"text": "makasih ya"},
    {"text": "klo kontrak habis siapa yg bayar tiket pulang"},
    {"text": "gaji sy dipotong agen 7 bulan"},
    {"payload": "complaint:cancel", "text": "Batal"},
    {"text": "where can I get a free lawyer"},
    {"text": "dadah"},
]


async def _conversation(base: str, rounds: int, latencies: list[float]) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{base}/api/chat/conversations") as response:
            token = (await response.json())["token"]
        headers = {"Authorization": f"Bearer {token}"}
        for _ in range(rounds):
            for message in SCRIPT:
                started = time.perf_counter()
                async with session.post(
                    f"{base}/api/chat/messages", json=dict(message), headers=headers
                ) as response:
                    body = await response.json()
                    assert response.status == 200 and body["replies"], body
                latencies.append((time.perf_counter() - started) * 1000)


async def _load(base: str, conversations: int, rounds: int, latencies: list[float]) -> None:
    await asyncio.gather(*(_conversation(base, rounds, latencies) for _ in range(conversations)))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--conversations", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with helpline_stack() as stack:
        asyncio.run(_load(stack.base, 1, 1, []))  # warm-up
        latencies: list[float] = []
        started = time.perf_counter()
        asyncio.run(_load(stack.base, args.conversations, args.rounds, latencies))
        elapsed = time.perf_counter() - started
        rss, peak = stack.memory_kb()
    rate = len(latencies) / elapsed
    print(f"conversations at once : {args.conversations}")
    print(f"messages              : {len(latencies)} in {elapsed:.1f} s ({rate:.0f}/s)")
    print(f"reply latency median  : {statistics.median(latencies):.0f} ms")
    print(f"reply latency p95     : {percentile(latencies, 95):.0f} ms   (target <= 300 ms)")
    print(f"reply latency p99     : {percentile(latencies, 99):.0f} ms")
    print(f"bot resident memory   : {rss / 1024:.0f} MB now, {peak / 1024:.0f} MB peak")
    print("                        (target < 200 MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
