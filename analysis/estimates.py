"""Estimate the effect of AI adoption from the warehouse panel and store it in schema ``analysis``.

Reads ``marts.mart_ai_impact_panel`` (developer x week) and, for every outcome in :data:`OUTCOMES`,
runs two estimators side by side:

- ``callaway_santanna`` (:func:`estimate_outcome_cs`): Callaway & Sant'Anna group-time effects with
  never-adopters as the comparison group, aggregated to one overall effect (``simple``) and by week
  relative to adoption (``dynamic``). It is the headline: it never compares a late adopter with an
  earlier adopter, which is what biases two-way fixed effects under staggered adoption.
- ``twfe`` / ``twfe_event_study`` (:mod:`analysis.twfe`): the naive baseline shown beside it.
- ``poisson_glm`` (:mod:`analysis.poisson`), for count outcomes: the multiplicative effect of a
  fixed-effects Poisson GLM, in the outcome's unit (``estimate``) and in percent (``effect_pct``).

Outcomes come in three kinds (:class:`Outcome`): durations as logs (the developer-week mean of the
logs, i.e. a geometric mean, and the log of the developer-week median: effects in %), counts (merged
PRs: effects per developer-week and, by the Poisson GLM, in %), and rates (the change failure rate
of the developer's changes: a linear probability model, both estimators run on the 0-100 rate, so
effects are in percentage points).

Checks that run with every estimate and are written beside it: the joint pre-trend test
(``pre_trend_p_value``), placebo adoption dates (``placebo_*``: adoption moved
:data:`PLACEBO_SHIFT_WEEKS` earlier, pre-adoption weeks only) and minimum sample sizes (an
estimate on fewer than :data:`MIN_TREATED_UNITS` adopters or :data:`MIN_CONTROL_UNITS`
never-adopters is withheld: its row stays, with null numbers and ``withheld_reason`` in words).

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
from analysis.poisson import POISSON, poisson_did
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
    "MIN_TREATED_UNITS",
    "MIN_CONTROL_UNITS",
    "PLACEBO_SHIFT_WEEKS",
    "estimate_outcome_poisson",
    "placebo_sample",
    "withheld_reason",
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
#: An estimate resting on fewer adopters than this is withheld (its row is written with a null
#: estimate and ``withheld_reason``). Why 10: every estimator here clusters by developer, and its
#: standard error is an average over the adopters' own variation; with fewer than about ten adopters
#: one person's unusual quarter moves the estimate by more than the interval admits (the sandbox's
#: Monte Carlo at 30 developers, ~15 adopters per outcome, is where coverage first reaches 95%), and
#: a leader would be reading one team's anecdote as an organisation's effect.
MIN_TREATED_UNITS = 10
#: ...and fewer never-adopters than this: the comparison group's week-to-week changes are the
#: counterfactual for every adopter, so a handful of people would stand in for everyone.
MIN_CONTROL_UNITS = 5
#: Placebo adoption dates: each adopter's adoption moved this many weeks earlier, estimated on the
#: weeks before the real adoption only, where the true effect is zero by construction. Four weeks is
#: the usual rollout lead (trials, onboarding) and leaves most cohorts a base week before it.
PLACEBO_SHIFT_WEEKS = 4
#: multiplier-bootstrap draws and seed for the uniform band of the Callaway & Sant'Anna event study
#: (999: the 95% quantile of the max-t statistic to about +-0.05; fixed seed: same data, same band)
BOOTSTRAP_ITERATIONS = 999
BOOTSTRAP_SEED = 20_240_601


@dataclass(frozen=True)
class Outcome:
    """An outcome of the panel the analysis estimates an effect on.

    ``kind="log"``: the column is a log; effects are reported in percent, ``exp(b) - 1``.
    ``kind="count"``: the column is in levels; effects are in the column's unit, and in percent of
    the adopters' pre-adoption mean.
    ``kind="rate"``: the column is a share between 0 and 1 (e.g. the change failure rate). It is
    estimated as a linear probability model on 100 x the share, so ``estimate``, its interval, the
    event study and ``baseline_mean`` are in percent and effects in percentage points; ``effect_pct``
    is the effect in percent of the adopters' pre-adoption rate. Why linear and not logit: the
    estimand is a difference in rates that both estimators average over developer-weeks, with errors
    clustered by developer, and it stays defined when a developer's rate is 0 in every week.
    """

    name: str  # the value of ``outcome`` in the analysis tables
    column: str  # column of the panel
    kind: Literal["log", "count", "rate"]
    label: str  # plain words that say what is estimated, e.g. "median PR review time"
    unit: str  # unit of the untransformed outcome, e.g. "hours"
    required: bool = False  # a required outcome that cannot be estimated is an error
    poisson: bool = False  # counts: also a fixed-effects Poisson GLM (multiplicative effect)
    #: a finding of the report's summary; False: only its own event-study section and the tables
    #: (robustness outcomes such as the medians, which restate a summarised duration another way)
    headline: bool = True

    @property
    def effect_unit(self) -> str:
        """Unit of ``estimate`` in the tables: log points, percentage points, or the outcome's unit."""
        if self.kind == "log":
            return "log points (effect_pct: % change)"
        if self.kind == "rate":
            return "percentage points (effect_pct: % of the adopters' pre-adoption rate)"
        return self.unit

    @property
    def scale(self) -> float:
        """Factor applied to the panel column before estimating: rates (0-1) are estimated in percent."""
        return 100.0 if self.kind == "rate" else 1.0


