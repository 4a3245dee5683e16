"""Two-way fixed effects difference-in-differences: the naive baseline beside Callaway & Sant'Anna.

Two estimators on any unit x period panel, built on statsmodels OLS:

- :func:`twfe_did`: ``y ~ post + unit FE + period FE``, one pooled effect of treatment.
- :func:`twfe_event_study`: ``y ~ sum_k 1[t - g = k] + unit FE + period FE`` with relative periods
  binned at the window ends, reference period -1 omitted, never-treated units as controls
  (all their relative-period dummies are zero), plus the joint Wald test that all leads are zero.

Both sets of fixed effects are partialled out by Frisch-Waugh-Lovell (demeaning by unit, then
residualising on the unit-demeaned period dummies; exact for unbalanced panels), so statsmodels' OLS
only sees the regressors of interest. Standard errors are
clustered by unit (CRV1 with the usual small-sample factor, fixed effects nested in clusters not counted
as parameters, as in Stata's ``xtreg, fe`` and ``reghdfe``) and inference uses Student's t (and F for
joint tests) with G - 1 denominator degrees of freedom, G the number of clusters.

Conventions (shared with ``analysis.did.att_gt``): ``group`` is the first treated period of a unit,
0 or missing for never-treated units; ``time`` and ``group`` are in the same integer periods (dates
and datetimes are accepted and converted to whole weeks).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp
import statsmodels.api as sm
from scipy import stats
from statsmodels.stats.sandwich_covariance import cov_cluster

__all__ = [
    "Estimate",
    "EventStudy",
    "twfe_did",
    "twfe_event_study",
    "TWFE",
    "TWFE_EVENT_STUDY",
    "sup_t_critical_value",
]

TWFE = "twfe"
TWFE_EVENT_STUDY = "twfe_event_study"

_WEEK_ORIGIN = pd.Timestamp("1970-01-05")  # a Monday


@dataclass(frozen=True)
class Estimate:
    """One pooled treatment effect with its cluster-robust inference."""

    outcome: str
    estimator: str
    estimate: float
    se: float
    ci_low: float
    ci_high: float
    p_value: float
    n_units: int
    n_treated_units: int
    n_obs: int


@dataclass(frozen=True)
class EventStudy:
    """Effects by period relative to treatment, and the pre-trend test.

    ``table`` has one row per relative period in the window (the reference period included, with
    estimate 0 and no standard error): ``relative_week, estimate, se, ci_low, ci_high, p_value,
    n_treated_units`` (treated units observed at that relative period; bins include the tails).
    Relative periods with no treated observation have a missing estimate.
    """

    outcome: str
    estimator: str
    table: pd.DataFrame = field(repr=False)
    pre_trend_stat: float  # F statistic of the joint Wald test that all leads are zero
    pre_trend_df: int  # number of leads tested
    pre_trend_p_value: float
    reference_week: int
    window: tuple[int, int]
    n_units: int
    n_treated_units: int
    n_obs: int
    #: critical value of the simultaneous (sup-t) 95% band over the window's estimates; the table's
    #: ``uniform_ci_low``/``uniform_ci_high`` are estimate -+ it times se
    uniform_crit: float = float("nan")


# --------------------------------------------------------------------------- public estimators


def twfe_did(
    data: pd.DataFrame,
    *,
    y: str,
    unit: str,
    time: str,
    group: str,
    outcome: str | None = None,
    alpha: float = 0.05,
) -> Estimate:
    """Static two-way fixed effects DiD: coefficient on ``post = 1[group > 0 and time >= group]``.

    Rows with a missing ``y`` are dropped, then units observed only once (they carry no information
    once unit effects are absorbed).
    """
    panel = _prepare(data, y=y, unit=unit, time=time, group=group)
    post = (panel["treated"] & (panel["time"] >= panel["group"])).to_numpy(dtype=float)
    regressors = pd.DataFrame({"post": post}, index=panel.index)
    fit = _fit_within(panel, regressors)
    if "post" not in fit.names:
        raise ValueError(
            f"twfe_did: treatment never varies within a unit for {y!r} (no unit observed both "
            "before and after its treatment), so the effect is not identified"
        )
    i = fit.names.index("post")
    ci = np.asarray(fit.conf_int(alpha=alpha))[i]
    treated_units = panel.loc[post == 1.0, "unit"].nunique()
    return Estimate(
        outcome=outcome or y,
        estimator=TWFE,
        estimate=float(fit.params[i]),
        se=float(fit.bse[i]),
        ci_low=float(ci[0]),
        ci_high=float(ci[1]),
        p_value=float(fit.pvalues[i]),
        n_units=int(panel["unit"].nunique()),
        n_treated_units=int(treated_units),
        n_obs=int(len(panel)),
    )


def twfe_event_study(
    data: pd.DataFrame,
    *,
    y: str,
    unit: str,
    time: str,
    group: str,
    window: tuple[int, int] = (-8, 12),
    reference: int = -1,
    outcome: str | None = None,
    alpha: float = 0.05,
) -> EventStudy:
    """Event-study TWFE with relative periods binned at ``window`` and ``reference`` omitted.

    Relative periods below ``window[0]`` are pooled into ``window[0]``, above ``window[1]`` into
    ``window[1]``. Never-treated units are the controls. The pre-trend test is the F form of the
    joint Wald test that every estimated lead (every relative period before treatment other than
    the reference) is zero, with G - 1 denominator degrees of freedom.
    """
    lo, hi = int(window[0]), int(window[1])
    if not lo <= reference < 0 <= hi:
        raise ValueError(f"window {window} must contain the reference period {reference} and period 0")
    panel = _prepare(data, y=y, unit=unit, time=time, group=group)
    if not (~panel["treated"]).any():
        raise ValueError(
            f"twfe_event_study: no never-treated units in the sample for {y!r}; the event study uses "
            "never-treated units as controls (with every unit treated, relative and calendar periods "
            "are collinear)"
        )
    rel = (panel["time"] - panel["group"]).where(panel["treated"])
    binned = rel.clip(lower=lo, upper=hi)
    periods = [k for k in range(lo, hi + 1) if k != reference]
    regressors = pd.DataFrame(
        {_rel_name(k): (binned == k).to_numpy(dtype=float) for k in periods}, index=panel.index
    )
    fit = _fit_within(panel, regressors)
    names = fit.names
    params = dict(zip(names, np.asarray(fit.params)))
    bse = dict(zip(names, np.asarray(fit.bse)))
    pvals = dict(zip(names, np.asarray(fit.pvalues)))
    cis = dict(zip(names, np.asarray(fit.conf_int(alpha=alpha))))
    counts = panel.loc[panel["treated"]].assign(k=binned).groupby("k")["unit"].nunique()
    rows = []
    for k in range(lo, hi + 1):
        name = _rel_name(k)
        n_treated = int(counts.get(float(k), 0))
        if k == reference:
            rows.append((k, 0.0, np.nan, np.nan, np.nan, np.nan, n_treated))
        elif name in params:
            rows.append((k, params[name], bse[name], cis[name][0], cis[name][1], pvals[name], n_treated))
        else:
            rows.append((k, np.nan, np.nan, np.nan, np.nan, np.nan, n_treated))
    table = pd.DataFrame(
        rows,
        columns=["relative_week", "estimate", "se", "ci_low", "ci_high", "p_value", "n_treated_units"],
    ).astype({"relative_week": "int64", "n_treated_units": "int64"})

    estimated = [nm for nm in (_rel_name(k) for k in periods) if nm in params]
    crit = sup_t_critical_value(fit.cov_of(estimated), df=fit.df, alpha=alpha) if estimated else np.nan
    table = table.assign(uniform_ci_low=table["estimate"] - crit * table["se"],
                         uniform_ci_high=table["estimate"] + crit * table["se"])

    leads = [_rel_name(k) for k in periods if k < 0 and _rel_name(k) in params]
    if leads:
        pre_stat, pre_p = fit.wald_f(leads)
    else:
        pre_stat, pre_p = np.nan, np.nan

    return EventStudy(
        outcome=outcome or y,
        estimator=TWFE_EVENT_STUDY,
        table=table,
        pre_trend_stat=pre_stat,
        pre_trend_df=len(leads),
        pre_trend_p_value=pre_p,
        reference_week=reference,
        window=(lo, hi),
        n_units=int(panel["unit"].nunique()),
        n_treated_units=int(panel.loc[panel["treated"], "unit"].nunique()),
        n_obs=int(len(panel)),
        uniform_crit=float(crit),
    )


def sup_t_critical_value(cov: np.ndarray, *, df: float | None = None, alpha: float = 0.05,
                         draws: int = 20_000, seed: int = 20_240_601) -> float:
    """Critical value c with P(max_k |T_k| <= c) = 1 - alpha for T ~ N(0, corr(cov)) (sup-t band).

    Why: the event-study estimates are read together, so a band that covers all of them at once at
    95% needs a larger multiplier than 1.96 (Montiel Olea & Plagborg-Moller 2019). Simulated with a
    fixed seed (deterministic); with ``df`` the draws are multivariate t (few clusters), matching the
    pointwise t intervals. Never below the pointwise critical value.
    """
    cov = np.atleast_2d(np.asarray(cov, dtype=float))
    sd = np.sqrt(np.diag(cov))
    ok = np.isfinite(sd) & (sd > 0)
    if not ok.any():
        return float("nan")
    corr = cov[np.ix_(ok, ok)] / np.outer(sd[ok], sd[ok])
    vals, vecs = np.linalg.eigh((corr + corr.T) / 2)
    root = vecs * np.sqrt(np.clip(vals, 0, None))
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((draws, corr.shape[0])) @ root.T
    if df is not None and np.isfinite(df) and df > 0:
        z = z / np.sqrt(rng.chisquare(df, size=(draws, 1)) / df)
        pointwise = stats.t.ppf(1 - alpha / 2, df)
    else:
        pointwise = stats.norm.ppf(1 - alpha / 2)
    crit = float(np.quantile(np.max(np.abs(z), axis=1), 1 - alpha))
    return max(crit, float(pointwise))


# --------------------------------------------------------------------------- internals


def _rel_name(k: int) -> str:
    return f"rel_m{-k}" if k < 0 else f"rel_p{k}"


def _as_periods(values: pd.Series) -> pd.Series:
    """Integer periods; dates and datetimes become whole weeks since a Monday."""
    if pd.api.types.is_datetime64_any_dtype(values) or (
        values.dtype == object and values.dropna().map(lambda v: hasattr(v, "year")).all()
        and values.notna().any()
    ):
        stamps = pd.to_datetime(values)
        if getattr(stamps.dt, "tz", None) is not None:
            stamps = stamps.dt.tz_localize(None)
        days = (stamps - _WEEK_ORIGIN).dt.days
        return np.floor(days / 7.0)
    return pd.to_numeric(values, errors="raise").astype("float64")


def _prepare(data: pd.DataFrame, *, y: str, unit: str, time: str, group: str) -> pd.DataFrame:
    missing = [c for c in (y, unit, time, group) if c not in data.columns]
    if missing:
        raise KeyError(f"columns not in the data: {missing}")
    panel = pd.DataFrame(
        {
            "y": pd.to_numeric(data[y], errors="raise").astype("float64").to_numpy(),
            "unit": data[unit].to_numpy(),
            "time": _as_periods(data[time]).to_numpy(),
            "group": _as_periods(data[group]).to_numpy(),
        }
    )
    panel = panel[np.isfinite(panel["y"]) & panel["unit"].notna() & np.isfinite(panel["time"])]
    group_values = panel["group"].fillna(0.0)
    panel = panel.assign(group=group_values, treated=group_values.ne(0.0))
    if panel.duplicated(["unit", "time"]).any():
        raise ValueError(f"more than one row per ({unit}, {time}): the panel must be unit x period")
    sizes = panel.groupby("unit")["y"].transform("size")
    panel = panel[sizes > 1].reset_index(drop=True)
    if panel.empty:
        raise ValueError(f"no unit has two or more non-missing observations of {y!r}")
    return panel


@dataclass(frozen=True)
class _Fit:
    """Coefficients of the regressors of interest with their clustered covariance."""

    names: list[str]
    params: np.ndarray
    cov: np.ndarray
    df: int  # degrees of freedom of t and F inference: clusters - 1

    @property
    def bse(self) -> np.ndarray:
        return np.sqrt(np.diag(self.cov))

    @property
    def pvalues(self) -> np.ndarray:
        return 2.0 * stats.t.sf(np.abs(self.params / self.bse), self.df)

    def conf_int(self, alpha: float) -> np.ndarray:
        half = stats.t.ppf(1.0 - alpha / 2.0, self.df) * self.bse
        return np.column_stack([self.params - half, self.params + half])

    def cov_of(self, names: list[str]) -> np.ndarray:
        idx = [self.names.index(n) for n in names]
        return self.cov[np.ix_(idx, idx)]

    def wald_f(self, names: list[str]) -> tuple[float, float]:
        """F form of the Wald test that the named coefficients are all zero, and its p-value."""
        idx = [self.names.index(n) for n in names]
        b, v = self.params[idx], self.cov[np.ix_(idx, idx)]
        stat = float(b @ np.linalg.solve(v, b)) / len(idx)
        return stat, float(stats.f.sf(stat, len(idx), self.df))


def _fit_within(panel: pd.DataFrame, regressors: pd.DataFrame) -> _Fit:
    """OLS of y on the regressors with unit and period fixed effects, errors clustered by unit.

    Frisch-Waugh-Lovell: y and the regressors are demeaned by unit (absorbing unit effects), then
    residualised on the unit-demeaned period dummies (absorbing period effects). statsmodels' OLS on
    the residualised data gives exactly the full regression's coefficients and residuals, with a small
    design, which keeps 1,000 units x 52 weeks fast. The cluster-robust (CRV1) covariance comes from
    statsmodels; its small-sample factor G/(G-1) * (N-1)/(N-K) counts as K the regressors and the
    period dummies but not the unit effects, which are nested in the clusters (as Stata's
    ``xtreg, fe vce(cluster)`` and ``reghdfe`` do).
    """
    unit_codes, _ = pd.factorize(panel["unit"], sort=False)
    time_codes, time_levels = pd.factorize(panel["time"], sort=True)
    n = len(panel)
    n_units = int(unit_codes.max()) + 1

    incidence = sp.csr_matrix((np.ones(n), (unit_codes, np.arange(n))), shape=(n_units, n))
    counts = np.asarray(incidence.sum(axis=1)).ravel()

    def demean(matrix: np.ndarray) -> np.ndarray:
        return matrix - (np.asarray(incidence @ matrix) / counts[:, None])[unit_codes]

    names = list(regressors.columns)
    z = demean(np.column_stack([panel["y"].to_numpy(dtype=float), regressors.to_numpy(dtype=float)]))

    # period dummies (the first dropped: collinear with the unit effects), unit-demeaned
    dummies = sp.csr_matrix(
        (np.ones(n), (np.arange(n), time_codes)), shape=(n, len(time_levels))
    )[:, 1:].toarray()
    d = demean(dummies)
    d = d[:, np.linalg.norm(d, axis=0) > 1e-10]
    k_periods = 0
    if d.shape[1]:
        gram = d.T @ d
        k_periods = int(np.linalg.matrix_rank(gram))
        coef = np.linalg.lstsq(gram, d.T @ z, rcond=None)[0]
        z = z - d @ coef
    y_res, x_res = z[:, 0], z[:, 1:]

    # drop regressors without variation left, then check the rest are not collinear
    keep = np.linalg.norm(x_res, axis=0) > 1e-8 * np.sqrt(n)
    x_res = x_res[:, keep]
    names = [nm for nm, k in zip(names, keep) if k]
    if not names:
        return _Fit(names=[], params=np.empty(0), cov=np.empty((0, 0)), df=n_units - 1)
    xtx = x_res.T @ x_res
    scale = np.sqrt(np.diag(xtx))
    eig = np.linalg.eigvalsh(xtx / np.outer(scale, scale))
    if eig.min() < 1e-10 * max(eig.max(), 1.0):
        raise ValueError(
            "the regressors are collinear with the unit and period fixed effects; the effect is "
            "not identified on this panel"
        )
    fit = sm.OLS(y_res, x_res, hasconst=False).fit(method="qr")  # demeaned: no constant to detect
    cov = cov_cluster(fit, unit_codes, use_correction=False)
    k = len(names) + k_periods
    cov = cov * (n_units / (n_units - 1.0)) * ((n - 1.0) / (n - k))
    return _Fit(names=names, params=np.asarray(fit.params), cov=np.asarray(cov), df=n_units - 1)
