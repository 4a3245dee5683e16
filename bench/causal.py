"""Our Callaway & Sant'Anna estimator against the `csdid` and `differences` packages on the same panels.

Panels: `mpdta` (the did package's example, 500 counties x 5 years) and the developer-week panel of a
sandbox organisation (what `marts.mart_ai_impact_panel` holds, built from the organisation's facts by
scripts/validate_did.py), outcome PRs merged per week. Every package estimates ATT(g,t) with the doubly
robust estimator and never-treated controls; the cells must agree to 1e-6 and the time ratio is reported.
"""

from __future__ import annotations

import contextlib
import io
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.did import att_gt

MPDTA = Path(__file__).resolve().parents[1] / "tests" / "analysis" / "fixtures" / "did" / "mpdta.csv"
TOLERANCE = 1e-6


def _timed(function, repeat: int):
    best, result = float("inf"), None
    for _ in range(repeat):
        started = time.perf_counter()
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            result = function()
        best = min(best, time.perf_counter() - started)
    return result, best


def _ours(frame: pd.DataFrame, y: str, t: str, unit: str, group: str) -> pd.DataFrame:
    table = att_gt(frame, y=y, t=t, unit=unit, group=group, control="never_treated", method="dr").table
    return table.rename(columns={"t": "time"})[["group", "time", "att"]]


def _csdid(frame: pd.DataFrame, y: str, t: str, unit: str, group: str) -> pd.DataFrame:
    from csdid.att_gt import ATTgt

    fit = ATTgt(yname=y, gname=group, idname=unit, tname=t, xformla=f"{y}~1", data=frame,
                control_group="nevertreated").fit(est_method="dr", bstrap=False)
    result = fit.results
    return pd.DataFrame({"group": result["group"], "time": result["year"], "att": result["att"]})


def _differences(frame: pd.DataFrame, y: str, t: str, unit: str, group: str) -> pd.DataFrame:
    from differences import ATTgt

    data = frame[[unit, t, y, group]].copy()
    data["cohort"] = data[group].where(data[group] > 0)
    model = ATTgt(data=data.set_index([unit, t]), cohort_column="cohort")
    model.fit(formula=y, est_method="dr", control_group="never_treated", n_jobs=1, progress_bar=False)
    table = model.results()
    out = table.reset_index()
    return pd.DataFrame({
        "group": out["cohort"].to_numpy(), "time": out["time"].to_numpy(),
        "att": out[("ATTgtElements", "", "ATT")].to_numpy(),
    })


def developer_week_panel(preset: str, seed: int) -> pd.DataFrame:
    """The organisation's developer x week panel with integer ids, weeks and adoption weeks (0 = never)."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
    from validate_did import build_panel  # noqa: E402 - the script's panel builder, not a package

    from sandbox.organisation import generate_organisation

    panel = build_panel(generate_organisation(preset=preset, seed=seed))
    frame = pd.DataFrame({
        "unit": pd.factorize(panel["developer_id"])[0] + 1,
        "week": panel["_week"].astype(int),
        "group": panel["_adoption_week"].fillna(0).astype(int),
        "y": panel["prs_merged"].astype(float),
    })
    # Adopters from the first observed week have no pre-period: drop them, as all three packages would.
    first_week = frame["week"].min()
    return frame[(frame["group"] == 0) | (frame["group"] > first_week)].reset_index(drop=True)


def _compare(name: str, frame: pd.DataFrame, y: str, t: str, unit: str, group: str, repeat: int, log) -> dict:
    log(f"  causal: {name} ({len(frame):,} rows)")
    ours, ours_seconds = _timed(lambda: _ours(frame, y, t, unit, group), repeat)
    row = {"panel": name, "rows": len(frame), "units": int(frame[unit].nunique()), "cells": len(ours),
           "ours_seconds": round(ours_seconds, 4), "peers": {}}
    for peer, function in (("csdid", _csdid), ("differences", _differences)):
        try:
            theirs, seconds = _timed(lambda f=function: f(frame, y, t, unit, group), 1 if repeat == 1 else 2)
        except Exception as error:  # a peer failing is a result to report, not a crash
            row["peers"][peer] = {"error": f"{type(error).__name__}: {str(error)[:200]}"}
            continue
        merged = ours.merge(theirs.astype({"group": int, "time": int}), on=["group", "time"], suffixes=("", "_peer"))
        difference = float(np.nanmax(np.abs(merged["att"] - merged["att_peer"]))) if len(merged) else float("nan")
        row["peers"][peer] = {
            "seconds": round(seconds, 4), "cells_matched": len(merged), "cells_peer": len(theirs),
            "max_abs_difference": difference, "equal_to_1e-6": bool(len(merged) == len(ours) and difference <= TOLERANCE),
            "time_ratio_peer_over_ours": round(seconds / ours_seconds, 1),
        }
    return row


def run(preset: str = "medium", seed: int = 42, quick: bool = False, log=print) -> dict:
    mpdta = pd.read_csv(MPDTA)
    rows = [_compare("mpdta", mpdta, "lemp", "year", "countyreal", "first.treat", 1 if quick else 3, log)]
    panel_preset = "small" if quick else preset
    panel = developer_week_panel(panel_preset, seed)
    rows.append(_compare(f"{panel_preset} developer-week (prs_merged)", panel, "y", "week", "unit", "group", 1, log))
    return {"seed": seed, "rows": rows}
