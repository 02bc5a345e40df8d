"""Signing in with a second factor, one's own account, and the admin's user actions.

After the password, a user with TOTP gives a code from their authenticator app (or a
recovery code); an admin or supervisor who has not set one up must enrol first (a QR code
to scan, then a code to confirm; ten recovery codes shown once). Each step upgrades the
session to a new token. Others may turn two-factor sign-in on (and off) on their account
page, where everyone can change their password. Admins disable, enable and delete users,
end their sessions, lift a slow-down, reset a password or a second factor, and change a
role - each ends that user's sessions where it must, and each is in the audit log.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pyotp
import segno
from aiohttp import web

from bot.console import auth, views
from bot.console.render import render
from bot.i18n import SUPPORTED, _
from bot.store.console_sessions import ENROL, FULL, SECOND_FACTOR
from bot.store.logins import Wait
from bot.store.users import (
    TWO_FACTOR_REQUIRED,
    Role,
    User,
    UserError,
    strong_password,
    totp_step,
)

if TYPE_CHECKING:
    from bot.console import Console

ISSUER = "PMI Helpline"
CODE_PATH = "/console/login/code"
ENROL_PATH = "/console/account/2fa"
# What a session that still needs its second factor may open.
PARTIAL_PATHS = frozenset({CODE_PATH, ENROL_PATH, "/console/logout", "/console/login"})


def _console(request: web.Request) -> Console:
    console: Console = request[auth.SIGNED].console
    return console


def step_path(request: web.Request) -> str:
    """Where a half-signed-in user goes next."""
    return CODE_PATH if request[auth.SIGNED].stage == SECOND_FACTOR else ENROL_PATH


def wait_message(wait: Wait) -> str:
    if wait.reason == "address":
        return _(
            "Too many failed sign-ins from this network. Try again in {seconds} seconds."
        ).format(seconds=wait.seconds)
    return _("Too many wrong attempts. Try again in {seconds} seconds.").format(
        seconds=wait.seconds
    )


def _next(request: web.Request, form: Any = None) -> str:
    target = str((form or {}).get("next") or request.query.get("next") or "/console")
    return target if target.startswith("/console") and not target.startswith("//") else "/console"


async def _new_token(request: web.Request, console: Console, user: User, stage: str) -> str:
    """A fresh session at ``stage``; the browser's old one ends."""
    old = request.cookies.get(auth.SESSION_COOKIE)
    if old:
        await console.sessions.end(old)
    token, _session = await console.sessions.create(user.username, stage, request.remote or "")
    return token


def _with_token(response: web.StreamResponse, console: Console, token: str) -> None:
    auth.set_cookie(response, auth.SESSION_COOKIE, token, console.settings.cookie_secure)
    response.del_cookie(auth.LOGIN_COOKIE, path="/console")


async def _session(
    request: web.Request, console: Console, user: User, stage: str, target: str
) -> web.HTTPException:
    """A fresh session at ``stage``, as a redirect to ``target``."""
    response = web.HTTPSeeOther(target)
    _with_token(response, console, await _new_token(request, console, user, stage))
    return response


async def signed_in(
    request: web.Request, console: Console, user: User, target: str
) -> web.StreamResponse:
    """The password was right: the session starts at the step this user needs."""
    if user.totp_secret:
        step = SECOND_FACTOR, f"{CODE_PATH}?next={target}"
        raise await _session(request, console, user, *step)
    if Role(user.role) in TWO_FACTOR_REQUIRED:
        raise await _session(request, console, user, ENROL, f"{ENROL_PATH}?next={target}")
    await console.audit.record(user.username, "login", remote=request.remote or "")
    raise await _session(request, console, user, FULL, target)


# -- the code after the password --------------------------------------------------------


async def code_page(request: web.Request) -> web.StreamResponse:
    pending = request[auth.SIGNED].pending
    if pending is None or request[auth.SIGNED].stage != SECOND_FACTOR:
        raise web.HTTPSeeOther("/console/login")
    return render(request, "login_code.html", next=_next(request), message="")


