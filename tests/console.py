"""An operator using the console over HTTP, with a cookie jar of their own."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pyotp

from bot.store.users import Role
from tests.chat import Chat
from tests.eventually import eventually

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
PASSWORD = "correct horse battery"


TOTP_SECRET = re.compile(r'id="totp-secret">([A-Z2-7 ]+)<')
RECOVERY_CODE = re.compile(r"<li><code>([0-9a-f]{6}-[0-9a-f]{6})</code></li>")


@dataclass
class Operator:
    session: aiohttp.ClientSession
    base: str
    username: str
    csrf: str = ""
    # Two-factor sign-in, once enrolled (admins and supervisors must): the app's secret
    # and the recovery codes, each of which signs in once.
    totp_secret: str = ""
    enrol_code: str = ""
    recovery: list[str] = field(default_factory=list)

    @classmethod
    def anonymous(cls, chat: Chat, username: str) -> Operator:
        jar = aiohttp.CookieJar(unsafe=True)  # cookies for 127.0.0.1 too
        session = aiohttp.ClientSession(cookie_jar=jar, headers={"Accept-Language": "en"})
        return cls(session, chat.base, username)

    @classmethod
    async def signed_in(cls, chat: Chat, username: str, role: Role = Role.OPERATOR) -> Operator:
        await chat.console.users.add(username, PASSWORD, role, username.title(), "en")
        operator = cls.anonymous(chat, username)
        status, _ = await operator.login(PASSWORD)
        assert status == 200, f"{username} could not sign in"
        return operator

    async def close(self) -> None:
        await self.session.close()

    async def login(self, password: str) -> tuple[int, str]:
        """Signs in as a person would: the password, then the second factor where the
        user has one (a recovery code: an app's code works once per 30 s) or must enrol
        one (with the key shown on the page)."""
        async with self.session.get(f"{self.base}/console/login") as response:
            token = CSRF.findall(await response.text())[0]
        form = {"username": self.username, "password": password, "csrf_token": token}
        async with self.session.post(f"{self.base}/console/login", data=form) as response:
            page, path, status = await response.text(), response.url.path, response.status
        if status == 200 and path == "/console/account/2fa":
            status, page = await self._enrol(page)
        elif status == 200 and path == "/console/login/code":
            status, page = await self.second_factor(self.recovery.pop(0))
        if status == 200:
            self.csrf = CSRF.findall(page)[0]
        return status, page

    async def _enrol(self, page: str) -> tuple[int, str]:
        self.totp_secret = TOTP_SECRET.findall(page)[0].replace(" ", "")
        self.enrol_code = pyotp.TOTP(self.totp_secret).now()
        form = {"code": self.enrol_code, "csrf_token": CSRF.findall(page)[0]}
        async with self.session.post(f"{self.base}/console/account/2fa", data=form) as response:
            recovery = await response.text()
            assert response.status == 200, recovery
        self.recovery = RECOVERY_CODE.findall(recovery)
        async with self.session.get(f"{self.base}/console") as response:
            return response.status, await response.text()

    async def second_factor(self, code: str) -> tuple[int, str]:
        async with self.session.get(f"{self.base}/console/login/code") as response:
            token = CSRF.findall(await response.text())[0]
        form = {"code": code, "csrf_token": token}
        async with self.session.post(f"{self.base}/console/login/code", data=form) as response:
            page = await response.text()
            if response.status == 200:
                self.csrf = CSRF.findall(page)[0]
            return response.status, page

    async def get(self, path: str) -> tuple[int, str]:
        async with self.session.get(f"{self.base}{path}", allow_redirects=False) as response:
            return response.status, await response.text()

    async def post(
        self,
        path: str,
        form: dict[str, Any] | list[tuple[str, str]] | None = None,
        csrf: str | None = None,
    ) -> tuple[int, str, str]:
        """Status, page, and where a redirect went (the final URL's path). ``form`` as a
        list of pairs sends a field more than once (checkboxes)."""
        data = list(form.items()) if isinstance(form, dict) else list(form or [])
        if csrf is None:
            data.append(("csrf_token", self.csrf))
        elif csrf:
            data.append(("csrf_token", csrf))
        async with self.session.post(f"{self.base}{path}", data=data) as response:
            return response.status, await response.text(), response.url.path

    @asynccontextmanager
    async def watching(self) -> AsyncIterator[LiveEvents]:
        """The console's live event stream, open (as a browser keeps it) while in use."""
        live = LiveEvents()
        ready = asyncio.Event()

        async def read() -> None:
            async with self.session.get(f"{self.base}/console/events") as resp:
                async for raw in resp.content:
                    line = raw.decode().rstrip("\n")
                    if line.startswith("event: ready"):
                        ready.set()
                    if line.startswith("data: {") and '"type"' in line:
                        live.seen.append((time.monotonic(), json.loads(line[6:])))

        task = asyncio.create_task(read())
        try:
            await asyncio.wait_for(ready.wait(), 10)
            yield live
        finally:
            task.cancel()
            with suppress(asyncio.CancelledError, aiohttp.ClientError):
                await task


@dataclass
class LiveEvents:
    seen: list[tuple[float, dict[str, Any]]] = field(default_factory=list)

    async def wait_for(
        self, check: Callable[[dict[str, Any]], bool], seconds: float = 10
    ) -> dict[str, Any]:
        seen = await eventually(
            lambda: self.seen,
            lambda seen: any(check(event) for _at, event in seen),
            what="a console event that passes the check",
            seconds=seconds,
        )
        return next(event for _at, event in seen if check(event))
