"""One Jinja2 setup for every server-rendered page: the console's and the web chat's.

Autoescaping is on: everything a worker or an operator typed reaches a page escaped, so
markup in a message is shown as text and never runs.
"""

from __future__ import annotations

import datetime as dt
from functools import cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from bot import i18n

TEMPLATE_DIRS = (
    Path(__file__).parent / "console" / "templates",
    Path(__file__).parent / "channels" / "webchat" / "templates",
)


def _when(timestamp: float | None) -> str:
    if not timestamp:
        return ""
    return i18n.format_datetime(dt.datetime.fromtimestamp(float(timestamp), tz=dt.UTC))


def _ago(timestamp: float | None) -> str:
    if not timestamp:
        return ""
    seconds = max(0, int(dt.datetime.now(tz=dt.UTC).timestamp() - float(timestamp)))
    if seconds < 60:
        return i18n.ngettext("%(num)d second", "%(num)d seconds", seconds) % {"num": seconds}
    minutes = seconds // 60
    if minutes < 120:
        return i18n.ngettext("%(num)d minute", "%(num)d minutes", minutes) % {"num": minutes}
    hours = minutes // 60
    return i18n.ngettext("%(num)d hour", "%(num)d hours", hours) % {"num": hours}


@cache
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader([str(d) for d in TEMPLATE_DIRS]),
        autoescape=select_autoescape(["html"]),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=lambda message: i18n._(message),
        ngettext=lambda singular, plural, n: i18n.ngettext(singular, plural, n),
        newstyle=True,
    )
    env.filters["when"] = _when
    env.filters["ago"] = _ago
    env.filters["number"] = i18n.format_number
    return env
