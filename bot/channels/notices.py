"""What a channel tells a worker about a message it could not take, in the current
locale. The same words on every channel (and one entry each in the catalogs)."""

from __future__ import annotations

from bot.i18n import _

UNSUPPORTED = "unsupported"
TOO_LARGE = "too_large"
NOT_RECEIVED = "not_received"


def notice(what: str, limit_bytes: int = 0) -> str:
    if what == TOO_LARGE:
        return _(
            "That file is too large for me (the limit is {mb} MB). Please send a "
            "smaller photo or a screenshot."
        ).format(mb=limit_bytes // (1024 * 1024))
    if what == NOT_RECEIVED:
        return _("I could not receive that file. Please try sending it again.")
    return _(
        "I can read text messages, photos, documents, voice notes and locations. "
        "Please write to me in words."
    )
