"""Settings from the environment, validated once at start-up.

Each setting is one field of ``Settings``: its default, and the environment variable
that overrides it with the parser that reads it, are written beside it and nowhere else.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")
# (variable name, its value or None when unset, the field's default) -> the setting.
Parser = Callable[[str, str | None, Any], Any]


class ConfigError(ValueError):
    """A setting is missing or malformed; the message names the variable."""


def _text(name: str, raw: str | None, default: T) -> str | T:
    """The value as written (an empty one included); the default when unset."""
    return default if raw is None else raw


def _optional(name: str, raw: str | None, default: T) -> str | T:
    """Unset or empty: the default (None: the feature is off)."""
    return raw or default


def _int(name: str, raw: str | None, default: T) -> int | T:
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a whole number, not {raw!r}") from exc


def _float(name: str, raw: str | None, default: T) -> float | T:
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a number, not {raw!r}") from exc
    if value <= 0:
        raise ConfigError(f"{name} must be more than 0, not {raw!r}")
    return value


def _flag(name: str, raw: str | None, default: bool) -> bool:
    """On with "1" or "true", off with "0" or "false"; anything else leaves the default."""
    if raw in ("1", "true"):
        return True
    return False if raw in ("0", "false") else default


def _words(name: str, raw: str | None, default: tuple[str, ...]) -> tuple[str, ...]:
    """Comma-separated phrases; empty ones dropped."""
    if raw is None:
        return default
    return tuple(w.strip() for w in raw.split(",") if w.strip())


def _path(name: str, raw: str | None, default: Path) -> Path:
    return Path(default if raw is None else raw).resolve()


def _base_url(name: str, raw: str | None, default: str) -> str:
    """An API address, without a trailing slash."""
    return (default if raw is None else raw).rstrip("/")


def _url(name: str, raw: str | None, default: str) -> str:
    value = raw or default
    if not value.startswith(("https://", "http://", "/")):
        raise ConfigError(f"{name} must be an http(s) address or a path, not {value!r}")
    return value


def _env(variable: str, default: T, parse: Parser = _text) -> T:
    """A setting read from ``variable`` by ``parse``, ``default`` when it is unset."""
    result: T = field(default=default, metadata={"env": variable, "parse": parse})
    return result


@dataclass(frozen=True)
class Settings:
    # None: `helpline run` starts a private redis-server under data_dir.
    redis_url: str | None = _env("HELPLINE_REDIS_URL", None, _optional)
    # Redis with Sentinel: the sentinels (host:port, comma-separated), the name they
    # know the primary by, and the data nodes' password. Set, they make redis_url a
    # redis+sentinel:// address (bot/store/connection.py), and every accepted message
    # waits for a replica (bot/store/inbox.py).
    redis_sentinels: str | None = _env("HELPLINE_REDIS_SENTINELS", None, _optional)
    redis_master: str = _env("HELPLINE_REDIS_MASTER", "helpline")
    redis_password: str | None = _env("HELPLINE_REDIS_PASSWORD", None, _optional)
    # GET /metrics answers this bearer token; unset, only requests from this machine.
    metrics_token: str | None = _env("HELPLINE_METRICS_TOKEN", None, _optional)
    # None: `helpline run` starts the Rasa server itself (with a token of its own).
    nlu_url: str | None = _env("HELPLINE_NLU_URL", None, _optional)
    host: str = _env("HELPLINE_HOST", "127.0.0.1")
    port: int = _env("HELPLINE_PORT", 8080, _int)
    data_dir: Path = _env("HELPLINE_DATA_DIR", Path(".data"), _path)  # noqa: RUF009 (immutable)
    key_prefix: str = _env("HELPLINE_KEY_PREFIX", "helpline")
    # A conversation with no message for this long starts afresh (profile kept).
    session_ttl_seconds: int = _env("HELPLINE_SESSION_TTL", 24 * 3600, _int)
    # Profile (locale, country, consent) is kept this long after the last message.
    profile_ttl_days: int = _env("HELPLINE_PROFILE_TTL_DAYS", 180, _int)
    rate_limit_per_minute: int = _env("HELPLINE_RATE_LIMIT", 20, _int)
    nlu_timeout_seconds: float = _env("HELPLINE_NLU_TIMEOUT", 3.0, _float)
    # The address people use. from_env: HELPLINE_PUBLIC_URL, or http://{host}:{port}
    # when it is unset.
    public_url: str = ""
    # Operator queue: an unclaimed emergency is announced again this often, and raised
    # to a supervisor after this long.
    reannounce_seconds: float = _env("HELPLINE_REANNOUNCE_SECONDS", 60.0, _float)
    supervisor_after_minutes: float = _env("HELPLINE_SUPERVISOR_AFTER_MINUTES", 10.0, _float)
    # How often the queue watch looks (re-announcement, vanished claimers).
    queue_watch_seconds: float = _env("HELPLINE_QUEUE_WATCH_SECONDS", 1.0, _float)
    # An emergency whose worker said "I am not safe" goes to supervisors when nobody has
    # claimed it this long after.
    not_safe_supervisor_seconds: float = _env("HELPLINE_NOT_SAFE_SUPERVISOR_SECONDS", 120.0, _float)
    # Waiting limits of "talk to a person" (also voice notes, location pins) and of
    # complaints, within staffed hours: past them, announced again and to supervisors.
    human_wait_minutes: float = _env("HELPLINE_HUMAN_WAIT_MINUTES", 30.0, _float)
    complaint_wait_minutes: float = _env("HELPLINE_COMPLAINT_WAIT_MINUTES", 240.0, _float)
    # A worker waiting in the queue is told so at most this often.
    queue_notice_minutes: float = _env("HELPLINE_QUEUE_NOTICE_MINUTES", 3.0, _float)
    # A location pin with no words: "are you in danger?" waits this long for an answer.
    location_answer_seconds: float = _env("HELPLINE_LOCATION_ANSWER_SECONDS", 180.0, _float)
    # Files and locations sent with no case open wait this long for one.
    evidence_waiting_days: float = _env("HELPLINE_EVIDENCE_WAITING_DAYS", 30.0, _float)
    # Harmless phrases that mean "I may be watched, help me" (comma-separated).
    code_words: tuple[str, ...] = _env("HELPLINE_CODE_WORDS", (), _words)
    # Where the web chat's quick exit goes.
    quick_exit_url: str = _env(
        "HELPLINE_QUICK_EXIT_URL", "https://www.google.com/search?q=weather", _url
    )
    # How often messages read without the model are checked for a second reading.
    nlu_recheck_seconds: float = _env("HELPLINE_NLU_RECHECK_SECONDS", 2.0, _float)
    # Open event streams (web chat and console) per conversation or console user, per
    # address and in all, per bot process; and new web chat conversations per address
    # per hour (generous: a dormitory of workers may share one address).
    streams_per_conversation: int = _env("HELPLINE_STREAMS_PER_CONVERSATION", 3, _int)
    streams_per_address: int = _env("HELPLINE_STREAMS_PER_ADDRESS", 300, _int)
    streams_total: int = _env("HELPLINE_STREAMS_TOTAL", 5000, _int)
    conversations_per_address_hour: int = _env("HELPLINE_CONVERSATIONS_PER_ADDRESS_HOUR", 300, _int)
    # After a worker erases their data, Redis's append-only file is rewritten within
    # this long (erasures are batched), so the deleted writes leave the disk too.
    erase_rewrite_minutes: float = _env("HELPLINE_ERASE_REWRITE_MINUTES", 10.0, _float)
    # Retention: a closed case keeps only its anonymous record after this long; dead
    # letters and audit entries are kept this long.
    case_retention_days: float = _env("HELPLINE_CASE_RETENTION_DAYS", 730.0, _float)
    dead_letter_days: float = _env("HELPLINE_DEAD_LETTER_DAYS", 30.0, _float)
    audit_days: float = _env("HELPLINE_AUDIT_DAYS", 730.0, _float)
    # "08:00-22:00" in the time zone below, or "always".
    staffed_hours: str = _env("HELPLINE_STAFFED_HOURS", "08:00-22:00")
    timezone: str = _env("HELPLINE_TIMEZONE", "Asia/Jakarta")
    # Console session lifetime (sliding) and whether its cookie needs HTTPS.
    console_session_hours: float = _env("HELPLINE_CONSOLE_SESSION_HOURS", 12, _float)
    # ...and never longer than this since sign-in, however often it is used.
    console_session_max_hours: float = _env("HELPLINE_CONSOLE_SESSION_MAX_HOURS", 72, _float)
    # from_env: on when public_url is https.
    cookie_secure: bool = False
    # Photos, documents and voice notes larger than this are not stored as evidence.
    media_max_bytes: int = _env("HELPLINE_MEDIA_MAX_BYTES", 10 * 1024 * 1024, _int)
    # Telegram: on when a token is set; webhook mode when a webhook secret is set too,
    # long polling otherwise. The operators' group is where escalations are posted.
    telegram_token: str | None = _env("HELPLINE_TELEGRAM_TOKEN", None, _optional)
    telegram_api_url: str = _env("HELPLINE_TELEGRAM_API_URL", "https://api.telegram.org", _base_url)
    telegram_webhook_secret: str | None = _env("HELPLINE_TELEGRAM_WEBHOOK_SECRET", None, _optional)
    telegram_operators_chat: int | None = _env("HELPLINE_TELEGRAM_OPERATORS_CHAT", None, _int)
    # The language of the operators' group posts.
    operators_locale: str = _env("HELPLINE_OPERATORS_LOCALE", "id")
    # The worker's words (summaries, messages) in the operators' group: off by default.
    telegram_group_texts: bool = _env("HELPLINE_TELEGRAM_GROUP_TEXTS", False, _flag)
    # WhatsApp Cloud API: on when the token, phone number id, app secret and verify token
    # are all set. Outside the 24-hour window only the approved template goes out.
    whatsapp_token: str | None = _env("HELPLINE_WHATSAPP_TOKEN", None, _optional)
    whatsapp_phone_id: str | None = _env("HELPLINE_WHATSAPP_PHONE_ID", None, _optional)
    whatsapp_app_secret: str | None = _env("HELPLINE_WHATSAPP_APP_SECRET", None, _optional)
    whatsapp_verify_token: str | None = _env("HELPLINE_WHATSAPP_VERIFY_TOKEN", None, _optional)
    whatsapp_api_url: str = _env(
        "HELPLINE_WHATSAPP_API_URL", "https://graph.facebook.com", _base_url
    )
    whatsapp_api_version: str = _env("HELPLINE_WHATSAPP_API_VERSION", "v21.0")
    whatsapp_template: str = _env("HELPLINE_WHATSAPP_TEMPLATE", "helpline_follow_up")
    # The approved template awareness alerts go out as outside the 24-hour window (its
    # body has one parameter, the alert's text); empty: those workers are skipped.
    whatsapp_alert_template: str = _env("HELPLINE_WHATSAPP_ALERT_TEMPLATE", "")
    whatsapp_backoff_seconds: float = 0.5
    # Content: publishing needs a second editor (not the draft's author).
    kb_review_required: bool = _env("HELPLINE_KB_REVIEW_REQUIRED", False, _flag)
    # The referral directory (emergency and embassy numbers): a second editor publishes.
    referral_review_required: bool = _env("HELPLINE_REFERRAL_REVIEW_REQUIRED", True, _flag)
    # The auth token of a Rasa server at HELPLINE_NLU_URL (started with --auth-token).
    nlu_token: str | None = _env("HELPLINE_NLU_TOKEN", None, _optional)
    # The keyring that seals testimony (base64 keys, comma-separated, current first);
    # unset: data.key in the data folder (made on first use).
    data_key: str | None = _env("HELPLINE_DATA_KEY", None, _optional)

    @property
    def whatsapp_enabled(self) -> bool:
        return bool(
            self.whatsapp_token
            and self.whatsapp_phone_id
            and self.whatsapp_app_secret
            and self.whatsapp_verify_token
        )

    @classmethod
    def from_env(cls) -> Settings:
        """Every field that names a variable, read by its parser; then what follows from
        them: the public address (unset: this host and port) and its cookie security."""
        values: dict[str, Any] = {}
        for f in fields(cls):
            if "env" in f.metadata:
                name = f.metadata["env"]
                values[f.name] = f.metadata["parse"](name, os.environ.get(name), f.default)
        settings = cls(**values)
        if settings.redis_sentinels and settings.redis_url is None:
            auth = f":{settings.redis_password}@" if settings.redis_password else ""
            settings = replace(
                settings,
                redis_url=(
                    f"redis+sentinel://{auth}{settings.redis_sentinels}/{settings.redis_master}"
                ),
            )
        public_url = os.environ.get(
            "HELPLINE_PUBLIC_URL", f"http://{settings.host}:{settings.port}"
        )
        return replace(
            settings, public_url=public_url, cookie_secure=public_url.startswith("https://")
        )
