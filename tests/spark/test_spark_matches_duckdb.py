"""The warehouse builds on Apache Spark with the same numbers as on DuckDB (`make test-spark`).

One landing of a sandbox organisation (`small` unless IMPACT_SPARK_SCALE says otherwise), extracted by
the real pipeline (spark/prepare_landing.py, in the main virtualenv), is built twice by the same dbt
project: `--target duckdb` with .venv's dbt and `--target spark` (PySpark in-process, local mode) with
.venv-spark's. Spark reads the Parquet batches where they lie. Then every model and seed must hold the
same columns and the same rows on both, compared as sorted row lists: text, dates, timestamps and
integers exactly, doubles to 1e-9.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import json
import math
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.spark.conftest import TIMINGS

REPO_ROOT = Path(__file__).resolve().parents[2]
MAIN_VENV_BIN = Path(os.environ.get("IMPACT_MAIN_VENV_BIN", REPO_ROOT / ".venv" / "bin"))
SPARK_DBT = Path(sys.executable).with_name("dbt")
SCALE = os.environ.get("IMPACT_SPARK_SCALE", "small")
TOLERANCE = 1e-9
BUILD_TIMEOUT = 1800
# The first test sets up the extraction and both builds: far beyond the suite's 900 s on a busy machine.
pytestmark = pytest.mark.timeout(3 * BUILD_TIMEOUT)


def require(ok: bool, message: str) -> None:
    """Skip when a prerequisite is missing on a workstation; fail under CI=true, where it must be there."""
    if ok:
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true: {message}", pytrace=False)
    pytest.skip(message)


@dataclasses.dataclass(frozen=True)
class Build:
    target: str
    target_path: Path
    result: subprocess.CompletedProcess[str]
    seconds: float

    def results(self) -> dict[str, str]:
        """unique_id -> status of every node the build ran."""
        data = json.loads((self.target_path / "run_results.json").read_text())
        return {result["unique_id"]: result["status"] for result in data["results"]}

    def relations(self) -> dict[str, tuple[str, str]]:
        """unique_id -> (schema, name) of every model and seed of the manifest."""
        manifest = json.loads((self.target_path / "manifest.json").read_text())
        return {
            unique_id: (node["schema"], node["alias"] or node["name"])
            for unique_id, node in manifest["nodes"].items()
            if node["resource_type"] in ("model", "seed") and node["config"].get("enabled", True)
        }

    def failure(self) -> str:
        return f"dbt build --target {self.target} failed:\n{self.result.stdout[-8000:]}\n{self.result.stderr[-3000:]}"


@pytest.fixture(scope="session")
def java() -> str:
    found = shutil.which("java", path=os.path.join(os.environ["JAVA_HOME"], "bin") if os.environ.get("JAVA_HOME") else None)
    require(found is not None, "no Java runtime (java on PATH or JAVA_HOME): install OpenJDK 17, e.g. apt-get install openjdk-17-jre-headless")
    version = subprocess.run([found, "-version"], capture_output=True, text=True, timeout=60)
    require(version.returncode == 0, f"`java -version` failed: {version.stderr.strip()}")
    return found


@pytest.fixture(scope="session", autouse=True)
def pyspark_version(java: str) -> str:
    """Java and pyspark are checked before anything is extracted or built (autouse: first)."""
    try:
        import pyspark
    except ImportError:
        require(False, "pyspark is not installed here: run `make test-spark` (it builds .venv-spark from requirements-spark.lock)")
        raise
    require(SPARK_DBT.exists(), f"no dbt beside {sys.executable}: install requirements-spark.lock into this environment")
    return pyspark.__version__


@pytest.fixture(scope="session")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh folder, or IMPACT_SPARK_WORKDIR to reuse a landing extracted before (while developing)."""
    reused = os.environ.get("IMPACT_SPARK_WORKDIR")
    return Path(reused).resolve() if reused else tmp_path_factory.mktemp(f"spark_{SCALE}")


