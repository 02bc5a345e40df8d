"""The NGO's figures: what the cases add up to, from the counters Redis keeps as cases
change (bot/store/case_index.py) - never by reading every case.

Every figure counts the cases opened in the chosen months, under the chosen filters
(country, sector, channel). Durations (time to claim, to the first human reply, to a
partner's answer) are counted in buckets, so their median and 90th percentile are given
as the bucket's upper edge ("within 5 min").

Exports for partners hold aggregated counts only, and cells under SUPPRESS_BELOW are
suppressed by the rule in ``suppress`` (the README's "Sharing figures with partners").
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from typing import Any

from bot.case_facts import CURRENCIES, OUTCOMES, SECTORS, VIOLATIONS
from bot.nlu.countries import COUNTRIES
from bot.store.case_index import ANY, BUCKETS, OVER, CaseIndex

SUPPRESS_BELOW = 5
SUPPRESSED = f"<{SUPPRESS_BELOW}"
PRIORITIES = ("critical", "high", "normal")
CHANNELS = ("webchat", "telegram", "whatsapp")
_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
# What an export can be broken down by: the counter's prefix, and its known values.
DIMENSIONS: dict[str, tuple[str, ...]] = {
    "category": ("emergency", "complaint", "rights_question", "other"),
    "country": COUNTRIES,
    "sector": tuple(SECTORS),
    "violation": tuple(VIOLATIONS),
    "outcome": (*OUTCOMES, "unrecorded"),
    "channel": CHANNELS,
    "priority": PRIORITIES,
}
MAX_MONTHS = 60


class ReportError(ValueError):
    """A period or filter the reports cannot take."""


def months_between(start: str, end: str) -> list[str]:
    """Every month from ``start`` to ``end`` (YYYY-MM), both included."""
    if not _MONTH.match(start) or not _MONTH.match(end):
        raise ReportError("months are written YYYY-MM")
    year, month = int(start[:4]), int(start[5:])
    last = (int(end[:4]), int(end[5:]))
    found: list[str] = []
    while (year, month) <= last:
        found.append(f"{year:04d}-{month:02d}")
        if len(found) > MAX_MONTHS:
            raise ReportError(f"at most {MAX_MONTHS} months at a time")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    if not found:
        raise ReportError("the period ends before it starts")
    return found


@dataclass(frozen=True)
class Period:
    start: str
    end: str
    country: str = ANY
    sector: str = ANY
    channel: str = ANY

    def __post_init__(self) -> None:
        months_between(self.start, self.end)
        if self.country != ANY and self.country not in COUNTRIES:
            raise ReportError("unknown country")
        if self.sector != ANY and self.sector not in (*SECTORS, "unknown"):
            raise ReportError("unknown sector")
        if self.channel != ANY and self.channel not in CHANNELS:
            raise ReportError("unknown channel")

    @property
    def months(self) -> list[str]:
        return months_between(self.start, self.end)


@dataclass
class Figures:
    """The counters of a period, month by month."""

    period: Period
    per_month: dict[str, dict[str, float]]
    # Money per country, {country: {"owed:HKD": cents, ...}} (the country filter aside).
    money: dict[str, dict[str, float]] = field(default_factory=dict)

    def total(self, name: str) -> float:
        return sum(counts.get(name, 0.0) for counts in self.per_month.values())

    def by(self, prefix: str) -> dict[str, float]:
        """{value: count} of the counters "prefix:value", over the whole period."""
        found: dict[str, float] = {}
        for counts in self.per_month.values():
            for name, value in counts.items():
                head, sep, rest = name.partition(":")
                if sep and head == prefix:
                    found[rest] = found.get(rest, 0.0) + value
        return dict(sorted(found.items(), key=lambda kv: (-kv[1], kv[0])))

    def monthly(self, prefix: str) -> dict[str, list[float]]:
        """{value: [count per month]} of the counters "prefix:value"."""
        values = self.by(prefix)
        return {
            value: [counts.get(f"{prefix}:{value}", 0.0) for counts in self.per_month.values()]
            for value in values
        }

    def durations(self, kind: str, priority: str) -> dict[str, float]:
        """{bucket edge: count} of "claim", "reply" or "referral_time"."""
        return {
            edge: self.total(f"{kind}:{priority}:{edge}")
            for edge in [*(str(b) for b in BUCKETS), OVER]
        }

    def percentile(self, kind: str, priority: str, q: float) -> str | None:
        """The bucket edge under which a share ``q`` of the durations fall, or None."""
        return bucket_percentile(self.durations(kind, priority), q)

    def referrals(self) -> list[dict[str, Any]]:
        """Per partner: referrals, their outcomes, and the median time to an answer."""
        rows: list[dict[str, Any]] = []
        outcomes = self.by("referral_outcome")
        times = self.by("referral_time")
        for partner, count in self.by("referral").items():
            mine = {
                o.split(":", 1)[0]: n for o, n in outcomes.items() if o.split(":", 1)[1] == partner
            }
            spent = {
                t.split(":", 1)[0]: n for t, n in times.items() if t.split(":", 1)[1] == partner
            }
            rows.append(
                {
                    "partner": partner,
                    "referrals": int(count),
                    "outcomes": {k: int(v) for k, v in mine.items()},
                    "median": bucket_percentile(spent, 0.5),
                }
            )
        return rows

    def agencies(self) -> list[dict[str, Any]]:
        """The agency watch: agencies by complaints, then by violations recorded."""
        violations = self.by("agency_violations")
        rows = [
            {"agency": name, "cases": int(n), "violations": int(violations.get(name, 0))}
            for name, n in self.by("agency").items()
        ]
        return sorted(rows, key=lambda r: (-r["cases"], -r["violations"], r["agency"]))

    def ratings(self) -> tuple[dict[str, int], float | None]:
        """How workers rated the help after closing: {score: count} and the average."""
        counts = {str(score): int(self.total(f"rating:{score}")) for score in range(1, 6)}
        answered = sum(counts.values())
        if not answered:
            return counts, None
        return counts, sum(int(s) * n for s, n in counts.items()) / answered

    def money_rows(self) -> list[dict[str, Any]]:
        """Per country and currency: owed and recovered (in units, not cents)."""
        rows: list[dict[str, Any]] = []
        for country, counts in self.money.items():
            currencies = sorted({n.split(":", 1)[1] for n in counts if ":" in n})
            for currency in currencies:
                owed = counts.get(f"owed:{currency}", 0.0) / 100
                recovered = counts.get(f"recovered:{currency}", 0.0) / 100
                rows.append(
                    {"country": country, "currency": currency, "owed": owed, "recovered": recovered}
                )
        return rows


def bucket_percentile(counts: dict[str, float], q: float) -> str | None:
    total = sum(counts.values())
    if total <= 0:
        return None
    running = 0.0
    for edge in [*(str(b) for b in BUCKETS), OVER]:
        running += counts.get(edge, 0.0)
        if running >= q * total:
            return edge
    return OVER


def spoken_duration(edge: str | None) -> str:
    """A bucket edge as people say it: "10 s", "5 min", "2 h", "1 d"."""
    if edge is None:
        return "-"
    if edge == OVER:
        return f"> {spoken_duration(str(BUCKETS[-1]))}"
    seconds = int(edge)
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size} {unit}"
    return f"{seconds} s"


async def figures(index: CaseIndex, period: Period) -> Figures:
    months = period.months
    counts = await index.counters(months, period.country, period.sector, period.channel)
    # Cases whose country nobody knows yet count too ("unknown").
    countries = (*COUNTRIES, "unknown") if period.country == ANY else (period.country,)
    amounts = [f"{what}:{currency}" for what in ("owed", "recovered") for currency in CURRENCIES]
    money = await index.totals(months, countries, amounts, period.sector, period.channel)
    return Figures(period, counts, money)


# -- exports for partners ----------------------------------------------------------------


@dataclass
class Table:
    """Months down, the values of one dimension across, with totals; a cell is a count
    or SUPPRESSED."""

    title: str
    columns: list[str]
    rows: list[list[Any]]  # [month, cell, cell, ..., total]

    def csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["month", *self.columns, "total"])
        writer.writerows(self.rows)
        return out.getvalue()


def export_table(data: Figures, dimension: str) -> Table:
    """The month-by-value table of one dimension, suppressed for sharing. Only the
    dimension's known values are columns (free text - agency or partner names - never
    goes out), and months are the finest time."""
    if dimension not in DIMENSIONS:
        raise ReportError(f"exports are by one of: {', '.join(DIMENSIONS)}")
    values = list(DIMENSIONS[dimension])
    months = list(data.per_month)
    grid = [[int(data.per_month[m].get(f"{dimension}:{v}", 0.0)) for v in values] for m in months]
    # The totals are the sums of the cells (for violations, of which a case may have
    # several, the sum of the counts, not of cases).
    full = [[*row, sum(row)] for row in grid]
    full.append([sum(column) for column in zip(*full, strict=True)] if full else [])
    cells = suppress(full)
    rows = [[month, *cells[i]] for i, month in enumerate([*months, "total"])]
    return Table(f"cases by {dimension}", values, rows)


def suppress(grid: list[list[int]]) -> list[list[Any]]:
    """Suppresses a grid whose last column holds each row's total and whose last row
    each column's total.

    The rule: 1. every cell under SUPPRESS_BELOW (zeros included) is shown as "<5";
    2. in every row and column, totals included, the hidden cells must be at least two
    and together count at least SUPPRESS_BELOW - else the total minus the shown cells
    would give a hidden cell away, or pin it close - so while a line falls short, its
    smallest shown cell is hidden too; repeated until every line holds.
    """
    hidden = [[value < SUPPRESS_BELOW for value in row] for row in grid]
    lines = [[(r, c) for c in range(len(grid[r]))] for r in range(len(grid))]
    lines += [[(r, c) for r in range(len(grid))] for c in range(len(grid[0]) if grid else 0)]
    changed = True
    while changed:
        changed = False
        for line in lines:
            secret = [grid[r][c] for r, c in line if hidden[r][c]]
            shown = [(grid[r][c], r, c) for r, c in line if not hidden[r][c]]
            if secret and shown and (len(secret) == 1 or sum(secret) < SUPPRESS_BELOW):
                _value, r, c = min(shown)
                hidden[r][c] = changed = True
    return [
        [SUPPRESSED if hidden[r][c] else grid[r][c] for c in range(len(grid[r]))]
        for r in range(len(grid))
    ]


def xlsx(tables: list[Table]) -> bytes:
    """The tables as an Excel workbook, one sheet each."""
    import xlsxwriter

    out = io.BytesIO()
    with xlsxwriter.Workbook(out, {"in_memory": True}) as book:
        bold = book.add_format({"bold": True})
        for table in tables:
            sheet = book.add_worksheet(table.title[:31])
            sheet.write_row(0, 0, ["month", *table.columns, "total"], bold)
            for i, row in enumerate(table.rows, start=1):
                sheet.write_row(i, 0, row)
            note = f"Under {SUPPRESS_BELOW}, and cells that would reveal one: {SUPPRESSED}"
            sheet.write(len(table.rows) + 2, 0, note)
    return out.getvalue()
