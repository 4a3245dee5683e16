"""Multiplier bootstrap for estimators with influence functions: bootstrap errors and uniform bands.

Why: an event study shows many effects at once (one per week since adoption), and a reader looks
for the weeks whose interval excludes zero. Pointwise 95% intervals miss the truth somewhere in the
window far more often than 5% of the time; a simultaneous (uniform) band covers every point of the
window at once with probability 95%. Its critical value comes from the distribution of the largest
studentised deviation over the window, which the multiplier bootstrap gives cheaply: no estimator
is re-run, the influence functions are only reweighted.

Procedure (Callaway & Sant'Anna 2021, section 4; the R package `did`, ``mboot``):

1. Sum the influence functions within clusters (units by default): psi_c, c = 1..C.
2. For b = 1..B draw i.i.d. weights v_bc with mean 0 and variance 1 (Rademacher: +-1 with
   probability 1/2; or Mammen's two-point weights) and form the bootstrap deviation
   d_b = sum_c v_bc psi_c / n, whose variance given the data is the analytic variance.
3. Standard error of each element: the interquartile range of d_.k over B divided by
   (z_0.75 - z_0.25), robust to the occasional extreme draw (as R does). Where a few clusters
   dominate an element (a small cohort), the bootstrap distribution is not normal and this differs
   from the analytic error by a few percent even for very large B (mpdta: up to 7% for the event
   times that only the 20-county 2004 cohort reaches); ``sd`` keeps the plain standard deviation.
4. Uniform critical value: the (1 - alpha) quantile over b of max_k |d_bk| / se_k. Bands are
   estimate +- crit * se; the pointwise alternative uses z_{1-alpha/2}.

Draws come from ``numpy.random.default_rng(seed)``: the same seed gives the same bands.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

__all__ = ["Bootstrap", "multiplier_bootstrap", "BOOTSTRAP_WEIGHTS"]

BOOTSTRAP_WEIGHTS = ("rademacher", "mammen")
_IQR_NORMAL = stats.norm.ppf(0.75) - stats.norm.ppf(0.25)


@dataclass(frozen=True)
class Bootstrap:
    """Bootstrap inference for K estimates: standard errors, critical value and bands."""

    estimate: np.ndarray  # (K,)
    se: np.ndarray  # (K,) bootstrap standard errors (NaN where the element has no variation)
    sd: np.ndarray  # (K,) plain standard deviation of the draws (-> analytic se as B grows)
    crit_val: float  # uniform (cband) or pointwise critical value
    ci_low: np.ndarray  # (K,)
    ci_high: np.ndarray  # (K,)
    biters: int
    weights: str
    uniform: bool


def _draw(rng: np.random.Generator, shape: tuple[int, int], weights: str) -> np.ndarray:
    if weights == "rademacher":
        return rng.integers(0, 2, size=shape).astype(float) * 2.0 - 1.0
    # Mammen (1993): mean 0, variance 1, third moment 1
    s5 = np.sqrt(5.0)
    low, high = -(s5 - 1) / 2, (s5 + 1) / 2
    p_low = (s5 + 1) / (2 * s5)
    return np.where(rng.random(shape) < p_low, low, high)


def multiplier_bootstrap(
    estimate: np.ndarray,
    influence: np.ndarray,
    cluster_codes: np.ndarray | None = None,
    n_clusters: int | None = None,
    *,
    biters: int = 999,
    seed: int | None = None,
    alpha: float = 0.05,
    cband: bool = True,
    weights: str = "rademacher",
    chunk: int = 250,
) -> Bootstrap:
    """Bootstrap standard errors and (uniform) bands for ``estimate`` from its influence functions.

    ``influence`` is (n_units, K) with estimate - truth ~= influence.mean(axis=0); ``cluster_codes``
    (n_units,) in 0..n_clusters-1 groups units into clusters (default: each unit its own).
    """
    estimate = np.atleast_1d(np.asarray(estimate, dtype=float))
    influence = np.asarray(influence, dtype=float)
    if influence.ndim != 2 or influence.shape[1] != estimate.size:
        raise ValueError(f"influence must be (n, {estimate.size}), got shape {influence.shape}")
    if weights not in BOOTSTRAP_WEIGHTS:
        raise ValueError(f"bootstrap weights must be one of {BOOTSTRAP_WEIGHTS}, got {weights!r}")
    if int(biters) < 100:
        raise ValueError(f"biters must be at least 100 for a usable 95% quantile, got {biters!r}")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha!r}")
    n = influence.shape[0]
    if cluster_codes is None:
        psi = influence
    else:
        codes = np.asarray(cluster_codes, dtype=int)
        psi = np.zeros((int(n_clusters if n_clusters is not None else codes.max() + 1), influence.shape[1]))
        np.add.at(psi, codes, influence)
    rng = np.random.default_rng(seed)
    draws = np.empty((int(biters), estimate.size))
    for start in range(0, int(biters), chunk):  # bounded memory for many clusters
        stop = min(int(biters), start + chunk)
        draws[start:stop] = _draw(rng, (stop - start, psi.shape[0]), weights) @ psi / n
    q75, q25 = np.quantile(draws, [0.75, 0.25], axis=0)
    se = (q75 - q25) / _IQR_NORMAL
    ok = se > np.sqrt(np.finfo(float).eps) * np.maximum(1.0, np.abs(estimate)) * 1e-3
    se = np.where(ok, se, np.nan)
    if cband and ok.any():
        tmax = np.max(np.abs(draws[:, ok]) / se[ok], axis=1)
        crit = float(np.quantile(tmax, 1.0 - alpha, method="inverted_cdf"))
    else:
        crit = float(stats.norm.ppf(1.0 - alpha / 2.0))
    return Bootstrap(
        estimate=estimate, se=se, sd=draws.std(axis=0, ddof=1), crit_val=crit, ci_low=estimate - crit * se, ci_high=estimate + crit * se,
        biters=int(biters), weights=weights, uniform=bool(cband),
    )
