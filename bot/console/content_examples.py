"""Example phrasings: editors propose messages for an intent; an admin exports them
into nlu/<lang>/proposed.yml for the next training."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import yaml
from aiohttp import web

from bot.console.auth import requires
from bot.console.content import LANGS, console_of, username_of
from bot.console.render import render
from bot.i18n import _
from bot.nlu.rasa_env import project_dir
from bot.nlu.taxonomy import ALL_INTENTS


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
    console = console_of(request)
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
    console = console_of(request)
    proposal = {
        "intent": intent,
        "lang": lang,
        "text": text,
        "by": username_of(request),
        "at": time.time(),
    }
    await console.redis.rpush(console.keys.kb("examples"), json.dumps(proposal, ensure_ascii=False))
    raise web.HTTPSeeOther("/console/content/examples?done=proposed")


@requires("users")
async def export_examples(request: web.Request) -> web.StreamResponse:
    """Admin: the proposals into nlu/<lang>/proposed.yml, for the next training."""
    console = console_of(request)
    written = await write_proposals(console.redis, console.keys.kb("examples"), project_dir())
    await console.audit.record(
        username_of(request), "examples_export", detail=str(written), remote=request.remote or ""
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
