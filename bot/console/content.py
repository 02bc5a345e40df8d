"""The editors' section of the console: answers and the referral directory, drafts,
publishing, history and rollback, a live preview, and proposed example phrasings."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from aiohttp import web

from bot.console.auth import SIGNED, requires
from bot.console.render import render
from bot.i18n import _
from bot.kb import (
    CHAT_LIMIT,
    GENERAL,
    INTERACTIVE_LIMIT,
    TOPICS,
    Answer,
    Figure,
    KnowledgeBase,
    ProblemKind,
    entry_problems,
    figure_of,
    figures_due,
)
from bot.nlu.countries import COUNTRIES
from bot.store.kb_store import (
    Entry,
    KBStore,
    ReviewRequired,
    StaleVersion,
    answer_key,
    referral_key,
)

if TYPE_CHECKING:
    from bot.console import Console

LANGS = ("id", "en")
PLACES = (GENERAL, *COUNTRIES)


def console_of(request: web.Request) -> Console:
    console: Console = request[SIGNED].console
    return console


def username_of(request: web.Request) -> str:
    user = request[SIGNED].user
    assert user is not None
    return user.username


def store_of(request: web.Request) -> KBStore:
    return console_of(request).kb_store


def _state(entries: dict[str, Entry], topic: str, country: str, lang: str) -> str:
    entry = entries.get(answer_key(topic, country, lang))
    if entry is None or entry.state == "missing":
        return "missing"
    if entry.state == "draft":
        return "draft"
    other = entries.get(answer_key(topic, country, "en" if lang == "id" else "id"))
    if other is not None and other.published is not None and other.changed_at > entry.changed_at:
        return "stale"
    return "published"


@requires("content")
async def overview(request: web.Request) -> web.StreamResponse:
    entries = await store_of(request).all()
    rows = [
        (
            topic,
            [
                (place, {lang: _state(entries, topic, place, lang) for lang in LANGS})
                for place in PLACES
            ],
        )
        for topic in TOPICS
    ]
    referrals = [(c, entries.get(referral_key(c))) for c in (*COUNTRIES, "indonesia")]
    figures = _published_figures(entries) or console_of(request).kb.figures
    return render(
        request,
        "content.html",
        rows=rows,
        places=PLACES,
        referrals=referrals,
        state_labels=_labels(),
        figures_due=figures_due(figures, dt.date.today()),
        figures_secondary=sorted((f for f in figures.values() if f.secondary), key=lambda f: f.id),
    )


def _published_figures(entries: dict[str, Entry]) -> dict[str, Figure]:
    """The figures as published in the store (kb/figures.yml, imported)."""
    return {
        key.removeprefix("figure/"): figure_of(key.removeprefix("figure/"), entry.published)
        for key, entry in entries.items()
        if key.startswith("figure/") and entry.published is not None
    }


def _labels() -> dict[str, str]:
    return {
        "missing": _("missing"),
        "draft": _("draft"),
        "published": _("published"),
        "stale": _("stale"),
    }


def _preview(text: str, country: str, lang: str, kb: KnowledgeBase) -> str:
    return kb.render(text, country, lang)


async def _answer_page(
    request: web.Request,
    topic: str,
    country: str,
    lang: str,
    *,
    status: int = 200,
    form: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    message: str = "",
) -> web.Response:
    store = store_of(request)
    key = answer_key(topic, country, lang)
    entry = await store.get(key, with_history=True)
    other = await store.get(answer_key(topic, country, "en" if lang == "id" else "id"))
    current = form or dict(entry.draft or entry.published or {})
    entries = await store.all()
    return render(
        request,
        "content_edit.html",
        status=status,
        topic=topic,
        country=country,
        alang=lang,
        entry=entry,
        state=_state(entries, topic, country, lang),
        state_labels=_labels(),
        other=other.published or {},
        form=current,
        errors=errors or {},
        message=message,
        limits={"chat": CHAT_LIMIT, "whatsapp": INTERACTIVE_LIMIT},
        preview=_preview(str(current.get("text", "")), country, lang, console_of(request).kb),
        done=request.query.get("done", ""),
    )


def _answer_place(request: web.Request) -> tuple[str, str, str]:
    info = request.match_info
    topic, country, lang = info["topic"], info["country"], info["lang"]
    if topic not in TOPICS or country not in PLACES or lang not in LANGS:
        raise web.HTTPNotFound(text="no such answer")
    return topic, country, lang


@requires("content")
async def edit_answer(request: web.Request) -> web.StreamResponse:
    return await _answer_page(request, *_answer_place(request))


def _answer_form(form: Any) -> dict[str, Any]:
    return {
        "text": str(form.get("text", "")).replace("\r\n", "\n").strip(),
        "source": str(form.get("source", "")).strip(),
        "reviewed": str(form.get("reviewed", "")).strip(),
        "unverified": form.get("unverified") == "on",
    }


def _answer_errors(content: dict[str, Any], kb: KnowledgeBase) -> dict[str, str]:
    """Problems by the form field they belong to."""
    answer = Answer(content["text"], content["source"], content["reviewed"], content["unverified"])
    errors: dict[str, str] = {}
    for problem in entry_problems(answer, kb.figures):
        if problem.kind == ProblemKind.NO_SOURCE:
            errors["source"] = _("Give the source of this information.")
        elif problem.kind == ProblemKind.NO_REVIEWED:
            errors["reviewed"] = _("Give the date it was last checked.")
        elif problem.kind == ProblemKind.EMPTY:
            errors["text"] = _("The answer is empty.")
        elif problem.kind == ProblemKind.PLACEHOLDER:
            errors["text"] = _("A placeholder is broken or unknown: {problem}").format(
                problem=problem
            )
        elif problem.kind == ProblemKind.TOO_LONG:
            errors["text"] = _("Too long for a chat message: {problem}").format(problem=problem)
    if content["reviewed"]:
        try:
            dt.date.fromisoformat(content["reviewed"])
        except ValueError:
            errors["reviewed"] = _("Write the date as YYYY-MM-DD.")
    return errors


@requires("content")
async def answer_action(request: web.Request) -> web.StreamResponse:
    topic, country, lang = _answer_place(request)
    action = request.match_info["action"]
    form = await request.post()
    store, by = store_of(request), username_of(request)
    key = answer_key(topic, country, lang)
    version = as_int(form.get("version"))
    console = console_of(request)
    try:
        if action == "save":
            content = _answer_form(form)
            errors = _answer_errors(content, console.kb)
            if errors:
                return await _answer_page(
                    request, topic, country, lang, status=422, form=content, errors=errors
                )
            await store.save_draft(key, content, by, version)
            done = "saved"
        elif action == "publish":
            await store.publish(key, by, version)
            done = "published"
        elif action == "rollback":
            await store.rollback(key, as_int(form.get("to")), by, version)
            done = "rolled_back"
        else:
            raise web.HTTPNotFound()
    except StaleVersion as exc:
        kept = _answer_form(form) if action == "save" else None
        return await _answer_page(
            request,
            topic,
            country,
            lang,
            status=409,
            form=kept,
            message=_(
                "{name} saved this answer while you were editing. Your text is kept below; "
                "compare it with theirs (in the history), then save again."
            ).format(name=exc.by),
        )
    except ReviewRequired:
        return await _answer_page(
            request,
            topic,
            country,
            lang,
            status=409,
            message=_("A second editor must review and publish this draft, not its author."),
        )
    except KeyError:
        raise web.HTTPNotFound(text="no such version") from None
    await console.audit.record(by, f"content_{action}", detail=key, remote=request.remote or "")
    raise web.HTTPSeeOther(f"/console/content/answer/{topic}/{country}/{lang}?done={done}")


@requires("content")
async def preview(request: web.Request) -> web.StreamResponse:
    """The message as the chat will show it, with its length against the channels' limits."""
    try:
        body = await request.json()
        text, country, lang = str(body["text"]), str(body["country"]), str(body["lang"])
    except (ValueError, KeyError, TypeError):
        return web.json_response({"error": "send text, country and lang"}, status=400)
    rendered = _preview(text, country, lang, console_of(request).kb)
    content = {"text": text, "source": "x", "reviewed": "2000-01-01", "unverified": False}
    return web.json_response(
        {
            "text": rendered,
            "length": len(rendered),
            "limits": {"chat": CHAT_LIMIT, "whatsapp": INTERACTIVE_LIMIT},
            "problem": _answer_errors(content, console_of(request).kb).get("text", ""),
        }
    )


def as_int(raw: object) -> int:
    try:
        return int(str(raw))
    except ValueError:
        return -1


def routes() -> list[web.RouteDef]:
    from bot.console import content_alerts as alerts
    from bot.console import content_canned as canned
    from bot.console import content_examples as examples
    from bot.console import content_referrals as referrals

    answer = "/console/content/answer/{topic}/{country}/{lang}"
    return [
        web.get("/console/content", overview),
        web.get(answer, edit_answer),
        web.post(answer + "/{action}", answer_action),
        web.post("/console/content/preview", preview),
        web.get("/console/content/referral/{country}", referrals.edit_referral),
        web.post("/console/content/referral/{country}/{action}", referrals.referral_action),
        web.get("/console/content/examples", examples.examples),
        web.post("/console/content/examples", examples.propose_example),
        *canned.routes(),
        *alerts.routes(),
    ]
