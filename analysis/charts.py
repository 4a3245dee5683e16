"""Charts of the report as inline SVG strings (matplotlib, no pyplot, no display, no network).

Figures are built with the object-oriented API (``matplotlib.figure.Figure``) and rendered by the
non-interactive SVG canvas, so nothing touches the global pyplot state or needs a display. Text stays
text (``svg.fonttype = none``): small files, selectable labels, crisp print.
Colours: Okabe-Ito, safe for the common colour-vision deficiencies.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence

import matplotlib
import matplotlib.dates as mdates
import numpy as np
import pandas as pd
from markupsafe import escape
from matplotlib.figure import Figure

__all__ = ["PALETTE", "event_study_svg", "adoption_svg", "figure_to_svg"]

# Okabe & Ito (2008): blue, vermilion, bluish green, orange, sky blue, reddish purple, yellow
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#E69F00", "#56B4E9", "#CC79A7", "#F0E442")
INK = "#222222"
MUTED = "#666666"
GRID = "#DDDDDD"

_RC = {
    "svg.fonttype": "none",
    "font.family": "sans-serif",
    "font.sans-serif": ["Helvetica", "Arial", "DejaVu Sans", "Liberation Sans", "sans-serif"],
    "font.size": 10,
    "axes.edgecolor": MUTED,
    "axes.labelcolor": INK,
    "xtick.color": MUTED,
    "ytick.color": MUTED,
    "axes.spines.top": False,
    "axes.spines.right": False,
}


def figure_to_svg(fig: Figure, *, chart_id: str, description: str) -> str:
    """Inline ``<svg>`` markup of ``fig``: no XML prolog, no metadata, ids unique to ``chart_id``."""
    buf = io.StringIO()
    with matplotlib.rc_context({"svg.hashsalt": chart_id, "svg.fonttype": "none"}):
        fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None, "Creator": None})
    svg = buf.getvalue()
    svg = svg[svg.index("<svg") :]
    # the metadata block (RDF with namespace URLs) says nothing a reader needs
    svg = re.sub(r"<metadata>.*?</metadata>\s*", "", svg, flags=re.S)
    # several charts share one HTML document: make every id (and reference to one) unique to the chart
    svg = re.sub(r'\bid="([^"]+)"', lambda m: f'id="{chart_id}-{m.group(1)}"', svg)
    svg = re.sub(r'(xlink:href|href)="#([^"]+)"', lambda m: f'{m.group(1)}="#{chart_id}-{m.group(2)}"', svg)
    svg = re.sub(r"url\(#([^)]+)\)", lambda m: f"url(#{chart_id}-{m.group(1)})", svg)
    root_end = svg.index(">")
    # drop the fixed pt size so CSS can scale the chart (the viewBox keeps its proportions)
    root = re.sub(r'\s(?:width|height)="[^"]*"', "", svg[:root_end])
    label = escape(description)
    root += f' role="img" aria-label="{label}" class="chart-svg" id="{escape(chart_id)}"'
    return f"{root}><title>{label}</title>{svg[root_end + 1:]}"


def _new_figure(width: float, height: float) -> Figure:
    with matplotlib.rc_context(_RC):
        fig = Figure(figsize=(width, height), dpi=100)
        fig.add_subplot(1, 1, 1)
    return fig


def event_study_svg(
    series: Sequence[tuple[str, pd.DataFrame]],
    *,
    kind: str,
    ylabel: str,
    chart_id: str,
    description: str,
    window: tuple[int, int] | None = None,
) -> str:
    """Event-study chart: estimate by week relative to adoption, 95% CI as a band, zero line.

    ``series`` is ``[(label, frame)]`` with columns ``relative_week, estimate, ci_low, ci_high``;
    for ``kind == "log"`` values are log points and are drawn as percent changes, ``exp(b) - 1``.
    The pre-adoption weeks are shaded; the reference week (-1) is drawn hollow at zero.
    """
    with matplotlib.rc_context(_RC):
        fig = _new_figure(7.2, 3.6)
        ax = fig.axes[0]
        all_weeks: list[int] = []
        n = len(series)
        for i, (label, frame) in enumerate(series):
            frame = frame.sort_values("relative_week")
            weeks = frame["relative_week"].to_numpy(dtype=float)
            est, lo, hi = (frame[c].to_numpy(dtype=float) for c in ("estimate", "ci_low", "ci_high"))
            if kind == "log":
                est, lo, hi = (100.0 * np.expm1(v) for v in (est, lo, hi))
            colour = PALETTE[i % len(PALETTE)]
            offset = (i - (n - 1) / 2) * 0.18 if n > 1 else 0.0
            x = weeks + offset
            has_ci = np.isfinite(lo) & np.isfinite(hi)
            ax.fill_between(x, np.where(has_ci, lo, est), np.where(has_ci, hi, est), color=colour, alpha=0.18, linewidth=0, label=f"{label}: 95% confidence interval")
            ax.plot(x, est, color=colour, linewidth=1.6, marker="o", markersize=4, label=f"{label}: estimate")
            ref = ~has_ci & np.isfinite(est)
            if ref.any():
                ax.plot(x[ref], est[ref], linestyle="none", marker="o", markersize=6, markerfacecolor="white", markeredgecolor=colour, zorder=3)
            all_weeks.extend(int(w) for w in weeks)
        if not all_weeks:
            all_weeks = [-8, 12]
        lo_w, hi_w = (window if window else (min(all_weeks), max(all_weeks)))
        ax.axvspan(lo_w - 0.5, -0.5, color="#000000", alpha=0.05, linewidth=0)
        ax.axhline(0.0, color=INK, linewidth=0.9)
        ax.axvline(-0.5, color=MUTED, linewidth=0.9, linestyle="--")
        ymin, ymax = ax.get_ylim()
        ax.text(-0.8, ymax, "before adoption", ha="right", va="top", color=MUTED, fontsize=9)
        ax.text(-0.2, ymax, "after adoption", ha="left", va="top", color=MUTED, fontsize=9)
        ticks = [w for w in range(lo_w, hi_w + 1) if w % 2 == 0 or w in (lo_w, hi_w, -1)]
        labels = [
            ("≤" if w == lo_w else "≥" if w == hi_w else "") + str(w).replace("-", "\u2212") for w in ticks
        ]
        ax.set_xticks(ticks, labels)
        ax.set_xlim(lo_w - 0.7, hi_w + 0.7)
        ax.set_xlabel("Weeks since AI adoption (week −1 is the reference; week 0 is the adoption week)")
        ax.set_ylabel(ylabel)
        ax.grid(axis="y", color=GRID, linewidth=0.6)
        ax.set_axisbelow(True)
        ax.legend(loc="lower left", bbox_to_anchor=(0.0, 1.01), fontsize=8, frameon=False, ncol=2, borderaxespad=0.0)
        return figure_to_svg(fig, chart_id=chart_id, description=description)


def adoption_svg(weeks: pd.Series, adopters: pd.Series, developers: int, *, chart_id: str, description: str) -> str:
    """Cumulative adopters by week, as a count, with the share of all developers on the right."""
    with matplotlib.rc_context(_RC):
        fig = _new_figure(7.2, 2.6)
        ax = fig.axes[0]
        x = pd.to_datetime(weeks).to_numpy()
        y = adopters.to_numpy(dtype=float)
        ax.step(x, y, where="post", color=PALETTE[0], linewidth=1.8)
        ax.fill_between(x, 0, y, step="post", color=PALETTE[0], alpha=0.12, linewidth=0)
        ax.set_ylim(0, max(developers, 1) * 1.02)
        ax.set_ylabel("Developers who adopted AI\n(cumulative count)")
        ax.set_xlabel("Week (Monday, UTC)")
        ax.grid(axis="y", color=GRID, linewidth=0.6)
        ax.set_axisbelow(True)
        if developers > 0:
            share = ax.secondary_yaxis("right", functions=(lambda v: 100.0 * v / developers, lambda p: p * developers / 100.0))
            share.set_ylabel("% of developers")
        locator = mdates.AutoDateLocator(minticks=4, maxticks=10)
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
        return figure_to_svg(fig, chart_id=chart_id, description=description)
