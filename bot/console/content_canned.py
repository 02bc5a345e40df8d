"""Canned replies in the editors' section: a list, and one form to write or change a
reply (a name, a title, the text in each language, optionally one country)."""

from __future__ import annotations

from aiohttp import web

from bot.console.auth import requires
from bot.console.content import console_of, username_of
from bot.console.labels import labels
from bot.console.render import render
from bot.i18n import _
from bot.nlu.countries import COUNTRIES
from bot.store.canned import Canned, CannedError

PATH = "/console/content/canned"


async def _page(
    request: web.Request, *, status: int = 200, error: str = "", form: Canned | None = None
) -> web.Response:
    canned = console_of(request).casework.canned
    editing = form
    if editing is None and request.query.get("name"):
        editing = await canned.get(request.query["name"])
    return render(
        request,
        "canned.html",
        status=status,
        replies=await canned.all(),
        editing=editing,
        error=error,
        countries=COUNTRIES,
        done=request.query.get("done", ""),
        **labels(),
    )


@requires("content")
async def canned_page(request: web.Request) -> web.StreamResponse:
    return await _page(request)


@requires("content")
async def canned_action(request: web.Request) -> web.StreamResponse:
    console, by = console_of(request), username_of(request)
    form = await request.post()
    action = request.match_info["action"]
    name = str(form.get("name", "")).strip().lower()
    if action == "delete":
        await console.casework.canned.delete(name)
        await console.audit.record(by, "canned_delete", "", name, request.remote or "")
        raise web.HTTPSeeOther(f"{PATH}?done=deleted")
    if action != "save":
        raise web.HTTPNotFound()
    country = str(form.get("country", ""))
    reply = Canned(
        name=name,
        title=str(form.get("title", "")).strip()[:120],
        texts={lang: str(form.get(f"text_{lang}", "")) for lang in ("id", "en")},
        country=country if country in COUNTRIES else "",
        updated_by=by,
    )
    try:
        await console.casework.canned.save(reply)
    except CannedError as exc:
        return await _page(
            request, status=400, error=_("Not saved: {problem}.").format(problem=exc), form=reply
        )
    await console.audit.record(by, "canned_save", "", name, request.remote or "")
    raise web.HTTPSeeOther(f"{PATH}?done=saved")


def routes() -> list[web.RouteDef]:
    return [web.get(PATH, canned_page), web.post(PATH + "/{action}", canned_action)]
