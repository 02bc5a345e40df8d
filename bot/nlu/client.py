"""Client of the stock Rasa server's ``POST /model/parse``, with the safety layer applied."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from types import TracebackType
from typing import Any, Self
from urllib.parse import urlsplit, urlunsplit

import aiohttp

from bot.metrics import Metrics
from bot.nlu import countries
from bot.nlu.safety import CrisisLexicon, SafetyPolicy, decide
from bot.nlu.taxonomy import (
    ALL_INTENTS,
    OUT_OF_SCOPE,
    RASA_FALLBACK,
    UNKNOWN,
    Category,
    category_of,
)

log = logging.getLogger(__name__)

# Longer messages are cut before they reach the model (the lexicon still reads all of it):
# the start of a message carries its point, and parse time grows with length.
MAX_MODEL_CHARS = 1000
# A word the model could know: Latin letters, not a 10,000-letter run.
_WORD = re.compile(
    r"(?<![A-Za-z\u00C0-\u024F])[A-Za-z\u00C0-\u024F']{1,30}(?![A-Za-z\u00C0-\u024F])"
)


def with_token(url: str, token: str) -> str:
    """The Rasa server's URL carrying its auth token, as ``helpline run`` and the test
    fixtures hand it to the client (``split_token`` reads it back; never logged)."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=f"token:{token}@{parts.hostname}:{parts.port}"))


def split_token(url: str) -> tuple[str, str | None]:
    """(the URL without credentials, the token it carried)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url, None
    netloc = parts.hostname or ""
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit(parts._replace(netloc=netloc)), parts.password


class NLUUnavailable(Exception):
    """The Rasa server could not be asked or gave an answer we cannot read."""


@dataclass(frozen=True)
class Classification:
    text: str
    # The intent the rest of the helpline acts on: the model's best taxonomy intent, the
    # emergency intent the safety layer chose, out_of_scope for text the model cannot
    # read, or "unknown" when the Rasa server could not be asked.
    intent: str
    confidence: float
    category: str
    # The final routing decision, safety layer included.
    emergency: bool
    country: str | None = None
    # Why this counts as an emergency: "model", "ranking" or "lexicon".
    emergency_reason: str | None = None
    # The model was below its fallback threshold: offer choices or a person.
    uncertain: bool = False
    nlu_available: bool = True
    ranking: list[tuple[str, float]] = field(default_factory=list)
    lexicon: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["ranking"] = [{"intent": i, "confidence": round(c, 4)} for i, c in self.ranking]
        data["confidence"] = round(self.confidence, 4)
        return data


# A Rasa server that failed or timed out is left alone this long before it is tried again.
RETRY_SECONDS = 10.0


@dataclass
class _Server:
    url: str
    params: dict[str, str]
    # time.monotonic() before which the server is skipped (it failed recently).
    resting_until: float = 0.0


class NLUClient:
    """One long-lived HTTP session to one or more Rasa servers; every call has a timeout.

    With several servers (``HELPLINE_NLU_URL`` a comma-separated list) requests go round
    them in turn; a server that fails or times out is skipped for RETRY_SECONDS and the
    next one is asked. With all of them down, messages are read by the lexicon alone.
    """

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 3.0,
        lexicon: CrisisLexicon | None = None,
        policy: SafetyPolicy | None = None,
        token: str | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        """``token``: the Rasa servers' auth token (also read from a URL that carries it,
        as ``helpline run`` and the test fixtures give it)."""
        self._servers: list[_Server] = []
        for given in (u.strip() for u in base_url.split(",")):
            if given:
                url, in_url = split_token(given)
                secret = token or in_url
                self._servers.append(_Server(url.rstrip("/"), {"token": secret} if secret else {}))
        if not self._servers:
            raise ValueError("no Rasa server URL")
        self.base_url = self._servers[0].url
        self._next = 0
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self.lexicon = lexicon or CrisisLexicon.load()
        self.policy = policy or SafetyPolicy()
        self._session: aiohttp.ClientSession | None = None
        self.metrics = metrics or Metrics()

    async def __aenter__(self) -> Self:
        await self.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def open(self) -> None:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            raise RuntimeError("NLUClient is not open")
        return self._session

    @property
    def urls(self) -> list[str]:
        return [server.url for server in self._servers]

    def resting(self) -> list[str]:
        """The servers skipped for now (they failed recently)."""
        now = time.monotonic()
        return [s.url for s in self._servers if s.resting_until > now]

    async def is_ready(self, within: float | None = None) -> bool:
        """True when a server answers and has a model loaded (``within`` seconds: all
        servers are asked at once, and a slow one counts as not ready - the others still
        count: one hung server does not make the NLU unready while another answers)."""

        async def ask(server: _Server) -> bool:
            try:
                return await asyncio.wait_for(self._ready(server), within)
            except TimeoutError:
                return False

        return any(await asyncio.gather(*(ask(server) for server in self._servers)))

    async def _ready(self, server: _Server) -> bool:
        try:
            async with self.session.get(f"{server.url}/status", params=server.params) as response:
                if response.status != 200:
                    return False
                body = await response.json()
        except (aiohttp.ClientError, TimeoutError, ValueError):
            return False
        return bool(isinstance(body, dict) and body.get("model_file"))

    def _in_turn(self) -> list[_Server]:
        """The servers to ask, starting with the next in turn; resting ones last (when
        every server failed recently, they are all tried rather than none)."""
        start = self._next % len(self._servers)
        self._next += 1
        ordered = self._servers[start:] + self._servers[:start]
        now = time.monotonic()
        return [s for s in ordered if s.resting_until <= now] + [
            s for s in ordered if s.resting_until > now
        ]

    async def parse_raw(self, text: str) -> dict[str, Any]:
        """A Rasa server's own answer for a text."""
        failures = []
        for server in self._in_turn():
            started = time.monotonic()
            try:
                body = await self._parse(server, text)
            except NLUUnavailable as exc:
                server.resting_until = time.monotonic() + RETRY_SECONDS
                self.metrics.nlu_failures.labels(server.url).inc()
                failures.append(str(exc))
                continue
            self.metrics.nlu_seconds.labels(server.url).observe(time.monotonic() - started)
            server.resting_until = 0.0
            return body
        raise NLUUnavailable("; ".join(failures))

    async def _parse(self, server: _Server, text: str) -> dict[str, Any]:
        try:
            async with self.session.post(
                f"{server.url}/model/parse", json={"text": text}, params=server.params
            ) as response:
                if response.status != 200:
                    raise NLUUnavailable(f"Rasa server answered HTTP {response.status}")
                body = await response.json()
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise NLUUnavailable(f"Rasa server at {server.url}: {exc!r}") from exc
        if not isinstance(body, dict):
            raise NLUUnavailable("Rasa server answered something that is not an object")
        return body

    async def classify(self, text: str, policy: SafetyPolicy | None = None) -> Classification:
        """Classify a worker's message; never raises for what the worker wrote.

        ``policy`` replaces the client's own safety thresholds for this message.
        """
        policy = policy or self.policy
        if not _WORD.search(text[:MAX_MODEL_CHARS]):
            # Empty, emoji-only, non-Latin script or one endless "word": nothing the model
            # was trained on. The lexicon still reads it.
            return interpret(text, None, self.lexicon, policy)
        try:
            body = await self.parse_raw(text[:MAX_MODEL_CHARS])
        except NLUUnavailable as exc:
            log.warning("NLU unavailable, crisis lexicon only: %s", exc)
            return interpret(text, None, self.lexicon, policy, nlu_available=False)
        return interpret(text, body, self.lexicon, policy)


