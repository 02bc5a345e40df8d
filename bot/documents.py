"""Documents for partners. The monthly report: the console's figures for one month,
as Markdown or as a PDF with the charts (`helpline report --month 2026-11`).

It holds counts only, as the console's reports do; the partners' tables (the last
section) are suppressed as the exports are (bot/reports.py).

A referral packet: what an operator chose to share of one case with one partner, made
only once the worker's consent to share with that partner is on the case.
"""

from __future__ import annotations

import io
import textwrap
import time

from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure

from bot import charts
from bot.case_facts import named
from bot.i18n import _
from bot.reports import PRIORITIES, Figures, export_table, spoken_duration


def _sections(data: Figures) -> list[tuple[str, list[list[str]]]]:
    """Each section's title and table (header row first)."""

    def counts(values: dict[str, float]) -> list[list[str]]:
        return [[_("What"), _("Cases")], *[[k, f"{v:,.0f}"] for k, v in values.items()]]

    timing = [[_("Priority"), _("Cases"), _("Claim, median"), _("Claim, 90%"), _("Reply, median")]]
    for priority in PRIORITIES:
        timing.append(
            [
                priority,
                f"{data.total(f'priority:{priority}'):,.0f}",
                spoken_duration(data.percentile("claim", priority, 0.5)),
                spoken_duration(data.percentile("claim", priority, 0.9)),
                spoken_duration(data.percentile("reply", priority, 0.5)),
            ]
        )
    money = [[_("Country"), _("Currency"), _("Owed"), _("Recovered")]]
    money += [
        [r["country"], r["currency"], f"{r['owed']:,.2f}", f"{r['recovered']:,.2f}"]
        for r in data.money_rows()
    ]
    referrals = [[_("Partner"), _("Referrals"), _("Time to an answer, median")]]
    referrals += [
        [r["partner"], str(r["referrals"]), spoken_duration(r["median"])] for r in data.referrals()
    ]
    agencies = [[_("Agency"), _("Cases"), _("Violations recorded")]]
    agencies += [[r["agency"], str(r["cases"]), str(r["violations"])] for r in data.agencies()]
    return [
        (_("Cases by category"), counts(data.by("category"))),
        (_("Cases by country"), counts(data.by("country"))),
        (_("Cases by sector"), counts(named(data.by("sector"), "sector"))),
        (_("Violations recorded"), counts(named(data.by("violation"), "violation"))),
        (_("How fast people answered"), timing),
        (_("Outcomes of closed cases"), counts(named(data.by("outcome"), "outcome"))),
        (_("Referrals per partner"), referrals),
        (_("Money owed and recovered"), money),
        (_("Agency watch"), agencies),
    ]


def _title(data: Figures) -> str:
    return _("Helpline report, {month}").format(month=data.period.start)


def markdown(data: Figures) -> str:
    lines = [
        f"# {_title(data)}",
        "",
        _("{cases} cases opened, {emergencies} of them emergencies.").format(
            cases=f"{data.total('cases'):,.0f}",
            emergencies=f"{data.total('priority:critical'):,.0f}",
        ),
        "",
    ]
    for title, table in _sections(data):
        lines += [f"## {title}", ""]
        if len(table) == 1:
            lines += [_("None this month."), ""]
            continue
        lines.append("| " + " | ".join(table[0]) + " |")
        lines.append("|" + "---|" * len(table[0]))
        lines += ["| " + " | ".join(row) + " |" for row in table[1:]]
        lines.append("")
    shared = export_table(data, "country")
    lines += ["## " + _("For partners: cases by country (suppressed)"), ""]
    lines.append("| month | " + " | ".join(shared.columns) + " | total |")
    lines.append("|" + "---|" * (len(shared.columns) + 2))
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in shared.rows]
    generated = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    lines += ["", _("Made by the helpline on {when}.").format(when=generated), ""]
    return "\n".join(lines)


def _text_page(title: str, table: list[list[str]]) -> Figure:
    figure = Figure(figsize=(8.27, 11.69))  # A4
    figure.text(0.07, 0.95, title, fontsize=14, weight="bold")
    if len(table) == 1:
        figure.text(0.07, 0.9, _("None this month."), fontsize=10)
        return figure
    axes = figure.add_axes((0.07, 0.05, 0.86, 0.85))
    axes.axis("off")
    rows = [[textwrap.shorten(cell, 48) for cell in row] for row in table[1:41]]
    shown = axes.table(cellText=rows, colLabels=table[0], loc="upper left", cellLoc="left")
    shown.auto_set_font_size(False)
    shown.set_fontsize(8)
    return figure


def pdf(data: Figures) -> bytes:
    """The report as a PDF: a cover with the totals, the charts, then each table."""
    out = io.BytesIO()
    with PdfPages(out, metadata={"Title": _title(data), "Creator": "helpline"}) as pages:
        cover = Figure(figsize=(8.27, 11.69))
        cover.text(0.07, 0.92, _title(data), fontsize=18, weight="bold")
        summary = _("{cases} cases opened, {emergencies} of them emergencies.").format(
            cases=f"{data.total('cases'):,.0f}",
            emergencies=f"{data.total('priority:critical'):,.0f}",
        )
        cover.text(0.07, 0.87, summary, fontsize=11)
        cover.text(0.07, 0.84, _("Counts only: no names, numbers or words."), fontsize=9)
        pages.savefig(cover)
        for title, values in (
            (_("Cases by category"), data.by("category")),
            (_("Cases by country"), data.by("country")),
            (_("Cases by sector"), named(data.by("sector"), "sector")),
            (_("Violations recorded"), named(data.by("violation"), "violation")),
        ):
            pages.savefig(charts.bars(title, values))
        for title, table in _sections(data):
            pages.savefig(_text_page(title, table))
    return out.getvalue()


def referral_packet(title: str, sections: list[tuple[str, str]]) -> bytes:
    """A case's referral packet for one partner: a PDF of what the operator chose to
    share, one titled block of text after another (wrapped, on as many A4 pages as it
    takes)."""
    out = io.BytesIO()
    lines: list[tuple[str, bool]] = []
    for heading, text in sections:
        lines.append((heading, True))
        for paragraph in text.splitlines() or [""]:
            lines += [(line, False) for line in textwrap.wrap(paragraph, 95) or [""]]
        lines.append(("", False))
    per_page = 60
    with PdfPages(out, metadata={"Title": title, "Creator": "helpline"}) as pages:
        for start in range(0, max(len(lines), 1), per_page):
            page = Figure(figsize=(8.27, 11.69))
            page.text(0.07, 0.95, title, fontsize=13, weight="bold")
            for i, (line, bold) in enumerate(lines[start : start + per_page]):
                y = 0.91 - i * 0.014
                page.text(0.07, y, line, fontsize=8.5, weight="bold" if bold else "normal")
            pages.savefig(page)
    return out.getvalue()
