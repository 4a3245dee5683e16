"""Monte Carlo validation of the impact estimators on sandbox organisations (`make validate`).

Why: a unit test shows an estimator recovers a planted effect once; whether its 95% intervals cover
the truth 95% of the time, and whether it cries wolf 5% of the time when nothing changed, only shows
over many independent worlds. This generates sandbox organisations (preset "small": 30 developers,
26 weeks, staggered adoption confounded with seniority and busyness) in three scenarios, builds each
one's developer-week panel directly from the generated facts, runs the production estimators of
`analysis.estimates` on it (Callaway & Sant'Anna, TWFE and the fixed-effects Poisson GLM, exactly as
`impact run` does) and reports bias, RMSE, coverage and the false-positive rate per scenario,
outcome and estimator, plus how often the placebo and pre-trend checks reject at 5%.

Scenarios:
- ``effect``: homogeneous, immediate effects: review time -0.25 log points, merged PRs +15%
  (throughput_effect = log 1.15; judged on the Poisson coefficient, whose truth is exactly that).
- ``null``: no effect anywhere: the false-positive rate.
- ``ramp_het``: review effect -0.25 that ramps up over 8 weeks and is 1.75x for the earliest and
  0.25x for the latest adopters (effect_cohort_gradient 1.5): the case where two-way fixed effects
  is biased (already-treated adopters serve as controls while their effect is still growing). The
  truth is the estimand of Callaway & Sant'Anna's overall effect: the planted effect averaged over
  the adopters' observed post-adoption developer-weeks.
- ``cfr``: change failure rate. A production deployment that shipped a PR of an adopter (opened
  after adoption) causes an incident with doubled odds (sandbox ``cfr_effect`` = log 2: 8% -> 14.8%).
  Outcome: the developer-week change failure rate of ``marts.mart_ai_impact_panel``, a linear
  probability model, effects in percentage points. The change failure rate is validated under
  ``null`` too (its false-positive rate).

Truth for the change failure rate. The sandbox plants the effect on deployments, and a deployment
ships several people's PRs, so a never-adopter's PR that shares a deployment with an adopter's PR
is exposed too (spillover), which a comparison with never-adopters nets out. So the truth each
estimator is judged against is the estimator applied to the planted *expected* shift of every PR's
failure probability (p1 - p0 for a PR first shipped in a treated deployment that was not rolled back,
else 0) in place of the observed rate: both estimators are linear in the outcome, so that is exactly
the number they estimate without sampling noise. ``truth_direct`` is the planted shift averaged over
the adopters' own post-adoption changes (what an adopter's change risks), shown beside it.

The panel replicates `marts.mart_ai_impact_panel` without the pipeline (so a failure here points
at the estimators, not at the extraction or dbt): per developer and ISO week (Monday, UTC) of PR
`created_at`, the mean of ln(review hours) over PRs merged by the end of the calendar with a
positive review time (first review by someone other than the author -> merge), PRs opened and
merged; every developer in every week from the first to the last week with a PR; adoption week by
the rule of DESIGN section 5 applied to the org's Claude Code usage (`sandbox.ground_truth`).

Usage: python scripts/validate_did.py [--orgs 200] [--processes 2] [--quick] [--out validation/results.json]
(--orgs is per scenario; --quick = 40 per scenario.) Also writes validation/results.md (the table).
Not part of `make test`: it takes minutes.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # one BLAS thread per worker: the parallelism is the pool's

import argparse
import datetime as dt
import json
import logging
import math
import multiprocessing as mp
import platform
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from analysis.estimates import (  # noqa: E402
    CS_ESTIMATOR,
    OUTCOMES,
    EstimatorUnavailable,
    estimate_outcome,
    estimate_outcome_cs,
)
from analysis.poisson import poisson_did  # noqa: E402
from sandbox.config import PRESETS  # noqa: E402
from sandbox.ground_truth import adopted_weeks  # noqa: E402
from sandbox.incidents import _probability, _treated_deployments, link_incidents, rollbacks  # noqa: E402
from sandbox.metrics import hours, link_deployments, pull_request_facts  # noqa: E402
from sandbox.organisation import generate_organisation  # noqa: E402
from sandbox.pull_requests import effect_scale  # noqa: E402

PLANTED = -0.25  # log points of review time, the sandbox default
THROUGHPUT = math.log(1.15)  # log rate ratio of merged PRs in the "effect" scenario
CFR_LOG_ODDS = math.log(2.0)  # the "cfr" scenario: adopters' deployments fail with doubled odds
SCENARIOS: dict[str, dict] = {
    "effect": {"review_effect": PLANTED, "throughput_effect": THROUGHPUT},
    "null": {"review_effect": 0.0},
    "ramp_het": {"review_effect": PLANTED, "effect_ramp_weeks": 8, "effect_cohort_gradient": 1.5},
    "cfr": {"review_effect": 0.0, "cfr_effect": CFR_LOG_ODDS},
}
SEED_BASE = {"effect": 1, "null": 100_001, "ramp_het": 200_001, "cfr": 300_001}  # disjoint seeds
VALIDATED = ("review_hours", "prs_merged")  # the outcomes the small panel builder provides
CFR = "change_failure_rate"
#: scenarios that also validate the change failure rate (it needs the deployment links: slower)
CFR_SCENARIOS = ("null", "cfr")
WEEK_ORIGIN = dt.date(1970, 1, 5)  # a Monday; integer weeks as analysis.estimates.load_panel counts them


def _monday(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def _log_mean(values: list[float]) -> float:
    return float(np.mean(values)) if values else np.nan


def _change_failures(org) -> tuple[set[int], dict[int, float]]:
    """(change-failure deployment ids by the warehouse's rule, planted failure-probability shift per
    deployment id): failure = a linked incident (DESIGN section 5, 24 h window) or a rollback; shift =
    p1 - p0 for a treated deployment (one that shipped an adopter's PR) that was not rolled back."""
    linked = {d for d in link_incidents(org.incidents, org.deployments).values() if d is not None}
    failures, shifts = set(linked), {}
    base = org.config.incidents_per_production_deploy
    delta = _probability(base, org.config.cfr_effect) - base
    for repo, deployments in org.deployments.items():
        rolled_back = set(rollbacks(deployments).values())
        failures |= rolled_back
        if delta:
            treated = _treated_deployments(org.main_commits[repo], deployments, org.pull_requests[repo])
            shifts.update({d: delta for d in treated - rolled_back})
    return failures, shifts


def build_panel(org, *, durations: bool = False, cfr: bool = False) -> pd.DataFrame:
    """The developer x week panel of marts.mart_ai_impact_panel, from the organisation's facts.

    ``durations``: also the pickup and lead-time outcomes (lead time needs each repository's
    deployment links, which costs time the Monte Carlo does not need). ``cfr``: also the change
    failure rate (``changes_deployed``, ``changes_failed``, ``change_failure_rate``, by the week a
    PR first reached production) and ``_cfr_shift``, the planted shift of its expected value.
    """
    adoption = adopted_weeks(org)  # email -> Monday of the adoption week, or None
    weekly: dict[tuple[str, dt.date], dict] = defaultdict(
        lambda: {"opened": 0, "merged": 0, "logs": [], "pickup": [], "lead": []}
    )
    changes: dict[tuple[str, dt.date], list[tuple[bool, float]]] = defaultdict(list)
    failures, shifts = _change_failures(org) if cfr else (set(), {})
    weeks_seen = []
    for repo, pulls in org.pull_requests.items():
        links = link_deployments(org.main_commits[repo], org.deployments[repo]) if durations or cfr else None
        shipped_by = {d.deployed_at: d.deployment_id for d in org.deployments[repo]
                      if d.environment == "production" and d.deployed_at is not None}
        for pr in pulls:
            week = _monday(pr.created_at.astimezone(dt.timezone.utc).date())
            weeks_seen.append(week)
            cell = weekly[(pr.author_login, week)]
            cell["opened"] += 1
            first_review = min(
                (r.submitted_at for r in pr.reviews if r.reviewer_login != pr.author_login), default=None
            )
            if durations:
                pickup = hours(pr.created_at, first_review)
                if pickup is not None and pickup > 0:
                    cell["pickup"].append(math.log(pickup))
                lead = pull_request_facts(pr, links).lead_time_hours
                if lead is not None and lead > 0:
                    cell["lead"].append(math.log(lead))
            if cfr and pr.merge_commit_sha in links.first_deployed_at:
                deployed_at = links.first_deployed_at[pr.merge_commit_sha]
                deployment = shipped_by[deployed_at]
                key = (pr.author_login, _monday(deployed_at.astimezone(dt.timezone.utc).date()))
                changes[key].append((deployment in failures, shifts.get(deployment, 0.0)))
            if pr.merged_at is not None:
                cell["merged"] += 1
                review = hours(first_review, pr.merged_at)
                if review is not None and review > 0:
                    cell["logs"].append(math.log(review))
    first, last = min(weeks_seen), max(weeks_seen)
    weeks = [first + dt.timedelta(weeks=k) for k in range((last - first).days // 7 + 1)]
    rows = []
    for dev in org.developers:
        adopted = adoption[dev.email]
        for week in weeks:
            cell = weekly.get((dev.login, week))
            shipped = changes.get((dev.login, week), [])
            rows.append(
                {
                    "developer_id": dev.login,
                    "team_id": dev.team_id,
                    "week_start": week,
                    "ai_adopted_at": adopted,
                    "prs_opened": cell["opened"] if cell else 0,
                    "prs_merged": cell["merged"] if cell else 0,
                    "seniority": dev.seniority,
                    "log_review_hours_mean": _log_mean(cell["logs"]) if cell else np.nan,
                    "log_pickup_hours_mean": _log_mean(cell["pickup"]) if cell and durations else np.nan,
                    "log_lead_time_hours_mean": _log_mean(cell["lead"]) if cell and durations else np.nan,
                    "changes_deployed": len(shipped),
                    "changes_failed": sum(failed for failed, _ in shipped),
                    "change_failure_rate": (sum(f for f, _ in shipped) / len(shipped)) if shipped else np.nan,
                    "_cfr_shift": float(np.mean([d for _, d in shipped])) if shipped else np.nan,
                    "_week": (week - WEEK_ORIGIN).days // 7,
                    "_adoption_week": (adopted - WEEK_ORIGIN).days // 7 if adopted else np.nan,
                }
            )
    return pd.DataFrame(rows)


def review_truth(org, panel: pd.DataFrame, knobs: dict) -> float:
    """The planted review effect averaged over the adopters' post-adoption weeks with a review time.

    Homogeneous scenarios: the knob itself. Ramping/heterogeneous: each developer-week's share of
    the full effect (sandbox.pull_requests.effect_scale at that Monday) times the knob, averaged
    over the cells Callaway & Sant'Anna's overall effect averages (cohort-size weighted post cells,
    which on these panels is the average over observed adopter post-adoption weeks).
    """
    effect = knobs.get("review_effect", 0.0)
    if not effect or not (knobs.get("effect_ramp_weeks") or knobs.get("effect_cohort_gradient")):
        return float(effect)
    devs = {d.login: d for d in org.developers}
    post = panel[panel["_adoption_week"].notna() & (panel["_week"] >= panel["_adoption_week"])
                 & panel["log_review_hours_mean"].notna()]
    scales = [effect_scale(org.config, devs[d], w) for d, w in zip(post["developer_id"], post["week_start"])]
    return float(effect * np.mean(scales)) if scales else float("nan")


def run_one(job: tuple[str, int, int]) -> list[dict]:
    """Every estimator on the validated outcomes of one organisation."""
    scenario, seed, team_scale = job
    logging.disable(logging.WARNING)  # the estimators' notes are counted, not printed
    knobs = dict(SCENARIOS[scenario])
    if team_scale != 1:  # a diagnostic: same world, k times as many developers per team
        knobs["team_sizes"] = tuple(team_scale * n for n in PRESETS["small"].team_sizes)
    org = generate_organisation(preset="small", seed=seed, **knobs)
    with_cfr = scenario in CFR_SCENARIOS
    panel = build_panel(org, cfr=with_cfr)
    out = []
    validated = VALIDATED + ((CFR,) if with_cfr else ())
    for outcome in (o for o in OUTCOMES if o.name in validated):
        if outcome.name == CFR:
            out.extend(_cfr_rows(scenario, seed, panel, outcome))
            continue
        if outcome.name == "review_hours":
            truth = review_truth(org, panel, knobs)
        else:  # counts: the level effect has no closed-form truth unless there is no effect
            truth = 0.0 if not knobs.get("throughput_effect") else float("nan")
        base = {"scenario": scenario, "seed": seed, "outcome": outcome.name, "truth": truth}
        static, dynamic, extra = estimate_outcome(panel, outcome)
        out.append({**base, **_fields(static, extra)})
        try:
            cs, _, cs_extra, notes = estimate_outcome_cs(panel, outcome, bootstrap=False)  # bands unused here
            dropped = sum(int(n.split()[1]) for n in notes if n.startswith("dropped "))
            out.append({**base, **_fields(cs, cs_extra), "dropped_units": dropped})
        except EstimatorUnavailable as exc:
            out.append({**base, "estimator": CS_ESTIMATOR, "unavailable": str(exc)})
        if outcome.poisson:  # judged on the log rate ratio, whose truth is the knob
            fit = poisson_did(panel, y=outcome.column, unit="developer_id", time="_week", group="_adoption_week")
            out.append({
                **base, "truth": knobs.get("throughput_effect", 0.0), "estimator": "poisson_glm (log rate ratio)",
                "estimate": fit.coef, "se": fit.se, "ci_low": fit.ci_low, "ci_high": fit.ci_high,
                "p_value": fit.p_value, "n_units": fit.n_units, "n_treated_units": fit.n_treated_units,
            })
    return out


def _cfr_rows(scenario: str, seed: int, panel: pd.DataFrame, outcome) -> list[dict]:
    """Both estimators on the change failure rate, each judged against itself run on the planted
    expected shift (see the module docstring: the truth net of spillover to never-adopters)."""
    shift_panel = panel.assign(**{outcome.column: panel["_cfr_shift"]})
    planted = bool(panel["_cfr_shift"].fillna(0.0).ne(0.0).any())  # nothing planted: the truth is 0
    post = panel[panel["_adoption_week"].notna() & (panel["_week"] >= panel["_adoption_week"])
                 & panel["_cfr_shift"].notna()]
    direct = (100.0 * float(np.average(post["_cfr_shift"], weights=post["changes_deployed"]))
              if planted and len(post) else 0.0)
    base = {"scenario": scenario, "seed": seed, "outcome": outcome.name, "truth_direct": direct}
    out = []
    static, _, extra = estimate_outcome(panel, outcome)
    truth = estimate_outcome(shift_panel, outcome)[0].estimate if planted else 0.0
    out.append({**base, "truth": truth, **_fields(static, extra)})
    try:
        cs, _, cs_extra, _ = estimate_outcome_cs(panel, outcome, bootstrap=False)
        cs_truth = estimate_outcome_cs(shift_panel, outcome, bootstrap=False)[0].estimate if planted else 0.0
        out.append({**base, "truth": cs_truth, **_fields(cs, cs_extra)})
    except EstimatorUnavailable as exc:
        out.append({**base, "estimator": CS_ESTIMATOR, "unavailable": str(exc)})
    return out


def _fields(est, extra: dict) -> dict:
    return {
        "estimator": est.estimator, "estimate": est.estimate, "se": est.se, "ci_low": est.ci_low,
        "ci_high": est.ci_high, "p_value": est.p_value, "pre_trend_p_value": extra["pre_trend_p_value"],
        "placebo_p_value": extra.get("placebo_p_value", float("nan")),
        "withheld": bool(extra.get("withheld_reason")),
        "n_units": est.n_units, "n_treated_units": est.n_treated_units,
    }


def summarise(runs: pd.DataFrame) -> list[dict]:
    """One row per scenario, outcome and estimator."""
    rows = []
    for (scenario, outcome, estimator), g in runs.groupby(["scenario", "outcome", "estimator"], sort=True):
        ok = g[g["estimate"].notna() & g["truth"].notna()] if "estimate" in g else g.iloc[0:0]
        if ok.empty:
            continue
        truth = float(ok["truth"].mean())  # per-org truths differ in ramp_het: the mean is shown
        err = ok["estimate"] - ok["truth"]
        covered = (ok["ci_low"] < ok["truth"]) & (ok["truth"] < ok["ci_high"])
        rejects = (ok["ci_low"] > 0) | (ok["ci_high"] < 0)
        row = {
            "scenario": scenario,
            "outcome": outcome,
            "estimator": estimator,
            "truth": truth,
            "orgs": int(len(g)),
            "estimated": int(len(ok)),
            "bias": float(err.mean()),
            "bias_mc_se": float(err.std(ddof=1) / math.sqrt(len(ok))) if len(ok) > 1 else math.nan,
            "rmse": float(math.sqrt((err**2).mean())),
            "sd_estimate": float(ok["estimate"].std(ddof=1)),
            "mean_se": float(ok["se"].mean()),
            "coverage_95": float(covered.mean()),
            # share of CIs excluding zero: the false-positive rate when the truth is zero, power otherwise
            "rejects_zero": float(rejects.mean()),
            "pretrend_rejects_5pct": float((ok["pre_trend_p_value"] < 0.05).mean()),
            "pretrend_tested": int(ok["pre_trend_p_value"].notna().sum()),
            "placebo_rejects_5pct": float((ok["placebo_p_value"] < 0.05).mean()) if "placebo_p_value" in ok else math.nan,
            "placebo_tested": int(ok["placebo_p_value"].notna().sum()) if "placebo_p_value" in ok else 0,
            "withheld": int(ok["withheld"].fillna(False).astype(bool).sum()) if "withheld" in ok else 0,
        }
        for check in ("pretrend", "placebo"):  # a check that never ran has no rejection rate
            if not row[f"{check}_tested"]:
                row[f"{check}_rejects_5pct"] = math.nan
        if "truth_direct" in ok and ok["truth_direct"].notna().any():  # change failure rate (points)
            row["truth_direct"] = float(ok["truth_direct"].mean())
            row["bias_vs_direct"] = float((ok["estimate"] - ok["truth_direct"]).mean())
        if "dropped_units" in ok and ok["dropped_units"].notna().any():
            row["mean_dropped_units"] = float(ok["dropped_units"].mean())
        rows.append({k: (round(v, 4) if isinstance(v, float) else v) for k, v in row.items()})
    return rows


def _pct(value) -> str:
    return f"{value:.1%}" if isinstance(value, float) and math.isfinite(value) else "-"


def markdown_table(summary: list[dict]) -> str:
    """The summary as a markdown table (validation/results.md, the README's numbers)."""
    head = ("| scenario | outcome | estimator | truth | orgs | bias | RMSE | coverage 95% | rejects 0 | "
            "pre-trend p<0.05 | placebo p<0.05 |")
    lines = [head, "|---" * (head.count("|") - 1) + "|"]
    for r in summary:
        lines.append(
            f"| {r['scenario']} | {r['outcome']} | {r['estimator']} | {r['truth']:.3f} | {r['estimated']} | "
            f"{r['bias']:+.3f} | {r['rmse']:.3f} | {r['coverage_95']:.1%} | {r['rejects_zero']:.1%} | "
            f"{_pct(r.get('pretrend_rejects_5pct'))} | {_pct(r.get('placebo_rejects_5pct'))} |"
        )
    direct = [r for r in summary if r.get("truth_direct") is not None and r["outcome"] == CFR]
    if direct:
        lines += ["", "Change failure rate (percentage points): truth = each estimator run on the planted expected "
                  "shift, net of the spillover to never-adopters whose changes shared a deployment with an "
                  "adopter's; direct = the planted shift of the adopters' own post-adoption changes.", "",
                  "| scenario | estimator | truth | direct | estimate - direct |", "|---|---|---|---|---|"]
        lines += [f"| {r['scenario']} | {r['estimator']} | {r['truth']:.2f} | {r['truth_direct']:.2f} | "
                  f"{r['bias_vs_direct']:+.2f} |" for r in direct]
    return "\n".join(lines) + "\n"


def print_table(summary: list[dict]) -> None:
    head = f"{'scenario':8} {'outcome':13} {'estimator':18} {'truth':>6} {'n':>4} {'bias':>7} {'rmse':>6} " \
           f"{'sd':>6} {'mean_se':>7} {'cover95':>7} {'rej0':>6} {'pretr5':>6}"
    print(head)
    print("-" * len(head))
    for r in summary:
        print(
            f"{r['scenario']:8} {r['outcome']:13} {r['estimator']:18} {r['truth']:6.2f} {r['estimated']:4d} "
            f"{r['bias']:7.3f} {r['rmse']:6.3f} {r['sd_estimate']:6.3f} {r['mean_se']:7.3f} "
            f"{r['coverage_95']:7.3f} {r['rejects_zero']:6.3f} {r['pretrend_rejects_5pct']:6.3f}"
        )
    print("rej0: share of 95% CIs excluding 0 (false-positive rate under 'null', power under 'effect');"
          " pretr5: pre-trend test p < 0.05")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orgs", type=int, default=200, help="organisations per scenario (default 200)")
    parser.add_argument("--quick", action="store_true", help="40 organisations per scenario (a smoke run)")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS), help="comma-separated subset of scenarios")
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--out", type=Path, default=ROOT / "validation" / "results.json")
    parser.add_argument("--team-scale", type=int, default=1,
                        help="diagnostic: multiply the preset's team sizes (bigger adoption cohorts)")
    args = parser.parse_args(argv)

    if args.quick:
        args.orgs = 40
    chosen = [name for name in args.scenarios.split(",") if name]
    unknown = sorted(set(chosen) - set(SCENARIOS))
    if unknown:
        parser.error(f"unknown scenario(s) {unknown}; known: {sorted(SCENARIOS)}")
    jobs = [(s, SEED_BASE[s] + k, args.team_scale) for s in chosen for k in range(args.orgs)]
    start = time.perf_counter()
    results: list[dict] = []
    with mp.get_context("spawn").Pool(args.processes) as pool:
        for i, rows in enumerate(pool.imap_unordered(run_one, jobs, chunksize=4), start=1):
            results.extend(rows)
            if i % 50 == 0 or i == len(jobs):
                print(f"  {i}/{len(jobs)} organisations ({time.perf_counter() - start:.0f} s)", file=sys.stderr)
    runtime = time.perf_counter() - start

    runs = pd.DataFrame(results)
    summary = summarise(runs)
    print_table(summary)
    unavailable = runs[runs["unavailable"].notna()] if "unavailable" in runs else runs.iloc[0:0]
    if len(unavailable):
        print(f"{CS_ESTIMATOR} not estimable in {len(unavailable)} org-outcomes, e.g.: {unavailable['unavailable'].iloc[0]}")
    print(f"{len(jobs)} organisations in {runtime:.0f} s with {args.processes} processes")

    report = {
        "benchmark": "did_validation",
        "description": "Monte Carlo of the impact estimators on sandbox organisations (scripts/validate_did.py)",
        "generated_at": dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat(),
        "config": {
            "preset": "small", "orgs_per_scenario": args.orgs, "scenarios": {s: SCENARIOS[s] for s in chosen},
            "seeds": {s: [SEED_BASE[s], SEED_BASE[s] + args.orgs - 1] for s in chosen},
            "planted_review_effect": PLANTED, "processes": args.processes, "team_scale": args.team_scale,
        },
        "environment": {"python": platform.python_version(), "cpus": os.cpu_count(), "machine": platform.machine()},
        "runtime_seconds": round(runtime, 1),
        "unavailable": int(len(unavailable)),
        "results": summary,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    report["results"] = [{k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in r.items()}
                         for r in summary]
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    md = args.out.with_suffix(".md")
    md.write_text(
        f"# Validation of the impact estimators ({len(jobs)} sandbox organisations, {runtime:.0f} s)\n\n"
        + markdown_table(summary)
        + "\nTruth: the planted effect (ramp_het: averaged over the adopters' observed post-adoption weeks; "
        "change failure rate: see above). "
        "Rejects 0: share of 95% intervals excluding zero (false-positive rate under `null`, power otherwise). "
        "Generated by scripts/validate_did.py.\n",
        encoding="utf-8",
    )
    print(f"wrote {args.out} and {md}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
