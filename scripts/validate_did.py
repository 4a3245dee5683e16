"""Monte Carlo validation of the impact estimators on sandbox organisations (`make validate`).

Why: a unit test shows an estimator recovers a planted effect once; whether its 95% intervals cover
the truth 95% of the time, and whether it cries wolf 5% of the time when nothing changed, only shows
over many independent worlds. This generates sandbox organisations (preset "small": 30 developers,
26 weeks, staggered adoption confounded with seniority and busyness), half with the planted review
effect (-0.25 log points) and half with none, builds each one's developer-week panel directly from
the generated facts, runs the production estimators of `analysis.estimates` on it (Callaway &
Sant'Anna and TWFE, exactly as `impact run` does), and reports bias, RMSE, coverage and the
false-positive rate.

The panel replicates `marts.mart_ai_impact_panel` without the pipeline (so a failure here points
at the estimators, not at the extraction or dbt): per developer and ISO week (Monday, UTC) of PR
`created_at`, the mean of ln(review hours) over PRs merged by the end of the calendar with a
positive review time (first review by someone other than the author -> merge), PRs opened and
merged; every developer in every week from the first to the last week with a PR; adoption week by
the rule of DESIGN section 5 applied to the org's Claude Code usage (`sandbox.ground_truth`).

Usage: python scripts/validate_did.py [--orgs 250] [--processes 2] [--out validation/results.json]
(--orgs is per scenario; two scenarios.) Not part of `make test`: it takes minutes.
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
from sandbox.config import PRESETS  # noqa: E402
from sandbox.ground_truth import adopted_weeks  # noqa: E402
from sandbox.metrics import hours  # noqa: E402
from sandbox.organisation import generate_organisation  # noqa: E402

PLANTED = -0.25  # log points of review time, the sandbox default
SCENARIOS = {"effect": PLANTED, "null": 0.0}
SEED_BASE = {"effect": 1, "null": 100_001}  # disjoint seeds: independent worlds per scenario
WEEK_ORIGIN = dt.date(1970, 1, 5)  # a Monday; integer weeks as analysis.estimates.load_panel counts them


def _monday(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def build_panel(org) -> pd.DataFrame:
    """The developer x week panel of marts.mart_ai_impact_panel, from the organisation's facts."""
    adoption = adopted_weeks(org)  # email -> Monday of the adoption week, or None
    weekly: dict[tuple[str, dt.date], dict] = defaultdict(lambda: {"opened": 0, "merged": 0, "logs": []})
    weeks_seen = []
    for pulls in org.pull_requests.values():
        for pr in pulls:
            week = _monday(pr.created_at.astimezone(dt.timezone.utc).date())
            weeks_seen.append(week)
            cell = weekly[(pr.author_login, week)]
            cell["opened"] += 1
            if pr.merged_at is not None:
                cell["merged"] += 1
                first_review = min(
                    (r.submitted_at for r in pr.reviews if r.reviewer_login != pr.author_login), default=None
                )
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
            rows.append(
                {
                    "developer_id": dev.login,
                    "team_id": dev.team_id,
                    "week_start": week,
                    "ai_adopted_at": adopted,
                    "prs_opened": cell["opened"] if cell else 0,
                    "prs_merged": cell["merged"] if cell else 0,
                    "log_review_hours_mean": float(np.mean(cell["logs"])) if cell and cell["logs"] else np.nan,
                    "_week": (week - WEEK_ORIGIN).days // 7,
                    "_adoption_week": (adopted - WEEK_ORIGIN).days // 7 if adopted else np.nan,
                }
            )
    return pd.DataFrame(rows)


def run_one(job: tuple[str, int, int]) -> list[dict]:
    """Both estimators on both outcomes of one organisation."""
    scenario, seed, team_scale = job
    logging.disable(logging.WARNING)  # the estimators' notes are counted, not printed
    knobs = {"review_effect": SCENARIOS[scenario]}
    if team_scale != 1:  # a diagnostic: same world, k times as many developers per team
        knobs["team_sizes"] = tuple(team_scale * n for n in PRESETS["small"].team_sizes)
    org = generate_organisation(preset="small", seed=seed, **knobs)
    panel = build_panel(org)
    out = []
    for outcome in OUTCOMES:
        truth = SCENARIOS[scenario] if outcome.name == "review_hours" else 0.0  # no planted count effect
        base = {"scenario": scenario, "seed": seed, "outcome": outcome.name, "truth": truth}
        static, dynamic, extra = estimate_outcome(panel, outcome)
        out.append({**base, **_fields(static, extra["pre_trend_p_value"])})
        try:
            cs, _, cs_extra, notes = estimate_outcome_cs(panel, outcome)
            dropped = sum(int(n.split()[1]) for n in notes if n.startswith("dropped "))
            out.append({**base, **_fields(cs, cs_extra["pre_trend_p_value"]), "dropped_units": dropped})
        except EstimatorUnavailable as exc:
            out.append({**base, "estimator": CS_ESTIMATOR, "unavailable": str(exc)})
    return out


def _fields(est, pre_p) -> dict:
    return {
        "estimator": est.estimator, "estimate": est.estimate, "se": est.se, "ci_low": est.ci_low,
        "ci_high": est.ci_high, "p_value": est.p_value, "pre_trend_p_value": pre_p,
        "n_units": est.n_units, "n_treated_units": est.n_treated_units,
    }


def summarise(runs: pd.DataFrame) -> list[dict]:
    """One row per scenario, outcome and estimator."""
    rows = []
    for (scenario, outcome, estimator), g in runs.groupby(["scenario", "outcome", "estimator"], sort=True):
        ok = g[g["estimate"].notna()] if "estimate" in g else g.iloc[0:0]
        truth = float(g["truth"].iloc[0])
        err = ok["estimate"] - truth
        covered = (ok["ci_low"] < truth) & (truth < ok["ci_high"])
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
        }
        if "dropped_units" in ok and ok["dropped_units"].notna().any():
            row["mean_dropped_units"] = float(ok["dropped_units"].mean())
        rows.append({k: (round(v, 4) if isinstance(v, float) else v) for k, v in row.items()})
    return rows


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
    parser.add_argument("--orgs", type=int, default=250, help="organisations per scenario (default 250)")
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--out", type=Path, default=ROOT / "validation" / "results.json")
    parser.add_argument("--team-scale", type=int, default=1,
                        help="diagnostic: multiply the preset's team sizes (bigger adoption cohorts)")
    args = parser.parse_args(argv)

    jobs = [(s, SEED_BASE[s] + k, args.team_scale) for s in SCENARIOS for k in range(args.orgs)]
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
            "preset": "small", "orgs_per_scenario": args.orgs, "scenarios": SCENARIOS,
            "seeds": {s: [SEED_BASE[s], SEED_BASE[s] + args.orgs - 1] for s in SCENARIOS},
            "planted_review_effect": PLANTED, "processes": args.processes, "team_scale": args.team_scale,
        },
        "environment": {"python": platform.python_version(), "cpus": os.cpu_count(), "machine": platform.machine()},
        "runtime_seconds": round(runtime, 1),
        "unavailable": int(len(unavailable)),
        "results": summary,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
