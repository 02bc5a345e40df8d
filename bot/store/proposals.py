"""Example phrasings editors propose for the NLU, kept until an admin exports them into
the training data (`helpline nlu export-examples`, bot/nlu_model/proposed.py)."""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field

from redis.asyncio import Redis

from bot.store.keys import Keys


@dataclass(frozen=True)
class Proposal:
    intent: str
    lang: str
    text: str
    by: str
    at: float = field(default_factory=time.time)


class ExampleProposals:
    """A list, oldest first: the export takes the proposals it read and leaves any that
    came in meanwhile."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis, self._key = redis, keys.example_proposals()

    async def all(self) -> list[Proposal]:
        raw = await self._redis.lrange(self._key, 0, -1)
        return [Proposal(**json.loads(r)) for r in raw]

    async def add(self, proposal: Proposal) -> None:
        await self._redis.rpush(self._key, json.dumps(asdict(proposal), ensure_ascii=False))

    async def drop_first(self, count: int) -> None:
        """The ``count`` oldest proposals are gone (they were exported)."""
        if count > 0:
            await self._redis.ltrim(self._key, count, -1)
