"""Console pages: the live queue, the case list and search, a case, the audit log, users."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from bot.case_facts import (
    AGAINST,
    CURRENCIES,
    GENDERS,
    OUTCOMES,
    PACKET_PARTS,
    SECTORS,
    VIOLATIONS,
    Facts,
)
from bot.casework import MARK_LABELS, STATUS_LABELS, Casework, CaseworkError, WindowClosed
from bot.console.auth import SIGNED, Forbidden, allowed, requires, signed_user
from bot.console.labels import labels
from bot.console.render import render
from bot.i18n import N_, _, current_locale
from bot.kb import self_harm_checklist
from bot.nlu.countries import COUNTRIES
from bot.nlu.taxonomy import INTENTS_BY_CATEGORY
from bot.store.cases import (
    REFERRAL_OUTCOMES,
    SELF_HARM,
    Case,
    CaseFilter,
    Priority,
    Status,
)
from bot.store.users import CASE_ROLES, Role, User

if TYPE_CHECKING:
    from bot.console import Console

PAGE_SIZE = 50

DONE_MESSAGES = {
    "claimed": N_("You have claimed this case. The worker was told that you joined."),
    "replied": N_("Your reply was sent to the worker."),
    "noted": N_("Note added."),
    "status": N_("Status changed."),
    "closed": N_("The case is closed; the worker got the closing message."),
    "referred": N_("Referral recorded."),
    "outcome": N_("Referral outcome recorded."),
    "released": N_("The case is back on the queue."),
    "transferred": N_("The case was transferred."),
    "reopened": N_("The case is open again."),
    "shared": N_("Sharing changed."),
    "empty": N_("Nobody is waiting right now."),
    "template": N_("The template message was sent. Reply when the worker answers."),
    "facts": N_("The case's facts were saved."),
    "due": N_("Follow-up date saved."),
    "followed": N_("The worker got a follow-up message."),
    "consent": N_("The worker's consent was recorded."),
}

PRIORITY_LABELS = {
    Priority.CRITICAL.value: N_("emergency"),
    Priority.HIGH.value: N_("high"),
    Priority.NORMAL.value: N_("normal"),
}
MEDIA_PROBLEMS = {
    "too_large": N_("too large, not kept"),
    "not_fetched": N_("could not be received, not kept"),
}
OUTCOME_LABELS = {
    "pending": N_("pending"),
    "accepted": N_("accepted"),
    "declined": N_("declined"),
    "resolved": N_("resolved"),
    "no_response": N_("no response"),
}


def _console(request: web.Request) -> Console:
    console: Console = request[SIGNED].console
    return console


def _user(request: web.Request) -> User:
    user = request[SIGNED].user
    assert user is not None, "guarded by @requires"
    return user


def _done_message(request: web.Request) -> str:
    done = request.query.get("done", "")
    return _(DONE_MESSAGES[done]) if done in DONE_MESSAGES else ""


def _labels() -> dict[str, Any]:
    return {
        **labels(),
        "sector_labels": {k: _(v) for k, v in SECTORS.items()},
        "against_labels": {k: _(v) for k, v in AGAINST.items()},
        "violation_labels": {k: _(v.label) for k, v in VIOLATIONS.items()},
        "case_outcome_labels": {k: _(v) for k, v in OUTCOMES.items()},
        "gender_labels": {k: _(v) for k, v in GENDERS.items()},
        "status_labels": {k: _(v) for k, v in STATUS_LABELS.items()},
        "priority_labels": {k: _(v) for k, v in PRIORITY_LABELS.items()},
        "outcome_labels": {k: _(v) for k, v in OUTCOME_LABELS.items()},
        "mark_labels": {k: _(v) for k, v in MARK_LABELS.items()},
        "media_problems": {k: _(v) for k, v in MEDIA_PROBLEMS.items()},
        "countries": COUNTRIES,
    }


async def home(request: web.Request) -> web.StreamResponse:
    user = signed_user(request)
    if user is None:
        raise web.HTTPSeeOther("/console/login")
    raise web.HTTPSeeOther("/console/queue" if allowed(user, "cases") else "/console/content")


async def _queue_context(console: Console) -> dict[str, Any]:
    entries = await console.casework.queue_entries()
    online = sorted(await console.presence.online())
    # The case's marks now (the entry holds those it had when it was queued).
    cases = await console.casework.cases([e.escalation.case_id for e in entries])
    marks = {case_id: list(case.marks) for case_id, case in cases.items()}
    return {
        "waiting": [e for e in entries if e.holder is None],
        "claimed": [e for e in entries if e.holder is not None],
        "online": online,
        "marks": marks,
        **_labels(),
    }


@requires("cases")
async def queue_page(request: web.Request) -> web.StreamResponse:
    console = _console(request)
    context = await _queue_context(console)
    done = request.query.get("done", "")
    return render(
        request,
        "queue.html",
        done=_(DONE_MESSAGES[done]) if done in DONE_MESSAGES else "",
        due=await console.casework.due(_user(request)),
        now=time.time(),
        **context,
    )


@requires("cases")
async def queue_fragment(request: web.Request) -> web.StreamResponse:
    return render(request, "_queue.html", **await _queue_context(_console(request)))


@requires("cases")
async def claim_next(request: web.Request) -> web.StreamResponse:
    console, user = _console(request), _user(request)
    case = await console.casework.claim_next(user)
    if case is None:
        raise web.HTTPSeeOther("/console/queue?done=empty")
    await console.audit.record(user.username, "claim", case.id, "next", request.remote or "")
    raise web.HTTPSeeOther(f"/console/cases/{case.id}?done=claimed")


def _filters(request: web.Request, user: User) -> CaseFilter:
    q = request.query
    return CaseFilter(
        visible_to="" if allowed(user, "supervise") else user.username,
        text=q.get("q", "").strip()[:100],
        status=q.get("status", "open"),
        priority=q.get("priority", ""),
        country=q.get("country", ""),
        category=q.get("category", ""),
        assignee=q.get("assignee", ""),
    )


@requires("cases")
async def case_list(request: web.Request) -> web.StreamResponse:
    console = _console(request)
    filters = _filters(request, _user(request))
    try:
        page = max(1, int(request.query.get("page", "1")))
    except ValueError:
        page = 1
    cases, total = await console.casework.search(
        filters, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE
    )
    users = await console.users.all()
    return render(
        request,
        "cases.html",
        cases=cases,
        total=total,
        page=page,
        pages=max(1, -(-total // PAGE_SIZE)),
        filters=filters,
        operators=[u.username for u in users if u.role in CASE_ROLES],
        query=dict(request.query),
        **_labels(),
    )


async def _case_context(console: Console, case: Case) -> dict[str, Any]:
    timeline = await console.casework.story(case)
    entry = await console.casework.queued(case.id)
    users = await console.users.all()
    checklist = self_harm_checklist() if SELF_HARM in case.marks else None
    directory = _directory(console, case)
    lang = current_locale()
    return {
        "case": case,
        "timeline": timeline,
        "checklist": checklist,
        "checklist_title": checklist.title.get(lang) or checklist.title.get("en")
        if checklist
        else "",
        "checklist_items": [i.get(lang) or i.get("en", "") for i in checklist.items]
        if checklist
        else [],
        "crisis_line": _crisis_line(console, case),
        "queued": entry,
        # Who a case can be referred to: the directory for its country, and BP2MI.
        "partners": [row["name"] for row in directory] + ["BP2MI / KP2MI (Indonesia)"],
        "directory": directory,
        "operators": [u for u in users if u.role in CASE_ROLES and not u.disabled],
        "outcomes": REFERRAL_OUTCOMES,
        "next_statuses": [s.value for s in console.casework.next_statuses(case)],
        "facts": Facts.of(case.facts),
        "inserts": await console.casework.inserts(case),
        "agencies": await console.casework.agencies(),
        "intents": INTENTS_BY_CATEGORY,
        "currencies": CURRENCIES,
        "packet_parts": {k: _(v) for k, v in PACKET_PARTS.items()},
        "pending_referral": any(r.get("outcome") == "pending" for r in case.referrals),
        **_labels(),
    }


def _crisis_line(console: Console, case: Case) -> str:
    referral = console.kb.referral(case.country) if case.country else None
    if referral is None or not referral.crisis_line:
        return ""
    return f"{referral.crisis_line_name}: {referral.crisis_line} ({referral.crisis_line_hours})"


def _directory(console: Console, case: Case) -> list[dict[str, Any]]:
    """Who can help in the case's country, as the referral directory has them: the
    embassy, the labour authority and the partners, with their numbers and what they do,
    for the operator choosing where to refer."""
    referral = console.kb.referral(case.country) if case.country else None
    if referral is None:
        return []
    lang = current_locale()
    rows: list[dict[str, Any]] = [
        {"name": referral.embassy_name, "phone": referral.embassy_hotline, "url": "", "note": ""},
        {"name": referral.labour_department, "phone": referral.labour_phone, "url": "", "note": ""},
    ]
    for partner in referral.partners:
        note = partner.get("note") or {}
        url = str(partner.get("url") or "")
        rows.append(
            {
                "name": str(partner.get("name", "")),
                "phone": str(partner.get("phone") or ""),
                # Only a web address becomes a link.
                "url": url if url.startswith(("https://", "http://")) else "",
                "note": str(note.get(lang) or note.get("en") or "")
                if isinstance(note, dict)
                else str(note),
                "unverified": bool(partner.get("unverified", False)),
            }
        )
    return [row for row in rows if row["name"]]


@requires("cases")
async def case_page(request: web.Request) -> web.StreamResponse:
    console, user = _console(request), _user(request)
    case = await console.casework.case(request.match_info["case_id"])
    console.casework.may_view(case, user)
    await console.audit.record(user.username, "view", case.id, remote=request.remote or "")
    return render(
        request,
        "case.html",
        done=_done_message(request),
        **await _case_context(console, case),
    )


@requires("cases")
async def case_timeline(request: web.Request) -> web.StreamResponse:
    console, user = _console(request), _user(request)
    case = await console.casework.case(request.match_info["case_id"])
    console.casework.may_view(case, user)
    # The page refreshes this on every change: one audit entry per user, case and 10 min.
    if await console.audit_throttle.first(user.username, case.id):
        await console.audit.record(
            user.username, "view_timeline", case.id, remote=request.remote or ""
        )
    timeline = await console.casework.story(case)
    return render(request, "_timeline.html", case=case, timeline=timeline, **_labels())


async def _set_status(work: Casework, case_id: str, user: User, value: dict[str, str]) -> str:
    try:
        status = Status(value.get("status", ""))
    except ValueError:
        raise CaseworkError(_("Choose a status.")) from None
    await work.set_status(
        case_id,
        user,
        status,
        outcome=value.get("outcome", ""),
        close_anyway=value.get("anyway") == "yes",
    )
    if status == Status.NEW:
        return "released"
    return "closed" if status in (Status.CLOSED, Status.RESOLVED) else "status"


async def _reopen(work: Casework, case_id: str, user: User, value: dict[str, str]) -> str:
    if not allowed(user, "supervise"):
        raise Forbidden("supervise")
    await work.reopen(case_id, user)
    return "reopened"


async def _follow_up(work: Casework, case_id: str, user: User, value: dict[str, str]) -> str:
    sent = await work.follow_up(case_id, user)
    return "template" if sent == "template" else "followed"


async def _facts(work: Casework, case_id: str, user: User, value: dict[str, str]) -> str:
    changed = await work.set_facts(case_id, user, value, value.get("violations", "").splitlines())
    # The audit log says which facts changed (their values are on the case's timeline).
    value["changed"] = ",".join(sorted(changed))
    return "facts"


def _step(
    done: str, act: Callable[[Casework, str, User, dict[str, str]], Awaitable[Any]]
) -> CaseAction:
    """An action whose outcome message is always ``done``."""

    async def run(work: Casework, case_id: str, user: User, value: dict[str, str]) -> str:
        await act(work, case_id, user, value)
        return done

    return run


CaseAction = Callable[[Casework, str, User, dict[str, str]], Awaitable[str]]
# Every change to a case the case page's forms make, and what the page then says.
CASE_ACTIONS: dict[str, CaseAction] = {
    "claim": _step("claimed", lambda w, c, u, v: w.claim(c, u)),
    "reply": _step("replied", lambda w, c, u, v: w.reply(c, u, v.get("text", ""))),
    "note": _step("noted", lambda w, c, u, v: w.note(c, u, v.get("text", ""))),
    "status": _set_status,
    "refer": _step(
        "referred", lambda w, c, u, v: w.refer(c, u, v.get("partner", ""), v.get("text", ""))
    ),
    "outcome": _step(
        "outcome",
        lambda w, c, u, v: w.referral_outcome(c, u, _int(v.get("index")), v.get("outcome", "")),
    ),
    "template": _step("template", lambda w, c, u, v: w.send_template(c, u)),
    "release": _step("released", lambda w, c, u, v: w.release(c, u, reason=v.get("text", ""))),
    "transfer": _step("transferred", lambda w, c, u, v: w.transfer(c, u, v.get("to", ""))),
    "share": _step("shared", lambda w, c, u, v: w.share(c, u, v.get("to", ""), share=True)),
    "unshare": _step("shared", lambda w, c, u, v: w.share(c, u, v.get("to", ""), share=False)),
    "reopen": _reopen,
    "facts": _facts,
    "due": _step("due", lambda w, c, u, v: w.set_due(c, u, v.get("day", ""))),
    "follow_up": _follow_up,
    "consent": _step("consent", lambda w, c, u, v: w.record_consent(c, u, v.get("partner", ""))),
}


@requires("cases")
async def case_action(request: web.Request) -> web.StreamResponse:
    """Every change to a case (CASE_ACTIONS). On an error the case page comes back with
    the message next to the form and what the operator typed still in it."""
    console, user = _console(request), _user(request)
    case_id, action = request.match_info["case_id"], request.match_info["action"]
    run = CASE_ACTIONS.get(action)
    if run is None:
        raise web.HTTPNotFound()
    form = await request.post()
    value = {k: str(v) for k, v in form.items() if isinstance(v, str)}
    value["violations"] = "\n".join(str(v) for v in form.getall("violation", []))
    work = console.casework
    try:
        done = await run(work, case_id, user, value)
    except CaseworkError as exc:
        await console.audit.record(
            user.username, f"{action}_refused", case_id, str(exc), request.remote or ""
        )
        case = await work.case(case_id)
        return render(
            request,
            "case.html",
            status=exc.status,
            error=str(exc),
            error_form=action,
            window_closed=isinstance(exc, WindowClosed),
            kept=value,
            **await _case_context(console, case),
        )
    detail = value.get("status") or value.get("to") or value.get("partner") or ""
    if action == "facts":
        detail = value.get("changed", "")
    await console.audit.record(user.username, action, case_id, detail, request.remote or "")
    if action == "transfer" and not allowed(user, "supervise"):
        # Handed to a colleague: not this operator's case to read any more.
        raise web.HTTPSeeOther(f"/console/queue?done={done}")
    raise web.HTTPSeeOther(f"/console/cases/{case_id}?done={done}#{_anchor(action)}")


def _anchor(action: str) -> str:
    return "reply" if action == "reply" else "top"


def _int(raw: str | None) -> int:
    try:
        return int(raw or "")
    except ValueError:
        return -1


@requires("cases")
async def evidence_file(request: web.Request) -> web.StreamResponse:
    """A photo, document or voice note from a worker: downloaded, never shown inline; only
    through a case the user may see, whose timeline holds it."""
    console, user = _console(request), _user(request)
    evidence_id = request.match_info["evidence_id"]
    case = await console.casework.case(request.query.get("case", ""))
    console.casework.may_view(case, user)
    timeline = await console.casework.timeline(case.id)
    if not any((e.get("media") or {}).get("ref") == evidence_id for e in timeline):
        raise web.HTTPNotFound(text="no such file on this case")
    evidence = await console.casework.evidence(evidence_id)
    if evidence is None:
        raise web.HTTPNotFound(text="no such file (it may have been erased)")
    await console.audit.record(
        user.username, "evidence", case.id, evidence.id, request.remote or ""
    )
    name = "".join(c for c in evidence.name if c.isalnum() or c in "._-") or "file"
    return web.Response(
        body=evidence.data,
        content_type="application/octet-stream",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@requires("cases")
async def referral_packet(request: web.Request) -> web.StreamResponse:
    """A PDF of what the operator chose to share with one partner; only with the
    worker's consent to share with that partner on the case; in the audit log."""
    console, user = _console(request), _user(request)
    case_id = request.match_info["case_id"]
    form = await request.post()
    partner = str(form.get("partner", ""))
    parts = {str(p) for p in form.getall("part", [])}
    try:
        sections = await console.casework.referral_packet(
            case_id, user, partner, parts, str(form.get("text", ""))
        )
    except CaseworkError as exc:
        await console.audit.record(
            user.username, "packet_refused", case_id, partner[:200], request.remote or ""
        )
        raise (
            web.HTTPForbidden(text=str(exc))
            if exc.status == 403
            else web.HTTPConflict(text=str(exc))
        ) from None
    await console.audit.record(
        user.username,
        "packet",
        case_id,
        f"{partner[:150]}: {','.join(sorted(parts))}",
        request.remote or "",
    )
    from bot.documents import referral_packet as referral_packet_pdf  # matplotlib: on use

    title = _("Referral of case {case} to {partner}").format(case=case_id, partner=partner)
    body = await asyncio.get_running_loop().run_in_executor(
        None, referral_packet_pdf, title, sections
    )
    return web.Response(
        body=body,
        content_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{case_id}-referral.pdf"'},
    )


