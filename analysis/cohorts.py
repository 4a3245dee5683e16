"""Cohort comparison: what adopters look like beside matched developers who did not adopt.

DESCRIPTIVE, NOT CAUSAL. Leaders ask "are the people who adopted AI different, and how do their
numbers compare with similar people who did not?". This answers that question and only that one:
developers chose to adopt, so a matched comparison balances the characteristics we can see (team,
seniority, activity before adoption) and nothing else. The causal estimates are those of
:mod:`analysis.estimates` (difference in differences); this table is context for them.

Method (exact + coarsened matching, then nearest neighbour; Iacus, King & Porro 2012 in spirit):

1. Pre-period: the weeks before the first adoption week in the panel, when nobody had adopted, so
   the characteristics cannot reflect the treatment. Per developer: merged-PR rate per week, mean
   log review hours of their merged PRs, and the share of weeks with a PR.
2. A propensity score: logit of adopting on seniority and the standardised pre-period activity.
   Each adopter gets one non-adopter (with replacement), the nearest on the logit score within
   the most specific stratum: same team and seniority if one is within :data:`CALIPER`; else
   same seniority; else anyone (only when no non-adopter shares the seniority).
3. Balance: standardised mean differences (difference of means over the pooled standard deviation
   of adopters and all non-adopters, the same denominator before and after matching) for every
   matching variable; |SMD| < 0.1 is the usual threshold for "balanced".
4. Outcome difference per outcome: for each adopter, the mean of their post-adoption weeks minus the
   mean of their matched non-adopter over the same calendar weeks; averaged over adopters. The
   interval clusters adopters that share a matched control (reuse makes their differences
   dependent) and uses t with (clusters - 1) degrees of freedom.

Written to ``analysis.cohort_comparison``: one row per balance variable (``section = 'balance'``)
and per outcome (``section = 'outcome'``), each with a ``note`` that says it is descriptive.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats

__all__ = [
    "COHORT_TABLE",
    "COHORT_COLUMNS",
    "CohortComparison",
    "CohortError",
    "DESCRIPTIVE_NOTE",
    "compare_cohorts",
    "write_cohort_comparison",
]

COHORT_TABLE = "analysis.cohort_comparison"
DESCRIPTIVE_NOTE = (
    "Descriptive, not causal: adopters chose to adopt; matching balances team, seniority and "
    "pre-period activity only, not motivation or workload. See analysis.impact_estimates for effects."
)
#: the pre-period must have at least this many weeks to describe anyone's activity
MIN_PRE_WEEKS = 2
#: a same-team match further than this many standard deviations of the propensity logit is not
#: used (Austin 2011's 0.2): the adopter is matched within their seniority across teams instead.
#: Without it, a team with two non-adopters hands its adopters poor matches and imbalance stays.
CALIPER = 0.2

COHORT_COLUMNS: dict[str, str] = {
    "section": "VARCHAR",  # balance | outcome
    "variable": "VARCHAR",
    "label": "VARCHAR",
    "adopters_mean": "DOUBLE",
    "non_adopters_mean": "DOUBLE",  # all non-adopters (before matching)
    "matched_mean": "DOUBLE",  # matched non-adopters (after matching; weighted by reuse)
    "smd_before": "DOUBLE",
    "smd_after": "DOUBLE",
    "difference": "DOUBLE",  # outcome rows: adopters minus matched non-adopters
    "ci_low": "DOUBLE",
    "ci_high": "DOUBLE",
    "difference_pct": "DOUBLE",  # log outcomes: 100 (exp(difference) - 1)
    "n_adopters": "INTEGER",
    "n_non_adopters": "INTEGER",
    "n_matched_controls": "INTEGER",  # distinct non-adopters used
    "method": "VARCHAR",
    "note": "VARCHAR",
    "computed_at": "TIMESTAMP",
}

METHOD = ("1:1 nearest neighbour with replacement on a propensity score (logit on seniority and "
          "pre-period activity), exact on seniority, same team preferred within a caliper of "
          f"{CALIPER} SD of the logit")


class CohortError(ValueError):
    """The panel cannot support a cohort comparison; the message says why."""


@dataclass(frozen=True)
class CohortComparison:
    balance: pd.DataFrame
    outcomes: pd.DataFrame
    matches: pd.DataFrame = field(repr=False)  # adopter, control, stratum level
    table: pd.DataFrame = field(repr=False)  # rows of analysis.cohort_comparison


_ACTIVITY = (
    ("pre_prs_merged", "merged PRs per week before anyone adopted"),
    ("pre_log_review_hours", "mean log review hours before anyone adopted"),
    ("pre_active_share", "share of pre-period weeks with a PR opened"),
)


def _pre_period_profile(panel: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    first_adoption = panel["_adoption_week"].min()
    pre = panel[panel["_week"] < first_adoption]
    n_weeks = int(pre["_week"].nunique())
    if n_weeks < MIN_PRE_WEEKS:
        raise CohortError(
            f"only {n_weeks} week(s) before the first adoption: at least {MIN_PRE_WEEKS} are needed to "
            "describe developers' activity before anyone adopted"
        )
    grouped = pre.groupby("developer_id")
    profile = pd.DataFrame({
        "pre_prs_merged": grouped["prs_merged"].mean(),
        "pre_log_review_hours": grouped["log_review_hours_mean"].mean(),
        "pre_active_share": grouped["prs_opened"].apply(lambda s: float((s > 0).mean())),
    })
    return profile, n_weeks


def _smd(treated: np.ndarray, control: np.ndarray, control_weights: np.ndarray | None, pooled_sd: float) -> float:
    if not pooled_sd or not np.isfinite(pooled_sd):
        return 0.0 if np.nanmean(treated) == _wmean(control, control_weights) else math.nan
    return float((np.nanmean(treated) - _wmean(control, control_weights)) / pooled_sd)


def _wmean(values: np.ndarray, weights: np.ndarray | None) -> float:
    ok = np.isfinite(values)
    if weights is None:
        return float(np.mean(values[ok])) if ok.any() else math.nan
    w = weights[ok]
    return float(np.sum(values[ok] * w) / np.sum(w)) if w.sum() else math.nan


def _propensity_logit(dev: pd.DataFrame, z: pd.DataFrame, adopted: np.ndarray) -> np.ndarray:
    """Linear predictor of a logit of adoption on seniority and standardised pre-period activity.

    Matching on this one number (rather than on the three activity variables at once) is what makes
    close matches possible within a seniority level. If the logit cannot be fitted (separation),
    the activity z-scores' sum stands in, so the comparison still runs (and says how it matched).
    """
    seniority = pd.get_dummies(dev["seniority"], drop_first=True).astype(float)
    x = sm.add_constant(pd.concat([z, seniority], axis=1).to_numpy(dtype=float), has_constant="add")
    keep = np.linalg.norm(x - x.mean(axis=0), axis=0) > 0
    keep[0] = True
    x = x[:, keep]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = sm.Logit(adopted.astype(float), x).fit(disp=0, maxiter=200)
        if not fit.mle_retvals.get("converged", True):
            raise ValueError("did not converge")
        return np.asarray(x @ fit.params, dtype=float)
    except Exception:  # noqa: BLE001 - perfect separation, singular design: fall back, documented
        return z.sum(axis=1).to_numpy(dtype=float)


def compare_cohorts(panel: pd.DataFrame, outcomes=None, *, alpha: float = 0.05) -> CohortComparison:
    """Match adopters to non-adopters and describe both groups; see the module docstring.

    ``panel`` is the impact panel with integer ``_week`` and ``_adoption_week`` (NaN: never), as
    :func:`analysis.estimates.load_panel` returns; ``seniority`` and ``team_id`` are used when present.
    ``outcomes``: :class:`analysis.estimates.Outcome` objects (default: the registry's).
    """
    if outcomes is None:
        from analysis.estimates import OUTCOMES as outcomes  # noqa: N811 (avoid a circular import)
    needed = {"developer_id", "_week", "_adoption_week", "prs_merged", "prs_opened", "log_review_hours_mean"}
    missing = sorted(needed - set(panel.columns))
    if missing:
        raise CohortError(f"the panel lacks column(s) {missing} needed for the cohort comparison")
    dev = panel.groupby("developer_id").agg(
        adoption=("_adoption_week", "first"),
        team=("team_id", "first") if "team_id" in panel else ("developer_id", lambda s: "all"),
        seniority=("seniority", "first") if "seniority" in panel else ("developer_id", lambda s: "unknown"),
    )
    dev["team"] = dev["team"].fillna("unknown").astype(str)
    dev["seniority"] = dev["seniority"].fillna("unknown").astype(str)
    adopters = dev.index[dev["adoption"].notna()]
    others = dev.index[dev["adoption"].isna()]
    if len(adopters) == 0 or len(others) == 0:
        raise CohortError(
            f"{len(adopters)} adopter(s) and {len(others)} non-adopter(s): both groups are needed to compare"
        )
    profile, pre_weeks = _pre_period_profile(panel)
    dev = dev.join(profile)
    act = [c for c, _ in _ACTIVITY]
    z = dev[act].copy()
    for c in act:  # standardise; a missing value (no PR in the pre-period) is set to the mean
        sd = z[c].std(ddof=1)
        z[c] = ((z[c] - z[c].mean()) / sd if sd and np.isfinite(sd) else 0.0)
        z[c] = z[c].fillna(0.0)

    team = pd.factorize(dev["team"])[0]
    senior = pd.factorize(dev["seniority"])[0]
    score = _propensity_logit(dev, z, adopted=dev["adoption"].notna().to_numpy())
    caliper = CALIPER * float(np.std(score, ddof=1)) if np.std(score) > 0 else np.inf
    pos = {d: i for i, d in enumerate(dev.index)}
    ctrl_idx = np.array([pos[o] for o in others])
    matches = []
    for a in adopters:
        i = pos[a]
        same_senior = senior[ctrl_idx] == senior[i]
        for level, mask, use_caliper in (
            ("team and seniority", same_senior & (team[ctrl_idx] == team[i]), True),
            ("seniority", same_senior, False),
            ("anyone", np.ones(ctrl_idx.size, dtype=bool), False),
        ):
            if mask.any():
                pool = ctrl_idx[mask]
                dist = np.abs(score[pool] - score[i])
                best = int(np.argmin(dist))
                if use_caliper and dist[best] > caliper:
                    continue  # no close match within the team: look across teams
                matches.append((a, dev.index[pool[best]], level))
                break
    matches = pd.DataFrame(matches, columns=["adopter", "control", "level"])
    reuse = matches["control"].value_counts()

    # balance: activity, seniority shares, same-team share
    rows = []
    cat = pd.get_dummies(dev["seniority"], prefix="seniority").astype(float)
    variables = [(c, lbl, dev[c]) for c, lbl in _ACTIVITY] + [
        (c, f"share {c.removeprefix('seniority_')}", cat[c]) for c in cat.columns
    ]
    w_after = reuse.reindex(others).fillna(0.0).to_numpy()
    for name, label, values in variables:
        t_vals = values.loc[adopters].to_numpy(dtype=float)
        c_vals = values.loc[others].to_numpy(dtype=float)
        pooled = math.sqrt((np.nanvar(t_vals, ddof=1) + np.nanvar(c_vals, ddof=1)) / 2) if min(len(t_vals), len(c_vals)) > 1 else math.nan
        rows.append({
            "section": "balance", "variable": name, "label": label,
            "adopters_mean": float(np.nanmean(t_vals)) if np.isfinite(t_vals).any() else math.nan,
            "non_adopters_mean": _wmean(c_vals, None),
            "matched_mean": _wmean(c_vals, w_after),
            "smd_before": _smd(t_vals, c_vals, None, pooled),
            "smd_after": _smd(t_vals, c_vals, w_after, pooled),
        })
    same_team = (matches["level"] == "team and seniority").mean()
    balance = pd.DataFrame(rows)

    # outcome differences over the adopter's post-adoption weeks
    out_rows = []
    weeks = np.sort(panel["_week"].unique())
    rows_of = panel["developer_id"].map(pos).to_numpy()
    cols_of = np.searchsorted(weeks, panel["_week"].to_numpy())
    a_idx = np.array([pos[a] for a in matches["adopter"]])
    c_idx = np.array([pos[c] for c in matches["control"]])
    post = weeks[None, :] >= dev["adoption"].to_numpy()[a_idx][:, None]  # (pairs, weeks)
    for outcome in outcomes:
        if outcome.column not in panel.columns:
            continue
        wide = np.full((len(dev), weeks.size), np.nan)
        # rates (0-1) in percent, so their difference reads in percentage points as in the estimates
        scale = getattr(outcome, "scale", 1.0)
        wide[rows_of, cols_of] = pd.to_numeric(panel[outcome.column]).to_numpy(dtype=float) * scale
        mine = np.where(post, wide[a_idx], np.nan)
        theirs = np.where(post & np.isfinite(mine), wide[c_idx], np.nan)
        with warnings.catch_warnings():  # a pair without any observed week gives NaN, dropped below
            warnings.simplefilter("ignore", RuntimeWarning)
            a_mean, c_mean = np.nanmean(mine, axis=1), np.nanmean(theirs, axis=1)
        ok = np.isfinite(a_mean) & np.isfinite(c_mean)
        diffs, clusters = list(a_mean[ok] - c_mean[ok]), list(matches["control"].to_numpy()[ok])
        if len(diffs) < 2:
            continue
        d = np.asarray(diffs)
        mean = float(d.mean())
        sums = pd.Series(d - mean).groupby(np.asarray(clusters)).sum().to_numpy()
        g = sums.size
        se = math.sqrt(g / (g - 1.0) * np.sum(sums**2)) / d.size if g > 1 else math.nan
        crit = stats.t.ppf(1 - alpha / 2, g - 1) if g > 1 else math.nan
        lo, hi = mean - crit * se, mean + crit * se
        out_rows.append({
            "section": "outcome", "variable": outcome.name, "label": outcome.label, "difference": mean,
            "ci_low": lo, "ci_high": hi,
            "difference_pct": 100 * math.expm1(mean) if outcome.kind == "log" else math.nan,
            "n_adopters": int(d.size), "n_matched_controls": int(g),
        })
    outcomes_df = pd.DataFrame(out_rows)

    table = pd.concat([balance, outcomes_df], ignore_index=True)
    table["n_adopters"] = table["n_adopters"].fillna(len(adopters)) if "n_adopters" in table else len(adopters)
    table["n_non_adopters"] = len(others)
    if "n_matched_controls" not in table:
        table["n_matched_controls"] = np.nan
    table["n_matched_controls"] = table["n_matched_controls"].fillna(len(reuse))
    table["method"] = f"{METHOD}; pre-period {pre_weeks} week(s); {same_team:.0%} matched within team"
    table["note"] = DESCRIPTIVE_NOTE
    return CohortComparison(balance=balance, outcomes=outcomes_df, matches=matches, table=table)


def write_cohort_comparison(warehouse_path: str | Path, comparison: CohortComparison,
                            computed_at: datetime | None = None) -> None:
    """Replace ``analysis.cohort_comparison`` (in one transaction)."""
    computed_at = computed_at or datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0)
    frame = comparison.table.assign(computed_at=computed_at).reindex(columns=list(COHORT_COLUMNS))
    for name, sql_type in COHORT_COLUMNS.items():
        if sql_type == "DOUBLE":
            frame[name] = pd.to_numeric(frame[name]).astype("float64")
    with duckdb.connect(str(warehouse_path)) as con:
        con.register("_cohort_df", frame)
        con.execute("begin transaction")
        try:
            con.execute("create schema if not exists analysis")
            ddl = ", ".join(f"{n} {t}" for n, t in COHORT_COLUMNS.items())
            select = ", ".join(
                f"case when isnan(cast({n} as double)) then null else cast({n} as double) end" if t == "DOUBLE"
                else f"cast({n} as {t})" for n, t in COHORT_COLUMNS.items()
            )
            con.execute(f"create or replace table {COHORT_TABLE} ({ddl})")
            con.execute(f"insert into {COHORT_TABLE} select {select} from _cohort_df")
            con.execute("commit")
        except BaseException:
            con.execute("rollback")
            raise
        finally:
            con.unregister("_cohort_df")
