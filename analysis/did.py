"""Callaway & Sant'Anna (2021) group-time average treatment effects for staggered adoption.

Public API (contract, DESIGN.md section 6)::

    res = att_gt(data, y="lemp", t="year", unit="countyreal", group="first.treat",
                 control="never_treated", covariates=None, method="dr", anticipation=0, cluster=None,
                 allow_unbalanced_panel=False)
    res.table                      # DataFrame: group, t, att, se (one row per ATT(g,t))
    res.aggregate("dynamic")       # .overall_att, .overall_se, .table (egt, att, se)
    res.pretest()                  # .statistic, .p_value, .df (Wald test of pre-treatment ATT(g,t) = 0)

Scope and conventions (those of the R package `did`, which the tests reproduce on `mpdta`):

- Balanced panel by default. Rows with a missing outcome, covariate or cluster are dropped, then units
  not observed in every period are dropped (both with a warning).
- ``allow_unbalanced_panel=True`` (R: ``allow_unbalanced_panel = TRUE``): no unit is dropped for
  missing periods. Each ATT(g,t) is then estimated with the repeated cross-section estimators of
  Sant'Anna & Zhao (2020) (:func:`analysis.did_drdid.rc_did`) on the observations of the cell's two
  periods, and the per-observation influence functions are summed within units, so inference stays
  clustered by unit (or by ``cluster``). This is for panels where the outcome is missing in many
  unit-periods (e.g. weekly review time, missing in weeks without a merged PR): balancing them would
  throw away almost every unit. It is used even when the panel happens to be balanced, where it gives
  the same point estimates (and standard errors) as the panel estimators when there are no
  covariates; with covariates the estimators differ (each observation's own covariates enter, and the
  outcome regressions are per period). A cell whose treated or comparison group has no observation in
  one of its two periods cannot be estimated: its ``att`` and ``se`` are NaN (with a warning) and the
  aggregations and pre-tests leave it out (R ``aggte(na.rm = TRUE)``).
- ``group`` is the first period in which a unit is treated; 0 or NaN means never treated. Units
  first treated in the first period (or within ``anticipation`` of it) are dropped, since they have
  no untreated base period; units first treated after the last period (+ ``anticipation``) are never
  treated within the sample and are coded as such.
- Base period "varying": a pre-treatment cell (t < g) compares t with the period just before it; a
  post-treatment cell compares t with the last period before treatment, i.e. the last period p
  with p + anticipation < g.
- Comparison group per cell (g,t): ``never_treated`` = units with group 0; ``not_yet_treated`` =
  never treated plus units with first treatment after t + anticipation (other than cohort g). With
  ``not_yet_treated`` and no never-treated units, periods from the last cohort's treatment on are
  dropped and the last cohort serves as the comparison group (as R does).
- Covariates (numeric columns) enter the propensity score and the outcome regression with their
  base-period values. Without covariates the three methods coincide.
- Analytic standard errors from the influence functions: se = sqrt(sum_c (sum_{i in c} IF_i)^2) / n
  over clusters c (units by default; ``cluster`` names a coarser, unit-constant column), no
  small-sample correction, which equals R's se = sqrt(mean(IF^2) / n) when clustering by unit.
- ``anticipation`` is in the units of ``t`` (periods, when ``t`` counts consecutive periods).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from analysis.did_aggte import KINDS, CellSet, aggregate as _aggregate
from analysis.did_bootstrap import BOOTSTRAP_WEIGHTS, Bootstrap, multiplier_bootstrap
from analysis.did_drdid import METHODS, CellError, panel_did, rc_did

__all__ = ["att_gt", "ATTGT", "Aggregate", "PreTest", "DiDError", "CONTROLS", "METHODS", "KINDS",
           "Bootstrap", "multiplier_bootstrap", "BOOTSTRAP_WEIGHTS"]

CONTROLS = ("never_treated", "not_yet_treated")

# Standard errors at or below this are reported as missing (as R `did` does): a cell whose
# influence function is identically zero carries no information on its sampling variance.
_SE_FLOOR = np.sqrt(np.finfo(float).eps) * 10


class DiDError(ValueError):
    """Input that the estimator cannot use; the message says what and where."""


@dataclass(frozen=True)
class Aggregate:
    """An aggregation of ATT(g,t): the overall effect and its elements (``egt, att, se``).

    With ``bstrap=True`` (see :meth:`ATTGT.aggregate`) the standard errors are the multiplier
    bootstrap's, ``crit_val`` is the critical value of the bands (uniform over the elements when
    ``cband``), and ``table`` also has ``se_analytic, ci_low, ci_high``; otherwise ``crit_val`` is NaN.
    """

    kind: str
    overall_att: float
    overall_se: float
    table: pd.DataFrame
    crit_val: float = float("nan")
    bootstrap: "Bootstrap | None" = field(default=None, repr=False)

    def conf_int(self, alpha: float = 0.05) -> tuple[float, float]:
        """Pointwise normal confidence interval for the overall effect."""
        z = stats.norm.ppf(1 - alpha / 2)
        return (self.overall_att - z * self.overall_se, self.overall_att + z * self.overall_se)


@dataclass(frozen=True)
class PreTest:
    """Wald test that all pre-treatment ATT(g,t) (t < g) are zero; ``note`` says why it is missing."""

    statistic: float
    p_value: float
    df: int
    note: str = ""


@dataclass(frozen=True, eq=False)
class ATTGT:
    """Estimated group-time ATTs. ``table``: group, t, att, se (one row per cell)."""

    table: pd.DataFrame
    n_units: int
    n_clusters: int
    control: str
    method: str
    anticipation: float
    covariates: tuple[str, ...]
    influence: np.ndarray = field(repr=False)  # (n_units, n_cells), column k = row k of table
    unit_group: np.ndarray = field(repr=False)  # (n_units,) cohort of each unit, 0 = never
    cluster_codes: np.ndarray = field(repr=False)  # (n_units,) cluster index of each unit
    _cells: CellSet = field(repr=False)
    allow_unbalanced_panel: bool = False
    n_obs: int = 0  # rows (unit-periods) used

    @property
    def _usable(self) -> CellSet:
        """The cells with an estimate (unbalanced panels can leave some without)."""
        ok = np.isfinite(self._cells.att)
        if ok.all():
            return self._cells
        c = self._cells
        return CellSet(att=c.att[ok], group=c.group[ok], t=c.t[ok], inf=c.inf[:, ok], unit_group=c.unit_group)

    # -- inference helpers -------------------------------------------------------------------
    def _se(self, inf: np.ndarray) -> float:
        if inf is None:
            return float("nan")
        se = _cluster_se(inf, self.cluster_codes, self.n_clusters)
        return float(se) if se > _SE_FLOOR else float("nan")

    @property
    def vcov(self) -> np.ndarray:
        """Covariance matrix of the ATT(g,t) estimates (cluster-robust, from influence functions)."""
        psi = _cluster_sums(self.influence, self.cluster_codes, self.n_clusters)
        return psi.T @ psi / self.n_units**2

    # -- public ------------------------------------------------------------------------------
    def aggregate(
        self,
        kind: str = "simple",
        *,
        min_e: float = -np.inf,
        max_e: float = np.inf,
        bstrap: bool = False,
        biters: int = 999,
        seed: int | None = None,
        alpha: float = 0.05,
        cband: bool = True,
        weights: str = "rademacher",
    ) -> Aggregate:
        """Aggregate ATT(g,t): ``simple``, ``group``, ``dynamic`` (event time) or ``calendar``.

        ``min_e``/``max_e`` limit the event times used (as R `aggte`): ``max_e`` applies to the
        post-treatment cells of every kind except ``calendar``, ``min_e`` to ``dynamic``.
        For ``simple`` the table is empty (there is only the overall effect).

        ``bstrap=True``: inference by the multiplier bootstrap (:mod:`analysis.did_bootstrap`,
        ``biters`` draws of ``weights`` from ``numpy.random.default_rng(seed)``): bootstrap standard
        errors, and ``ci_low``/``ci_high`` columns at level 1 - ``alpha`` which, with ``cband``, hold
        simultaneously over all elements of the table (R ``aggte(bstrap=TRUE, cband=TRUE)``).
        """
        if kind not in KINDS:
            raise DiDError(f"aggregation kind must be one of {KINDS}, got {kind!r}")
        overall, parts = _aggregate(self._usable, kind, min_e=min_e, max_e=max_e)
        rows = [(label, p.att, self._se(p.inf)) for label, p in parts]
        table = pd.DataFrame(rows, columns=["egt", "att", "se"]).astype(float)
        if len(table) and self.table["t"].dtype.kind in "iu" and np.all(table["egt"] % 1 == 0):
            table["egt"] = table["egt"].astype("int64")
        overall_se = self._se(overall.inf)
        if not bstrap:
            return Aggregate(kind=kind, overall_att=overall.att, overall_se=overall_se, table=table)

        # bootstrap: the elements (or, for "simple", the overall effect) jointly
        pieces = [p for _, p in parts] if parts else [overall]
        inf = np.column_stack([p.inf for p in pieces])
        att = np.array([p.att for p in pieces])
        try:
            boot = multiplier_bootstrap(att, inf, self.cluster_codes, self.n_clusters, biters=biters,
                                        seed=seed, alpha=alpha, cband=cband, weights=weights)
            boot_overall = multiplier_bootstrap(np.array([overall.att]), overall.inf[:, None], self.cluster_codes,
                                                self.n_clusters, biters=biters, seed=seed, alpha=alpha,
                                                cband=False, weights=weights)
        except ValueError as exc:
            raise DiDError(str(exc)) from None
        if parts:
            table = table.assign(se_analytic=table["se"], se=boot.se, ci_low=boot.ci_low, ci_high=boot.ci_high)
        return Aggregate(kind=kind, overall_att=overall.att, overall_se=float(boot_overall.se[0]), table=table,
                         crit_val=boot.crit_val, bootstrap=boot)

    def pretest(self, on: str = "cells", *, min_e: float = -np.inf) -> PreTest:
        """Wald pre-test of parallel trends.

        ``on="cells"`` (default; the test R `did` reports as ``W``/``Wpval``): all pre-treatment
        cells (t < g) jointly zero. W = att_pre' V_pre^{-1} att_pre with V_pre the
        influence-function covariance of those cells; chi-squared with as many degrees of freedom
        as cells. Cells without a standard error are left out.

        ``on="dynamic"``: the event-time estimates for e < 0 (and e >= ``min_e``) jointly zero. Far
        fewer restrictions, so it stays usable when there are many cohorts and periods (with more
        pre-treatment cells than clusters the covariance of the cells is singular).

        Returns NaN (with a ``note``) when there is nothing to test or the covariance is singular.
        """
        if on == "cells":
            se = self.table["se"].to_numpy(dtype=float)
            pre = np.flatnonzero((self._cells.group > self._cells.t) & np.isfinite(se) & np.isfinite(self._cells.att))
            att, inf = self._cells.att[pre], self.influence[:, pre]
        elif on == "dynamic":
            _, parts = _aggregate(self._usable, "dynamic", min_e=min_e, max_e=-1)
            parts = [p for _, p in parts if np.isfinite(self._se(p.inf))]
            att = np.array([p.att for p in parts])
            inf = np.column_stack([p.inf for p in parts]) if parts else np.zeros((self.n_units, 0))
        else:
            raise DiDError(f"pretest on must be 'cells' or 'dynamic', got {on!r}")
        q = int(att.size)
        if q == 0:
            return PreTest(float("nan"), float("nan"), 0, "no pre-treatment periods to test")
        psi = _cluster_sums(inf, self.cluster_codes, self.n_clusters)
        v = psi.T @ psi / self.n_units**2
        if q > self.n_clusters or 1.0 / np.linalg.cond(v, 1) <= np.finfo(float).eps:
            return PreTest(float("nan"), float("nan"), q,
                           f"singular covariance of the {q} pre-treatment estimates ({self.n_clusters} clusters)")
        w = float(att @ np.linalg.solve(v, att))
        return PreTest(w, float(stats.chi2.sf(w, q)), q)


# ------------------------------------------------------------------------------------------------
def att_gt(
    data: pd.DataFrame,
    *,
    y: str,
    t: str,
    unit: str,
    group: str,
    control: str = "never_treated",
    covariates=None,
    method: str = "dr",
    anticipation: float = 0,
    cluster: str | None = None,
    allow_unbalanced_panel: bool = False,
) -> ATTGT:
    """Group-time average treatment effects ATT(g,t) of Callaway & Sant'Anna (2021), panel data.

    ``data`` is long: one row per unit and period. ``group`` holds each unit's first treated period
    (0 or NaN = never treated). ``method``: "dr" (doubly robust, Sant'Anna & Zhao 2020), "reg"
    (outcome regression) or "ipw" (normalised inverse probability weighting).
    ``allow_unbalanced_panel``: keep units not observed in every period and estimate each cell with
    the repeated cross-section estimators, clustered by unit. See the module docstring for the
    conventions.
    """
    covs = _covariate_list(covariates)
    if control not in CONTROLS:
        raise DiDError(f"control must be one of {CONTROLS}, got {control!r}")
    if method not in METHODS:
        raise DiDError(f"method must be one of {METHODS}, got {method!r}")
    try:
        anticipation = float(anticipation)
    except (TypeError, ValueError):
        raise DiDError(f"anticipation must be a non-negative number, got {anticipation!r}") from None
    if not np.isfinite(anticipation) or anticipation < 0:
        raise DiDError(f"anticipation must be a non-negative number, got {anticipation!r}")
    if not isinstance(allow_unbalanced_panel, (bool, np.bool_)):
        raise DiDError(f"allow_unbalanced_panel must be True or False, got {allow_unbalanced_panel!r}")

    panel = _prepare(data, y=y, t=t, unit=unit, group=group, covs=covs, cluster=cluster,
                     control=control, anticipation=anticipation, balance=not allow_unbalanced_panel)
    estimate = _estimate_cells_rc if allow_unbalanced_panel else _estimate_cells
    cells = estimate(panel, control=control, method=method, anticipation=anticipation)

    ucodes = panel["cluster_codes"]
    n_clusters = int(ucodes.max()) + 1 if ucodes.size else 0
    inf = cells["inf"]
    ses = _cluster_se(inf, ucodes, n_clusters)
    ses = np.where(ses > _SE_FLOOR, ses, np.nan)
    table = pd.DataFrame({"group": cells["group"], "t": cells["t"], "att": cells["att"], "se": ses})
    if panel["integer_time"]:
        table["group"] = table["group"].astype("int64")
        table["t"] = table["t"].astype("int64")
    cellset = CellSet(att=cells["att"], group=cells["group"], t=cells["t"], inf=inf,
                      unit_group=panel["G"])
    return ATTGT(
        table=table,
        n_units=int(panel["G"].shape[0]),
        n_clusters=n_clusters,
        control=control,
        method=method,
        anticipation=anticipation,
        covariates=tuple(covs),
        influence=inf,
        unit_group=panel["G"],
        cluster_codes=ucodes,
        _cells=cellset,
        allow_unbalanced_panel=bool(allow_unbalanced_panel),
        n_obs=int(np.isfinite(panel["Y"]).sum()),
    )


# ------------------------------------------------------------------------------------------------
def _covariate_list(covariates) -> list[str]:
    if covariates is None:
        return []
    if isinstance(covariates, str):
        return [covariates]
    covs = list(covariates)
    if not all(isinstance(c, str) for c in covs):
        raise DiDError(f"covariates must be column names, got {covariates!r}")
    return covs


def _prepare(data, *, y, t, unit, group, covs, cluster, control, anticipation, balance=True) -> dict:
    """Validate and reshape the long panel into unit x period arrays (NaN where not observed)."""
    if not isinstance(data, pd.DataFrame):
        raise DiDError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    named = {"y": y, "t": t, "unit": unit, "group": group}
    for role, col in named.items():
        if not isinstance(col, str):
            raise DiDError(f"{role} must be a column name, got {col!r}")
    if cluster is not None and not isinstance(cluster, str):
        raise DiDError(f"cluster must be a column name or None, got {cluster!r}")
    wanted = [y, t, unit, group, *covs] + ([cluster] if cluster and cluster != unit else [])
    missing = [c for c in dict.fromkeys(wanted) if c not in data.columns]
    if missing:
        raise DiDError(f"column(s) not found in data: {', '.join(map(repr, missing))}")
    if len(set([y, t, unit, group])) < 4:
        raise DiDError("y, t, unit and group must be four different columns")
    cols = list(dict.fromkeys(wanted))
    df = data.loc[:, cols].copy()

    for role, col in (("t", t), ("group", group), ("y", y), *(("covariate", c) for c in covs)):
        bad_bool = role in ("t", "group") and pd.api.types.is_bool_dtype(df[col])
        if bad_bool or not pd.api.types.is_numeric_dtype(df[col]):
            raise DiDError(f"{role} column {col!r} must be numeric (got dtype {df[col].dtype})")
        df[col] = df[col].astype(float)
    df[group] = df[group].fillna(0.0)
    if np.isinf(df[[y, t, group, *covs]].to_numpy()).any():
        raise DiDError("infinite values in the outcome, time, group or covariate columns")

    must_have = [y, t, unit, *covs] + ([cluster] if cluster and cluster != unit else [])
    complete = df[must_have].notna().all(axis=1)
    if not complete.all():
        warnings.warn(f"att_gt: dropped {int((~complete).sum())} rows with missing values in "
                      f"{', '.join(must_have)}", stacklevel=3)
        df = df.loc[complete]
    if df.empty:
        raise DiDError("no rows left after dropping missing values")
    if df.duplicated([unit, t]).any():
        ex = df.loc[df.duplicated([unit, t]), [unit, t]].iloc[0].tolist()
        raise DiDError(f"more than one row per ({unit!r}, {t!r}), e.g. {ex}: the panel must have one row per unit and period")

    ucode, uniq_units = pd.factorize(df[unit], sort=True)
    # group (and cluster) must be constant within a unit
    gvals = df[group].to_numpy()
    if (pd.Series(gvals).groupby(ucode).nunique() > 1).any():
        raise DiDError(f"group column {group!r} varies within a unit: it must be the unit's first treated period")
    if cluster and cluster != unit:
        if (df[cluster].groupby(ucode).nunique() > 1).to_numpy().any():
            raise DiDError(f"cluster column {cluster!r} varies within a unit: clusters must contain whole units")

    # balanced panel: keep units observed in every period
    tlist = np.sort(df[t].unique())
    counts = np.bincount(ucode, minlength=len(uniq_units))
    if balance and (counts < len(tlist)).any():
        keep_units = counts == len(tlist)
        warnings.warn(f"att_gt: dropped {int((~keep_units).sum())} units not observed in every period "
                      f"(balanced panel required)", stacklevel=3)
        df = df.loc[keep_units[ucode]]
        if df.empty:
            raise DiDError("no unit is observed in every period: the panel cannot be balanced")
        tlist = np.sort(df[t].unique())

    # first treated after the last period (+ anticipation): never treated within the sample
    late = df[group] > tlist[-1] + anticipation
    df.loc[late, group] = 0.0

    if not (df[group] == 0).any():
        if control == "never_treated":
            raise DiDError(f"no never-treated units (group 0 or NaN in {group!r}): "
                           f"use control='not_yet_treated' or add never-treated units")
        # R's rule: the last cohort becomes the comparison group; drop periods from its treatment on
        gmax = df[group].max()
        df = df.loc[df[t] < gmax - anticipation].copy()
        df.loc[df[group] == gmax, group] = 0.0
        tlist = np.sort(df[t].unique())

    if len(tlist) < 2:
        raise DiDError("need at least two periods")
    first = tlist[0]
    early = (df[group] > 0) & (df[group] <= first + anticipation)
    if early.any():
        n_early = df.loc[early, unit].nunique()
        warnings.warn(f"att_gt: dropped {n_early} units already treated in the first period "
                      f"({t}={_fmt(first)}{' + anticipation' if anticipation else ''})", stacklevel=3)
        df = df.loc[~early]
    if not (df[group] > 0).any():
        raise DiDError("no treated units with an untreated base period: nothing to estimate")

    df = df.sort_values([unit, t], kind="stable")
    ucode, uniq_units = pd.factorize(df[unit], sort=True)
    n, T = len(uniq_units), len(tlist)
    tcode = np.searchsorted(tlist, df[t].to_numpy())
    Y = np.full((n, T), np.nan)
    Y[ucode, tcode] = df[y].to_numpy()
    X = np.full((n, T, len(covs)), np.nan)
    if covs:
        X[ucode, tcode, :] = df[covs].to_numpy()
    first_rows = df.drop_duplicates(unit)  # sorted by unit, same order as uniq_units
    G = first_rows[group].to_numpy(dtype=float)
    if cluster and cluster != unit:
        ccodes, _ = pd.factorize(first_rows[cluster], sort=True)
    else:
        ccodes = np.arange(n)
    integer_time = bool(np.all(tlist % 1 == 0) and np.all(G % 1 == 0) and pd.api.types.is_integer_dtype(data[t]))
    return {"Y": Y, "X": X, "G": G, "tlist": tlist, "cluster_codes": ccodes.astype(int),
            "integer_time": integer_time}


def _estimate_cells(panel, *, control, method, anticipation) -> dict:
    Y, X, G, tlist = panel["Y"], panel["X"], panel["G"], panel["tlist"]
    n, T = Y.shape
    glist = np.unique(G[G > 0])
    ones = np.ones((n, 1))
    atts, groups, times, infs = [], [], [], []
    for g in glist:
        treated = G == g
        pre_periods = np.flatnonzero(tlist + anticipation < g)
        g_base = pre_periods[-1]  # exists: cohorts without an untreated period were dropped
        for j in range(1, T):
            base = g_base if g <= tlist[j] else j - 1
            if control == "never_treated":
                comp = G == 0
            else:
                comp = (G == 0) | ((G > tlist[max(j, base)] + anticipation) & (G != g))
            sub = treated | comp
            d = treated[sub].astype(float)
            dy = Y[sub, j] - Y[sub, base]
            x = ones[sub] if X.shape[2] == 0 else np.column_stack([ones[sub], X[sub, base, :]])
            cell = f"(group={_fmt(g)}, t={_fmt(tlist[j])}, base period {_fmt(tlist[base])})"
            if not comp.any():
                raise DiDError(f"cell {cell}: no comparison units ({control})")
            try:
                res = panel_did(dy, d, x, method)
            except CellError as exc:
                raise DiDError(f"cell {cell}: {exc} [{int(treated.sum())} treated, {int(comp.sum())} comparison units]") from None
            if not np.isfinite(res.att):
                raise DiDError(f"cell {cell}: the estimate is not finite")
            col = np.zeros(n)
            col[sub] = res.inf * (n / sub.sum())  # rescale: the cell uses sub.sum() of the n units
            atts.append(res.att)
            groups.append(g)
            times.append(tlist[j])
            infs.append(col)
    return {"att": np.array(atts), "group": np.array(groups, dtype=float), "t": np.array(times, dtype=float),
            "inf": np.column_stack(infs) if infs else np.zeros((n, 0))}


def _estimate_cells_rc(panel, *, control, method, anticipation) -> dict:
    """ATT(g,t) of an unbalanced panel: each cell as two repeated cross sections, clustered by unit.

    Same cells, base periods and comparison groups as :func:`_estimate_cells`; the cell's sample is
    every observation of a treated or comparison unit in period t or in the base period. The
    per-observation influence function of :func:`rc_did` is summed within units and rescaled by
    n_units / n_observations_of_the_cell, so that the unit-level column has the same meaning as in
    the panel case (att - ATT ~= mean over units of the column).
    """
    Y, X, G, tlist = panel["Y"], panel["X"], panel["G"], panel["tlist"]
    n, T = Y.shape
    seen = np.isfinite(Y)
    glist = np.unique(G[G > 0])
    atts, groups, times, infs, empty = [], [], [], [], []
    for g in glist:
        treated = G == g
        g_base = np.flatnonzero(tlist + anticipation < g)[-1]
        for j in range(1, T):
            base = g_base if g <= tlist[j] else j - 1
            if control == "never_treated":
                comp = G == 0
            else:
                comp = (G == 0) | ((G > tlist[max(j, base)] + anticipation) & (G != g))
            sub = treated | comp
            u1 = np.flatnonzero(sub & seen[:, j])
            u0 = np.flatnonzero(sub & seen[:, base])
            groups.append(g)
            times.append(tlist[j])
            d1, d0 = treated[u1], treated[u0]
            if not (d1.any() and d0.any() and (~d1).any() and (~d0).any()):
                empty.append(f"(group={_fmt(g)}, t={_fmt(tlist[j])})")
                atts.append(np.nan)
                infs.append(np.zeros(n))
                continue
            if X.shape[2] == 0:  # no covariates: every method is the difference of four means
                att, col = _dim_cell(Y[u1, j], Y[u0, base], u1, u0, d1, d0, n)
                atts.append(att)
                infs.append(col)
                continue
            units = np.concatenate([u1, u0])
            yy = np.concatenate([Y[u1, j], Y[u0, base]])
            post = np.concatenate([np.ones(u1.size), np.zeros(u0.size)])
            d = np.concatenate([d1, d0]).astype(float)
            x = np.ones((units.size, 1))
            if X.shape[2]:
                x = np.column_stack([x, np.concatenate([X[u1, j, :], X[u0, base, :]])])
            cell = f"(group={_fmt(g)}, t={_fmt(tlist[j])}, base period {_fmt(tlist[base])})"
            try:
                res = rc_did(yy, post, d, x, method)
            except CellError as exc:
                raise DiDError(f"cell {cell}: {exc} [{units.size} observations of "
                               f"{int(treated.sum())} treated and {int(comp.sum())} comparison units]") from None
            if not np.isfinite(res.att):
                raise DiDError(f"cell {cell}: the estimate is not finite")
            atts.append(res.att)
            infs.append(np.bincount(units, weights=res.inf, minlength=n) * (n / units.size))
    if empty:
        if len(empty) == len(atts):
            raise DiDError("no ATT(g,t) can be estimated: in every cell the treated or the comparison "
                           "group has no observation in one of the two periods")
        warnings.warn(f"att_gt: {len(empty)} of {len(atts)} ATT(g,t) not estimable (no treated or no "
                      f"comparison observation in the period or its base period), e.g. {empty[0]}; "
                      f"reported as NaN and left out of aggregations", stacklevel=3)
    return {"att": np.array(atts, dtype=float), "group": np.array(groups, dtype=float),
            "t": np.array(times, dtype=float), "inf": np.column_stack(infs) if infs else np.zeros((n, 0))}


def _dim_cell(y1, y0, u1, u0, d1, d0, n):
    """ATT and unit-level influence column of a covariate-free repeated cross-section cell.

    Without covariates the outcome regressions are cell means and the propensity score a constant,
    so ``rc_did`` (all three methods) reduces to (mean t1 - mean t0) - (mean c1 - mean c0), with
    influence (y - mean_k) * N / n_k per observation of group-period k (signed +, -, -, +). Summed
    within units and rescaled by n / N as in :func:`_estimate_cells_rc`, N cancels. Same numbers as
    ``rc_did`` (checked in the tests), at a fraction of the cost on panels of a thousand developers.
    """
    col = np.zeros(n)
    att = 0.0
    for ys, us, mask, sign in ((y1, u1, d1, 1.0), (y0, u0, d0, -1.0), (y1, u1, ~d1, -1.0), (y0, u0, ~d0, 1.0)):
        vals = ys[mask]
        m = vals.mean()
        att += sign * m
        col += np.bincount(us[mask], weights=sign * (vals - m) * (n / vals.size), minlength=n)
    return float(att), col


def _cluster_sums(inf: np.ndarray, codes: np.ndarray, n_clusters: int) -> np.ndarray:
    if n_clusters == inf.shape[0] and np.array_equal(codes, np.arange(n_clusters)):
        return inf
    out = np.zeros((n_clusters,) + inf.shape[1:])
    np.add.at(out, codes, inf)
    return out


def _cluster_se(inf: np.ndarray, codes: np.ndarray, n_clusters: int) -> np.ndarray:
    """sqrt(sum over clusters of the squared cluster sums of the influence function) / n."""
    psi = _cluster_sums(inf, codes, n_clusters)
    return np.sqrt(np.sum(psi**2, axis=0)) / inf.shape[0]


def _fmt(v) -> str:
    v = float(v)
    return str(int(v)) if v.is_integer() else repr(v)
