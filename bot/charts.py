"""Charts of the reports, drawn by matplotlib on the server: SVG for the console (served
by the helpline itself, so its strict CSP stays as it is) and pages of the monthly PDF.

Built on matplotlib's object API (Figure, not pyplot): no global state, safe to draw in
a worker thread.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence

from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

# Colours that stay apart for the colour-blind (Okabe and Ito's palette).
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")
WIDTH, HEIGHT = 7.5, 3.2


def _figure(height: float = HEIGHT) -> Figure:
    figure = Figure(figsize=(WIDTH, height), layout="constrained")
    figure.patch.set_alpha(0)
    return figure


def lines(title: str, months: Sequence[str], series: Mapping[str, Sequence[float]]) -> Figure:
    """One line per value over the months (at most eight: the rest summed as "other")."""
    figure = _figure()
    axes = figure.add_subplot()
    shown = dict(list(series.items())[:7])
    rest = list(series.values())[7:]
    if rest:
        shown["other"] = [sum(values) for values in zip(*rest, strict=True)]
    for colour, (name, values) in zip(PALETTE, shown.items(), strict=False):
        axes.plot(list(months), list(values), marker="o", label=name, color=colour)
    axes.set_title(title, loc="left", fontsize=11)
    axes.set_ylim(bottom=0)
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.spines[["top", "right"]].set_visible(False)
    if shown:
        axes.legend(fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1, 1))
    else:
        axes.text(0.5, 0.5, "no cases", ha="center", va="center", transform=axes.transAxes)
    axes.tick_params(axis="x", labelrotation=45, labelsize=8)
    return figure


def bars(title: str, values: dict[str, float], *, unit: str = "") -> Figure:
    """Horizontal bars, largest on top (the twelve largest)."""
    top = list(values.items())[:12]
    figure = _figure(max(1.6, 0.35 * len(top) + 0.9))
    axes = figure.add_subplot()
    names = [name for name, _value in reversed(top)]
    counts = [value for _name, value in reversed(top)]
    axes.barh(names, counts, color=PALETTE[0])
    for y, count in enumerate(counts):
        axes.text(count, y, f" {count:,.0f}{unit}", va="center", fontsize=8)
    axes.set_title(title, loc="left", fontsize=11)
    axes.spines[["top", "right"]].set_visible(False)
    axes.tick_params(axis="y", labelsize=8)
    if not top:
        axes.text(0.5, 0.5, "no cases", ha="center", va="center", transform=axes.transAxes)
    return figure


def svg(figure: Figure) -> bytes:
    out = io.BytesIO()
    figure.savefig(out, format="svg", metadata={"Date": None})
    return out.getvalue()
