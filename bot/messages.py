"""Channel-neutral messages: what every channel adapter turns platform payloads into."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Button:
    label: str
    payload: str


@dataclass(frozen=True)
class Location:
    latitude: float
    longitude: float


@dataclass(frozen=True)
class MediaRef:
    """A photo, document or voice note kept by its channel; fetched only when needed."""

    kind: str  # "image", "document", "audio"
    ref: str
    mime: str | None = None
    size: int | None = None


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

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "text": self.text,
            "buttons": [asdict(b) for b in self.buttons],
            "from": self.author,
        }
        if self.author_name:
            data["name"] = self.author_name
        return data
