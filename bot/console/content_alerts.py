"""Awareness alerts in the editors' section: the alerts with their progress and report,
a form to write one, and a second editor's approval, which sends it."""

from __future__ import annotations

from aiohttp import web

from bot.console.auth import requires
from bot.console.content import console_of, username_of
from bot.console.labels import labels
from bot.console.render import render
from bot.i18n import _
from bot.nlu.countries import COUNTRIES
from bot.store.alerts import CHANNELS, Alert, AlertError

PATH = "/console/content/alerts"


async def _page(
    request: web.Request, *, status: int = 200, error: str = "", form: Alert | None = None
) -> web.Response:
    alerts = console_of(request).helpline.services.alerts
    editing = form
    if editing is None and request.query.get("id"):
        editing = await alerts.get(request.query["id"])
    return render(
        request,
        "alerts.html",
        status=status,
        alerts=await alerts.all(),
        editing=editing,
        error=error,
        me=username_of(request),
        countries=COUNTRIES,
        channels=CHANNELS,
        subscribers=await alerts.counts(COUNTRIES),
        done=request.query.get("done", ""),
        **labels(),
    )


@requires("content")
async def alerts_page(request: web.Request) -> web.StreamResponse:
    return await _page(request)


@requires("content")
async def alerts_fragment(request: web.Request) -> web.StreamResponse:
    """One alert's progress (the page refreshes it while the alert is sent)."""
    alert = await console_of(request).helpline.services.alerts.get(request.match_info["id"])
    if alert is None:
        raise web.HTTPNotFound()
    return web.json_response(
        {"state": alert.state, "recipients": alert.recipients, "left": alert.left,
         **alert.counts}
    )  # fmt: skip


@requires("content")
async def alerts_action(request: web.Request) -> web.StreamResponse:
    console, by = console_of(request), username_of(request)
    alerts = console.helpline.services.alerts
    form = await request.post()
    action = request.match_info["action"]
    alert_id = str(form.get("id", ""))
    try:
        if action == "save":
            alert = Alert(
                id=alert_id,
                title=str(form.get("title", "")).strip()[:120],
                country=str(form.get("country", "")),
                texts={lang: str(form.get(f"text_{lang}", "")).strip() for lang in ("id", "en")},
                channels=[c for c in CHANNELS if form.get(f"channel_{c}")],
                written_by=by,
            )
            try:
                await alerts.save(alert, COUNTRIES)
            except AlertError as exc:
                problem = _("Not saved: {problem}.").format(problem=exc)
                return await _page(request, status=400, error=problem, form=alert)
            await console.audit.record(by, "alert_save", "", alert.id, request.remote or "")
            raise web.HTTPSeeOther(f"{PATH}?done=saved")
        if action == "approve":
            approved = await alerts.approve(alert_id, by)
            await console.audit.record(by, "alert_approve", "", alert_id, request.remote or "")
            raise web.HTTPSeeOther(f"{PATH}?done=approved&id={approved.id}")
        if action == "delete":
            await alerts.delete(alert_id)
            await console.audit.record(by, "alert_delete", "", alert_id, request.remote or "")
            raise web.HTTPSeeOther(f"{PATH}?done=deleted")
    except AlertError as exc:
        return await _page(request, status=400, error=_("Not done: {problem}.").format(problem=exc))
    raise web.HTTPNotFound()


def routes() -> list[web.RouteDef]:
    return [
        web.get(PATH, alerts_page),
        web.get(PATH + "/progress/{id}", alerts_fragment),
        web.post(PATH + "/{action}", alerts_action),
    ]
