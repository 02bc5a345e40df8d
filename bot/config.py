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


def _optional_int(name: str) -> int | None:
    raw = os.environ.get(name)
    return _int(name, 0) if raw else None


def _float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a number, not {raw!r}") from exc
    if value <= 0:
        raise ConfigError(f"{name} must be more than 0, not {raw!r}")
    return value


def _words(raw: str) -> tuple[str, ...]:
    """Comma-separated phrases; empty ones dropped."""
    return tuple(w.strip() for w in raw.split(",") if w.strip())


def _url(name: str, value: str) -> str:
    if not value.startswith(("https://", "http://", "/")):
        raise ConfigError(f"{name} must be an http(s) address or a path, not {value!r}")
    return value


@dataclass(frozen=True)
class Settings:
    # None: `helpline run` starts a private redis-server under data_dir.
    redis_url: str | None
    # None: `helpline run` starts the Rasa server itself (with a token of its own).
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
    # Operator queue: an unclaimed emergency is announced again this often, and raised
    # to a supervisor after this long.
    reannounce_seconds: float = 60.0
    supervisor_after_minutes: float = 10.0
    # How often the queue watch looks (re-announcement, vanished claimers).
    queue_watch_seconds: float = 1.0
    # An emergency whose worker said "I am not safe" goes to supervisors when nobody has
    # claimed it this long after.
    not_safe_supervisor_seconds: float = 120.0
    # Waiting limits of "talk to a person" (also voice notes, location pins) and of
    # complaints, within staffed hours: past them, announced again and to supervisors.
    human_wait_minutes: float = 30.0
    complaint_wait_minutes: float = 240.0
    # A worker waiting in the queue is told so at most this often.
    queue_notice_minutes: float = 3.0
    # A location pin with no words: "are you in danger?" waits this long for an answer.
    location_answer_seconds: float = 180.0
    # Files and locations sent with no case open wait this long for one.
    evidence_waiting_days: float = 30.0
    # Harmless phrases that mean "I may be watched, help me" (comma-separated).
    code_words: tuple[str, ...] = ()
    # Where the web chat's quick exit goes.
    quick_exit_url: str = "https://www.google.com/search?q=weather"
    # How often messages read without the model are checked for a second reading.
    nlu_recheck_seconds: float = 2.0
    # Open event streams (web chat and console) per conversation or console user, per
    # address and in all, per bot process; and new web chat conversations per address
    # per hour (generous: a dormitory of workers may share one address).
    streams_per_conversation: int = 3
    streams_per_address: int = 300
    streams_total: int = 5000
    conversations_per_address_hour: int = 300
    # After a worker erases their data, Redis's append-only file is rewritten within
    # this long (erasures are batched), so the deleted writes leave the disk too.
    erase_rewrite_minutes: float = 10.0
    # Retention: a closed case keeps only its anonymous record after this long; dead
    # letters and audit entries are kept this long.
    case_retention_days: float = 730.0
    dead_letter_days: float = 30.0
    audit_days: float = 730.0
    # "08:00-22:00" in the time zone below, or "always".
    staffed_hours: str = "08:00-22:00"
    timezone: str = "Asia/Jakarta"
    # Console session lifetime (sliding) and whether its cookie needs HTTPS.
    console_session_hours: float = 12
    # ...and never longer than this since sign-in, however often it is used.
    console_session_max_hours: float = 72
    cookie_secure: bool = False
    # Photos, documents and voice notes larger than this are not stored as evidence.
    media_max_bytes: int = 10 * 1024 * 1024
    # Telegram: on when a token is set; webhook mode when a webhook secret is set too,
    # long polling otherwise. The operators' group is where escalations are posted.
    telegram_token: str | None = None
    telegram_api_url: str = "https://api.telegram.org"
    telegram_webhook_secret: str | None = None
    telegram_operators_chat: int | None = None
    # The language of the operators' group posts.
    operators_locale: str = "id"
    # The worker's words (summaries, messages) in the operators' group: off by default.
    telegram_group_texts: bool = False
    # WhatsApp Cloud API: on when the token, phone number id, app secret and verify token
    # are all set. Outside the 24-hour window only the approved template goes out.
    whatsapp_token: str | None = None
    whatsapp_phone_id: str | None = None
    whatsapp_app_secret: str | None = None
    whatsapp_verify_token: str | None = None
    whatsapp_api_url: str = "https://graph.facebook.com"
    whatsapp_api_version: str = "v21.0"
    whatsapp_template: str = "helpline_follow_up"
    whatsapp_backoff_seconds: float = 0.5
    # Content: publishing needs a second editor (not the draft's author).
    kb_review_required: bool = False
    # The referral directory (emergency and embassy numbers): a second editor publishes.
    referral_review_required: bool = True
    # The auth token of a Rasa server at HELPLINE_NLU_URL (started with --auth-token).
    nlu_token: str | None = None
    # The keyring that seals testimony (base64 keys, comma-separated, current first);
    # unset: data.key in the data folder (made on first use).
    data_key: str | None = None

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
        host = os.environ.get("HELPLINE_HOST", "127.0.0.1")
        port = _int("HELPLINE_PORT", 8080)
        public_url = os.environ.get("HELPLINE_PUBLIC_URL", f"http://{host}:{port}")
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
            nlu_timeout_seconds=_float("HELPLINE_NLU_TIMEOUT", 3.0),
            public_url=public_url,
            reannounce_seconds=_float("HELPLINE_REANNOUNCE_SECONDS", 60.0),
            supervisor_after_minutes=_float("HELPLINE_SUPERVISOR_AFTER_MINUTES", 10.0),
            queue_watch_seconds=_float("HELPLINE_QUEUE_WATCH_SECONDS", 1.0),
            not_safe_supervisor_seconds=_float("HELPLINE_NOT_SAFE_SUPERVISOR_SECONDS", 120.0),
            human_wait_minutes=_float("HELPLINE_HUMAN_WAIT_MINUTES", 30.0),
            complaint_wait_minutes=_float("HELPLINE_COMPLAINT_WAIT_MINUTES", 240.0),
            queue_notice_minutes=_float("HELPLINE_QUEUE_NOTICE_MINUTES", 3.0),
            location_answer_seconds=_float("HELPLINE_LOCATION_ANSWER_SECONDS", 180.0),
            evidence_waiting_days=_float("HELPLINE_EVIDENCE_WAITING_DAYS", 30.0),
            code_words=_words(os.environ.get("HELPLINE_CODE_WORDS", "")),
            quick_exit_url=_url(
                "HELPLINE_QUICK_EXIT_URL",
                os.environ.get("HELPLINE_QUICK_EXIT_URL")
                or "https://www.google.com/search?q=weather",
            ),
            nlu_recheck_seconds=_float("HELPLINE_NLU_RECHECK_SECONDS", 2.0),
            streams_per_conversation=_int("HELPLINE_STREAMS_PER_CONVERSATION", 3),
            streams_per_address=_int("HELPLINE_STREAMS_PER_ADDRESS", 300),
            streams_total=_int("HELPLINE_STREAMS_TOTAL", 5000),
            conversations_per_address_hour=_int("HELPLINE_CONVERSATIONS_PER_ADDRESS_HOUR", 300),
            erase_rewrite_minutes=_float("HELPLINE_ERASE_REWRITE_MINUTES", 10.0),
            case_retention_days=_float("HELPLINE_CASE_RETENTION_DAYS", 730.0),
            dead_letter_days=_float("HELPLINE_DEAD_LETTER_DAYS", 30.0),
            audit_days=_float("HELPLINE_AUDIT_DAYS", 730.0),
            staffed_hours=os.environ.get("HELPLINE_STAFFED_HOURS", "08:00-22:00"),
            timezone=os.environ.get("HELPLINE_TIMEZONE", "Asia/Jakarta"),
            console_session_hours=_float("HELPLINE_CONSOLE_SESSION_HOURS", 12),
            console_session_max_hours=_float("HELPLINE_CONSOLE_SESSION_MAX_HOURS", 72),
            cookie_secure=public_url.startswith("https://"),
            media_max_bytes=_int("HELPLINE_MEDIA_MAX_BYTES", 10 * 1024 * 1024),
            telegram_token=os.environ.get("HELPLINE_TELEGRAM_TOKEN") or None,
            telegram_api_url=os.environ.get(
                "HELPLINE_TELEGRAM_API_URL", "https://api.telegram.org"
            ).rstrip("/"),
            telegram_webhook_secret=os.environ.get("HELPLINE_TELEGRAM_WEBHOOK_SECRET") or None,
            telegram_operators_chat=_optional_int("HELPLINE_TELEGRAM_OPERATORS_CHAT"),
            operators_locale=os.environ.get("HELPLINE_OPERATORS_LOCALE", "id"),
            telegram_group_texts=os.environ.get("HELPLINE_TELEGRAM_GROUP_TEXTS", "")
            in ("1", "true"),
            whatsapp_token=os.environ.get("HELPLINE_WHATSAPP_TOKEN") or None,
            whatsapp_phone_id=os.environ.get("HELPLINE_WHATSAPP_PHONE_ID") or None,
            whatsapp_app_secret=os.environ.get("HELPLINE_WHATSAPP_APP_SECRET") or None,
            whatsapp_verify_token=os.environ.get("HELPLINE_WHATSAPP_VERIFY_TOKEN") or None,
            whatsapp_api_url=os.environ.get(
                "HELPLINE_WHATSAPP_API_URL", "https://graph.facebook.com"
            ).rstrip("/"),
            whatsapp_api_version=os.environ.get("HELPLINE_WHATSAPP_API_VERSION", "v21.0"),
            whatsapp_template=os.environ.get("HELPLINE_WHATSAPP_TEMPLATE", "helpline_follow_up"),
            kb_review_required=os.environ.get("HELPLINE_KB_REVIEW_REQUIRED", "") in ("1", "true"),
            referral_review_required=os.environ.get("HELPLINE_REFERRAL_REVIEW_REQUIRED", "1")
            not in ("0", "false"),
            nlu_token=os.environ.get("HELPLINE_NLU_TOKEN") or None,
            data_key=os.environ.get("HELPLINE_DATA_KEY") or None,
        )
