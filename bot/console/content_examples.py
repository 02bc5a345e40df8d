"""Example phrasings: editors propose messages for an intent. They stay in the store
until an admin runs `helpline nlu export-examples` on the server, which adds them to
nlu/<lang>/proposed.yml for the next training (bot/nlu_model/proposed.py): a web request
never writes the repository's files."""

from __future__ import annotations

from aiohttp import web

from bot.console.auth import requires
from bot.console.content import LANGS, console_of, username_of
from bot.console.render import render
from bot.i18n import _
from bot.nlu.taxonomy import ALL_INTENTS
from bot.store.proposals import Proposal


async def _page(request: web.Request, *, status: int = 200, error: str = "") -> web.Response:
    return render(
        request,
        "examples.html",
        status=status,
        intents=ALL_INTENTS,
        proposals=await console_of(request).proposals.all(),
        done=request.query.get("done", ""),
        error=error,
    )


@requires("content")
async def examples(request: web.Request) -> web.StreamResponse:
    return await _page(request)


@requires("content")
async def propose_example(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    intent, lang = str(form.get("intent", "")), str(form.get("lang", ""))
    text = " ".join(str(form.get("text", "")).split())
    if intent not in ALL_INTENTS or lang not in LANGS or not text or len(text) > 300:
        error = _(
            "Choose an intent and a language, and write one message (at most 300 characters)."
        )
        return await _page(request, status=422, error=error)
    proposal = Proposal(intent, lang, text, by=username_of(request))
    await console_of(request).proposals.add(proposal)
    raise web.HTTPSeeOther("/console/content/examples?done=proposed")