OUTCOMES: tuple[Outcome, ...] = (
    # durations as the developer-week mean of ln(hours): the effect is on the geometric mean
    Outcome(
        name="review_hours",
        column="log_review_hours_mean",
        kind="log",
        label="PR review time (geometric mean)",
        unit="hours",
        required=True,
    ),
    Outcome(
        name="prs_merged",
        column="prs_merged",
        kind="count",
        label="merged PRs per developer per week",
        unit="merged PRs per developer-week",
        poisson=True,
    ),
    Outcome(
        name="pickup_hours",
        column="log_pickup_hours_mean",
        kind="log",
        label="PR pickup time (geometric mean, opened to first review)",
        unit="hours",
    ),
    Outcome(
        name="lead_time_hours",
        column="log_lead_time_hours_mean",
        kind="log",
        label="lead time for changes (geometric mean, first commit to production)",
        unit="hours",
    ),
    Outcome(
        name="change_failure_rate",
        column="change_failure_rate",
        kind="rate",
        label="change failure rate",
        unit="% of the developer's changes first deployed that week",
    ),
    # the same durations as ln(developer-week median): robust to one outlying PR in a week
    Outcome(
        name="review_hours_median",
        column="log_review_hours_p50",
        kind="log",
        label="median PR review time",
        unit="hours",
        headline=False,
    ),
    Outcome(
        name="pickup_hours_median",
        column="log_pickup_hours_p50",
        kind="log",
        label="median PR pickup time",
        unit="hours",
        headline=False,
    ),
    Outcome(
        name="lead_time_hours_median",
        column="log_lead_time_hours_p50",
        kind="log",
        label="median lead time for changes",
        unit="hours",
        headline=False,
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
    # --- added with the checks that run with every estimate (issue 6); older columns unchanged ---
    "n_control_units": "INTEGER",
    "n_cohorts": "INTEGER",
    "placebo_estimate": "DOUBLE",
    "placebo_se": "DOUBLE",
    "placebo_p_value": "DOUBLE",
    "placebo_shift_weeks": "INTEGER",
    "withheld_reason": "VARCHAR",
    "effect_unit": "VARCHAR",
    "model": "VARCHAR",
    "uniform_critical_value": "DOUBLE",
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
    # simultaneous 95% band over the window (Callaway & Sant'Anna: multiplier bootstrap; TWFE: sup-t)
    "uniform_ci_low": "DOUBLE",
    "uniform_ci_high": "DOUBLE",
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
    #: rows written to analysis.cohort_comparison (descriptive; None when it could not be built)
    cohort_comparison: pd.DataFrame | None = field(default=None, repr=False)


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
    if outcome.kind == "rate":
        values = pd.to_numeric(data[outcome.column])
        bad = data.loc[(values < 0) | (values > 1)]
        if len(bad):
            first = bad.iloc[0]
            raise PanelDataError(
                f"{PANEL_TABLE}.{outcome.column} must be a share between 0 and 1, but {len(bad)} row(s) are "
                f"not, e.g. developer {first['developer_id']} week {_week_label(int(first['_week']))}: "
                f"{first[outcome.column]!r}; pass rates as fractions (failed / deployed), not percent"
            )
        data = data.assign(**{outcome.column: values * outcome.scale})
    return data


def _effect_fields(outcome: Outcome, data: pd.DataFrame, estimate: float, ci_low: float, ci_high: float) -> dict:
    """Baseline (adopters' pre-adoption mean in ``data``) and the effect in percent of it.

    Log outcomes: exp(b) - 1 (monotone, so the CI maps through), baseline as a geometric mean in the
    outcome's unit. Counts and rates: b over the baseline (rates: ``data`` is already in percent, so
    the baseline is the pre-adoption rate in percent and b is in percentage points).
    """
    pre = data[data["_adoption_week"].notna() & (data["_week"] < data["_adoption_week"])]
    baseline = float(pre[outcome.column].mean()) if len(pre) else math.nan
    if outcome.kind == "log":
        pct = [100.0 * math.expm1(v) if math.isfinite(v) else math.nan for v in (estimate, ci_low, ci_high)]
        baseline = math.exp(baseline) if math.isfinite(baseline) else math.nan
    else:
        pct = [100.0 * v / baseline if baseline else math.nan for v in (estimate, ci_low, ci_high)]
    return {
        "effect_unit": outcome.effect_unit,
        "outcome_label": outcome.label,
        "outcome_kind": outcome.kind,
        "baseline_mean": baseline,
        "effect_pct": pct[0],
        "effect_pct_ci_low": pct[1],
        "effect_pct_ci_high": pct[2],
    }


def withheld_reason(n_treated: int, n_control: int) -> str | None:
    """Why an estimate on this many adopters and never-adopters is withheld, or None if it is not.

    See :data:`MIN_TREATED_UNITS` and :data:`MIN_CONTROL_UNITS` for why these thresholds.
    """
    reasons = []
    if n_treated < MIN_TREATED_UNITS:
        reasons.append(f"only {n_treated} adopter(s) in the sample (at least {MIN_TREATED_UNITS} needed)")
    if n_control < MIN_CONTROL_UNITS:
        reasons.append(f"only {n_control} developer(s) who never adopted (at least {MIN_CONTROL_UNITS} needed)")
    if not reasons:
        return None
    return "withheld: " + " and ".join(reasons) + "; too few people for an estimate a leader could rely on"


def _unit_counts(data: pd.DataFrame, group: str) -> tuple[int, int, int]:
    """(adopters, never-adopters, adoption cohorts) among the developers of ``data``."""
    g = data.groupby("developer_id")[group].first()
    treated = g.notna() & (g != 0)
    return int(treated.sum()), int((~treated).sum()), int(g[treated].nunique())


def placebo_sample(data: pd.DataFrame, *, shift: int = PLACEBO_SHIFT_WEEKS) -> pd.DataFrame:
    """The pre-adoption panel with every adoption moved ``shift`` weeks earlier (``_placebo_group``).

    Adopters keep only their weeks before the real adoption; never-adopters keep the weeks before
    the last real adoption (after it there is no adopter left to compare with). The true effect of
    the placebo adoption is zero, so an estimate far from zero flags anticipation or adopters who
    were already diverging: a check on the design that complements the pre-trend test.
    """
    adoption = data["_adoption_week"]
    adopter = adoption.notna()
    if not adopter.any():
        return data.iloc[0:0].assign(_placebo_group=pd.Series(dtype="int64"))
    last = adoption.max()
    keep = (adopter & (data["_week"] < adoption)) | (~adopter & (data["_week"] < last))
    out = data.loc[keep]
    return out.assign(_placebo_group=(out["_adoption_week"] - shift).fillna(0).astype("int64"))


def _placebo_fields(estimate: float, se: float, df: float) -> dict:
    ok = math.isfinite(estimate) and math.isfinite(se) and se > 0
    return {
        "placebo_estimate": estimate if ok else math.nan,
        "placebo_se": se if ok else math.nan,
        "placebo_p_value": float(2.0 * stats.t.sf(abs(estimate / se), df)) if ok else math.nan,
        "placebo_shift_weeks": PLACEBO_SHIFT_WEEKS,
    }


_NO_PLACEBO = {"placebo_estimate": math.nan, "placebo_se": math.nan, "placebo_p_value": math.nan,
               "placebo_shift_weeks": PLACEBO_SHIFT_WEEKS}


def _twfe_placebo(data: pd.DataFrame, outcome: Outcome) -> dict:
    sample = placebo_sample(data)
    try:
        est = twfe_did(sample, y=outcome.column, unit="developer_id", time="_week", group="_placebo_group")
    except (ValueError, KeyError):
        return dict(_NO_PLACEBO)
    return _placebo_fields(est.estimate, est.se, est.n_units - 1)


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
    extra.update(_twfe_placebo(data, outcome))
    treated, control, cohorts = _unit_counts(data, "_adoption_week")
    extra.update(
        n_control_units=control, n_cohorts=cohorts, withheld_reason=withheld_reason(treated, control),
        model=_model_prefix(outcome)
        + "two-way fixed effects OLS (developer and week effects), errors clustered by developer",
        uniform_critical_value=dynamic.uniform_crit if dynamic is not None else math.nan,
    )
    return static, dynamic, extra


def estimate_outcome_poisson(panel: pd.DataFrame, outcome: Outcome, *, alpha: float = 0.05) -> tuple[Estimate, dict]:
    """Fixed-effects Poisson GLM for a count outcome, reported in the outcome's unit and in percent.

    ``estimate`` (and its interval) is the change in the count per developer-week at the adopters'
    pre-adoption mean, baseline * (exp(b) - 1); ``effect_pct`` is 100 (exp(b) - 1). The interval maps
    b's t interval through, treating the baseline as known. Raises :class:`EstimatorUnavailable`.
    """
    data = _outcome_sample(panel, outcome)
    try:
        fit = poisson_did(data, y=outcome.column, unit="developer_id", time="_week", group="_adoption_week", alpha=alpha)
    except ValueError as exc:
        raise EstimatorUnavailable(str(exc)) from exc
    extra = _effect_fields(outcome, data, fit.coef, fit.ci_low, fit.ci_high)
    baseline = extra["baseline_mean"]
    pct, pct_lo, pct_hi = fit.pct()
    extra.update(effect_pct=pct, effect_pct_ci_low=pct_lo, effect_pct_ci_high=pct_hi)
    scale = baseline / 100.0 if math.isfinite(baseline) else math.nan
    static = Estimate(
        outcome=outcome.name, estimator=POISSON, estimate=pct * scale,
        se=fit.se * baseline * fit.rate_ratio,  # delta method at the baseline
        ci_low=pct_lo * scale, ci_high=pct_hi * scale, p_value=fit.p_value, n_units=fit.n_units,
        n_treated_units=fit.n_treated_units, n_obs=fit.n_obs,
    )
    sample = placebo_sample(data)
    try:
        placebo = poisson_did(sample, y=outcome.column, unit="developer_id", time="_week", group="_placebo_group")
        fields = _placebo_fields(placebo.coef, placebo.se, placebo.n_units - 1)
        # in the estimate's unit (PRs per developer-week at the baseline), like the estimate
        fields["placebo_estimate"] = baseline * math.expm1(placebo.coef)
        fields["placebo_se"] = placebo.se * baseline * math.exp(placebo.coef)
        extra.update(fields)
    except (ValueError, KeyError):
        extra.update(_NO_PLACEBO)
    treated, control, cohorts = _unit_counts(data, "_adoption_week")
    extra.update(
        pre_trend_p_value=math.nan, n_control_units=control, n_cohorts=cohorts,
        withheld_reason=withheld_reason(treated, control), uniform_critical_value=math.nan,
        model=(f"Poisson GLM with developer and week fixed effects, errors clustered by developer; "
               f"rate ratio {fit.rate_ratio:.3f} (log {fit.coef:+.4f}, se {fit.se:.4f})"),
    )
    return static, extra


def estimate_outcome_cs(
    panel: pd.DataFrame, outcome: Outcome, *, alpha: float = 0.05, bootstrap: bool = True
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
            dynamic = res.aggregate(
                "dynamic", min_e=EVENT_WINDOW[0], max_e=EVENT_WINDOW[1], bstrap=bootstrap,
                biters=BOOTSTRAP_ITERATIONS, seed=BOOTSTRAP_SEED, alpha=alpha,
            )
            pre = res.pretest(on="dynamic", min_e=EVENT_WINDOW[0])
        except DiDError as exc:
            raise EstimatorUnavailable(str(exc)) from exc
    placebo = _cs_placebo(data, outcome, alpha=alpha)
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
    # pointwise intervals keep the analytic errors; the bootstrap only supplies the band's multiplier
    analytic_se = table["se_analytic"] if "se_analytic" in table else table["se"]
    table = table.assign(se=analytic_se * scale)
    # uniform band: the bootstrap's max-t critical value, widened by t(G-1)/z like the pointwise ones
    uniform = dynamic.crit_val * z / stats.norm.ppf(1.0 - alpha / 2.0) if bootstrap else math.nan
    table = table.assign(
        relative_week=table["relative_week"].astype("int64"),
        ci_low=table["estimate"] - z * table["se"],
        ci_high=table["estimate"] + z * table["se"],
        p_value=2.0 * stats.t.sf(np.abs(table["estimate"] / table["se"]), df),
        n_treated_units=[int(observed.get(float(k), 0)) for k in table["relative_week"]],
        uniform_ci_low=table["estimate"] - uniform * table["se"],
        uniform_ci_high=table["estimate"] + uniform * table["se"],
    )[["relative_week", "estimate", "se", "ci_low", "ci_high", "p_value", "n_treated_units",
       "uniform_ci_low", "uniform_ci_high"]]
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
    extra.update(placebo)
    treated = int(np.sum(res.unit_group > 0))
    control = int(np.sum(res.unit_group == 0))
    extra.update(
        n_control_units=control, n_cohorts=int(np.unique(res.unit_group[res.unit_group > 0]).size),
        withheld_reason=withheld_reason(treated, control), uniform_critical_value=uniform,
        model=(_model_prefix(outcome)
               + "Callaway & Sant'Anna (2021), never-adopters as controls, doubly robust, unbalanced panel; "
               "errors clustered by developer with a G/(G-1) correction and t(G-1) intervals; "
               f"uniform event-study band by multiplier bootstrap ({BOOTSTRAP_ITERATIONS} Rademacher draws)"),
    )
    return static, event, extra, notes


def _model_prefix(outcome: Outcome) -> str:
    """What the outcome is modelled as, in front of the estimator's description in ``model``."""
    if outcome.kind == "rate":
        return (f"linear probability model of the developer-week {outcome.label} (in percent, each "
                "developer-week weighted equally; effect in percentage points): ")
    return ""


def _cs_placebo(data: pd.DataFrame, outcome: Outcome, *, alpha: float) -> dict:
    """Callaway & Sant'Anna on :func:`placebo_sample`: the average of the placebo post-adoption cells.

    Only the :data:`PLACEBO_SHIFT_WEEKS` weeks between the placebo and the real adoption count
    (``max_e``), with the same finite-cluster scaling as the real estimate.
    """
    sample = placebo_sample(data.drop(columns=["_group"]))
    if sample.empty:
        return dict(_NO_PLACEBO)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            res = att_gt(sample, y=outcome.column, t="_week", unit="developer_id", group="_placebo_group",
                         control="never_treated", method="dr", allow_unbalanced_panel=True)
            agg = res.aggregate("simple", max_e=PLACEBO_SHIFT_WEEKS - 1)
        except DiDError:
            return dict(_NO_PLACEBO)
    clusters = int(res.n_units)
    if clusters < 3:
        return dict(_NO_PLACEBO)
    se = agg.overall_se * math.sqrt(clusters / (clusters - 1.0))
    return _placebo_fields(float(agg.overall_att), float(se), clusters - 1)


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
    row = {
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
        "n_control_units": extra.get("n_control_units"),
        "n_cohorts": extra.get("n_cohorts"),
        "placebo_estimate": extra.get("placebo_estimate", math.nan),
        "placebo_se": extra.get("placebo_se", math.nan),
        "placebo_p_value": extra.get("placebo_p_value", math.nan),
        "placebo_shift_weeks": extra.get("placebo_shift_weeks", PLACEBO_SHIFT_WEEKS),
        "withheld_reason": extra.get("withheld_reason"),
        "effect_unit": extra.get("effect_unit"),
        "model": extra.get("model"),
        "uniform_critical_value": extra.get("uniform_critical_value", math.nan),
    }
    if row["withheld_reason"]:  # the row stays (with its sample sizes and reason), the numbers go
        for key in _WITHHELD_FIELDS:
            row[key] = math.nan
    return row


#: fields nulled in a withheld row: everything that would let a reader use the estimate anyway
_WITHHELD_FIELDS = (
    "estimate", "se", "ci_low", "ci_high", "p_value", "effect_pct", "effect_pct_ci_low", "effect_pct_ci_high",
    "placebo_estimate", "placebo_se", "placebo_p_value", "uniform_critical_value",
)


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
        if outcome.poisson:
            try:
                pois_static, pois_extra = estimate_outcome_poisson(panel, outcome)
                fits.append((pois_static, None, pois_extra))
            except EstimatorUnavailable as exc:
                log.warning("%s: %s: not estimated: %s", outcome.name, POISSON, exc)
                notes.append(f"{outcome.name}: {POISSON}: not estimated: {exc}")
        for static, dynamic, extra in fits:
            statics.append(static)
            row = _estimates_row(static, extra, computed_at)
            est_rows.append(row)
            if row["withheld_reason"]:
                log.warning("%s: %s: %s", outcome.name, static.estimator, row["withheld_reason"])
                notes.append(f"{outcome.name}: {static.estimator}: {row['withheld_reason']}")
                continue  # no event study for a withheld estimate
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
    cohort_table = _cohort_comparison(warehouse_path, panel, outcomes, computed_at, notes)
    return ImpactResults(
        estimates=tuple(statics),
        event_studies=tuple(dynamics),
        impact_estimates=estimates_df,
        event_study=event_df,
        computed_at=computed_at,
        skipped=tuple(skipped),
        notes=tuple(notes),
        cohort_comparison=cohort_table,
    )


def _cohort_comparison(warehouse_path, panel, outcomes, computed_at, notes) -> pd.DataFrame | None:
    """The descriptive matched comparison (analysis.cohorts); a panel that cannot support it only
    leaves a note (and drops a stale table), since the causal estimates do not depend on it."""
    from analysis.cohorts import COHORT_TABLE, CohortError, compare_cohorts, write_cohort_comparison

    try:
        comparison = compare_cohorts(panel, outcomes)
    except CohortError as exc:
        log.warning("cohort comparison not built: %s", exc)
        notes.append(f"cohort comparison: not built: {exc}")
        with duckdb.connect(str(warehouse_path)) as con:
            con.execute(f"drop table if exists {COHORT_TABLE}")
        return None
    write_cohort_comparison(warehouse_path, comparison, computed_at)
    return comparison.table


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
