"""One Jinja2 setup for every server-rendered page: the console's and the web chat's.

Autoescaping is on: everything a worker or an operator typed reaches a page escaped, so
markup in a message is shown as text and never runs.
"""

from __future__ import annotations

import datetime as dt
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, select_autoescape

from bot import i18n

TEMPLATE_DIRS = (
    Path(__file__).parent / "console" / "templates",
    Path(__file__).parent / "channels" / "webchat" / "templates",
)


# The zone the console shows times in (HELPLINE_TIMEZONE; set by the console at start).
_zone: list[dt.tzinfo] = [dt.UTC]


def use_timezone(name: str) -> None:
    _zone[0] = ZoneInfo(name)


def _when(timestamp: float | None) -> str:
    """A moment in the helpline's time zone, with the zone's name ("14:05 WIB")."""
    if not timestamp:
        return ""
    local = dt.datetime.fromtimestamp(float(timestamp), tz=_zone[0])
    return f"{i18n.format_datetime(local)} {local.tzname()}"


def _day(timestamp: float | None) -> str:
    """The day a moment falls on in the helpline's time zone."""
    if not timestamp:
        return ""
    return i18n.format_date(dt.datetime.fromtimestamp(float(timestamp), tz=_zone[0]))


def _iso_day(timestamp: float | None) -> str:
    """The same day as YYYY-MM-DD (for a date field)."""
    if not timestamp:
        return ""
    return dt.datetime.fromtimestamp(float(timestamp), tz=_zone[0]).date().isoformat()


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
    env.filters["day"] = _day
    env.filters["iso_day"] = _iso_day
    env.filters["number"] = i18n.format_number
    return env
