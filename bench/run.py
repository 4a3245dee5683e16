"""`python -m bench [--quick] [--parts api,pipeline,transcripts,causal] [--seed N]`: run, record, summarise.

Writes `bench/results.json` (every number with the machine, versions, seed and load) and
`bench/results.md` (the table the README shows), and prints ratios against the peers; `--quick` writes
`bench/results-quick.json` / `.md` instead. `--quick` runs the
small sizes only (no medium, a 100 MB transcript corpus, extraction over GraphQL) in under 3 minutes; the full run takes ~20.
Running some parts only keeps the other parts' last results in the files.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

from bench import machine

BENCH = Path(__file__).resolve().parent
RESULTS = BENCH / "results.json"
TABLE = BENCH / "results.md"
QUICK_RESULTS = BENCH / "results-quick.json"
QUICK_TABLE = BENCH / "results-quick.md"
PARTS = ("api", "pipeline", "transcripts", "causal")


def _log(message: str) -> None:
    print(message, flush=True)


def _run_part(part: str, quick: bool, seed: int, large: bool) -> dict:
    started = time.perf_counter()
    if part == "api":
        from bench import api_cost

        result = api_cost.run("small", seed, log=_log)
    elif part == "pipeline":
        from bench import pipeline

        result = pipeline.run(["small"] if quick else ["small", "medium"], seed, large=large, log=_log,
                              api="graphql" if quick else None, rerun=not quick)
    elif part == "transcripts":
        from bench import transcripts

        result = transcripts.run(100 if quick else 1024, seed, log=_log)
    else:
        from bench import causal

        result = causal.run("medium", seed, quick=quick, log=_log)
    result["part_seconds"] = round(time.perf_counter() - started, 1)
    result["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes only (a few minutes)")
    parser.add_argument("--parts", default=",".join(PARTS), help=f"comma-separated subset of {','.join(PARTS)}")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--large", action="store_true", help="also run the large preset through every stage (~20 min more)")
    args = parser.parse_args(argv)
    parts = [p.strip() for p in args.parts.split(",") if p.strip()]
    unknown = sorted(set(parts) - set(PARTS))
    if unknown:
        parser.error(f"unknown parts {unknown}; choose among {', '.join(PARTS)}")
    os.chdir(BENCH.parent)
    # A quick run keeps its own files, so it never replaces the full run's numbers the README shows.
    results_path, table_path = (QUICK_RESULTS, QUICK_TABLE) if args.quick else (RESULTS, TABLE)
    previous = json.loads(results_path.read_text()) if results_path.exists() else {}
    started = time.perf_counter()
    results = {
        "machine": machine.machine_info(), "versions": machine.versions(), "git_commit": machine.git_commit(),
        "seed": args.seed, "quick": args.quick,
        "note": "a shared 2-core machine: other work ran at the same time (see load averages)",
        "parts": dict(previous.get("parts", {})),
    }
    for part in parts:
        _log(f"bench: {part}")
        try:
            results["parts"][part] = {**_run_part(part, args.quick, args.seed, args.large), "quick": args.quick,
                                      "seed": args.seed, "recorded_at": results["machine"]["started_at"]}
        except Exception as error:  # a part that fails is recorded, the others still run
            results["parts"][part] = {"error": f"{type(error).__name__}: {error}"[:1000], "quick": args.quick}
            _log(f"bench: {part} failed: {error}")
    results["total_seconds"] = round(time.perf_counter() - started, 1)
    results_path.write_text(json.dumps(results, indent=1, default=str) + "\n")
    from bench.report import render

    table, summary = render(results)
    table_path.write_text(table)
    _log("")
    _log(summary)
    _log(f"bench: {results['total_seconds']:.0f} s; wrote {results_path.relative_to(BENCH.parent)} and "
         f"{table_path.relative_to(BENCH.parent)}")
