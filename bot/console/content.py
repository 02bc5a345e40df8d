"""The editors' section of the console: answers and the referral directory, drafts,
publishing, history and rollback, a live preview, and proposed example phrasings."""

from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
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
    KnowledgeBase,
    entry_problems,
    fill,
    fill_money,
    referral_of,
)
from bot.nlu.countries import COUNTRIES
from bot.nlu.rasa_env import project_dir
from bot.nlu.taxonomy import ALL_INTENTS
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
REFERRAL_FIELDS = (
    ("emergency_number", "number"),
    ("embassy", "name"),
    ("embassy", "hotline"),
    ("labour_department", "name"),
    ("labour_department", "phone"),
)


def _console(request: web.Request) -> Console:
    console: Console = request[SIGNED].console
    return console


def _username(request: web.Request) -> str:
    user = request[SIGNED].user
    assert user is not None
    return user.username


def _store(request: web.Request) -> KBStore:
    return _console(request).kb_store


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
    entries = await _store(request).all()
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
    return render(
        request,
        "content.html",
        rows=rows,
        places=PLACES,
        referrals=referrals,
        state_labels=_labels(),
    )


def _labels() -> dict[str, str]:
    return {
        "missing": _("missing"),
        "draft": _("draft"),
        "published": _("published"),
        "stale": _("stale"),
    }


def _preview(text: str, country: str, lang: str, kb: KnowledgeBase) -> str:
    referral = kb.referrals.get(country) or kb.referrals.get("indonesia")
    return fill_money(fill(text, referral.values() if referral else {}), lang)


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
    store = _store(request)
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
        preview=_preview(str(current.get("text", "")), country, lang, _console(request).kb),
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


def _answer_errors(content: dict[str, Any]) -> dict[str, str]:
    """Problems by the form field they belong to."""
    answer = Answer(content["text"], content["source"], content["reviewed"], content["unverified"])
    errors: dict[str, str] = {}
    for problem in entry_problems(answer):
        if problem == "no source":
            errors["source"] = _("Give the source of this information.")
        elif problem == "no last-reviewed date":
            errors["reviewed"] = _("Give the date it was last checked.")
        elif problem == "empty text":
            errors["text"] = _("The answer is empty.")
        elif "placeholder" in problem:
            errors["text"] = _("A placeholder is broken or unknown: {problem}").format(
                problem=problem
            )
        elif "characters" in problem:
            errors["text"] = _("Too long for a chat message: {problem}").format(problem=problem)
        else:
            errors["text"] = problem
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
    store, by = _store(request), _username(request)
    key = answer_key(topic, country, lang)
    version = _int(form.get("version"))
    console = _console(request)
    try:
        if action == "save":
            content = _answer_form(form)
            errors = _answer_errors(content)
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
            await store.rollback(key, _int(form.get("to")), by, version)
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
    if action in ("publish", "rollback"):
        fresh = await store.knowledge_base()
        if fresh is not None:
            console.kb.replace(fresh)
    raise web.HTTPSeeOther(f"/console/content/answer/{topic}/{country}/{lang}?done={done}")


@requires("content")
async def preview(request: web.Request) -> web.StreamResponse:
    """The message as the chat will show it, with its length against the channels' limits."""
    try:
        body = await request.json()
        text, country, lang = str(body["text"]), str(body["country"]), str(body["lang"])
    except (ValueError, KeyError, TypeError):
        return web.json_response({"error": "send text, country and lang"}, status=400)
    rendered = _preview(text, country, lang, _console(request).kb)
    content = {"text": text, "source": "x", "reviewed": "2000-01-01", "unverified": False}
    return web.json_response(
        {
            "text": rendered,
            "length": len(rendered),
            "limits": {"chat": CHAT_LIMIT, "whatsapp": INTERACTIVE_LIMIT},
            "problem": _answer_errors(content).get("text", ""),
        }
    )


# -- the referral directory ---------------------------------------------------------------


def _referral_place(request: web.Request) -> str:
    country = request.match_info["country"]
    if country not in (*COUNTRIES, "indonesia"):
        raise web.HTTPNotFound(text="no such country")
    return country


async def _referral_page(
    request: web.Request, country: str, *, status: int = 200, errors: dict[str, str] | None = None,
    message: str = "", form: dict[str, str] | None = None,
) -> web.Response:  # fmt: skip
    entry = await _store(request).get(referral_key(country), with_history=True)
    info = entry.draft or entry.published or {}
    values = form or {f"{a}.{b}": str((info.get(a) or {}).get(b, "")) for a, b in REFERRAL_FIELDS}
    if form is None:
        values["partners"] = "\n".join(
            " | ".join(str(p.get(k, "")) for k in ("name", "phone", "url"))
            for p in info.get("partners") or []
        )
    return render(
        request,
        "referral_edit.html",
        status=status,
        country=country,
        entry=entry,
        values=values,
        fields=[f"{a}.{b}" for a, b in REFERRAL_FIELDS],
        errors=errors or {},
        message=message,
        done=request.query.get("done", ""),
    )


@requires("content")
async def edit_referral(request: web.Request) -> web.StreamResponse:
    return await _referral_page(request, _referral_place(request))


