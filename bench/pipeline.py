"""Pipeline time and peak memory per stage, per preset, and how they grow with the organisation.

Each stage is a child process (see bench/stage.py), so its wall time and peak RSS are its own:
extract (generation of the sandbox, serving it, the real syncs; landing and batch validation timed
apart inside), dbt build, analysis, report, and a second dbt build with nothing new landed (what a
scheduled run costs on a quiet day: the incremental facts re-select almost nothing; not part of the
after-extraction total). `small` is extracted over HTTP with the REST API (the
default); `medium` (110k pull requests, 85k deployments) would take most of an hour to extract over
HTTP, so it is extracted over HTTP for a sample of repositories (rate extrapolated by pull requests)
and landed whole from its facts through the same landing and validation. `large` (`--large`, not in the
default run) goes the `medium` way through every stage; its extract stage holds the whole generated
organisation (the sandbox's memory, not the pipeline's), so the memory target is read on the stages after
extraction.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
WORK = BENCH / ".work"


def _child(command: list[str], env: dict | None = None, log_path: Path | None = None) -> dict:
    from bench.transcripts import _run_child

    try:
        if log_path is not None:
            with log_path.open("wb") as log:
                seconds, rss, _ = _run_child(command, env, log)
        else:
            seconds, rss, _ = _run_child(command, env)
    except RuntimeError as error:
        return {"error": str(error)[-600:]}
    return {"seconds": round(seconds, 2), "peak_rss_mb": round(rss)}


def _stage(name: str, workdir: Path, *args: str) -> dict:
    import json

    result = _child([sys.executable, "-m", "bench.stage", name, str(workdir), *args])
    details = workdir / f"{name}.json"
    if "error" not in result and details.exists():
        result["details"] = json.loads(details.read_text())
    return result


def _dbt(workdir: Path) -> dict:
    import yaml

    from impact.config import parse_config
    from impact.landing import ensure_entity_folders
    from impact.warehouse import dbt_environment

    from impact.demo import SANDBOX_TOKEN, SANDBOX_TOKEN_VARIABLE

    os.environ.setdefault(SANDBOX_TOKEN_VARIABLE, SANDBOX_TOKEN)
    config = parse_config(yaml.safe_load((workdir / "impact.yaml").read_text()))
    ensure_entity_folders(config.raw_dir)
    config.warehouse.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, **dbt_environment(config.warehouse, config.raw_dir)}
    dbt = str(Path(sys.executable).with_name("dbt"))
    command = [dbt, "build", "--project-dir", str(ROOT / "dbt_project"), "--profiles-dir", str(ROOT / "dbt_profiles"),
               "--target-path", str(workdir / "dbt_target"), "--log-path", str(workdir / "dbt_logs")]
    return _child(command, env, workdir / "dbt_build.log")


def run_preset(preset: str, seed: int, log=print, api: str | None = None, rerun: bool = True) -> dict:
    workdir = WORK / preset
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    mode = "extract" if preset == "small" else "direct"
    api = api or ("rest" if preset == "small" else "graphql")
    stages: dict[str, dict] = {}
    log(f"  pipeline {preset}: {mode} (GitHub {api})")
    stages["extract"] = _stage(mode, workdir, preset, str(seed), api)
    if "error" in stages["extract"]:
        return {"preset": preset, "stages": stages}
    log(f"  pipeline {preset}: dbt build")
    stages["dbt build"] = _dbt(workdir)
    log(f"  pipeline {preset}: analysis")
    stages["analysis"] = _stage("analysis", workdir)
    log(f"  pipeline {preset}: report")
    stages["report"] = _stage("report", workdir)
    # A scheduled run where nothing new landed: the incremental facts re-select almost nothing, so this is
    # the floor of a daily `dbt build` (tables and views are still rebuilt, and every test runs again).
    if rerun:
        log(f"  pipeline {preset}: dbt build again, nothing new landed")
        stages["dbt build, re-run"] = _dbt(workdir)
    details = stages["extract"].get("details", {})
    after = details.get("land_and_validate_seconds", 0.0) + sum(
        stages[s].get("seconds", 0.0) for s in ("dbt build", "analysis", "report"))
    return {
        "preset": preset, "mode": mode, "stages": stages,
        "after_extraction_seconds": round(after, 1),
        "peak_rss_mb_after_extraction": max((stages[s].get("peak_rss_mb", 0) for s in ("dbt build", "analysis", "report")),
                                            default=0),
        "pull_requests": details.get("rows", {}).get("github/pull_requests"),
    }


def growth(small: dict, medium: dict) -> dict:
    """bigger / smaller preset per stage, beside the ratio of pull requests (linear growth tracks that ratio)."""
    ratio = {}
    for stage in ("dbt build", "analysis", "report"):
        a, b = small["stages"].get(stage, {}), medium["stages"].get(stage, {})
        if a.get("seconds") and b.get("seconds"):
            ratio[stage] = {"time": round(b["seconds"] / a["seconds"], 1),
                            "peak_rss": round(b["peak_rss_mb"] / a["peak_rss_mb"], 1)}
    # Landing is not compared: small lands batch by batch as the syncs read (hundreds of batches), medium
    # lands each entity in one batch, so the two differ in batch count, not only in size.
    if small.get("pull_requests") and medium.get("pull_requests"):
        ratio["pull_requests"] = round(medium["pull_requests"] / small["pull_requests"], 1)
    return ratio


def run(presets: list[str], seed: int, large: bool = False, log=print, api: str | None = None,
        rerun: bool = True) -> dict:
    """`api` overrides the GitHub API of the extraction (the quick run extracts over GraphQL: the REST
    cost is measured by the api part either way); `rerun=False` (the quick run) skips the second build."""
    results = {"seed": seed, "presets": {}}
    for preset in presets:
        results["presets"][preset] = run_preset(preset, seed, log, api, rerun)
    if "small" in results["presets"] and "medium" in results["presets"]:
        results["growth_medium_over_small"] = growth(results["presets"]["small"], results["presets"]["medium"])
    if large:
        results["presets"]["large"] = run_preset("large", seed, log, rerun=rerun)
        if "medium" in results["presets"]:
            results["growth_large_over_medium"] = growth(results["presets"]["medium"], results["presets"]["large"])
    return results
