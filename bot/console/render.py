"""Server-rendered console pages: Jinja2 with autoescaping and the Babel catalogs.

Everything a worker or an operator typed reaches the page escaped, so markup in a
message is shown as text and never runs.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from bot import i18n
from bot.console.auth import SIGNED
from bot.templating import environment


def render(request: web.Request, template: str, status: int = 200, **context: Any) -> web.Response:
    page = environment().get_template(template)
    signed = request.get(SIGNED)
    body = page.render(
        request=request,
        user=signed.user if signed else None,
        csrf=signed.csrf if signed else "",
        lang=i18n.current_locale(),
        **context,
    )
    return web.Response(text=body, status=status, content_type="text/html", charset="utf-8")