@requires("content")
async def referral_action(request: web.Request) -> web.StreamResponse:
    country = _referral_place(request)
    action = request.match_info["action"]
    form = await request.post()
    store, by = _store(request), _username(request)
    key = referral_key(country)
    version = _int(form.get("version"))
    try:
        if action == "save":
            values = {k: str(v).strip() for k, v in form.items() if isinstance(v, str)}
            errors = {
                f: _("This is needed.") for f in ("emergency_number.number", "embassy.name")
                if not values.get(f)
            }  # fmt: skip
            if errors:
                return await _referral_page(
                    request, country, status=422, errors=errors, form=values
                )
            entry = await store.get(key)
            info = json.loads(json.dumps(entry.draft or entry.published or {}))
            for a, b in REFERRAL_FIELDS:
                info.setdefault(a, {})[b] = values.get(f"{a}.{b}", "")
            info["partners"] = _partners(values.get("partners", ""), info.get("partners") or [])
            referral_of(country, info)  # must still read as a referral
            await store.save_draft(key, info, by, version)
        elif action == "publish":
            await store.publish(key, by, version)
        else:
            raise web.HTTPNotFound()
    except StaleVersion as exc:
        return await _referral_page(
            request, country, status=409,
            message=_("{name} saved this meanwhile; reload and apply your change again.").format(
                name=exc.by
            ),
        )  # fmt: skip
    except ReviewRequired:
        return await _referral_page(
            request, country, status=409,
            message=_("A second editor must review and publish this draft, not its author."),
        )  # fmt: skip
    console = _console(request)
    await console.audit.record(by, f"referral_{action}", detail=key, remote=request.remote or "")
    if action == "publish":
        fresh = await store.knowledge_base()
        if fresh is not None:
            console.kb.replace(fresh)
    raise web.HTTPSeeOther(f"/console/content/referral/{country}?done={action}")


def _partners(text: str, old: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """ "name | phone | url" lines; what else was known about a partner is kept."""
    by_name = {str(p.get("name")): p for p in old}
    found = []
    for line in text.splitlines():
        parts = [p.strip() for p in line.split("|")]
        if not parts or not parts[0]:
            continue
        partner = dict(by_name.get(parts[0], {}))
        partner["name"] = parts[0]
        partner["phone"] = parts[1] if len(parts) > 1 else partner.get("phone", "")
        partner["url"] = parts[2] if len(parts) > 2 else partner.get("url", "")
        found.append(partner)
    return found


# -- example phrasings --------------------------------------------------------------------


@requires("content")
async def examples(request: web.Request) -> web.StreamResponse:
    proposals = await _proposals(request)
    return render(
        request,
        "examples.html",
        intents=ALL_INTENTS,
        proposals=proposals,
        done=request.query.get("done", ""),
        error="",
    )


async def _proposals(request: web.Request) -> list[dict[str, Any]]:
    console = _console(request)
    raw = await console.redis.lrange(console.keys.kb("examples"), 0, -1)
    return [json.loads(r) for r in raw]


@requires("content")
async def propose_example(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    intent, lang = str(form.get("intent", "")), str(form.get("lang", ""))
    text = " ".join(str(form.get("text", "")).split())
    if intent not in ALL_INTENTS or lang not in LANGS or not text or len(text) > 300:
        error = _(
            "Choose an intent and a language, and write one message (at most 300 characters)."
        )
        proposals = await _proposals(request)
        return render(
            request,
            "examples.html",
            status=422,
            intents=ALL_INTENTS,
            proposals=proposals,
            done="",
            error=error,
        )
    console = _console(request)
    proposal = {
        "intent": intent,
        "lang": lang,
        "text": text,
        "by": _username(request),
        "at": time.time(),
    }
    await console.redis.rpush(console.keys.kb("examples"), json.dumps(proposal, ensure_ascii=False))
    raise web.HTTPSeeOther("/console/content/examples?done=proposed")


@requires("users")
async def export_examples(request: web.Request) -> web.StreamResponse:
    """Admin: the proposals into nlu/<lang>/proposed.yml, for the next training."""
    console = _console(request)
    written = await write_proposals(console.redis, console.keys.kb("examples"), project_dir())
    await console.audit.record(
        _username(request), "examples_export", detail=str(written), remote=request.remote or ""
    )
    raise web.HTTPSeeOther(f"/console/content/examples?done=exported&n={written}")


async def write_proposals(redis: Any, key: str, root: Path) -> int:
    """Appends proposed examples to nlu/<lang>/proposed.yml (Rasa's format); empties the list."""
    raw = await redis.lrange(key, 0, -1)
    proposals = [json.loads(r) for r in raw]
    for lang in LANGS:
        mine = [p for p in proposals if p["lang"] == lang]
        if not mine:
            continue
        path = root / "nlu" / lang / "proposed.yml"
        data = yaml.safe_load(path.read_text("utf-8")) if path.exists() else None
        data = data or {"version": "3.1", "nlu": []}
        by_intent = {block["intent"]: block for block in data["nlu"]}
        for proposal in mine:
            block = by_intent.setdefault(
                proposal["intent"], {"intent": proposal["intent"], "examples": ""}
            )
            if block not in data["nlu"]:
                data["nlu"].append(block)
            existing = {line[2:] for line in block["examples"].splitlines()}
            if proposal["text"] not in existing:
                block["examples"] += f"- {proposal['text']}\n"
        header = "# Example messages proposed by editors in the console; review before training.\n"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(header + yaml.safe_dump(data, allow_unicode=True, sort_keys=False), "utf-8")
    if proposals:
        await redis.ltrim(key, len(proposals), -1)
    return len(proposals)


def _int(raw: object) -> int:
    try:
        return int(str(raw))
    except ValueError:
        return -1


def routes() -> list[web.RouteDef]:
    answer = "/console/content/answer/{topic}/{country}/{lang}"
    return [
        web.get("/console/content", overview),
        web.get(answer, edit_answer),
        web.post(answer + "/{action}", answer_action),
        web.post("/console/content/preview", preview),
        web.get("/console/content/referral/{country}", edit_referral),
        web.post("/console/content/referral/{country}/{action}", referral_action),
        web.get("/console/content/examples", examples),
        web.post("/console/content/examples", propose_example),
        web.post("/console/content/examples/export", export_examples),
    ]
