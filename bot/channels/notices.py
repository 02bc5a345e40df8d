"""What a channel tells a worker about a message it could not take, in the current
locale. The same words on every channel (and one entry each in the catalogs)."""

from __future__ import annotations

from bot.i18n import _

UNSUPPORTED = "unsupported"


def notice(what: str) -> str:
    """The words for ``what`` (today only UNSUPPORTED: stickers, polls, reactions...)."""
    return _(
        "I can read text messages, photos, documents, videos, voice notes and locations. "
        "Please write to me in words."
    )
