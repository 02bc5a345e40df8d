"""Sign-in and sessions (issue 18, high findings 3 and 4), replayed against the real
stack: nobody can lock an account from elsewhere or spray passwords across accounts;
passwords are long and uncommon; admins and supervisors sign in with a second factor;
a password change, a disabled user or a changed role ends sessions; sessions have an
absolute lifetime; admins manage users from the console and the shell."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest

from bot.store.users import Role, UserError
from tests.chat import Chat
from tests.conftest import make_settings, nlu_nowhere
from tests.console import CSRF, PASSWORD, Operator
from tests.eventually import eventually


def _from(chat: Chat, username: str, address: str) -> Operator:
    """A browser at another address (the loopback network has many)."""
    session = aiohttp.ClientSession(
        cookie_jar=aiohttp.CookieJar(unsafe=True),
        connector=aiohttp.TCPConnector(local_addr=(address, 0)),
        headers={"Accept-Language": "en"},
    )
    return Operator(session, chat.base, username)


async def test_wrong_passwords_elsewhere_never_lock_the_owner_out(desk: Chat) -> None:
    """Regression: five wrong passwords from anywhere locked the account for 15 minutes."""
    await desk.console.users.add("boss", PASSWORD, Role.OPERATOR)
    attacker = _from(desk, "boss", "127.0.0.2")
    owner = _from(desk, "boss", "127.0.0.1")
    try:
        for _ in range(3):
            status, page = await attacker.login("guess guess guess")
            assert status == 401 and "Wrong username or password" in page
        status, page = await attacker.login("guess guess guess")
        assert status == 429 and "Try again in" in page
        status, page = await owner.login(PASSWORD)
        assert status == 200, "the owner, from their own address, is not slowed"
        status, _page = await owner.get("/console/queue")
        assert status == 200
    finally:
        await attacker.close()
        await owner.close()
    actions = [e.action for e in await desk.console.audit.recent(user="boss")]
    assert actions.count("login_slowed") == 1 and "login_failed" not in actions
    day = time.strftime("%Y-%m-%d", time.gmtime())
    assert (await desk.console.logins.failed_counts(day))["boss"] == 3


async def test_what_a_visitor_types_cannot_grow_the_audit_log(desk: Chat) -> None:
    """A 10,000-character user name, tried until it is slowed: the audit entry and the
    day's failure count hold a bounded prefix of it, not the whole."""
    long_name = "x" * 10_000
    visitor = _from(desk, long_name, "127.0.0.4")
    try:
        while (await visitor.login("guess guess guess"))[0] != 429:
            pass
    finally:
        await visitor.close()
    slowed = [e for e in await desk.console.audit.recent() if e.action == "login_slowed"]
    assert slowed and all(len(e.user) <= 64 and long_name.startswith(e.user) for e in slowed)
    day = time.strftime("%Y-%m-%d", time.gmtime())
    assert all(len(name) <= 64 for name in await desk.console.logins.failed_counts(day))
    # And whatever a caller hands the audit log, each field is bounded there too.
    await desk.console.audit.record("u" * 5000, "a" * 5000, "c" * 5000, "d" * 5000, "r" * 5000)
    newest = (await desk.console.audit.recent(count=1))[0]
    sizes = [len(newest.user), len(newest.action), len(newest.case_id), len(newest.remote)]
    assert max(sizes) == 64 and len(newest.detail) == 300


async def test_spraying_passwords_across_accounts_stops_at_the_address(desk: Chat) -> None:
    await desk.console.users.add("rina", PASSWORD, Role.OPERATOR)
    limit = desk.console.logins.per_address
    sprayer = _from(desk, "x", "127.0.0.3")
    try:
        for n in range(limit):
            sprayer.username = f"user{n}"
            status, _page = await sprayer.login("Summer2026!!x")
            assert status == 401
        sprayer.username = "rina"
        status, page = await sprayer.login(PASSWORD)
        assert status == 429 and "this network" in page
    finally:
        await sprayer.close()
    rina = _from(desk, "rina", "127.0.0.1")
    try:
        assert (await rina.login(PASSWORD))[0] == 200
    finally:
        await rina.close()


async def test_passwords_are_long_and_uncommon(desk: Chat) -> None:
    for weak in ("short pass", "password1234", "qwertyuiop12", "iloveyou1234"):
        with pytest.raises(UserError):
            await desk.console.users.add("weak", weak, Role.OPERATOR)
    with pytest.raises(UserError, match="easy to guess"):
        await desk.console.users.add("rudi", "rudi rudi rudi", Role.OPERATOR, "Rudi")