@requires("supervise")
async def audit_page(request: web.Request) -> web.StreamResponse:
    console = _console(request)
    case_id = request.query.get("case", "").strip()
    username = request.query.get("user", "").strip()
    entries = await console.audit.recent(300, case_id=case_id, user=username)
    return render(request, "audit.html", entries=entries, case_id=case_id, username=username)


@requires("users")
async def users_page(request: web.Request) -> web.StreamResponse:
    return await users_view(request)


async def users_view(request: web.Request, message: str = "") -> web.Response:
    """The users page (for admins; the caller checked), with a message on top."""
    console = _console(request)
    users = await console.users.all()
    online = await console.presence.online()
    day = time.strftime("%Y-%m-%d", time.gmtime())
    return render(
        request,
        "users.html",
        users=users,
        online=online,
        roles=[r.value for r in Role],
        failed_today=await console.logins.failed_counts(day),
        message=message,
    )


def routes() -> list[web.RouteDef]:
    from bot.console import content, reports

    return [
        *content.routes(),
        *reports.routes(),
        web.get("/console", home),
        web.get("/console/", home),
        web.get("/console/queue", queue_page),
        web.get("/console/queue/fragment", queue_fragment),
        web.post("/console/queue/next", claim_next),
        web.get("/console/cases", case_list),
        web.get("/console/cases/{case_id}", case_page),
        web.get("/console/cases/{case_id}/timeline", case_timeline),
        web.post("/console/cases/{case_id}/packet.pdf", referral_packet),
        web.post("/console/cases/{case_id}/{action}", case_action),
        web.get("/console/evidence/{evidence_id}", evidence_file),
        web.get("/console/audit", audit_page),
        web.get("/console/users", users_page),
    ]