async def code_submit(request: web.Request) -> web.StreamResponse:
    console = _console(request)
    pending = request[auth.SIGNED].pending
    if pending is None or request[auth.SIGNED].stage != SECOND_FACTOR:
        raise web.HTTPSeeOther("/console/login")
    form = await request.post()
    address = request.remote or "?"
    wait = await console.logins.wait(pending.username, address)
    if wait is not None:
        return render(
            request, "login_code.html", status=429, next=_next(request, form),
            message=wait_message(wait),
        )  # fmt: skip
    if not await console.users.second_factor(pending.username, str(form.get("code", ""))[:40]):
        await console.logins.failed(pending.username, address)
        message = _("That code is not right. Use the newest code of your app, or a recovery code.")
        return render(
            request, "login_code.html", status=401, next=_next(request, form), message=message
        )
    await console.logins.succeeded(pending.username, address)
    await console.audit.record(pending.username, "login", detail="2fa", remote=address)
    raise await _session(request, console, pending, FULL, _next(request, form))


# -- enrolment --------------------------------------------------------------------------


def _who(request: web.Request) -> User:
    signed = request[auth.SIGNED]
    user = signed.user or (signed.pending if signed.stage == ENROL else None)
    if user is None:
        raise web.HTTPSeeOther("/console/login")
    return user


async def _pending_secret(console: Console, username: str) -> str:
    return await console.enrolments.secret(username, pyotp.random_base32())


async def enrol_page(request: web.Request, message: str = "", status: int = 200) -> web.Response:
    console, user = _console(request), _who(request)
    secret = await _pending_secret(console, user.username)
    uri = pyotp.TOTP(secret).provisioning_uri(name=user.username, issuer_name=ISSUER)
    return render(
        request,
        "enrol.html",
        status=status,
        qr=segno.make(uri, error="m").svg_data_uri(scale=4),
        secret=" ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
        required=Role(user.role) in TWO_FACTOR_REQUIRED,
        message=message,
        next=_next(request),
    )


async def enrol_get(request: web.Request) -> web.StreamResponse:
    return await enrol_page(request)


async def enrol_submit(request: web.Request) -> web.StreamResponse:
    console, user = _console(request), _who(request)
    form = await request.post()
    secret = await _pending_secret(console, user.username)
    step = totp_step(secret, str(form.get("code", "")).strip())
    if step is None:
        message = _("That code is not right: scan the QR code again and type the newest code.")
        return await enrol_page(request, message, 400)
    codes = await console.users.enrol_totp(user.username, secret, step)
    await console.enrolments.done(user.username)
    await console.audit.record(user.username, "2fa_enrolled", remote=request.remote or "")
    response = render(request, "recovery.html", codes=codes, next=_next(request, form))
    if request[auth.SIGNED].stage == ENROL:
        # Enrolled: the half session becomes a full one, under a new token.
        _with_token(response, console, await _new_token(request, console, user, FULL))
    return response


# -- one's own account --------------------------------------------------------------------


@auth.requires("account")
async def account_page(request: web.Request) -> web.StreamResponse:
    user = request[auth.SIGNED].user
    assert user is not None
    return render(
        request,
        "account.html",
        account=user,
        optional=Role(user.role) not in TWO_FACTOR_REQUIRED,
        done=request.query.get("done", ""),
        error="",
    )


