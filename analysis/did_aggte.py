"""Aggregations of group-time average treatment effects (Callaway & Sant'Anna 2021, section 3).

Every aggregation is a weighted average of ATT(g,t). Where the weights are cohort shares estimated
from the sample, the influence function of the aggregate includes the effect of estimating them
(Callaway & Sant'Anna 2021, appendix on inference for aggregated parameters), so that the analytic
standard errors agree with the R package `did` (`aggte`).

Functions here work on plain arrays and return point estimates with influence functions; turning an
influence function into a standard error (and clustering) is the caller's job.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

KINDS = ("simple", "group", "dynamic", "calendar")


@dataclass(frozen=True)
class CellSet:
    """The estimated ATT(g,t): one entry per cell, and the units' cohorts."""

    att: np.ndarray  # (K,)
    group: np.ndarray  # (K,) first treated period of each cell
    t: np.ndarray  # (K,) period of each cell
    inf: np.ndarray  # (n, K) influence functions
    unit_group: np.ndarray  # (n,) first treated period of each unit, 0 = never treated


@dataclass(frozen=True)
class Piece:
    """One aggregated parameter: estimate and influence function."""

    att: float
    inf: np.ndarray  # (n,)


def _cell_share(cells: CellSet) -> np.ndarray:
    """P(G = g) for the cohort of each cell (share of all units, never treated included)."""
    groups, counts = np.unique(cells.unit_group, return_counts=True)
    share = dict(zip(groups.tolist(), (counts / cells.unit_group.shape[0]).tolist()))
    return np.array([share.get(g, 0.0) for g in cells.group.tolist()])


def _weighted(cells: CellSet, which: np.ndarray, pg: np.ndarray, estimated_weights: bool) -> Piece:
    """sum_k w_k ATT_k over the cells ``which`` with w_k = pg_k / sum(pg), and its influence function.

    With ``estimated_weights`` the influence function includes the term for estimating the cohort
    shares: d/dp of p_k / sum(p) applied to the influence function of each share, 1{G=g_k} - p_k.
    """
    which = np.asarray(which, dtype=int)
    att = cells.att[which]
    p = pg[which]
    total = p.sum()
    w = p / total
    est = float(np.sum(w * att))
    inf = cells.inf[:, which] @ w
    if estimated_weights:
        # indicator of belonging to each cell's cohort minus its share, (n, |which|)
        dev = (cells.unit_group[:, None] == cells.group[which][None, :]).astype(float) - p[None, :]
        wif = dev / total - dev.sum(axis=1)[:, None] * (p / total**2)[None, :]
        inf = inf + wif @ att
    return Piece(att=est, inf=inf)


def _mean_of(pieces: list[Piece]) -> Piece:
    """Equal-weight average of already aggregated parameters (weights are not estimated)."""
    if not pieces:
        return Piece(att=float("nan"), inf=None)  # type: ignore[arg-type]
    att = float(np.mean([p.att for p in pieces]))
    inf = np.mean(np.column_stack([p.inf for p in pieces]), axis=1)
    return Piece(att=att, inf=inf)


def aggregate(cells: CellSet, kind: str, *, min_e: float = -np.inf, max_e: float = np.inf):
    """Return (overall Piece, list of (label, Piece)) for an aggregation ``kind``.

    - ``simple``: average of post-treatment ATT(g,t) (g <= t <= g + max_e) weighted by cohort size.
    - ``group``: per cohort, the average of its post-treatment ATT(g,t); overall = average over
      cohorts weighted by cohort size.
    - ``dynamic``: per event time e = t - g in [min_e, max_e], the cohort-size weighted average of
      ATT(g, g+e); overall = average over e >= 0.
    - ``calendar``: per period t (from the first treatment on), the cohort-size weighted average of
      the post-treatment ATT(g,t); overall = average over those periods.
    """
    if kind not in KINDS:
        raise ValueError(f"aggregation kind must be one of {KINDS}, got {kind!r}")
    pg = _cell_share(cells)
    g, t = cells.group, cells.t
    post = (g <= t) & (t <= g + max_e)
    if kind == "simple":
        keep = np.flatnonzero(post)
        if keep.size == 0:
            return Piece(float("nan"), np.zeros(cells.unit_group.shape[0])), []
        return _weighted(cells, keep, pg, estimated_weights=True), []

    if kind == "group":
        glist = [gg for gg in np.unique(g) if np.any(post & (g == gg))]
        per_group = [
            (gg, _weighted(cells, np.flatnonzero(post & (g == gg)), pg, estimated_weights=False))
            for gg in glist
        ]
        if not per_group:
            return _mean_of([]), []
        # second stage: cohort-size weighted average of the cohort effects, weights estimated
        stage = CellSet(
            att=np.array([p.att for _, p in per_group]),
            group=np.array(glist, dtype=float),
            t=np.array(glist, dtype=float),
            inf=np.column_stack([p.inf for _, p in per_group]),
            unit_group=cells.unit_group,
        )
        overall = _weighted(stage, np.arange(len(glist)), _cell_share(stage), estimated_weights=True)
        return overall, per_group

    if kind == "dynamic":
        e = t - g
        eseq = [ee for ee in np.unique(e) if min_e <= ee <= max_e]
        per_e = [(ee, _weighted(cells, np.flatnonzero(e == ee), pg, estimated_weights=True)) for ee in eseq]
        overall = _mean_of([p for ee, p in per_e if ee >= 0])
        return overall, per_e

    # calendar
    periods = [tt for tt in np.unique(t) if tt >= g.min()]
    per_t = []
    for tt in periods:
        which = np.flatnonzero((t == tt) & (g <= tt))
        if which.size:
            per_t.append((tt, _weighted(cells, which, pg, estimated_weights=True)))
    overall = _mean_of([p for _, p in per_t])
    return overall, per_t
