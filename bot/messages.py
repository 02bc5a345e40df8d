"""Channel-neutral messages: what every channel adapter turns platform payloads into."""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Button:
    label: str
    payload: str


@dataclass(frozen=True)
class Location:
    """A shared location. A platform may send coordinates that cannot be read or that lie
    off the globe: they are kept as they came (None when not a number) and marked."""

    latitude: float | None
    longitude: float | None

    @property
    def valid(self) -> bool:
        lat, lon = self.latitude, self.longitude
        return (
            lat is not None
            and lon is not None
            and math.isfinite(lat)
            and math.isfinite(lon)
            and -90 <= lat <= 90
            and -180 <= lon <= 180
        )

    @classmethod
    def read(cls, latitude: object, longitude: object) -> Location:
        """From whatever a platform sent: a number, a numeric string, or junk (None)."""
        return cls(_coordinate(latitude), _coordinate(longitude))


def _coordinate(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str) and len(value) <= 40:
        try:
            number = float(value)
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


# Why a file a worker sent was not kept: what the operator is shown.
TOO_LARGE = "too_large"
NOT_FETCHED = "not_fetched"


@dataclass(frozen=True)
class MediaRef:
    """A photo, document, video or voice note a worker sent.

    ``ref`` is the evidence id once the file is kept; empty when it could not be kept,
    and then ``problem`` says why (the message still goes through: its caption is read
    and the operator sees what is missing)."""

    kind: str  # "image", "document", "audio", "video"
    ref: str
    mime: str | None = None
    size: int | None = None
    name: str = ""
    problem: str | None = None

    @property
    def kept(self) -> bool:
        return bool(self.ref) and self.problem is None


@dataclass(frozen=True)
class Inbound:
    channel: str
    user_id: str
    # The platform's own id of this message: duplicates are dropped by it.
    message_id: str
    text: str = ""
    # The payload of a pressed quick-reply button.
    payload: str | None = None
    location: Location | None = None
    media: MediaRef | None = None
    # A language the platform reports for the user (Telegram's language_code).
    language_hint: str | None = None
    received_at: float = field(default_factory=time.time)

    @property
    def sender(self) -> str:
        return f"{self.channel}:{self.user_id}"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Inbound:
        location = data.get("location")
        media = data.get("media")
        return cls(
            channel=data["channel"],
            user_id=data["user_id"],
            message_id=data["message_id"],
            text=data.get("text") or "",
            payload=data.get("payload"),
            location=Location(**location) if location else None,
            media=MediaRef(**media) if media else None,
            language_hint=data.get("language_hint"),
            received_at=float(data.get("received_at") or time.time()),
        )


@dataclass(frozen=True)
class Outbound:
    text: str
    buttons: tuple[Button, ...] = ()
    # "bot" or "operator": who speaks to the worker.
    author: str = "bot"
    # The operator's display name, shown to the worker next to their messages.
    author_name: str = ""
    # What happened besides the text, for a front-end that reacts to it ("erased": the
    # conversation is gone, a page clears its screen).
    event: str = ""
    # The worker's language: a channel that adds words of its own (WhatsApp's "Menu"
    # button) uses it; stamped by dispatch and casework.
    locale: str = ""

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "text": self.text,
            "buttons": [asdict(b) for b in self.buttons],
            "from": self.author,
        }
        if self.author_name:
            data["name"] = self.author_name
        if self.event:
            data["event"] = self.event
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any], locale: str = "") -> Outbound:
        """Back from ``to_json`` (a reply kept until it was sent: bot/store/sends.py)."""
        return cls(
            text=str(data.get("text") or ""),
            buttons=tuple(Button(**b) for b in data.get("buttons") or ()),
            author=str(data.get("from") or "bot"),
            author_name=str(data.get("name") or ""),
            event=str(data.get("event") or ""),
            locale=locale,
        )
