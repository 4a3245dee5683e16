"""Land a sandbox organisation's raw data exactly as `impact demo` extracts it, for the Spark build.

Runs under the main virtualenv (.venv: the connectors, the sandbox and Dagster live there, not in
.venv-spark). It serves the organisation on loopback, writes the demo's impact.yaml into `--workdir`,
runs the extract stages of the pipeline (the same Dagster assets as `impact run`) and writes
`dbt_env.json`: the environment the warehouse stage hands dbt (IMPACT_RAW_DIR, IMPACT_WAREHOUSE and the
incident settings), so a DuckDB build and a Spark build of that landing see the same inputs.

    .venv/bin/python spark/prepare_landing.py --workdir /tmp/impact-spark --scale small
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path


def prepare(workdir: Path, scale: str, seed: int) -> dict[str, str]:
    """Extract the organisation into `workdir`/raw and return the dbt environment of that landing."""
    workdir = workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("DAGSTER_HOME", str(workdir / ".dagster"))

    from impact.config import load_config
    from impact.demo import write_sandbox_config
    from impact.landing import ensure_entity_folders
    from impact.warehouse import dbt_environment
    from orchestration.run import run_pipeline
    from sandbox.organisation import generate_organisation
    from sandbox.server import SandboxServer

    org = generate_organisation(preset=scale, seed=seed)
    with SandboxServer(org, host="127.0.0.1", port=0) as server:
        config_path = write_sandbox_config(
            org, server.url, workdir / "demo" / "impact.yaml",
            warehouse=workdir / "impact.duckdb", reports_dir=workdir / "reports",
        )
        os.environ["IMPACT_CONFIG"] = str(config_path)
        run_pipeline(["extract"])
    config = load_config(config_path)
    ensure_entity_folders(config.raw_dir)  # as the warehouse asset does before `dbt build`
    return dbt_environment(config.warehouse, config.raw_dir, config)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workdir", type=Path, required=True, help="Folder for the landing, config and dbt_env.json.")
    parser.add_argument("--scale", default="small", help="Sandbox preset (small, medium, ...).")
    parser.add_argument("--seed", type=int, default=42, help="Seed of the synthetic organisation.")
    args = parser.parse_args()
    started = time.monotonic()
    environment = prepare(args.workdir, args.scale, args.seed)
    (args.workdir / "dbt_env.json").write_text(json.dumps(environment, indent=2, sort_keys=True) + "\n")
    print(f"landed the '{args.scale}' organisation (seed {args.seed}) in {time.monotonic() - started:.0f} s: "
          f"{environment['IMPACT_RAW_DIR']}")


if __name__ == "__main__":
    main()
