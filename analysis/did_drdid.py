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

:func:`rc_did` is the repeated cross-section counterpart (Sant'Anna & Zhao 2020, section 2 and 3.2 for
repeated cross sections): observations instead of units, each with a ``post`` indicator, so a unit
needs to be observed in only one of the two periods. That is what an unbalanced panel needs (a
developer without a merged PR in the base week still informs the comparison in the other week).
Its ``dr`` is the locally efficient doubly robust estimator (their eq. 3.4 with both treated and
comparison outcome regressions), ``reg`` the outcome regression estimator and ``ipw`` the normalised
IPW estimator for repeated cross sections.

Each returns the point estimate and its influence function, one value per unit (per observation for
:func:`rc_did`), normalised so that ``var(att) ~= mean(inf ** 2) / n``. The influence functions include the estimation effect of the
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


def rc_did(y: np.ndarray, post: np.ndarray, d: np.ndarray, x: np.ndarray, method: str) -> TwoByTwo:
    """ATT of a 2x2 comparison of repeated cross sections and its influence function per observation.

    ``y``: outcome of each observation; ``post``: 1 if the observation is from the later period, 0 if
    from the base period; ``d``: 1 for the treated group; ``x``: (n, k) covariates of the observation
    with an intercept first. The influence function is per observation; to cluster (e.g. by the unit
    an observation belongs to in an unbalanced panel), sum it within clusters.

    Every term is a normalised (Hajek) mean ``eta = E[w r] / E[w]`` whose influence function is
    ``w (r - eta) / E[w]`` plus, for each nuisance parameter ``theta`` (outcome-regression
    coefficients, logit coefficients) it depends on, ``E[d(w r)/d theta - eta dw/d theta] / E[w]``
    times the influence function of ``theta``. The terms below are those derivatives written out.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    y = np.asarray(y, dtype=float)
    post = np.asarray(post, dtype=float)
    d = np.asarray(d, dtype=float)
    x = np.asarray(x, dtype=float)
    t1, t0 = d * post, d * (1.0 - post)  # treated, later / base period
    c1, c0 = (1.0 - d) * post, (1.0 - d) * (1.0 - post)  # comparison, later / base period
    for name, w in (("treated", t1), ("treated", t0), ("comparison", c1), ("comparison", c0)):
        if not w.any():
            period = "later" if w is t1 or w is c1 else "base"
            raise CellError(f"no {name} observations in the {period} period")
    intercept_only = x.shape[1] == 1

    def mean_x(w):  # E[w x] / E[w], the derivative of a normalised mean of x'beta
        return np.mean(w[:, None] * x, axis=0) / np.mean(w)

    def hajek(w, r):  # normalised mean and the leading term of its influence function
        eta = np.mean(w * r) / np.mean(w)
        return eta, w * (r - eta) / np.mean(w)

    if method in ("reg", "dr"):
        mu_c1, lin_c1 = _ols_on_subset(y, c1, x, intercept_only, "comparison, later period")
        mu_c0, lin_c0 = _ols_on_subset(y, c0, x, intercept_only, "comparison, base period")
    if method in ("ipw", "dr"):
        ps, hess_inv = _logit(d, x, intercept_only)
        lin_ps = ((d - ps)[:, None] * x) @ hess_inv
        odds = ps / (1.0 - ps)
        w_c1, w_c0 = odds * c1, odds * c0

    if method == "reg":
        # treated change in means minus the comparison regressions' predicted change for the treated
        eta_t1, inf_t1 = hajek(t1, y)
        eta_t0, inf_t0 = hajek(t0, y)
        eta_c, inf_c = hajek(d, mu_c1 - mu_c0)
        inf_c = inf_c + (lin_c1 - lin_c0) @ mean_x(d)
        return TwoByTwo(att=float(eta_t1 - eta_t0 - eta_c), inf=inf_t1 - inf_t0 - inf_c)

    if method == "ipw":
        eta_t1, inf_t1 = hajek(t1, y)
        eta_t0, inf_t0 = hajek(t0, y)
        eta_c1, inf_c1 = hajek(w_c1, y)
        eta_c0, inf_c0 = hajek(w_c0, y)
        # d(odds)/d(gamma) = odds * x: the estimation effect of the propensity score
        m_ps = _ps_derivative(w_c1, y - eta_c1, x) - _ps_derivative(w_c0, y - eta_c0, x)
        inf_c = inf_c1 - inf_c0 + lin_ps @ m_ps
        return TwoByTwo(att=float((eta_t1 - eta_t0) - (eta_c1 - eta_c0)), inf=inf_t1 - inf_t0 - inf_c)

    # dr: residuals from the comparison regression of the observation's own period
    mu_t1, lin_t1 = _ols_on_subset(y, t1, x, intercept_only, "treated, later period")
    mu_t0, lin_t0 = _ols_on_subset(y, t0, x, intercept_only, "treated, base period")
    resid = y - (post * mu_c1 + (1.0 - post) * mu_c0)
    eta_t1, inf_t1 = hajek(t1, resid)
    eta_t0, inf_t0 = hajek(t0, resid)
    eta_c1, inf_c1 = hajek(w_c1, resid)
    eta_c0, inf_c0 = hajek(w_c0, resid)
    # local-efficiency terms: the treated regressions' predicted change, over all treated vs by period
    eta_d1, inf_d1 = hajek(d, mu_t1 - mu_c1)
    eta_e1, inf_e1 = hajek(t1, mu_t1 - mu_c1)
    eta_d0, inf_d0 = hajek(d, mu_t0 - mu_c0)
    eta_e0, inf_e0 = hajek(t0, mu_t0 - mu_c0)
    att = (eta_t1 - eta_t0) - (eta_c1 - eta_c0) + (eta_d1 - eta_e1) - (eta_d0 - eta_e0)

    inf_treat = inf_t1 - inf_t0 - lin_c1 @ mean_x(t1) + lin_c0 @ mean_x(t0)
    m_ps = _ps_derivative(w_c1, resid - eta_c1, x) - _ps_derivative(w_c0, resid - eta_c0, x)
    inf_cont = inf_c1 - inf_c0 + lin_ps @ m_ps - lin_c1 @ mean_x(w_c1) + lin_c0 @ mean_x(w_c0)
    inf_eff = (inf_d1 - inf_e1) - (inf_d0 - inf_e0)
    inf_or = (lin_t1 - lin_c1) @ (mean_x(d) - mean_x(t1)) - (lin_t0 - lin_c0) @ (mean_x(d) - mean_x(t0))
    return TwoByTwo(att=float(att), inf=inf_treat - inf_cont + inf_eff + inf_or)


def _ps_derivative(w, centred, x):
    """d/d(gamma) of E[w r] / E[w] when w = odds(x'gamma) * indicator: E[w (r - eta) x] / E[w]."""
    return np.mean((w * centred)[:, None] * x, axis=0) / np.mean(w)


def _ols_on_subset(y, s, x, intercept_only, label):
    """OLS of ``y`` on ``x`` among observations with ``s`` = 1.

    Returns the fitted values for every observation and the asymptotic linear representation of the
    coefficients, (n, k): row i = s_i e_i x_i' (E_n[s x x'])^{-1}, so that beta_hat - beta ~= mean of rows.
    """
    n = s.shape[0]
    sel = s > 0
    n_sel = int(sel.sum())
    if intercept_only:
        mu = y[sel].mean()
        return np.full(n, mu), (s * (y - mu) * (n / n_sel))[:, None]
    xs = x[sel]
    k = x.shape[1]
    if n_sel <= k or np.linalg.matrix_rank(xs) < k:
        raise CellError(
            f"outcome regression ({label}) needs more observations than covariates and no "
            f"collinearity ({n_sel} observations, {k - 1} covariates)"
        )
    beta = np.asarray(sm.OLS(y[sel], xs).fit().params, dtype=float)
    fitted = x @ beta
    xpx_inv = np.linalg.inv(xs.T @ xs / n)
    return fitted, ((s * (y - fitted))[:, None] * x) @ xpx_inv


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
