"""Replies on their way to Telegram or WhatsApp, kept until the platform has taken them.

A reply is kept here in the same step that records it in the outbox (and marks its
message answered), in a hash of the process that sends it; then it is sent. Each message
the platform takes moves the send's mark on; the last one removes the send. A process
that dies (kill -9, a lost machine) between the two leaves its sends here, and the process
that takes over what the dead one held (bot/runner.py) sends the rest of them; a send the
platform refused for the moment (a network error, Telegram or Meta down) is tried again
by its own process (bot/delivery.py).

So a reply reaches the worker at least once. It is sent twice only when a process dies
after the platform took a message and before the mark moved on - the time of one Redis
write; without this, a death anywhere during the HTTP request to the platform lost the
reply for good (the message was already marked answered, so it was not handled again).
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from bot.messages import Outbound
from bot.store.connection import as_text
from bot.store.keys import Keys
from bot.store.sealing import Sealer

# A process's hash lives this long after its last send (a send is given up on sooner:
# bot/delivery.py GIVE_UP_SECONDS).
KEEP_SECONDS = 2 * 86400
# The field of a send's progress: how many of its messages the platform has taken.
_DONE = "#done"

# Everything a dead process was sending becomes ``owner``'s, in one step.
_TAKE_OVER = """
local fields = redis.call('HGETALL', KEYS[1])
if #fields == 0 then return fields end
redis.call('HSET', KEYS[2], unpack(fields))
redis.call('EXPIRE', KEYS[2], ARGV[1])
redis.call('DEL', KEYS[1])
redis.call('SADD', KEYS[3], ARGV[2])
redis.call('EXPIRE', KEYS[3], ARGV[1])
return fields
"""


@dataclass
class Send:
    """One reply (one or more messages) to one worker, and how far it got."""

    id: str
    sender: str
    messages: list[Outbound]
    locale: str
    started: float
    done: int = 0

    @property
    def left(self) -> list[Outbound]:
        return self.messages[self.done :]


def new_send(sender: str, messages: Sequence[Outbound]) -> Send:
    locale = next((m.locale for m in messages if m.locale), "id")
    now = time.time()
    # Sorts by when it was made: taken-over sends go out oldest first.
    send_id = f"{int(now * 1000):015d}-{secrets.token_hex(4)}"
    return Send(send_id, sender, list(messages), locale, now)


class Sends:
    def __init__(self, redis: Redis, keys: Keys, sealer: Sealer | None = None) -> None:
        """Sealed (bot/store/sealing.py): a reply may repeat what the worker said."""
        self._redis, self._keys = redis, keys
        self._sealer = sealer or Sealer.plain()
        self._take_over = redis.register_script(_TAKE_OVER)

    def stage(self, pipe: Pipeline, process: str, send: Send) -> None:
        """Adds "``process`` is sending ``send``" to a transaction."""
        data = {
            "sender": send.sender,
            "locale": send.locale,
            "started": send.started,
            "messages": [m.to_json() for m in send.messages],
        }
        key = self._keys.sends(process)
        pipe.hset(key, send.id, self._sealer.seal(json.dumps(data, ensure_ascii=False)))
        pipe.expire(key, KEEP_SECONDS)
        pipe.sadd(self._keys.sending(), process)
        pipe.expire(self._keys.sending(), KEEP_SECONDS)

    async def keep(self, process: str, send: Send) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            self.stage(pipe, process, send)
            await pipe.execute()

    async def progress(self, process: str, send: Send) -> None:
        """The platform took ``send.done`` of its messages; with all of them, it is gone."""
        key = self._keys.sends(process)
        if send.done >= len(send.messages):
            await self._redis.hdel(key, send.id, send.id + _DONE)
        else:
            await self._redis.hset(key, send.id + _DONE, send.done)

    async def drop(self, process: str, send: Send) -> None:
        await self._redis.hdel(self._keys.sends(process), send.id, send.id + _DONE)

    async def kept(self, process: str, send: Send) -> bool:
        """False once the send was dropped (its worker erased their data)."""
        return bool(await self._redis.hexists(self._keys.sends(process), send.id))

    async def take_over(self, dead: str, process: str) -> list[Send]:
        """What a dead process was sending, now ``process``'s, oldest first."""
        flat: Any = await self._take_over(
            keys=[self._keys.sends(dead), self._keys.sends(process), self._keys.sending()],
            args=[KEEP_SECONDS, process],
        )
        return self._parse(flat)

    async def forget(self, sender: str) -> int:
        """A worker erased their data: replies still waiting to reach them go, in every
        process's hash."""
        removed = 0
        processes: Any = await self._redis.smembers(self._keys.sending())
        for process in map(as_text, processes):
            key = self._keys.sends(process)
            found = await self._redis.hgetall(key)
            if not found:  # that process sent everything (or its sends were taken)
                await self._redis.srem(self._keys.sending(), process)
                continue
            ids = [s.id for s in self._parse(found) if s.sender == sender]
            if ids:
                removed += int(await self._redis.hdel(key, *ids, *(i + _DONE for i in ids)))
        return removed

    def _parse(self, raw: dict[Any, Any] | list[Any]) -> list[Send]:
        """Sends from a hash (HGETALL's dict, or a script's flat list)."""
        pairs = raw.items() if isinstance(raw, dict) else zip(raw[::2], raw[1::2], strict=True)
        fields = {as_text(k): v for k, v in pairs}
        found = []
        for field_name, sealed in fields.items():
            if field_name.endswith(_DONE):
                continue
            data = json.loads(self._sealer.unseal(sealed))
            locale = str(data.get("locale") or "id")
            found.append(
                Send(
                    field_name,
                    str(data["sender"]),
                    [Outbound.from_json(m, locale) for m in data["messages"]],
                    locale,
                    float(data.get("started") or 0),
                    int(as_text(fields.get(field_name + _DONE, b"0"))),
                )
            )
        return sorted(found, key=lambda s: s.id)
