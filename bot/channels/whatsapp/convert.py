"""WhatsApp webhook payloads to neutral messages, and replies to Cloud API message bodies.
Meta's shapes stay in this package."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.messages import Button, Inbound, Location, Outbound

CHANNEL = "whatsapp"
BODY_LIMIT = 1024  # an interactive message's body
BUTTON_TITLE = 20
ROW_TITLE = 24
MAX_BUTTONS = 3
MAX_ROWS = 10
MEDIA_TYPES = {"image": "image", "document": "document", "audio": "audio", "video": "video"}


@dataclass(frozen=True)
class Incoming:
    """One message of a webhook payload, before any media is fetched."""

    wa_id: str
    wamid: str
    type: str
    timestamp: float
    raw: dict[str, Any]


@dataclass(frozen=True)
class StatusUpdate:
    wamid: str
    status: str
    recipient: str
    timestamp: float
    errors: list[dict[str, Any]]


def read_payload(payload: Any) -> tuple[list[Incoming], list[StatusUpdate]]:
    """Every message and status in a webhook payload (many entries and changes at once)."""
    messages: list[Incoming] = []
    statuses: list[StatusUpdate] = []
    if not isinstance(payload, dict) or payload.get("object") != "whatsapp_business_account":
        raise ValueError("not a WhatsApp Business Account payload")
    for entry in payload.get("entry") or []:
        for change in (entry or {}).get("changes") or []:
            value = (change or {}).get("value") or {}
            if change.get("field") != "messages":
                continue
            for message in value.get("messages") or []:
                messages.append(
                    Incoming(
                        wa_id=str(message["from"]),
                        wamid=str(message["id"]),
                        type=str(message.get("type", "unknown")),
                        timestamp=float(message.get("timestamp") or 0),
                        raw=message,
                    )
                )
            for status in value.get("statuses") or []:
                statuses.append(
                    StatusUpdate(
                        wamid=str(status["id"]),
                        status=str(status.get("status", "")),
                        recipient=str(status.get("recipient_id", "")),
                        timestamp=float(status.get("timestamp") or 0),
                        errors=list(status.get("errors") or []),
                    )
                )
    return messages, statuses


def inbound_of(message: Incoming) -> Inbound | None:
    """Text, button and list replies, template buttons and locations; None otherwise
    (media is fetched first, elsewhere; reactions and unknown types are not taken)."""
    raw = message.raw

    def make(text: str, payload: str | None = None, location: Location | None = None) -> Inbound:
        return Inbound(
            channel=CHANNEL,
            user_id=message.wa_id,
            message_id=message.wamid,
            text=text,
            payload=payload[:200] if payload else None,
            location=location,
        )

    if message.type == "text":
        return make(str((raw.get("text") or {}).get("body", "")))
    if message.type == "interactive":
        interactive = raw.get("interactive") or {}
        reply = interactive.get("button_reply") or interactive.get("list_reply") or {}
        if reply.get("id"):
            return make(str(reply.get("title", "")), str(reply["id"]))
    if message.type == "button":
        button = raw.get("button") or {}
        return make(str(button.get("text", "")), str(button.get("payload") or "") or None)
    if message.type == "location":
        where = raw.get("location") or {}
        if not isinstance(where, dict):
            where = {}
        # Coordinates that cannot be read are kept as unreadable, never a crash: the
        # worker still gets "are you in danger?" and the operator sees the pin was bad.
        return make("", location=Location.read(where.get("latitude"), where.get("longitude")))
    return None


def bodies(to: str, message: Outbound, menu_label: str) -> list[dict[str, Any]]:
    """Cloud API bodies for one reply: text, reply buttons (up to 3) or a list (up to 10)."""
    text = message.text
    if message.author == "operator" and message.author_name:
        text = f"👤 {message.author_name}: {text}"
    buttons = list(message.buttons)
    if not buttons:
        return [{"to": to, "type": "text", "text": {"body": text, "preview_url": False}}]
    found: list[dict[str, Any]] = []
    if len(text) > BODY_LIMIT:
        found.append({"to": to, "type": "text", "text": {"body": text}})
        text = "👇"
    found.append(
        {"to": to, "type": "interactive", "interactive": _interactive(text, buttons, menu_label)}
    )
    return found


def _interactive(text: str, buttons: list[Button], menu_label: str) -> dict[str, Any]:
    if len(buttons) <= MAX_BUTTONS:
        return {
            "type": "button",
            "body": {"text": text},
            "action": {
                "buttons": [
                    {
                        "type": "reply",
                        "reply": {"id": b.payload, "title": _cut(b.label, BUTTON_TITLE)},
                    }
                    for b in buttons
                ]
            },
        }
    rows = [{"id": b.payload, "title": _cut(b.label, ROW_TITLE)} for b in buttons[:MAX_ROWS]]
    return {
        "type": "list",
        "body": {"text": text},
        "action": {
            "button": _cut(menu_label, BUTTON_TITLE),
            "sections": [{"title": _cut(menu_label, ROW_TITLE), "rows": rows}],
        },
    }


def _cut(label: str, limit: int) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"


def template_body(to: str, name: str, language: str, text: str = "") -> dict[str, Any]:
    """An approved template; ``text`` fills its one body parameter ({{1}})."""
    template: dict[str, Any] = {"name": name, "language": {"code": language}}
    if text:
        template["components"] = [{"type": "body", "parameters": [{"type": "text", "text": text}]}]
    return {"to": to, "type": "template", "template": template}
