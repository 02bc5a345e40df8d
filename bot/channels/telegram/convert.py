"""Telegram updates to neutral messages and back; Telegram's shapes stay in this package."""

from __future__ import annotations

from collections.abc import Sequence

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update

from bot.messages import Button, Inbound, Location

CHANNEL = "telegram"
# Commands a worker can send, and the button payload each one stands for.
COMMANDS = {
    "start": "start",
    "menu": "menu",
    "help": "menu",
    "language": "settings:language",
    "bahasa": "settings:language",
    "country": "settings:country",
    "negara": "settings:country",
    "cases": "cases",
    "kasus": "cases",
    "erase": "delete",
    "hapus": "delete",
    "person": "human",
    "petugas": "human",
}
# callback_data may hold at most 64 bytes.
MAX_CALLBACK = 64


def keyboard(buttons: Sequence[Button]) -> InlineKeyboardMarkup | None:
    """Quick replies as an inline keyboard: two to a row, one when the labels are long."""
    if not buttons:
        return None
    usable = [b for b in buttons if len(b.payload.encode()) <= MAX_CALLBACK]
    wide = any(len(b.label) > 18 for b in usable)
    per_row = 1 if wide else 2
    rows = [
        [InlineKeyboardButton(b.label, callback_data=b.payload) for b in usable[i : i + per_row]]
        for i in range(0, len(usable), per_row)
    ]
    return InlineKeyboardMarkup(rows)


def command_of(message: Message) -> tuple[str, str] | None:
    """("erase", "rest of the text") for "/erase@HelplineBot ...", else None."""
    text = message.text or ""
    if not text.startswith("/"):
        return None
    head, _, rest = text[1:].partition(" ")
    return head.split("@", 1)[0].lower(), rest.strip()


def inbound_of(update: Update) -> Inbound | None:
    """A worker's private-chat update as an Inbound; None for what the bot does not take.

    The update id is the message id, so a redelivered update is dropped as a duplicate.
    """
    user = update.effective_user
    chat = update.effective_chat
    if user is None or chat is None or chat.type != "private":
        return None

    def inbound(text: str, payload: str | None = None, location: Location | None = None) -> Inbound:
        return Inbound(
            channel=CHANNEL,
            user_id=str(chat.id),
            message_id=str(update.update_id),
            text=text,
            payload=payload,
            location=location,
            language_hint=user.language_code,
        )

    query = update.callback_query
    if query is not None:
        label = _pressed_label(query.message, query.data)
        return inbound(label, (query.data or "")[:200])
    message = update.message
    if message is None:
        return None
    command = command_of(message)
    if command is not None:
        name, rest = command
        payload = COMMANDS.get(name)
        if payload is None:
            return inbound(rest or message.text or "")
        return inbound(message.text or "", payload)
    if message.location is not None:
        where = Location.read(message.location.latitude, message.location.longitude)
        return inbound(message.caption or "", location=where)
    if message.text:
        return inbound(message.text)
    return None


def _pressed_label(message: object, data: str | None) -> str:
    """The label of the pressed button, as the worker saw it (for the case timeline)."""
    markup = getattr(message, "reply_markup", None)
    for row in getattr(markup, "inline_keyboard", ()) or ():
        for button in row:
            if button.callback_data == data:
                return str(button.text)
    return data or ""
