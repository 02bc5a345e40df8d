"""The conversation session: locale, country, consent, flow state and who owns it."""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from redis.asyncio import Redis

from bot.store.keys import Keys
from bot.store.locks import ConversationLock
from bot.store.sealing import Sealer

BOT = "bot"
# Longest time one message (or one operator action) may hold a conversation's lock.


def operator_owner(username: str) -> str:
    return f"operator:{username}"


@dataclass
class Session:
    sender: str
    locale: str | None = None
    # True once the worker chose the language: detection never overrides a choice.
    locale_chosen: bool = False
    country: str | None = None
    # The privacy notice was shown and the worker went on.
    privacy_shown: bool = False
    # A first contact that was a crisis: the notice is still owed, after the help.
    privacy_pending: bool = False
    flow: str | None = None
    step: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    # "bot" or "operator:<name>": while an operator owns it, the bot stays silent.
    owner: str = BOT
    # The open case of this conversation, if any.
    case_id: str | None = None
    # When the worker was last told they are still in the queue.
    queue_notice_at: float = 0.0
    # The worker asked the team to stop writing (until they write again).
    stopped_at: float | None = None
    # The country the worker gets awareness alerts for (bot/store/alerts.py), if any.
    alerts: str | None = None
    created_at: float = field(default_factory=time.time)
    last_seen: float = field(default_factory=time.time)

    @property
    def is_new(self) -> bool:
        return not self.privacy_shown

    def clear_flow(self) -> None:
        self.flow, self.step, self.data = None, None, {}

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, raw: str | bytes) -> Session:
        data = json.loads(raw)
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)


class SessionStore:
    def __init__(
        self,
        redis: Redis,
        keys: Keys,
        *,
        flow_ttl: int,
        profile_ttl_days: int,
        sealer: Sealer | None = None,
    ) -> None:
        """A session is sealed: a flow's data holds what the worker is reporting."""
        self._redis, self._keys = redis, keys
        self._sealer = sealer or Sealer.plain()
        self._flow_ttl = flow_ttl
        self._ttl = profile_ttl_days * 86400

    def lock(self, sender: str) -> ConversationLock:
        """One writer per conversation: dispatch and operator actions take this first."""
        return ConversationLock(self._redis, self._keys.sender_lock(sender))

    async def load(self, sender: str) -> Session:
        """The session, with any flow that went stale dropped (the profile stays)."""
        raw = await self._redis.get(self._keys.session(sender))
        if raw is None:
            return Session(sender)
        session = Session.from_json(self._sealer.unseal(raw))
        if time.time() - session.last_seen > self._flow_ttl:
            session.clear_flow()
            session.data["expired"] = True
        return session

    async def save(self, session: Session) -> None:
        session.last_seen = time.time()
        await self._redis.set(
            self._keys.session(session.sender), self._sealer.seal(session.to_json()), ex=self._ttl
        )

    async def delete(self, sender: str) -> None:
        await self._redis.delete(self._keys.session(sender))
