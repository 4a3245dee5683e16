"""Estimate the effect of AI adoption from the warehouse panel and store it in schema ``analysis``.

Reads ``marts.mart_ai_impact_panel`` (developer x week) and, for every outcome in :data:`OUTCOMES`,
runs two estimators side by side:

- ``callaway_santanna`` (:func:`estimate_outcome_cs`): Callaway & Sant'Anna group-time effects with
  never-adopters as the comparison group, aggregated to one overall effect (``simple``) and by week
  relative to adoption (``dynamic``). It is the headline: it never compares a late adopter with an
  earlier adopter, which is what biases two-way fixed effects under staggered adoption.
- ``twfe`` / ``twfe_event_study`` (:mod:`analysis.twfe`): the naive baseline shown beside it.

Then it replaces ``analysis.impact_estimates`` and ``analysis.event_study`` in one transaction, so
readers see either the old results or the new ones, never a mix. When Callaway & Sant'Anna cannot
be estimated for an outcome, the TWFE rows remain and the reason is logged and returned in
:attr:`ImpactResults.notes`.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Literal

import warnings

import duckdb
import numpy as np
import pandas as pd
from scipy import stats

from analysis.did import DiDError, att_gt
from analysis.twfe import Estimate, EventStudy, twfe_did, twfe_event_study

__all__ = [
    "Outcome",
    "OUTCOMES",
    "PANEL_TABLE",
    "ImpactResults",
    "PanelDataError",
    "run_impact_analysis",
    "estimate_outcome",
    "estimate_outcome_cs",
    "EstimatorUnavailable",
    "CS_ESTIMATOR",
    "EVENT_WINDOW",
    "MIN_COHORT_UNITS",
    "load_panel",
    "write_analysis_tables",
    "ESTIMATES_TABLE",
    "EVENT_STUDY_TABLE",
    "ESTIMATES_COLUMNS",
    "EVENT_STUDY_COLUMNS",
]

log = logging.getLogger(__name__)

PANEL_TABLE = "marts.mart_ai_impact_panel"
ESTIMATES_TABLE = "analysis.impact_estimates"
EVENT_STUDY_TABLE = "analysis.event_study"

CS_ESTIMATOR = "callaway_santanna"  # the name analysis.report looks for first
#: weeks relative to adoption shown in the event studies (both estimators); TWFE bins the tails
EVENT_WINDOW: tuple[int, int] = (-8, 12)
#: adoption cohorts (developers who adopted in the same week) smaller than this are dropped from
#: Callaway & Sant'Anna, see :func:`estimate_outcome_cs`
MIN_COHORT_UNITS = 2


@dataclass(frozen=True)
class Outcome:
    """An outcome of the panel the analysis estimates an effect on.

    ``kind="log"``: the column is a log; effects are reported in percent, ``exp(b) - 1``.
    ``kind="count"``: the column is in levels; effects are in the column's unit, and in percent of
    the adopters' pre-adoption mean.
    """

    name: str  # the value of ``outcome`` in the analysis tables
    column: str  # column of the panel
    kind: Literal["log", "count"]
    label: str  # plain words, e.g. "median PR review time"
    unit: str  # unit of the untransformed outcome, e.g. "hours"
    required: bool = False  # a required outcome that cannot be estimated is an error


OUTCOMES: tuple[Outcome, ...] = (
    Outcome(
        name="review_hours",
        column="log_review_hours_mean",
        kind="log",
        label="median PR review time",
        unit="hours",
        required=True,
    ),
    Outcome(
        name="prs_merged",
        column="prs_merged",
        kind="count",
        label="merged PRs per developer per week",
        unit="merged PRs per developer-week",
    ),
)

ESTIMATES_COLUMNS: dict[str, str] = {
    "outcome": "VARCHAR",
    "outcome_label": "VARCHAR",
    "outcome_kind": "VARCHAR",
    "estimator": "VARCHAR",
    "estimate": "DOUBLE",
    "se": "DOUBLE",
    "ci_low": "DOUBLE",
    "ci_high": "DOUBLE",
    "p_value": "DOUBLE",
    "n_units": "INTEGER",
    "n_treated_units": "INTEGER",
    "n_obs": "INTEGER",
    "pre_trend_p_value": "DOUBLE",
    "baseline_mean": "DOUBLE",
    "effect_pct": "DOUBLE",
    "effect_pct_ci_low": "DOUBLE",
    "effect_pct_ci_high": "DOUBLE",
    "computed_at": "TIMESTAMP",
}

EVENT_STUDY_COLUMNS: dict[str, str] = {
    "outcome": "VARCHAR",
    "estimator": "VARCHAR",
    "relative_week": "INTEGER",
    "estimate": "DOUBLE",
    "se": "DOUBLE",
    "ci_low": "DOUBLE",
    "ci_high": "DOUBLE",
    "n_treated_units": "INTEGER",
    "computed_at": "TIMESTAMP",
}


class PanelDataError(ValueError):
    """The panel cannot support the analysis (missing, empty, no adopters, ...)."""


@dataclass(frozen=True)
class ImpactResults:
    """What :func:`run_impact_analysis` estimated and wrote."""

    estimates: tuple[Estimate, ...]
    event_studies: tuple[EventStudy, ...]
    impact_estimates: pd.DataFrame = field(repr=False)  # rows written to analysis.impact_estimates
    event_study: pd.DataFrame = field(repr=False)  # rows written to analysis.event_study
    computed_at: datetime
    skipped: tuple[str, ...] = ()  # "outcome: reason" for optional outcomes not estimated
    notes: tuple[str, ...] = ()  # "outcome: estimator: what was dropped or not estimated, and why"


# --------------------------------------------------------------------------- reading


def load_panel(warehouse_path: str | Path) -> pd.DataFrame:
    """The impact panel plus integer week numbers ``_week`` and ``_adoption_week`` (null if never)."""
    path = Path(warehouse_path)
    if not path.exists():
        raise PanelDataError(
            f"warehouse {path} does not exist: build it first (`impact run`, or `impact demo` "
            "for the sandbox)"
        )
    with duckdb.connect(str(path), read_only=True) as con:
        try:
            panel = con.execute(
                f"""
                select
                    *,
                    cast(datediff('day', date '1970-01-05', cast(week_start as date)) // 7 as integer)
                        as _week,
                    cast(datediff('day', date '1970-01-05', cast(ai_adopted_at as date)) // 7 as integer)
                        as _adoption_week
                from {PANEL_TABLE}
                """
            ).df()
        except duckdb.CatalogException as exc:
            raise PanelDataError(
                f"{PANEL_TABLE} not found in {path}: run the dbt build (`impact run`) so the marts "
                f"exist before the analysis ({exc})"
            ) from exc
    if panel.empty:
        raise PanelDataError(
            f"{PANEL_TABLE} in {path} is empty: it needs developer-weeks of pull-request activity; "
            "sync GitHub and rebuild the marts (`impact run`)"
        )
    if panel["_adoption_week"].notna().sum() == 0:
        raise PanelDataError(
            f"{PANEL_TABLE} in {path} has no AI adopters (ai_adopted_at is null for every "
            "developer), so there is nothing to compare: sync Claude Code usage (Admin API, OTel or "
            "transcripts), check that developers map to identities in the team file, and rebuild "
            "(adoption = the first of two consecutive weeks with use on at least 2 days each)"
        )
    if panel["_adoption_week"].isna().sum() == 0:
        log.warning("%s: every developer adopted AI; there are no never-adopters to compare with", PANEL_TABLE)
    return panel


# --------------------------------------------------------------------------- estimating


class EstimatorUnavailable(ValueError):
    """One estimator cannot be used for one outcome; the others still are (the reason is recorded)."""


def _outcome_sample(panel: pd.DataFrame, outcome: Outcome) -> pd.DataFrame:
    if outcome.column not in panel.columns:
        raise PanelDataError(f"{PANEL_TABLE} has no column {outcome.column!r} for outcome {outcome.name!r}")
    data = panel.loc[panel[outcome.column].notna(), ["developer_id", "_week", "_adoption_week", outcome.column]]
    if data.empty:
        raise PanelDataError(f"{PANEL_TABLE}.{outcome.column} is null in every row")
    if data["_adoption_week"].notna().sum() == 0:
        raise PanelDataError(
            f"{PANEL_TABLE}: no AI adopter has a non-null {outcome.column}; nothing to estimate "
            f"{outcome.label} on"
        )
    return data


def _effect_fields(outcome: Outcome, data: pd.DataFrame, estimate: float, ci_low: float, ci_high: float) -> dict:
    """Baseline (adopters' pre-adoption mean in ``data``) and the effect in percent of it.

    Log outcomes: exp(b) - 1 (monotone, so the CI maps through), baseline as a geometric mean in the
    outcome's unit. Counts: b over the baseline.
    """
    pre = data[data["_adoption_week"].notna() & (data["_week"] < data["_adoption_week"])]
    baseline = float(pre[outcome.column].mean()) if len(pre) else math.nan
    if outcome.kind == "log":
        pct = [100.0 * math.expm1(v) if math.isfinite(v) else math.nan for v in (estimate, ci_low, ci_high)]
        baseline = math.exp(baseline) if math.isfinite(baseline) else math.nan
    else:
        pct = [100.0 * v / baseline if baseline else math.nan for v in (estimate, ci_low, ci_high)]
    return {
        "outcome_label": outcome.label,
        "outcome_kind": outcome.kind,
        "baseline_mean": baseline,
        "effect_pct": pct[0],
        "effect_pct_ci_low": pct[1],
        "effect_pct_ci_high": pct[2],
    }


def estimate_outcome(panel: pd.DataFrame, outcome: Outcome) -> tuple[Estimate, EventStudy | None, dict]:
    """Static and event-study TWFE for one outcome, plus the derived fields of its estimates row."""
    data = _outcome_sample(panel, outcome)
    kwargs = dict(y=outcome.column, unit="developer_id", time="_week", group="_adoption_week", outcome=outcome.name)
    try:
        static = twfe_did(data, **kwargs)
    except ValueError as exc:
        raise PanelDataError(f"{PANEL_TABLE}: cannot estimate {outcome.name}: {exc}") from exc
    try:
        dynamic = twfe_event_study(data, **kwargs, window=EVENT_WINDOW)
    except ValueError as exc:
        log.warning("event study for %s not estimated: %s", outcome.name, exc)
        dynamic = None
    extra = _effect_fields(outcome, data, static.estimate, static.ci_low, static.ci_high)
    extra["pre_trend_p_value"] = dynamic.pre_trend_p_value if dynamic is not None else math.nan
    return static, dynamic, extra


def estimate_outcome_cs(
    panel: pd.DataFrame, outcome: Outcome, *, alpha: float = 0.05
) -> tuple[Estimate, EventStudy, dict, list[str]]:
    """Callaway & Sant'Anna for one outcome: overall effect, event study, derived fields, notes.

    Setup: units are developers, periods are integer weeks, a developer's group is the index of their
    adoption week (0 for never-adopters), never-adopters are the comparison group, doubly robust
    estimator without covariates (where it equals the difference of mean changes). The panel is
    unbalanced by nature (review time is missing in weeks without a merged PR), so ``att_gt`` runs
    with ``allow_unbalanced_panel=True``: balancing would keep only the developers with a merged PR
    in every week. Group-time cells with no observation of their cohort in the week or its base week
    are left out of the aggregations.

    Minimum cohort size: cohorts with fewer than :data:`MIN_COHORT_UNITS` developers in the
    outcome's sample are **dropped** (their developers leave this estimator's sample; a note records
    how many and which adoption weeks). With one developer in a cohort, the influence function of
    every cell of that cohort has no treated-side variation, so the standard error silently leaves
    out that developer's noise and the interval is too narrow. Pooling such a developer into a
    neighbouring cohort is not an option: it would move their adoption week, so weeks in which they
    were already treated would count as untreated (or the reverse) and bias the cohort's effect.

    Reported: the ``simple`` aggregation (every post-adoption cell, weighted by cohort size) with a
    normal 95% interval; the ``dynamic`` aggregation within :data:`EVENT_WINDOW` (pointwise
    intervals). With the varying base period of ``att_gt``, the pre-adoption points are week-on-week
    changes (week e vs e-1), not levels relative to week -1 as in the TWFE event study.
    ``pre_trend_p_value`` is the Wald test that the pre-adoption dynamic effects in the window are
    jointly zero.

    Raises :class:`EstimatorUnavailable` (with the reason) when no estimate is possible.
    """
    data = _outcome_sample(panel, outcome)
    notes: list[str] = []
    data = data.assign(_group=data["_adoption_week"].fillna(0).astype("int64"), _week=data["_week"].astype("int64"))
    sizes = data.loc[data["_group"] > 0].groupby("_group")["developer_id"].nunique()
    small = sizes[sizes < MIN_COHORT_UNITS]
    if len(small):
        weeks = ", ".join(_week_label(int(w)) for w in small.index)
        notes.append(
            f"dropped {int(small.sum())} developer(s) in {len(small)} adoption cohort(s) with fewer than "
            f"{MIN_COHORT_UNITS} developers (adopted in the weeks of {weeks}): a single developer's cohort "
            "gives intervals that leave out that developer's own variability"
        )
        data = data[~data["_group"].isin(small.index)]
    if not (data["_group"] > 0).any():
        raise EstimatorUnavailable(
            f"no adoption cohort with at least {MIN_COHORT_UNITS} developers observed in {outcome.column}"
        )
    if not (data["_group"] == 0).any():
        raise EstimatorUnavailable("no never-adopters observed in this outcome to compare with")

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            res = att_gt(
                data, y=outcome.column, t="_week", unit="developer_id", group="_group",
                control="never_treated", method="dr", allow_unbalanced_panel=True,
            )
            simple = res.aggregate("simple")
            dynamic = res.aggregate("dynamic", min_e=EVENT_WINDOW[0], max_e=EVENT_WINDOW[1])
            pre = res.pretest(on="dynamic", min_e=EVENT_WINDOW[0])
        except DiDError as exc:
            raise EstimatorUnavailable(str(exc)) from exc
    notes.extend(str(w.message).removeprefix("att_gt: ") for w in caught)
    if not (np.isfinite(simple.overall_att) and np.isfinite(simple.overall_se)):
        raise EstimatorUnavailable(
            "no post-adoption week has both adopters and never-adopters observed, so there is no "
            "effect (or no standard error) to report"
        )

    # Few clusters: scale the influence-function errors by G/(G-1) and use t(G-1) quantiles, as TWFE's
    # CRV1 does. `make validate` showed the plain normal intervals covering 92% with ~25 developers.
    clusters = int(res.n_units)  # clustered by developer: one cluster per developer observed
    scale = np.sqrt(clusters / (clusters - 1.0))
    df = clusters - 1
    z = stats.t.ppf(1.0 - alpha / 2.0, df)
    b, se = simple.overall_att, simple.overall_se * scale
    static = Estimate(
        outcome=outcome.name,
        estimator=CS_ESTIMATOR,
        estimate=float(b),
        se=float(se),
        ci_low=float(b - z * se),
        ci_high=float(b + z * se),
        p_value=float(2.0 * stats.t.sf(abs(b / se), df)),
        n_units=int(res.n_units),
        n_treated_units=int(np.sum(res.unit_group > 0)),
        n_obs=int(res.n_obs),
    )

    rel = (data["_week"] - data["_group"]).where(data["_group"] > 0)
    observed = data.assign(_rel=rel).dropna(subset=["_rel"]).groupby("_rel")["developer_id"].nunique()
    table = dynamic.table.rename(columns={"egt": "relative_week", "att": "estimate"})
    table = table.assign(se=table["se"] * scale)
    table = table.assign(
        relative_week=table["relative_week"].astype("int64"),
        ci_low=table["estimate"] - z * table["se"],
        ci_high=table["estimate"] + z * table["se"],
        p_value=2.0 * stats.t.sf(np.abs(table["estimate"] / table["se"]), df),
        n_treated_units=[int(observed.get(float(k), 0)) for k in table["relative_week"]],
    )[["relative_week", "estimate", "se", "ci_low", "ci_high", "p_value", "n_treated_units"]]
    if pre.note:
        notes.append(f"pre-trend test not available: {pre.note}")
    pre_stat, pre_p = _small_sample_wald(pre.statistic, pre.df, clusters, scale)
    event = EventStudy(
        outcome=outcome.name,
        estimator=CS_ESTIMATOR,
        table=table,
        pre_trend_stat=pre_stat,
        pre_trend_df=pre.df,
        pre_trend_p_value=pre_p,
        reference_week=-1,
        window=EVENT_WINDOW,
        n_units=static.n_units,
        n_treated_units=static.n_treated_units,
        n_obs=static.n_obs,
    )
    extra = _effect_fields(outcome, data, static.estimate, static.ci_low, static.ci_high)
    extra["pre_trend_p_value"] = pre_p
    return static, event, extra, notes


def _small_sample_wald(statistic: float, restrictions: float, clusters: int, scale: float) -> tuple[float, float]:
    """The pre-trend Wald test as Hotelling's T^2 over clusters: F = W (G - q) / ((G - 1) q) ~ F(q, G - q).

    With the variance estimated from G clusters a chi-squared reference rejects far too often when G
    is small (about half of clean sandbox panels at G ~ 25); the F form is the finite-cluster version.
    """
    if not (np.isfinite(statistic) and restrictions and restrictions > 0) or clusters <= restrictions:
        return float("nan"), float("nan")
    wald = statistic / scale**2
    f_stat = wald * (clusters - restrictions) / ((clusters - 1.0) * restrictions)
    return float(f_stat), float(stats.f.sf(f_stat, restrictions, clusters - restrictions))


def _week_label(week: int) -> str:
    """The Monday of an integer week (weeks since Monday 1970-01-05), for messages."""
    return (pd.Timestamp("1970-01-05") + pd.Timedelta(weeks=week)).date().isoformat()


def _estimates_row(static: Estimate, extra: dict, computed_at: datetime) -> dict:
    return {
        "outcome": static.outcome,
        "outcome_label": extra["outcome_label"],
        "outcome_kind": extra["outcome_kind"],
        "estimator": static.estimator,
        "estimate": static.estimate,
        "se": static.se,
        "ci_low": static.ci_low,
        "ci_high": static.ci_high,
        "p_value": static.p_value,
        "n_units": static.n_units,
        "n_treated_units": static.n_treated_units,
        "n_obs": static.n_obs,
        "pre_trend_p_value": extra["pre_trend_p_value"],
        "baseline_mean": extra["baseline_mean"],
        "effect_pct": extra["effect_pct"],
        "effect_pct_ci_low": extra["effect_pct_ci_low"],
        "effect_pct_ci_high": extra["effect_pct_ci_high"],
        "computed_at": computed_at,
    }


def run_impact_analysis(
    warehouse_path: str | Path, *, outcomes: tuple[Outcome, ...] = OUTCOMES
) -> ImpactResults:
    """Estimate the effect of AI adoption on each outcome and (re)write the ``analysis`` tables.

    Per outcome: Callaway & Sant'Anna first (the headline), then TWFE. Rows are in that order.
    """
    panel = load_panel(warehouse_path)
    computed_at = datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0)
    statics: list[Estimate] = []
    dynamics: list[EventStudy] = []
    est_rows: list[dict] = []
    es_frames: list[pd.DataFrame] = []
    skipped: list[str] = []
    notes: list[str] = []
    for outcome in outcomes:
        try:
            static, dynamic, extra = estimate_outcome(panel, outcome)
        except PanelDataError as exc:
            if outcome.required:
                raise
            log.warning("outcome %s skipped: %s", outcome.name, exc)
            skipped.append(f"{outcome.name}: {exc}")
            continue
        fits = [(static, dynamic, extra)]
        try:
            cs_static, cs_dynamic, cs_extra, cs_notes = estimate_outcome_cs(panel, outcome)
            fits.insert(0, (cs_static, cs_dynamic, cs_extra))
        except EstimatorUnavailable as exc:
            cs_notes = [f"not estimated, TWFE only: {exc}"]
        for note in cs_notes:
            log.warning("%s: %s: %s", outcome.name, CS_ESTIMATOR, note)
            notes.append(f"{outcome.name}: {CS_ESTIMATOR}: {note}")
        for static, dynamic, extra in fits:
            statics.append(static)
            est_rows.append(_estimates_row(static, extra, computed_at))
            if dynamic is not None:
                dynamics.append(dynamic)
                es_frames.append(
                    dynamic.table.assign(outcome=dynamic.outcome, estimator=dynamic.estimator, computed_at=computed_at)
                )

    estimates_df = _conform(pd.DataFrame(est_rows), ESTIMATES_COLUMNS)
    event_df = _conform(
        pd.concat(es_frames, ignore_index=True) if es_frames else pd.DataFrame(), EVENT_STUDY_COLUMNS
    )
    write_analysis_tables(warehouse_path, estimates_df, event_df)
    return ImpactResults(
        estimates=tuple(statics),
        event_studies=tuple(dynamics),
        impact_estimates=estimates_df,
        event_study=event_df,
        computed_at=computed_at,
        skipped=tuple(skipped),
        notes=tuple(notes),
    )


# --------------------------------------------------------------------------- writing


def _conform(frame: pd.DataFrame, columns: dict[str, str]) -> pd.DataFrame:
    frame = frame.reindex(columns=list(columns))
    for name, sql_type in columns.items():
        if sql_type == "DOUBLE":
            frame[name] = pd.to_numeric(frame[name]).astype("float64").replace([np.inf, -np.inf], np.nan)
    return frame


def _cast(name: str, sql_type: str) -> str:
    if sql_type == "DOUBLE":  # NaN -> NULL: a missing estimate is unknown, not a number
        return f"case when isnan(cast({name} as double)) then null else cast({name} as double) end"
    return f"cast({name} as {sql_type})"


def write_analysis_tables(
    warehouse_path: str | Path, estimates: pd.DataFrame, event_study: pd.DataFrame
) -> None:
    """Replace ``analysis.impact_estimates`` and ``analysis.event_study`` in one transaction."""
    with duckdb.connect(str(warehouse_path)) as con:
        con.register("_impact_estimates_df", estimates)
        con.register("_event_study_df", event_study)
        con.execute("begin transaction")
        try:
            con.execute("create schema if not exists analysis")
            for table, view, columns in (
                (ESTIMATES_TABLE, "_impact_estimates_df", ESTIMATES_COLUMNS),
                (EVENT_STUDY_TABLE, "_event_study_df", EVENT_STUDY_COLUMNS),
            ):
                ddl = ", ".join(f"{name} {sql_type}" for name, sql_type in columns.items())
                select = ", ".join(_cast(name, sql_type) for name, sql_type in columns.items())
                con.execute(f"create or replace table {table} ({ddl})")
                con.execute(f"insert into {table} select {select} from {view}")
            con.execute("commit")
        except BaseException:
            con.execute("rollback")
            raise
        finally:
            con.unregister("_impact_estimates_df")
            con.unregister("_event_study_df")