async def test_an_admin_must_enrol_a_second_factor_and_then_give_it(desk: Chat) -> None:
    await desk.console.users.add("adm", PASSWORD, Role.ADMIN, "Adm", "en")
    admin = Operator.anonymous(desk, "adm")
    try:
        async with admin.session.get(f"{desk.base}/console/login") as response:
            token = response.cookies  # the form's own cookie is set
            assert token
        status, page = await admin.login(PASSWORD)
        assert status == 200 and admin.totp_secret and len(admin.recovery) == 10
        await admin.post("/console/logout")
        # The password alone opens nothing.
        async with admin.session.get(f"{desk.base}/console/login") as response:
            form_token = _csrf(await response.text())
        form = {"username": "adm", "password": PASSWORD, "csrf_token": form_token}
        async with admin.session.post(f"{desk.base}/console/login", data=form) as response:
            assert response.url.path == "/console/login/code"
        status, _page = await admin.get("/console/users")
        assert status == 303
        status, page = await admin.second_factor("000000")
        assert status == 401 and "not right" in page
        # The code used to enrol cannot sign in again.
        # (The very code given at enrolment: a fresh now() may fall in the next 30 s.)
        status, _page = await admin.second_factor(admin.enrol_code)
        assert status == 401
        code = admin.recovery.pop()
        status, _page = await admin.second_factor(code)
        assert status == 200
        assert (await admin.get("/console/users"))[0] == 200
        await admin.post("/console/logout")
        admin.recovery.insert(0, code)  # a recovery code works once
        status, _page = await admin.login(PASSWORD)
        assert status == 401
    finally:
        await admin.close()


def _csrf(page: str) -> str:
    return str(CSRF.findall(page)[0])


async def test_a_password_change_a_disabled_user_or_a_role_change_ends_sessions(
    desk: Chat,
) -> None:
    await desk.console.users.add("ida", PASSWORD, Role.OPERATOR, "Ida", "en")
    phone, laptop = Operator.anonymous(desk, "ida"), Operator.anonymous(desk, "ida")
    try:
        assert (await phone.login(PASSWORD))[0] == 200
        assert (await laptop.login(PASSWORD))[0] == 200
        new = "blue kettle under rain 42"
        form = {"current": PASSWORD, "password": new, "again": new}
        status, _page, path = await laptop.post("/console/account/password", form)
        assert status == 200 and path == "/console/account"
        assert (await laptop.get("/console/queue"))[0] == 200  # this browser signed in again
        assert (await phone.get("/console/queue"))[0] == 303  # the other one is out
        assert (await phone.login(new))[0] == 200
        await desk.console.users.set_disabled("ida", True)
        assert (await phone.get("/console/queue"))[0] == 303
        await desk.console.users.set_disabled("ida", False)
        assert (await phone.login(new))[0] == 200
        await desk.console.users.set_role("ida", Role.EDITOR)
        assert (await phone.get("/console/content"))[0] == 303
    finally:
        await phone.close()
        await laptop.close()


async def test_a_session_ends_after_its_absolute_lifetime(redis_url: str, key_prefix: str) -> None:
    settings = make_settings(redis_url, nlu_nowhere(), key_prefix, console_session_max_hours=0.0006)
    async with Chat.serve(settings) as desk:
        operator = await Operator.signed_in(desk, "lia")
        try:
            # Used all the time (every 0.3 s): the idle limit never hits, the absolute does.
            await eventually(
                lambda: operator.get("/console/queue"),
                lambda got: got[0] == 303,
                what="signed out",
                seconds=6,
                every=0.3,
            )
        finally:
            await operator.close()


@pytest.fixture
async def admin(desk: Chat) -> AsyncIterator[Operator]:
    signed = await Operator.signed_in(desk, "root", Role.ADMIN)
    yield signed
    await signed.close()


async def test_admins_manage_users_from_the_console(desk: Chat, admin: Operator) -> None:
    worker = await Operator.signed_in(desk, "eko")
    try:
        status, page, _ = await admin.post("/console/users/eko/reset")
        assert status == 200 and "shown once" in page
        new = page.split("(shown once): ")[1].split("<")[0].strip()
        assert (await worker.get("/console/queue"))[0] == 303
        assert (await worker.login(new))[0] == 200
        status, page, _ = await admin.post("/console/users/eko/disable")
        assert (await worker.get("/console/queue"))[0] == 303
        assert (await worker.login(new))[0] == 401
        await admin.post("/console/users/eko/enable")
        assert (await worker.login(new))[0] == 200
        await admin.post("/console/users/eko/role", {"role": "supervisor"})
        assert (await worker.get("/console/queue"))[0] == 303
        # A supervisor now: the next sign-in asks for a second factor to be set up.
        assert (await worker.login(new))[0] == 200 and worker.totp_secret
        await admin.post("/console/users/eko/reset-2fa")
        user = await desk.console.users.get("eko")
        assert user is not None and user.totp_secret == "" and user.role == "supervisor"
        status, page, _ = await admin.post("/console/users/root/delete")
        assert "own account" in page
        actions = [e.action for e in await desk.console.audit.recent(user="root")]
        assert {"user_reset", "user_disable", "user_role", "user_reset-2fa"} <= set(actions)
    finally:
        await worker.close()


def test_users_can_be_managed_from_the_shell(redis_url: str, key_prefix: str) -> None:
    env = dict(os.environ, HELPLINE_REDIS_URL=redis_url, HELPLINE_KEY_PREFIX=key_prefix)

    def users(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "bot.cli", "users", *args],
            input=stdin, capture_output=True, text=True, env=env, timeout=60, check=False,
        )  # fmt: skip

    assert users("add", "tari", "--password-stdin", stdin=f"{PASSWORD}\n").returncode == 0
    assert users("disable", "tari").returncode == 0
    assert "(disabled)" in users("list").stdout
    assert users("enable", "tari").returncode == 0
    assert users("sessions", "tari", "--end").returncode == 0
    assert users("unlock", "tari").returncode == 0
    assert users("reset-2fa", "tari").returncode == 0
    assert users("delete", "tari").returncode == 0
    assert "tari" not in users("list").stdout
