"""Settings from the environment, validated once at start-up."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


class ConfigError(ValueError):
    """A setting is missing or malformed; the message names the variable."""


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a whole number, not {raw!r}") from exc


@dataclass(frozen=True)
class Settings:
    # None: `helpline run` starts a private redis-server under data_dir.
    redis_url: str | None
    # None: `helpline run` starts the Rasa server itself.
    nlu_url: str | None
    host: str
    port: int
    data_dir: Path
    key_prefix: str
    # A conversation with no message for this long starts afresh (profile kept).
    session_ttl_seconds: int
    # Profile (locale, country, consent) is kept this long after the last message.
    profile_ttl_days: int
    rate_limit_per_minute: int
    nlu_timeout_seconds: float
    public_url: str

    @classmethod
    def from_env(cls) -> Settings:
        host = os.environ.get("HELPLINE_HOST", "127.0.0.1")
        port = _int("HELPLINE_PORT", 8080)
        return cls(
            redis_url=os.environ.get("HELPLINE_REDIS_URL") or None,
            nlu_url=os.environ.get("HELPLINE_NLU_URL") or None,
            host=host,
            port=port,
            data_dir=Path(os.environ.get("HELPLINE_DATA_DIR", ".data")).resolve(),
            key_prefix=os.environ.get("HELPLINE_KEY_PREFIX", "helpline"),
            session_ttl_seconds=_int("HELPLINE_SESSION_TTL", 24 * 3600),
            profile_ttl_days=_int("HELPLINE_PROFILE_TTL_DAYS", 180),
            rate_limit_per_minute=_int("HELPLINE_RATE_LIMIT", 20),
            nlu_timeout_seconds=float(os.environ.get("HELPLINE_NLU_TIMEOUT", "3")),
            public_url=os.environ.get("HELPLINE_PUBLIC_URL", f"http://{host}:{port}"),
        )
