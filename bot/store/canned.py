"""Canned replies: texts editors keep for operators to send, per language and optionally
per country, with the knowledge base's placeholders ({embassy_hotline},
{money:HKD:5100}, ...) filled in for the worker's country when inserted."""

from __future__ import annotations

import json
import re
import time
from dataclasses import asdict, dataclass, field

from redis.asyncio import Redis

from bot.store.keys import Keys

# A canned reply's short name: what an operator types (/canned NAME in the operators'
# group) and how editors refer to it.
NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
MAX_TEXT = 2000


class CannedError(ValueError):
    """A canned reply that cannot be kept as it is."""


@dataclass
class Canned:
    name: str
    title: str
    # Language -> text ("id", "en").
    texts: dict[str, str]
    # "" for every country, else the one country it is written for.
    country: str = ""
    updated_by: str = ""
    updated_at: float = field(default_factory=time.time)

    def text(self, lang: str) -> str:
        return self.texts.get(lang) or self.texts.get("id") or self.texts.get("en") or ""

    def fits(self, country: str | None) -> bool:
        return not self.country or self.country == country


class CannedReplies:
    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis, self._keys = redis, keys

    async def all(self) -> list[Canned]:
        raw = await self._redis.hvals(self._keys.canned())
        found = [Canned(**json.loads(r)) for r in raw]
        return sorted(found, key=lambda c: (c.country, c.name))

    async def get(self, name: str) -> Canned | None:
        raw = await self._redis.hget(self._keys.canned(), name)
        return Canned(**json.loads(raw)) if raw else None

    async def save(self, canned: Canned) -> None:
        if not NAME.match(canned.name):
            raise CannedError("a name has 1-40 small letters, digits or dashes")
        if not canned.title.strip():
            raise CannedError("give it a title")
        texts = {lang: text.strip() for lang, text in canned.texts.items() if text.strip()}
        if not texts:
            raise CannedError("write the text in at least one language")
        if any(len(text) > MAX_TEXT for text in texts.values()):
            raise CannedError(f"a text has at most {MAX_TEXT} characters")
        canned.texts, canned.updated_at = texts, time.time()
        await self._redis.hset(
            self._keys.canned(), canned.name, json.dumps(asdict(canned), ensure_ascii=False)
        )

    async def delete(self, name: str) -> bool:
        return bool(await self._redis.hdel(self._keys.canned(), name))
