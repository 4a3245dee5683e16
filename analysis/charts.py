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
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

__all__ = [
    "PALETTE",
    "event_study_svg",
    "adoption_svg",
    "weekly_lines_svg",
    "stage_bars_svg",
    "histogram_svg",
    "figure_to_svg",
]

# Okabe & Ito (2008): blue, vermilion, bluish green, orange, sky blue, reddish purple, yellow
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#E69F00", "#56B4E9", "#CC79A7", "#F0E442")
INK = "#222222"
MUTED = "#666666"
GRID = "#DDDDDD"

_RC = {
    "svg.fonttype": "none",
    "font.family": "sans-serif",
    "font.sans-serif": ["Helvetica", "Arial", "DejaVu Sans", "Liberation Sans", "sans-serif"],
    # 11 pt on a 5.2 in figure: scaled to a 370 px phone column the labels are still ~10 px
    "font.size": 11,
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
        fig = _new_figure(5.2, 3.6)
        ax = fig.axes[0]
        all_weeks: list[int] = []
        n = len(series)
        handles: list = []
        any_band = False
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
            if {"uniform_ci_low", "uniform_ci_high"} <= set(frame.columns):
                ulo, uhi = (frame[c].to_numpy(dtype=float) for c in ("uniform_ci_low", "uniform_ci_high"))
                if kind == "log":
                    ulo, uhi = (100.0 * np.expm1(v) for v in (ulo, uhi))
                has_band = np.isfinite(ulo) & np.isfinite(uhi)
                if has_band.any():
                    ax.plot(x[has_band], ulo[has_band], color=colour, linewidth=0.9, linestyle=":")
                    ax.plot(x[has_band], uhi[has_band], color=colour, linewidth=0.9, linestyle=":")
                    any_band = True
            ax.fill_between(x, np.where(has_ci, lo, est), np.where(has_ci, hi, est), color=colour, alpha=0.18, linewidth=0)
            ax.plot(x, est, color=colour, linewidth=1.6, marker="o", markersize=4)
            handles.append(Line2D([], [], color=colour, linewidth=1.6, marker="o", markersize=4, label=plain(label)))
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
        ax.set_xlabel("Weeks since AI adoption (week −1 = reference,\nweek 0 = adoption week)")
        ax.set_ylabel(ylabel)
        ax.grid(axis="y", color=GRID, linewidth=0.6)
        ax.set_axisbelow(True)
        # estimators by colour, interval kinds by style: four short entries instead of three per estimator
        handles.append(Patch(facecolor=MUTED, alpha=0.3, linewidth=0, label="shaded: 95% CI of each week"))
        if any_band:
            handles.append(Line2D([], [], color=MUTED, linewidth=1.0, linestyle=":", label="dotted: 95% band, all weeks"))
        ax.legend(handles=handles, loc="lower left", bbox_to_anchor=(0.0, 1.01), fontsize=9, frameon=False, ncol=2,
                  borderaxespad=0.0)
        return figure_to_svg(fig, chart_id=chart_id, description=description)


def adoption_svg(weeks: pd.Series, adopters: pd.Series, developers: int, *, chart_id: str, description: str) -> str:
    """Cumulative adopters by week, as a count, with the share of all developers on the right."""
    with matplotlib.rc_context(_RC):
        fig = _new_figure(5.2, 2.8)
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


def plain(text: object) -> str:
    """``text`` as matplotlib draws it literally: a ``$`` in a team name must not start mathtext.

    Markup needs no care here: the SVG backend writes text as escaped character data, so a
    ``<script>`` in a team name stays text (tests/report checks the chart markup for it).
    """
    return str(text).replace("$", r"\$")


def _date_axis(ax) -> None:
    locator = mdates.AutoDateLocator(minticks=3, maxticks=7)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))


def _unit_formatter(unit: str):
    """Tick labels in the unit of the axis: ``$1,200``, ``12%``, ``3.5``."""
    from matplotlib.ticker import FuncFormatter

    if unit == "usd":
        return FuncFormatter(lambda v, _: plain(f"${v:,.0f}" if abs(v) >= 10 or v == 0 else f"${v:,.2f}"))
    if unit == "percent":
        return FuncFormatter(lambda v, _: f"{v:.0f}%")
    return FuncFormatter(lambda v, _: f"{v:,.0f}" if abs(v) >= 10 or v == 0 else f"{v:,.1f}")


