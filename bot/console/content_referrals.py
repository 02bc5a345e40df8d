"""The referral directory in the editors' section: edited like answers (draft, publish,
history), as form fields plus "name | phone | website" lines for partner organisations."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from bot.console.auth import requires
from bot.console.content import as_int, console_of, store_of, username_of
from bot.console.render import render
from bot.i18n import _
from bot.kb import referral_of
from bot.nlu.countries import COUNTRIES
from bot.store.kb_store import ReviewRequired, StaleVersion, referral_key

REFERRAL_FIELDS = (
    ("emergency_number", "number"),
    ("embassy", "name"),
    ("embassy", "hotline"),
    ("labour_department", "name"),
    ("labour_department", "phone"),
    ("crisis_line", "name"),
    ("crisis_line", "number"),
    ("crisis_line", "hours"),
)


def _referral_place(request: web.Request) -> str:
    country = request.match_info["country"]
    if country not in (*COUNTRIES, "indonesia"):
        raise web.HTTPNotFound(text="no such country")
    return country


async def _referral_page(
    request: web.Request, country: str, *, status: int = 200, errors: dict[str, str] | None = None,
    message: str = "", form: dict[str, str] | None = None,
) -> web.Response:  # fmt: skip
    entry = await store_of(request).get(referral_key(country), with_history=True)
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
    store, by = store_of(request), username_of(request)
    key = referral_key(country)
    version = as_int(form.get("version"))
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
    console = console_of(request)
    await console.audit.record(by, f"referral_{action}", detail=key, remote=request.remote or "")
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
