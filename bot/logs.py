"""What the helpline's logs may hold: never a token, a phone number or a message.

- The access log shows each request's path without its query string (a search term, a
  ticket) and nothing of its body.
- A worker's channel id (a WhatsApp number, a Telegram chat id) is masked in log lines:
  enough to tell two workers apart when reading the log, not to identify one.
- Message texts and search terms are not logged at INFO; flows log what happened, not
  what was said.
"""

from __future__ import annotations

import logging

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