@pytest.fixture(scope="session")
def landing(workdir: Path) -> dict[str, str]:
    """The organisation extracted by the main pipeline; returns the dbt environment of that landing."""
    if os.environ.get("IMPACT_SPARK_WORKDIR") and (workdir / "dbt_env.json").exists():
        return json.loads((workdir / "dbt_env.json").read_text())
    python = MAIN_VENV_BIN / "python"
    require(python.exists(), f"{python} is missing: run `make install` first (the landing is extracted with the main virtualenv)")
    started = time.monotonic()
    result = subprocess.run(
        [str(python), str(REPO_ROOT / "spark" / "prepare_landing.py"), "--workdir", str(workdir), "--scale", SCALE],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=BUILD_TIMEOUT,
        env={**os.environ, "DAGSTER_HOME": str(workdir / ".dagster")},
    )
    assert result.returncode == 0, f"extracting the '{SCALE}' landing failed:\n{result.stdout[-4000:]}\n{result.stderr[-6000:]}"
    TIMINGS[f"extract '{SCALE}' landing (main pipeline)"] = time.monotonic() - started
    return json.loads((workdir / "dbt_env.json").read_text())


def _dbt_build(executable: Path, target: str, env: dict[str, str], folder: Path) -> Build:
    folder.mkdir(parents=True, exist_ok=True)
    target_path = folder / "target"
    started = time.monotonic()
    result = subprocess.run(
        [str(executable), "build", "--target", target, "--project-dir", "dbt_project", "--profiles-dir", "dbt_profiles",
         "--target-path", str(target_path), "--log-path", str(folder / "logs")],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=BUILD_TIMEOUT,
        env={**os.environ, **env, "DO_NOT_TRACK": "1", "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"},
    )
    seconds = time.monotonic() - started
    TIMINGS[f"dbt build --target {target} ('{SCALE}')"] = seconds
    return Build(target, target_path, result, seconds)


@pytest.fixture(scope="session")
def duckdb_build(landing: dict[str, str], workdir: Path) -> Build:
    build = _dbt_build(MAIN_VENV_BIN / "dbt", "duckdb", landing, workdir / "duckdb")
    assert build.result.returncode == 0, build.failure()
    return build


def spark_env(landing: dict[str, str], workdir: Path) -> dict[str, str]:
    return {**landing, "IMPACT_SPARK_DIR": str(workdir / "spark")}


@pytest.fixture(scope="session")
def spark_build(landing: dict[str, str], workdir: Path, pyspark_version: str) -> Build:
    return _dbt_build(SPARK_DBT, "spark", spark_env(landing, workdir), workdir / "spark")


def spark_session_settings(env: dict[str, str]) -> dict[str, str]:
    """The `spark` output's server_side_parameters of dbt_profiles/profiles.yml, rendered with `env`, so
    the reading session opens the catalog and tables the build wrote (one source of truth)."""
    import jinja2

    profile = yaml.safe_load((REPO_ROOT / "dbt_profiles" / "profiles.yml").read_text())
    parameters = profile["impact"]["outputs"]["spark"]["server_side_parameters"]

    def env_var(name: str, default: str | None = None) -> str:
        if name in env:
            return env[name]
        if default is None:
            raise KeyError(name)
        return default

    jinja = jinja2.Environment()
    return {key: jinja.from_string(str(value)).render(env_var=env_var) for key, value in parameters.items()}


@pytest.fixture(scope="session")
def spark(spark_build: Build, landing: dict[str, str], workdir: Path) -> Iterator[Any]:
    """A Spark session on the built catalog (the dbt process has ended: Derby allows one at a time)."""
    assert spark_build.result.returncode == 0, spark_build.failure()
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.appName("impact-spark-equality").enableHiveSupport()
    for key, value in spark_session_settings(spark_env(landing, workdir)).items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    yield session
    session.stop()


# --- comparison ------------------------------------------------------------------------------------


def normalise(value: object) -> object:
    """One Python value per meaning: aware timestamps as naive UTC (DuckDB's are naive UTC already),
    decimals (DuckDB's sum of integers) as numbers."""
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(dt.timezone.utc).replace(tzinfo=None)
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def sort_key(row: tuple[object, ...]) -> tuple[object, ...]:
    """Rows sort the same on both sides even when doubles differ in the last bits."""
    key: list[object] = []
    for value in row:
        if value is None:
            key.append((1, 0))
        elif isinstance(value, bool):
            key.append((0, int(value)))
        elif isinstance(value, (int, float)):
            key.append((0, round(float(value), 6)))
        else:
            key.append((0, value))
    return tuple(key)


def same_value(left: object, right: object) -> bool:
    if left is None or right is None:
        return left is None and right is None
    if isinstance(left, bool) or isinstance(right, bool):
        return left == right
    if isinstance(left, (int, float)) and isinstance(right, (int, float)):
        if isinstance(left, int) and isinstance(right, int):
            return left == right
        return math.isclose(left, right, rel_tol=TOLERANCE, abs_tol=TOLERANCE)
    return type(left) is type(right) and left == right