def interpret(
    text: str,
    body: Mapping[str, Any] | None,
    lexicon: CrisisLexicon,
    policy: SafetyPolicy,
    *,
    nlu_available: bool = True,
) -> Classification:
    """The classification of a text from the Rasa server's answer (None: no answer).

    Shared by the live client and ``helpline nlu evaluate``, so what is measured is what
    runs.
    """
    hits = lexicon.match(text)
    country = countries.find_in_text(text[:MAX_MODEL_CHARS])
    ranking: list[tuple[str, float]] = []
    emergency_score: float | None = None
    uncertain = False
    if not nlu_available:
        intent, confidence = UNKNOWN, 0.0
    elif body is None:
        intent, confidence = OUT_OF_SCOPE, 1.0
    else:
        ranking = _ranking(body)
        emergency_score = _emergency_score(body)
        country = _entity_country(body) or country
        uncertain = (body.get("intent") or {}).get("name") == RASA_FALLBACK
        intent, confidence = ranking[0] if ranking else (OUT_OF_SCOPE, 0.0)
    verdict = decide(ranking, hits, policy, emergency_score)
    if verdict.emergency and verdict.intent is not None:
        if verdict.intent != intent:
            confidence = dict(ranking).get(verdict.intent, 0.0)
        intent = verdict.intent
        category = Category.EMERGENCY.value
    else:
        category = category_of(intent).value
    return Classification(
        text=text,
        intent=intent,
        confidence=confidence,
        category=category,
        emergency=verdict.emergency,
        country=country,
        emergency_reason=verdict.reason,
        uncertain=uncertain and not verdict.emergency,
        nlu_available=nlu_available,
        ranking=ranking[:5],
        lexicon=[h.phrase for h in hits],
    )


def _ranking(body: Mapping[str, Any]) -> list[tuple[str, float]]:
    ranking: list[tuple[str, float]] = []
    for item in body.get("intent_ranking") or []:
        if not isinstance(item, dict):
            continue
        name, conf = item.get("name"), item.get("confidence")
        if name in ALL_INTENTS and isinstance(conf, int | float):
            ranking.append((str(name), float(conf)))
    ranking.sort(key=lambda pair: pair[1], reverse=True)
    return ranking


def _emergency_score(body: Mapping[str, Any]) -> float | None:
    """The binary emergency probability of nlu_pipeline/emergency.py, if the answer has one."""
    value = body.get("emergency_score")
    if isinstance(value, int | float) and not isinstance(value, bool) and 0.0 <= value <= 1.0:
        return float(value)
    return None


def _entity_country(body: Mapping[str, Any]) -> str | None:
    for entity in body.get("entities") or []:
        if isinstance(entity, dict) and entity.get("entity") == "country":
            found = countries.normalise(str(entity.get("value", "")))
            if found:
                return found
    return None