def weekly_lines_svg(
    series: Sequence[tuple[str, Sequence, Sequence]],
    *,
    ylabel: str,
    chart_id: str,
    description: str,
    unit: str = "",
    height: float = 3.0,
) -> str:
    """One line per series (``(label, weeks, values)``) over calendar weeks, legend above the plot.

    Missing values break the line rather than being drawn as zero. ``unit`` is ``usd``, ``percent``
    or empty and decides the tick labels; the y axis starts at zero (these are amounts and rates).
    """
    with matplotlib.rc_context(_RC):
        fig = _new_figure(5.2, height)
        ax = fig.axes[0]
        for i, (label, weeks, values) in enumerate(series):
            x = pd.to_datetime(pd.Series(list(weeks))).to_numpy()
            y = pd.to_numeric(pd.Series(list(values)), errors="coerce").to_numpy(dtype=float)
            style = "-" if i < len(PALETTE) else "--"
            ax.plot(x, y, color=PALETTE[i % len(PALETTE)], linewidth=1.7, linestyle=style, label=plain(label))
        ax.set_ylim(bottom=0)
        ax.set_ylabel(ylabel)
        ax.set_xlabel("Week (Monday, UTC)")
        ax.yaxis.set_major_formatter(_unit_formatter(unit))
        ax.grid(axis="y", color=GRID, linewidth=0.6)
        ax.set_axisbelow(True)
        _date_axis(ax)
        if len(series) > 1:
            # columns only while the names are short: a wider legend would widen the figure and shrink its text
            longest = max(len(str(label)) for label, _, _ in series)
            ncol = 3 if longest <= 12 else 2 if longest <= 20 else 1
            ax.legend(loc="lower left", bbox_to_anchor=(0.0, 1.01), fontsize=9, frameon=False,
                      ncol=min(ncol, len(series)), borderaxespad=0.0)
        return figure_to_svg(fig, chart_id=chart_id, description=description)


def stage_bars_svg(
    rows: Sequence[tuple[str, Sequence[float]]],
    stages: Sequence[str],
    *,
    xlabel: str,
    chart_id: str,
    description: str,
) -> str:
    """Horizontal stacked bars: one bar per row (``(label, hours per stage)``), one colour per stage."""
    with matplotlib.rc_context(_RC):
        fig = _new_figure(5.2, 0.9 + 0.42 * max(len(rows), 1))
        ax = fig.axes[0]
        labels = [plain(label) for label, _ in rows]
        y = np.arange(len(rows))[::-1]
        left = np.zeros(len(rows))
        for j, stage in enumerate(stages):
            widths = np.array([float(v[j]) if v[j] is not None and np.isfinite(v[j]) else 0.0 for _, v in rows])
            ax.barh(y, widths, left=left, color=PALETTE[j % len(PALETTE)], height=0.62, label=plain(stage),
                    edgecolor="white", linewidth=0.6)
            left += widths
        for yi, total in zip(y, left):
            ax.text(total, yi, f" {total:,.0f} h", va="center", ha="left", fontsize=9, color=INK)
        ax.set_yticks(y, labels)
        ax.set_xlim(0, max(left.max() if len(left) else 1.0, 1.0) * 1.15)
        ax.set_xlabel(xlabel)
        ax.grid(axis="x", color=GRID, linewidth=0.6)
        ax.set_axisbelow(True)
        ax.legend(loc="lower left", bbox_to_anchor=(0.0, 1.01), fontsize=9, frameon=False,
                  ncol=2, borderaxespad=0.0)
        return figure_to_svg(fig, chart_id=chart_id, description=description)


def histogram_svg(
    values: Sequence[float],
    *,
    xlabel: str,
    ylabel: str,
    chart_id: str,
    description: str,
    markers: Sequence[tuple[str, float]] = (),
) -> str:
    """Histogram of positive amounts on a log axis (costs span orders of magnitude), with marked quantiles."""
    with matplotlib.rc_context(_RC):
        fig = _new_figure(5.2, 2.8)
        ax = fig.axes[0]
        data = np.asarray([v for v in values if v is not None and np.isfinite(v) and v > 0], dtype=float)
        if len(data):
            lo, hi = data.min(), data.max()
            bins = np.geomspace(lo, hi * 1.0001, 30) if hi > lo else np.array([lo * 0.9, lo * 1.1])
            ax.hist(data, bins=bins, color=PALETTE[0], alpha=0.85, edgecolor="white", linewidth=0.4)
            ax.set_xscale("log")
            ax.xaxis.set_major_formatter(_unit_formatter("usd"))
        for i, (label, value) in enumerate(markers):
            colour = PALETTE[(i + 1) % len(PALETTE)]
            ax.axvline(value, color=colour, linewidth=1.4, linestyle="--", label=plain(f"{label}: ${value:,.2f}"))
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.grid(axis="y", color=GRID, linewidth=0.6)
        ax.set_axisbelow(True)
        if markers:
            ax.legend(loc="upper right", fontsize=9, frameon=False)
        return figure_to_svg(fig, chart_id=chart_id, description=description)
