"""Two-group, two-period difference-in-differences estimators for panel data.

These are the building blocks of :func:`analysis.did.att_gt`: each ATT(g,t) is one 2x2 comparison of
the units first treated in ``g`` with a comparison group, between a base period and period ``t``.
All three estimators work on the change in the outcome ``dy = y_t - y_base`` of every unit in the
comparison, a 0/1 treatment indicator ``d`` and a covariate matrix ``x`` whose first column is the
intercept (covariates are measured in the base period).

- ``reg``: outcome regression DiD (Heckman, Ichimura & Todd 1997; Sant'Anna & Zhao 2020, eq. 2.2):
  regress ``dy`` on ``x`` among the comparison units and compare the treated units' mean change with
  their predicted change.
- ``ipw``: normalised (Hajek) inverse probability weighting DiD (Abadie 2005; Sant'Anna & Zhao 2020,
  eq. 2.4) with a logit propensity score.
- ``dr``: the locally efficient doubly robust DiD for panel data of Sant'Anna & Zhao (2020, eq. 3.1):
  propensity score by logit maximum likelihood, outcome regression by OLS on the comparison units.

Each returns the point estimate and its influence function, one value per unit, normalised so that
``var(att) ~= mean(inf ** 2) / n``. The influence functions include the estimation effect of the
propensity-score and regression coefficients (Sant'Anna & Zhao 2020, section 3.2 and appendix).
Without covariates (``x`` is the intercept only) all three give the difference between the mean change
of the treated and the mean change of the comparison units, with the same influence function.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import statsmodels.api as sm

METHODS = ("dr", "reg", "ipw")

# Propensity scores are capped just below one, as in the reference implementation (R `DRDID`).
_PS_CAP = 1.0 - 1e-16


class CellError(ValueError):
    """A 2x2 comparison that cannot be estimated (too few units, collinear covariates, ...)."""


@dataclass(frozen=True)
class TwoByTwo:
    att: float
    inf: np.ndarray  # influence function, one value per unit of the comparison


def panel_did(dy: np.ndarray, d: np.ndarray, x: np.ndarray, method: str) -> TwoByTwo:
    """ATT of a 2x2 panel comparison and its influence function.

    ``dy``: outcome change per unit; ``d``: 1 for treated, 0 for comparison; ``x``: (n, k) covariates
    with an intercept in the first column.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    d = np.asarray(d, dtype=float)
    dy = np.asarray(dy, dtype=float)
    x = np.asarray(x, dtype=float)
    n = d.shape[0]
    n_treated = int(d.sum())
    n_control = n - n_treated
    if n_treated == 0:
        raise CellError("no treated units")
    if n_control == 0:
        raise CellError("no comparison units")
    intercept_only = x.shape[1] == 1
    mean_d = n_treated / n

    if method in ("reg", "dr"):
        beta, xpx_inv = _ols_on_controls(dy, d, x, intercept_only)
        fitted = x @ beta
        # asymptotic linear representation of the OLS coefficients (n x k)
        lin_ols = (((1.0 - d) * (dy - fitted))[:, None] * x) @ xpx_inv
    if method in ("ipw", "dr"):
        ps, hess_inv = _logit(d, x, intercept_only)
        w_cont = ps * (1.0 - d) / (1.0 - ps)
        # asymptotic linear representation of the logit coefficients (n x k)
        lin_ps = ((d - ps)[:, None] * x) @ hess_inv

    if method == "reg":
        eta_t = np.mean(d * dy) / mean_d
        eta_c = np.mean(d * fitted) / mean_d
        inf_t = d * (dy - eta_t) / mean_d
        m1 = np.mean(d[:, None] * x, axis=0)
        inf_c = (d * (fitted - eta_c) + lin_ols @ m1) / mean_d
    elif method == "ipw":
        mean_wc = np.mean(w_cont)
        eta_t = np.mean(d * dy) / mean_d
        eta_c = np.mean(w_cont * dy) / mean_wc
        inf_t = d * (dy - eta_t) / mean_d
        wc_res = w_cont * (dy - eta_c)
        m2 = np.mean(wc_res[:, None] * x, axis=0)
        inf_c = (wc_res + lin_ps @ m2) / mean_wc
    else:  # dr
        resid = dy - fitted
        mean_wc = np.mean(w_cont)
        eta_t = np.mean(d * resid) / mean_d
        eta_c = np.mean(w_cont * resid) / mean_wc
        m1 = np.mean(d[:, None] * x, axis=0)
        inf_t = (d * (resid - eta_t) - lin_ols @ m1) / mean_d
        wc_res = w_cont * (resid - eta_c)
        m2 = np.mean(wc_res[:, None] * x, axis=0)
        m3 = np.mean(w_cont[:, None] * x, axis=0)
        inf_c = (wc_res + lin_ps @ m2 - lin_ols @ m3) / mean_wc
    return TwoByTwo(att=float(eta_t - eta_c), inf=inf_t - inf_c)


def _ols_on_controls(dy, d, x, intercept_only):
    """OLS of ``dy`` on ``x`` among comparison units; returns (beta, inverse of X'(1-d)X / n)."""
    n = d.shape[0]
    ctrl = d == 0
    n_control = int(ctrl.sum())
    if intercept_only:
        return np.array([dy[ctrl].mean()]), np.array([[n / n_control]])
    xc = x[ctrl]
    k = x.shape[1]
    if n_control <= k or np.linalg.matrix_rank(xc) < k:
        raise CellError(
            f"outcome regression needs more comparison units than covariates and no collinearity "
            f"({n_control} comparison units, {k - 1} covariates)"
        )
    beta = np.asarray(sm.OLS(dy[ctrl], xc).fit().params, dtype=float)
    xpx_inv = np.linalg.inv(xc.T @ xc / n)
    return beta, xpx_inv


def _logit(d, x, intercept_only):
    """Logit propensity score by maximum likelihood; returns (fitted ps, inverse of X'WX / n)."""
    n = d.shape[0]
    if intercept_only:
        p = d.mean()
        return np.full(n, min(p, _PS_CAP)), np.array([[1.0 / (p * (1.0 - p))]])
    k = x.shape[1]
    if np.linalg.matrix_rank(x) < k:
        raise CellError("covariates are collinear (or constant) in this comparison")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            res = sm.Logit(d, x).fit(method="newton", disp=0, maxiter=100, warn_convergence=False)
        except Exception as exc:  # statsmodels raises on perfect separation / singular Hessian
            raise CellError(f"propensity-score logit failed: {exc}") from exc
    separation = any("separation" in str(w.message).lower() for w in caught)
    if separation or not res.mle_retvals.get("converged", True):
        raise CellError(
            "propensity-score logit did not converge (the covariates separate treated from "
            "comparison units); drop covariates or use method='reg'"
        )
    ps = np.minimum(np.asarray(res.predict(x), dtype=float), _PS_CAP)
    w = ps * (1.0 - ps)
    hess_inv = np.linalg.inv((x * w[:, None]).T @ x / n)
    return ps, hess_inv
