"""What the helpline's logs may hold: never a token, a phone number or a message.

- The access log shows each request's path without its query string (a search term, a
  ticket) and nothing of its body.
- A worker's channel id (a WhatsApp number, a Telegram chat id) is masked in log lines:
  enough to tell two workers apart when reading the log, not to identify one.
- Message texts and search terms are not logged at INFO; flows log what happened, not
  what was said.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from contextvars import ContextVar
from typing import Any

from aiohttp.abc import AbstractAccessLogger
from aiohttp.web import BaseRequest, StreamResponse


def masked(sender: str) -> str:
    """ "whatsapp:6281234567890" -> "whatsapp:62…90"; any id, shortened the same way."""
    channel, sep, user_id = sender.partition(":")
    if not sep:
        channel, user_id = "", sender
    shown = f"{user_id[:2]}…{user_id[-2:]}" if len(user_id) > 4 else "…"
    return f"{channel}:{shown}" if channel else shown


class PathOnlyAccessLogger(AbstractAccessLogger):
    """One line per request: address, method, path (no query string), status, size, time."""

    def log(self, request: BaseRequest, response: StreamResponse, time: float) -> None:
        if not self.logger.isEnabledFor(logging.INFO):
            return
        self.logger.info(
            "%s %s %s %s %s %.3fs",
            request.remote,
            request.method,
            request.rel_url.path,
            response.status,
            response.body_length,
            time,
        )


# The message or request a log line belongs to: set by the dispatch worker (the inbox
# entry id) and by the app for each request, so the lines of one message can be found.
current_id: ContextVar[str] = ContextVar("log_id", default="")


class _WithId(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.__dict__["log_id"] = current_id.get()
        return True


class JsonLines(logging.Formatter):
    """One JSON object per line: time, level, logger, message and the message or request
    id (HELPLINE_LOG_FORMAT=json, for a log collector)."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "at": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if getattr(record, "log_id", ""):
            line["id"] = getattr(record, "log_id", "")
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


def configure(verbose: bool = False, form: str | None = None) -> None:
    """The process's logging: text lines, or JSON lines with HELPLINE_LOG_FORMAT=json."""
    form = form or os.environ.get("HELPLINE_LOG_FORMAT", "text")
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_WithId())
    if form == "json":
        handler.setFormatter(JsonLines())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, handlers=[handler])