@auth.requires("account")
async def account_action(request: web.Request) -> web.StreamResponse:
    console = _console(request)
    user = request[auth.SIGNED].user
    assert user is not None
    action = request.match_info["action"]
    form = await request.post()
    if action == "language":
        return await _set_language(request, console, user, str(form.get("locale", "")))
    current = str(form.get("current", ""))
    if await console.users.authenticate(user.username, current) is None:
        return _account_error(request, user, _("Your current password is not right."))
    try:
        if action == "password":
            new, again = str(form.get("password", "")), str(form.get("again", ""))
            if new != again:
                return _account_error(request, user, _("The two new passwords differ."))
            await console.users.set_password(user.username, new)
        elif action == "2fa-off" and Role(user.role) not in TWO_FACTOR_REQUIRED:
            await console.users.clear_totp(user.username)
        elif action == "recovery" and user.totp_secret:
            codes = await console.users.enrol_totp(user.username, user.totp_secret)
            remote = request.remote or ""
            await console.audit.record(user.username, "2fa_recovery_codes", remote=remote)
            return render(request, "recovery.html", codes=codes, next="/console/account")
        else:
            raise web.HTTPNotFound()
    except UserError as exc:
        return _account_error(request, user, str(exc))
    await console.audit.record(user.username, f"account_{action}", remote=request.remote or "")
    fresh = await console.users.get(user.username)
    assert fresh is not None
    # The change ended every session of this user; this browser gets a new one.
    raise await _session(request, console, fresh, FULL, f"/console/account?done={action}")


async def _set_language(
    request: web.Request, console: Console, user: User, locale: str
) -> web.StreamResponse:
    """The console's language for this account (no password needed; sessions stay)."""
    if locale not in SUPPORTED:
        return _account_error(request, user, _("Choose a language from the list."))
    await console.users.set_locale(user.username, locale)
    await console.audit.record(user.username, "account_language", "", locale, request.remote or "")
    response = web.HTTPSeeOther("/console/account?done=language")
    # The account's language now rules; a choice made earlier on a page no longer does.
    response.del_cookie(auth.LANG_COOKIE, path="/console")
    raise response


def _account_error(request: web.Request, user: User, message: str) -> web.Response:
    return render(
        request,
        "account.html",
        status=400,
        account=user,
        optional=Role(user.role) not in TWO_FACTOR_REQUIRED,
        done="",
        error=message,
    )


# -- the admin's user actions ---------------------------------------------------------------


@auth.requires("users")
async def user_action(request: web.Request) -> web.StreamResponse:
    """Disable, enable, delete, end sessions, lift a slow-down, reset a password or a
    second factor, change a role."""
    console = _console(request)
    admin = request[auth.SIGNED].user
    assert admin is not None
    username, action = request.match_info["username"], request.match_info["action"]
    form = await request.post()
    users = console.users
    message = ""
    try:
        if username == admin.username and action in ("disable", "delete", "role"):
            raise UserError(_("You cannot do this to your own account."))
        if action == "disable":
            await users.set_disabled(username, True)
            await console.sessions.end_all(username)
        elif action == "enable":
            await users.set_disabled(username, False)
        elif action == "delete":
            await users.delete(username)
            await console.sessions.end_all(username)
        elif action == "sessions":
            await users.revoke_sessions(username)
            await console.sessions.end_all(username)
        elif action == "unlock":
            await console.logins.clear(username)
        elif action == "reset":
            password = strong_password()
            await users.set_password(username, password)
            await console.sessions.end_all(username)
            message = _("New password for {name} (shown once): {password}").format(
                name=username, password=password
            )
        elif action == "reset-2fa":
            await users.clear_totp(username)
            await console.sessions.end_all(username)
        elif action == "role":
            await users.set_role(username, Role(str(form.get("role", ""))))
            await console.sessions.end_all(username)
        else:
            raise web.HTTPNotFound()
    except (UserError, ValueError) as exc:
        message = str(exc)
    detail = f"{username} {form.get('role', '')}" if action == "role" else username
    remote = request.remote or ""
    await console.audit.record(admin.username, f"user_{action}", detail=detail, remote=remote)
    return await views.users_view(request, message=message or _("Done."))


def routes() -> list[web.RouteDef]:
    return [
        web.get(CODE_PATH, code_page),
        web.post(CODE_PATH, code_submit),
        web.get(ENROL_PATH, enrol_get),
        web.post(ENROL_PATH, enrol_submit),
        web.get("/console/account", account_page),
        web.post("/console/account/{action}", account_action),
        web.post("/console/users/{username}/{action}", user_action),
    ]
