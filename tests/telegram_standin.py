"""A local stand-in for Telegram's Bot API: the methods the helpline uses, in the shapes of
the Bot API documentation, recording every call. python-telegram-bot talks to it as it
would to api.telegram.org; tests feed it updates (served through getUpdates) and read
what the bot sent."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.eventually import eventually
from tests.standin import serving

TOKEN = "123456:TEST-helpline-token"
BOT_USER = {"id": 123456, "is_bot": True, "first_name": "Helpline", "username": "HelplineBot"}
Call = tuple[str, dict[str, Any]]
LABEL = web.AppKey("label", str)


@dataclass
class BotAPI:
    base: str = ""
    calls: list[Call] = field(default_factory=list)
    # When each call in ``calls`` came (time.monotonic()).
    stamps: list[float] = field(default_factory=list)
    updates: list[dict[str, Any]] = field(default_factory=list)
    # Every message the bot sent, as the API answered it (with its message_id).
    results: list[dict[str, Any]] = field(default_factory=list)
    files: dict[str, bytes] = field(default_factory=dict)
    # Methods that answer 429 (RetryAfter) this many more times.
    throttle: dict[str, int] = field(default_factory=dict)
    # The calls answered 429 (the same objects as in ``calls``).
    throttled: list[Call] = field(default_factory=list)
    # Calls that pass this answer 502 (Telegram down): the API did not take them, so they
    # are in ``refused``, not in ``calls``.
    failing: Callable[[Call], bool] | None = None
    refused: list[Call] = field(default_factory=list)
    # Calls that pass this are never answered (a request in flight when its sender died):
    # the API never took them; ``held`` says through which server (``app(label)``) each came.
    hold: Callable[[Call], bool] | None = None
    held: list[tuple[str, Call]] = field(default_factory=list)
    # Calls that pass this answer 403 (the worker blocked the bot).
    forbidden: Callable[[Call], bool] | None = None
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1000))
    _update_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _changed: asyncio.Event = field(default_factory=asyncio.Event)

    # -- what tests use ------------------------------------------------------------

    def push(self, update: dict[str, Any]) -> dict[str, Any]:
        update.setdefault("update_id", next(self._update_ids))
        self.updates.append(update)
        self._changed.set()
        return update

    def sent(self, method: str = "sendMessage", chat_id: int | None = None) -> list[dict[str, Any]]:
        return [
            p
            for m, p in self.calls
            if m == method and (chat_id is None or int(p.get("chat_id", 0)) == chat_id)
        ]

    async def wait_for(
        self,
        method: str,
        check: Callable[[dict[str, Any]], bool] = lambda p: True,
        seconds: float = 15,
        after: int = 0,
    ) -> dict[str, Any]:
        """The first call of ``method`` (from call number ``after`` on) that passes ``check``."""

        def wanted(call: Call) -> bool:
            return call[0] == method and check(call[1])

        calls = await eventually(
            lambda: self.calls[after:],
            lambda calls: any(map(wanted, calls)),
            what=f"a {method} passing the check",
            seconds=seconds,
        )
        return next(params for name, params in calls if wanted((name, params)))

    def texts_to(self, chat_id: int, after: int = 0) -> list[str]:
        return [
            str(p.get("text", ""))
            for m, p in self.calls[after:]
            if m == "sendMessage" and int(p.get("chat_id", 0)) == chat_id
        ]

    # -- the API ---------------------------------------------------------------------

    def app(self, label: str = "") -> web.Application:
        """One server of this API; several (each with its ``label``) share what they
        record, so a test can tell which process made a call."""
        app = web.Application()
        app[LABEL] = label
        app.router.add_route("*", "/bot{token}/{method}", self._method)
        app.router.add_get("/file/bot{token}/{path:.*}", self._file)
        return app

    async def _method(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != TOKEN:
            return _error(401, "Unauthorized")
        method = request.match_info["method"]
        params = await _params(request)
        call = (method, params)
        if self.hold is not None and self.hold(call):
            self.held.append((request.app[LABEL], call))
            for _ in range(1200):  # until the sender is gone (at most a minute)
                if request.transport is None or request.transport.is_closing():
                    break
                await asyncio.sleep(0.05)
            return _error(502, "Bad Gateway")  # no one is there to read it
        if self.failing is not None and self.failing(call):
            self.refused.append(call)
            return _error(502, "Bad Gateway")
        self.stamps.append(time.monotonic())
        self.calls.append(call)
        if self.forbidden is not None and self.forbidden(call):
            return _error(403, "Forbidden: bot was blocked by the user")
        if self.throttle.get(method, 0) > 0:
            self.throttle[method] -= 1
            self.throttled.append(call)
            return web.json_response(
                {
                    "ok": False,
                    "error_code": 429,
                    "description": "Too Many Requests: retry after 1",
                    "parameters": {"retry_after": 1},
                },
                status=429,
            )
        handler = getattr(self, f"_{method}", None)
        result = await handler(params) if handler is not None else True
        return web.json_response({"ok": True, "result": result})

    async def _getMe(self, params: dict[str, Any]) -> Any:
        return BOT_USER

    async def _getUpdates(self, params: dict[str, Any]) -> Any:
        offset = int(params.get("offset") or 0)
        wait = min(float(params.get("timeout") or 0), 1.0)
        deadline = time.monotonic() + wait
        while True:
            ready = [u for u in self.updates if u["update_id"] >= offset]
            if ready or time.monotonic() >= deadline:
                return ready[:100]
            self._changed.clear()
            with suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), deadline - time.monotonic())

    async def _sendMessage(self, params: dict[str, Any]) -> Any:
        chat_id = int(params["chat_id"])
        message: dict[str, Any] = {
            "message_id": next(self._ids),
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "supergroup"},
            "from": BOT_USER,
            "text": params.get("text", ""),
        }
        if params.get("reply_markup"):
            message["reply_markup"] = params["reply_markup"]
        self.results.append(message)
        return message

    async def _editMessageText(self, params: dict[str, Any]) -> Any:
        chat_id = int(params["chat_id"])
        return {
            "message_id": int(params["message_id"]),
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "supergroup"},
            "text": params.get("text", ""),
        }

    async def _getFile(self, params: dict[str, Any]) -> Any:
        file_id = str(params["file_id"])
        data = self.files.get(file_id, b"")
        return {
            "file_id": file_id,
            "file_unique_id": f"u-{file_id}",
            "file_size": len(data),
            "file_path": f"documents/{file_id}.bin",
        }

    async def _file(self, request: web.Request) -> web.Response:
        file_id = request.match_info["path"].rsplit("/", 1)[-1].removesuffix(".bin")
        if file_id not in self.files:
            return web.Response(status=404)
        return web.Response(body=self.files[file_id])


async def _params(request: web.Request) -> dict[str, Any]:
    if request.content_type == "application/json":
        body: dict[str, Any] = await request.json()
        return body
    form = await request.post()
    params: dict[str, Any] = {}
    for key, value in form.items():
        if not isinstance(value, str):
            continue
        try:
            params[key] = json.loads(value)
        except ValueError:
            params[key] = value
    for key, value in request.query.items():
        params.setdefault(key, value)
    return params


def _error(status: int, description: str) -> web.Response:
    return web.json_response(
        {"ok": False, "error_code": status, "description": description}, status=status
    )


@asynccontextmanager
async def running_bot_api(port: int | None = None) -> AsyncIterator[BotAPI]:
    api = BotAPI()
    async with serving(api.app(), port) as api.base:
        yield api


def to_chat(chat_id: int, method: str = "sendMessage") -> Callable[[Call], bool]:
    """Calls of ``method`` to one chat (for ``failing``, ``hold``, ``forbidden``)."""
    return lambda call: call[0] == method and int(call[1].get("chat_id", 0)) == chat_id


# -- updates in the shapes of the Bot API documentation --------------------------------


def person(user_id: int, language: str = "id", username: str | None = None) -> dict[str, Any]:
    user: dict[str, Any] = {
        "id": user_id,
        "is_bot": False,
        "first_name": f"User{user_id}",
        "language_code": language,
    }
    if username:
        user["username"] = username
    return user


def message(
    user: dict[str, Any], chat_id: int | None = None, chat_type: str = "private", **content: Any
) -> dict[str, Any]:
    chat = {"id": chat_id or user["id"], "type": chat_type}
    if chat_type == "private":
        chat["first_name"] = user["first_name"]
    else:
        chat["title"] = "Group"
    return {
        "message": {
            "message_id": int(time.time() * 1000) % 1_000_000_000,
            "date": int(time.time()),
            "chat": chat,
            "from": user,
            **content,
        }
    }


def text(user: dict[str, Any], words: str, **kw: Any) -> dict[str, Any]:
    update = message(user, text=words, **kw)
    if words.startswith("/"):
        length = len(words.split(" ", 1)[0])
        update["message"]["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
    return update


def press(user: dict[str, Any], data: str, chat_id: int | None = None) -> dict[str, Any]:
    chat_type = "private" if chat_id is None else "supergroup"
    return {
        "callback_query": {
            "id": str(time.monotonic_ns()),
            "from": user,
            "chat_instance": "1",
            "data": data,
            "message": {
                "message_id": 1,
                "date": int(time.time()),
                "chat": {"id": chat_id or user["id"], "type": chat_type},
                "text": "(buttons)",
            },
        }
    }
