"""Reports for supervisors and admins: what the cases add up to, with charts drawn by the
helpline itself (bot/charts.py) and every chart's numbers as a table; exports of
aggregated, suppressed counts for partners (CSV and XLSX)."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

from aiohttp import web

from bot.case_facts import dimension_labels, named
from bot.console.auth import SIGNED, requires
from bot.console.labels import labels
from bot.console.render import render
from bot.console.views import PRIORITY_LABELS
from bot.i18n import _
from bot.nlu.countries import COUNTRIES
from bot.reports import (
    CHANNELS,
    DIMENSIONS,
    PRIORITIES,
    Figures,
    Period,
    ReportError,
    export_table,
    figures,
    spoken_duration,
    xlsx,
)
from bot.store.case_index import ANY

if TYPE_CHECKING:
    from bot.console import Console

# Chart name -> how to draw it from the figures.
CHARTS = ("category", "country", "sector", "violation", "outcome", "agencies")


def _console(request: web.Request) -> Console:
    console: Console = request[SIGNED].console
    return console


def _default_months(now: float | None = None) -> tuple[str, str]:
    """The last twelve months, this one included."""
    t = time.gmtime(now)
    end = f"{t.tm_year:04d}-{t.tm_mon:02d}"
    year, month = (t.tm_year - 1, t.tm_mon + 1) if t.tm_mon < 12 else (t.tm_year, 1)
    return f"{year:04d}-{month:02d}", end


def _period(request: web.Request) -> Period:
    start, end = _default_months()
    q = request.query
    try:
        return Period(
            q.get("from") or start,
            q.get("to") or end,
            q.get("country") or ANY,
            q.get("sector") or ANY,
            q.get("channel") or ANY,
        )
    except ReportError as exc:
        raise web.HTTPBadRequest(text=f"report filters: {exc}") from None


def _draw(name: str, data: Figures) -> bytes:
    # matplotlib is loaded with the first chart drawn, not with every bot process (it
    # costs tens of megabytes a process that never draws one would carry).
    from bot import charts

    months = list(data.per_month)
    over_time = {
        "category": _("Cases by category"),
        "country": _("Cases by country"),
        "sector": _("Cases by sector"),
        "violation": _("Violations recorded"),
    }
    if name in over_time:
        return charts.svg(charts.lines(over_time[name], months, _monthly(data, name)))
    if name == "agencies":
        top = {row["agency"]: float(row["cases"]) for row in data.agencies()}
        return charts.svg(charts.bars(_("Agency watch: cases per agency"), top))
    outcomes = named(data.by(name), name)
    return charts.svg(charts.bars(_("Outcomes of closed cases"), outcomes))


def _monthly(data: Figures, prefix: str) -> dict[str, list[float]]:
    """Month by month, each value named as people read it."""
    names = dimension_labels(prefix)
    return {names.get(k, k.replace("_", " ")): v for k, v in data.monthly(prefix).items()}


def _timing(data: Figures) -> list[dict[str, Any]]:
    rows = []
    for priority in PRIORITIES:
        claimed = sum(data.durations("claim", priority).values())
        replied = sum(data.durations("reply", priority).values())
        rows.append(
            {
                "priority": priority,
                "cases": int(data.total(f"priority:{priority}")),
                "claimed": int(claimed),
                "claim_median": spoken_duration(data.percentile("claim", priority, 0.5)),
                "claim_p90": spoken_duration(data.percentile("claim", priority, 0.9)),
                "replied": int(replied),
                "reply_median": spoken_duration(data.percentile("reply", priority, 0.5)),
                "reply_p90": spoken_duration(data.percentile("reply", priority, 0.9)),
            }
        )
    return rows


@requires("supervise")
async def reports_page(request: web.Request) -> web.StreamResponse:
    console, period = _console(request), _period(request)
    data = await figures(console.casework.services.cases.index, period)
    waiting = await console.helpline.queue_watch.past_limit()
    ratings, rating_average = data.ratings()
    query = request.query_string
    return render(
        request,
        "reports.html",
        period=period,
        data=data,
        months=list(data.per_month),
        charts=CHARTS,
        query=query,
        timing=_timing(data),
        past_limit=waiting,
        referrals=[{**row, "median": spoken_duration(row["median"])} for row in data.referrals()],
        categories=data.monthly("category"),
        countries_monthly=data.monthly("country"),
        sectors=_monthly(data, "sector"),
        violations=_monthly(data, "violation"),
        outcomes=named(data.by("outcome"), "outcome"),
        agencies=data.agencies(),
        money=data.money_rows(),
        ratings=ratings,
        rating_average=rating_average,
        countries=COUNTRIES,
        sector_names=dimension_labels("sector"),
        channels=CHANNELS,
        dimensions=DIMENSIONS,
        priority_labels={k: _(v) for k, v in PRIORITY_LABELS.items()},
        **labels(),
    )


@requires("supervise")
async def chart(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    if name not in CHARTS:
        raise web.HTTPNotFound()
    console, period = _console(request), _period(request)
    data = await figures(console.casework.services.cases.index, period)
    # Drawing takes tens of milliseconds of CPU: not on the event loop.
    body = await asyncio.get_running_loop().run_in_executor(None, _draw, name, data)
    return web.Response(body=body, content_type="image/svg+xml")


@requires("supervise")
async def export(request: web.Request) -> web.StreamResponse:
    """Aggregated, suppressed counts for partners: CSV of one dimension, or XLSX of all."""
    console, period = _console(request), _period(request)
    user = request[SIGNED].user
    assert user is not None, "guarded by @requires"
    kind = request.match_info["format"]
    data = await figures(console.casework.services.cases.index, period)
    stamp = f"{period.start}_{period.end}"
    if kind == "csv":
        dimension = request.query.get("by", "category")
        try:
            table = export_table(data, dimension)
        except ReportError as exc:
            raise web.HTTPBadRequest(text=str(exc)) from None
        body, content_type = table.csv().encode(), "text/csv"
        name = f"helpline-{dimension}-{stamp}.csv"
    elif kind == "xlsx":
        tables = [export_table(data, d) for d in DIMENSIONS]
        body = await asyncio.get_running_loop().run_in_executor(None, xlsx, tables)
        content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        name = f"helpline-figures-{stamp}.xlsx"
    else:
        raise web.HTTPNotFound()
    detail = f"{kind} {request.query.get('by', 'all')} {period}"
    await console.audit.record(user.username, "export", "", detail[:300], request.remote or "")
    return web.Response(
        body=body,
        content_type=content_type,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def routes() -> list[web.RouteDef]:
    return [
        web.get("/console/reports", reports_page),
        web.get("/console/reports/chart/{name}.svg", chart),
        web.get("/console/reports/export.{format}", export),
    ]
