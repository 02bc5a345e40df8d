"""A blind index of the words said in each case, so a search finds a case by any of its
messages (the worker's, the operators', notes) without reading every sealed timeline.

Each word (3 characters or more, case-folded) is kept only as a keyed hash: a set per
hash holds the ids of the cases that have the word, and a set per case holds its hashes
(to take them away when the worker erases their data or the case is reduced to its
anonymous record). Without the key - derived from the data key that seals the
timelines - the index says nothing of what was said. A search matches whole words.
"""

from __future__ import annotations

import hashlib
import re

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from bot.store.keys import Keys

WORD = re.compile(r"\w{3,}", re.UNICODE)
# Timeline entries whose text is indexed.
INDEXED_KINDS = frozenset({"worker_message", "operator_message", "note", "media", "location"})
MAX_WORDS = 200


def words(text: str) -> set[str]:
    return {w.casefold() for w in WORD.findall(text)[:MAX_WORDS]}


class CaseWords:
    def __init__(self, redis: Redis, keys: Keys, secret: bytes) -> None:
        self._redis, self._keys = redis, keys
        self._secret = hashlib.sha256(b"helpline case words " + secret).digest()

    def _hash(self, word: str) -> str:
        return hashlib.blake2b(word.encode(), key=self._secret, digest_size=9).hexdigest()

    def stage(self, pipe: Pipeline, case_id: str, text: str) -> None:
        """Queues the words of ``text`` for the case on ``pipe``."""
        hashes = [self._hash(w) for w in words(text)]
        if not hashes:
            return
        for digest in hashes:
            pipe.sadd(self._keys.case_word(digest), case_id)
        pipe.sadd(self._keys.case_words(case_id), *hashes)

    async def find(self, query: str) -> set[str] | None:
        """Ids of the cases that have every word of ``query``; None when the query has
        no word the index keeps (shorter than 3 characters)."""
        wanted = [self._keys.case_word(self._hash(w)) for w in words(query)]
        if not wanted:
            return None
        found = await self._redis.sinter(wanted)
        return {str(i) for i in found}

    async def forget(self, case_id: str) -> None:
        """Takes the case out of the index (its timeline is gone)."""
        key = self._keys.case_words(case_id)
        hashes = await self._redis.smembers(key)
        async with self._redis.pipeline(transaction=False) as pipe:
            for digest in hashes:
                pipe.srem(self._keys.case_word(str(digest)), case_id)
            pipe.delete(key)
            await pipe.execute()
