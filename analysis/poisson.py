"""Poisson regression with unit and period fixed effects for count outcomes (merged PRs per week).

Why a Poisson model beside the linear one: a count's effect is naturally multiplicative (adopters
merge 15% more PRs), and a Poisson pseudo-likelihood estimates exp(b) - 1 consistently whatever
the count's real distribution (only the mean has to be right: Wooldridge 1999, Santos Silva &
Tenreyro 2006), while a linear model in levels mixes busy and quiet developers' scales. The
effect is reported as a percent change and, at the adopters' pre-adoption mean, in PRs per week.

Model: E[y_it] = exp(a_i + d_t + b * post_it), post_it = 1[unit i adopted by period t].
The unit effects a_i are concentrated out (for given b and d they have the closed form
a_i = log(sum_t y_it / sum_t exp(d_t + b post_it))), which makes the fit as cheap as a regression
on the period dummies and equal to the GLM with a dummy per unit (the tests check it against
statsmodels' GLM Poisson with unit and period dummies). Units whose count is zero in every period
carry no information and are dropped, as every fixed-effects Poisson does.

Inference: clustered by unit, by the cluster jackknife (CR3, one Newton step per left-out unit;
see :func:`_jackknife_se`), with H = sum mu (x - xbar_i)(x - xbar_i)' and s_i the unit's score;
t(G - 1) intervals, as the linear estimators here use.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy import stats

__all__ = ["PoissonFit", "poisson_did", "POISSON"]

POISSON = "poisson_glm"


@dataclass(frozen=True)
class PoissonFit:
    """The adoption effect on a count: log rate ratio b and its natural-unit forms."""

    coef: float  # b: log of the rate ratio
    se: float  # cluster-robust standard error of b
    ci_low: float  # of b
    ci_high: float
    p_value: float
    n_units: int  # units with a non-zero count somewhere (the rest carry no information)
    n_treated_units: int
    n_obs: int
    iterations: int

    @property
    def rate_ratio(self) -> float:
        return float(np.exp(self.coef))

    def pct(self) -> tuple[float, float, float]:
        """Percent change of the count: 100 (exp(b) - 1), with the interval mapped through."""
        return tuple(100.0 * float(np.expm1(v)) for v in (self.coef, self.ci_low, self.ci_high))  # type: ignore[return-value]


def poisson_did(
    data: pd.DataFrame, *, y: str, unit: str, time: str, group: str, alpha: float = 0.05,
    tol: float = 1e-10, max_iter: int = 100,
) -> PoissonFit:
    """Fixed-effects Poisson DiD: coefficient on ``post = 1[group > 0 and time >= group]``.

    ``group`` is the first treated period (0 or missing for never treated), in the units of ``time``.
    Rows with a missing ``y`` are dropped; ``y`` must be a non-negative count.
    """
    missing = [c for c in (y, unit, time, group) if c not in data.columns]
    if missing:
        raise KeyError(f"columns not in the data: {missing}")
    frame = data.loc[data[y].notna(), [y, unit, time, group]]
    yv = pd.to_numeric(frame[y], errors="raise").to_numpy(dtype=float)
    if (yv < 0).any():
        raise ValueError(f"poisson_did: {y!r} has negative values; it must be a count")
    g = pd.to_numeric(frame[group], errors="raise").fillna(0.0).to_numpy(dtype=float)
    tv = pd.to_numeric(frame[time], errors="raise").to_numpy(dtype=float)
    ucode, _ = pd.factorize(frame[unit], sort=False)
    totals = np.bincount(ucode, weights=yv)
    keep = totals[ucode] > 0
    yv, g, tv, ucode = yv[keep], g[keep], tv[keep], ucode[keep]
    ucode, _ = pd.factorize(ucode, sort=False)
    n, n_units = yv.size, int(ucode.max()) + 1 if yv.size else 0
    post = ((g > 0) & (tv >= g)).astype(float)
    if n_units < 2 or not post.any() or post.all():
        raise ValueError(f"poisson_did: {y!r} has no variation in adoption to estimate an effect from")
    tcode, _ = pd.factorize(tv, sort=True)
    dummies = sp.csr_matrix((np.ones(n), (np.arange(n), tcode)), shape=(n, int(tcode.max()) + 1))[:, 1:].toarray()
    x = np.column_stack([post, dummies])
    inc = sp.csr_matrix((np.ones(n), (ucode, np.arange(n))), shape=(n_units, n))
    sy = np.asarray(inc @ yv).ravel()

    b = np.zeros(x.shape[1])
    b[0] = 0.0
    for iteration in range(1, max_iter + 1):
        eta = x @ b
        eta -= eta.max()
        m = np.exp(eta)
        mu = m * (sy / np.asarray(inc @ m).ravel())[ucode]  # unit effects at their optimum
        smu = np.asarray(inc @ mu).ravel()
        xbar = np.asarray(inc @ (mu[:, None] * x)) / smu[:, None]
        xc = x - xbar[ucode]
        score = xc.T @ (yv - mu)
        hess = (xc * mu[:, None]).T @ xc
        step = np.linalg.lstsq(hess, score, rcond=None)[0]
        # halve the step while the concentrated log-likelihood would fall (rarely needed)
        ll0 = _concentrated_ll(x @ b, yv, inc, sy)
        for _ in range(30):
            if _concentrated_ll(x @ (b + step), yv, inc, sy) >= ll0 - 1e-12:
                break
            step = step / 2
        b = b + step
        if np.max(np.abs(step)) < tol:
            break
    else:
        raise ValueError(f"poisson_did: the fit for {y!r} did not converge in {max_iter} iterations")

    eta = x @ b
    m = np.exp(eta - eta.max())
    mu = m * (sy / np.asarray(inc @ m).ravel())[ucode]
    smu = np.asarray(inc @ mu).ravel()
    xbar = np.asarray(inc @ (mu[:, None] * x)) / smu[:, None]
    xc = x - xbar[ucode]
    hess = (xc * mu[:, None]).T @ xc
    scores = np.asarray(inc @ (xc * (yv - mu)[:, None]))
    se = _jackknife_se(hess, scores, xc, mu, ucode, n_units)
    df = n_units - 1
    crit = stats.t.ppf(1 - alpha / 2, df)
    coef = float(b[0])
    treated_units = np.unique(ucode[g > 0]).size
    return PoissonFit(
        coef=coef, se=se, ci_low=float(coef - crit * se), ci_high=float(coef + crit * se),
        p_value=float(2 * stats.t.sf(abs(coef / se), df)), n_units=n_units,
        n_treated_units=int(treated_units), n_obs=int(n), iterations=iteration,
    )


def _jackknife_se(hess: np.ndarray, scores: np.ndarray, xc: np.ndarray, mu: np.ndarray,
                  ucode: np.ndarray, n_units: int) -> float:
    """Cluster jackknife (CR3) standard error of b from one Newton step per left-out unit.

    Why not the plain sandwich: with ~30 developers the CR1 sandwich of a Poisson fit under-covers
    (the sandbox Monte Carlo: 91.5% coverage, 8.5% false positives at 30 developers), because the
    busiest developers dominate the weighted score and so there are effectively fewer clusters.
    Leaving out unit g changes b by about (H - H_g)^-1 s_g (its fixed effect leaves with it); the
    variance (G-1)/G sum_g d_g d_g' of those changes is the CR3 jackknife (MacKinnon, Nielsen & Webb
    2023), which keeps its level with few clusters and equals CR1 asymptotically.
    """
    order = np.argsort(ucode, kind="stable")
    bounds = np.searchsorted(ucode[order], np.arange(n_units + 1))
    deltas = np.empty_like(scores)
    for g in range(n_units):
        rows = order[bounds[g]:bounds[g + 1]]
        xg = xc[rows]
        h_g = (xg * mu[rows, None]).T @ xg
        deltas[g] = np.linalg.lstsq(hess - h_g, scores[g], rcond=None)[0]
    centred = deltas - deltas.mean(axis=0)
    var = (n_units - 1.0) / n_units * float(centred[:, 0] @ centred[:, 0])
    return float(np.sqrt(var))


def _concentrated_ll(eta: np.ndarray, y: np.ndarray, inc, sy: np.ndarray) -> float:
    """Poisson log-likelihood with the unit effects at their optimum (up to constants)."""
    shift = eta.max()
    se = np.asarray(inc @ np.exp(eta - shift)).ravel()
    return float(y @ eta - sy @ (np.log(se) + shift))