def table_rows(arrow_table: Any) -> tuple[list[str], list[tuple[object, ...]]]:
    columns = [name.lower() for name in arrow_table.column_names]
    values = [[normalise(v) for v in arrow_table.column(i).to_pylist()] for i in range(arrow_table.num_columns)]
    rows = sorted(zip(*values), key=sort_key) if values else []
    return columns, rows


def differences(name: str, duckdb_table: Any, spark_table: Any, limit: int = 3) -> list[str]:
    """What differs between the two builds of one relation (empty when they are equal)."""
    duck_columns, duck_rows = table_rows(duckdb_table)
    spark_columns, spark_rows = table_rows(spark_table)
    if duck_columns != spark_columns:
        return [f"{name}: columns differ: duckdb {duck_columns} vs spark {spark_columns}"]
    if len(duck_rows) != len(spark_rows):
        return [f"{name}: {len(duck_rows)} rows on duckdb vs {len(spark_rows)} on spark"]
    found: list[str] = []
    for duck_row, spark_row in zip(duck_rows, spark_rows):
        unequal = [
            f"{column}: duckdb {d!r} vs spark {s!r}"
            for column, d, s in zip(duck_columns, duck_row, spark_row) if not same_value(d, s)
        ]
        if unequal:
            found.append(f"{name}: row {dict(zip(duck_columns, duck_row))!r}\n    " + "; ".join(unequal))
            if len(found) >= limit:
                break
    return found


# --- tests -----------------------------------------------------------------------------------------


def test_spark_build_runs_every_model_seed_and_test_of_the_duckdb_build(duckdb_build: Build, spark_build: Build) -> None:
    assert spark_build.result.returncode == 0, spark_build.failure()
    spark_results, duckdb_results = spark_build.results(), duckdb_build.results()
    failed = {node: status for node, status in spark_results.items() if status not in ("success", "pass")}
    assert not failed, failed
    assert set(spark_results) == set(duckdb_results), (
        f"only on duckdb: {sorted(set(duckdb_results) - set(spark_results))}; "
        f"only on spark: {sorted(set(spark_results) - set(duckdb_results))}"
    )
    kinds = {node.split(".")[0] for node in spark_results}
    assert {"model", "seed", "test", "unit_test"} <= kinds, kinds


def test_every_model_and_seed_holds_the_same_rows_on_spark_and_duckdb(duckdb_build: Build, spark_build: Build, spark: Any,
                                                                      landing: dict[str, str]) -> None:
    import duckdb

    relations = spark_build.relations()
    assert relations == duckdb_build.relations()
    marts = [node for node, (schema, _) in relations.items() if schema == "marts"]
    assert len(marts) >= 10, marts

    found: list[str] = []
    row_counts: dict[str, int] = {}
    with duckdb.connect(landing["IMPACT_WAREHOUSE"], read_only=True) as connection:
        for unique_id, (schema, name) in sorted(relations.items()):
            duckdb_table = connection.sql(f'select * from "{schema}"."{name}"').to_arrow_table()
            spark_table = spark.table(f"`{schema}`.`{name}`").toArrow()
            row_counts[f"{schema}.{name}"] = duckdb_table.num_rows
            found.extend(differences(f"{schema}.{name}", duckdb_table, spark_table))
    assert not found, f"{len(found)} differences:\n" + "\n".join(found)
    # the comparison is only worth something on a populated warehouse
    assert row_counts["marts.fct_pull_requests"] > 100, row_counts
    assert row_counts["marts.fct_deployments"] > 100, row_counts
    assert row_counts["marts.mart_ai_impact_panel"] > 100, row_counts


def test_timestamps_keep_their_utc_wall_time_on_spark(spark: Any, landing: dict[str, str]) -> None:
    """The landing's naive UTC times read by Spark under the UTC session time zone are the same instants:
    the earliest PR creation equals the raw file's own earliest value."""
    import pyarrow.dataset as ds

    raw = ds.dataset(Path(landing["IMPACT_RAW_DIR"]) / "github" / "pull_requests", format="parquet")
    earliest = min(value for value in raw.to_table(columns=["created_at"]).column(0).to_pylist() if value is not None)
    (row,) = spark.sql("select min(created_at) as earliest from staging.stg_github__pull_requests").toArrow().to_pylist()
    assert normalise(row["earliest"]) == earliest
