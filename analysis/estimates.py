"""Estimate the effect of AI adoption from the warehouse panel and store it in schema ``analysis``.

Reads ``marts.mart_ai_impact_panel`` (developer x week), runs the two-way fixed effects estimators of
:mod:`analysis.twfe` for every outcome in :data:`OUTCOMES`, and replaces ``analysis.impact_estimates``
and ``analysis.event_study`` in one transaction, so readers see either the old results or the new
ones, never a mix.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Literal

import duckdb
import numpy as np
import pandas as pd

from analysis.twfe import Estimate, EventStudy, twfe_did, twfe_event_study

__all__ = [
    "Outcome",
    "OUTCOMES",
    "PANEL_TABLE",
    "ImpactResults",
    "PanelDataError",
    "run_impact_analysis",
    "estimate_outcome",
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


def estimate_outcome(panel: pd.DataFrame, outcome: Outcome) -> tuple[Estimate, EventStudy | None, dict]:
    """Static and event-study TWFE for one outcome, plus the derived fields of its estimates row."""
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
    kwargs = dict(y=outcome.column, unit="developer_id", time="_week", group="_adoption_week", outcome=outcome.name)
    try:
        static = twfe_did(data, **kwargs)
    except ValueError as exc:
        raise PanelDataError(f"{PANEL_TABLE}: cannot estimate {outcome.name}: {exc}") from exc
    try:
        dynamic = twfe_event_study(data, **kwargs)
    except ValueError as exc:
        log.warning("event study for %s not estimated: %s", outcome.name, exc)
        dynamic = None

    pre = data[data["_adoption_week"].notna() & (data["_week"] < data["_adoption_week"])]
    baseline = float(pre[outcome.column].mean()) if len(pre) else math.nan
    if outcome.kind == "log":
        # y is a log: the change in percent is exp(b) - 1 (monotone, so the CI maps through)
        pct = [100.0 * math.expm1(v) for v in (static.estimate, static.ci_low, static.ci_high)]
        baseline = math.exp(baseline) if math.isfinite(baseline) else math.nan  # geometric mean, hours
    else:
        pct = [100.0 * v / baseline if baseline else math.nan for v in (static.estimate, static.ci_low, static.ci_high)]
    extra = {
        "outcome_label": outcome.label,
        "outcome_kind": outcome.kind,
        "pre_trend_p_value": dynamic.pre_trend_p_value if dynamic is not None else math.nan,
        "baseline_mean": baseline,
        "effect_pct": pct[0],
        "effect_pct_ci_low": pct[1],
        "effect_pct_ci_high": pct[2],
    }
    return static, dynamic, extra


def run_impact_analysis(
    warehouse_path: str | Path, *, outcomes: tuple[Outcome, ...] = OUTCOMES
) -> ImpactResults:
    """Estimate the effect of AI adoption on each outcome and (re)write the ``analysis`` tables."""
    panel = load_panel(warehouse_path)
    computed_at = datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0)
    statics: list[Estimate] = []
    dynamics: list[EventStudy] = []
    est_rows: list[dict] = []
    es_frames: list[pd.DataFrame] = []
    skipped: list[str] = []
    for outcome in outcomes:
        try:
            static, dynamic, extra = estimate_outcome(panel, outcome)
        except PanelDataError as exc:
            if outcome.required:
                raise
            log.warning("outcome %s skipped: %s", outcome.name, exc)
            skipped.append(f"{outcome.name}: {exc}")
            continue
        statics.append(static)
        est_rows.append(
            {
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
        )
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
