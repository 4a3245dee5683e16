"""The dbt project as Dagster assets: staging, intermediate and marts, with dbt tests as checks."""


import os
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from dagster import AssetExecutionContext
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, DbtProject, dbt_assets

from impact.landing import ensure_entity_folders
from impact.warehouse import building_copy, dbt_environment
from orchestration.resources import ImpactConfigResource

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
DBT_PROFILES_DIR = PROJECT_ROOT / "dbt_profiles"

# Parsing renders the sources' locations; give it a harmless default when no run has set them.
os.environ.setdefault("IMPACT_RAW_DIR", str(PROJECT_ROOT / "warehouse" / "raw"))

# The dbt installed beside this Python (the project's .venv), whether or not .venv/bin is on PATH.
_VENV_DBT = Path(sys.executable).with_name("dbt")
DBT_EXECUTABLE = str(_VENV_DBT) if _VENV_DBT.exists() else (shutil.which("dbt") or "dbt")

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROFILES_DIR)


def _manifest_is_stale() -> bool:
    """True when the manifest is missing or older than any file dbt parses (models, seeds, macros...)."""
    manifest = dbt_project.manifest_path
    if not manifest.exists():
        return True
    built = manifest.stat().st_mtime
    sources = [DBT_PROJECT_DIR / "dbt_project.yml", DBT_PROFILES_DIR / "profiles.yml"]
    for folder in ("models", "seeds", "macros", "tests"):
        sources.extend(p for p in (DBT_PROJECT_DIR / folder).rglob("*") if p.is_file())
    return any(path.stat().st_mtime > built for path in sources if path.exists())


if os.environ.get("DAGSTER_IS_DEV_CLI") or _manifest_is_stale():
    # Dagster must describe the same models dbt will build, so parse whenever the project changed.
    subprocess.run(
        [DBT_EXECUTABLE, "parse", "--quiet", "--project-dir", str(DBT_PROJECT_DIR),
         "--profiles-dir", str(DBT_PROFILES_DIR)],
        check=True,
    )


class LayeredTranslator(DagsterDbtTranslator):
    """Groups dbt models by layer (staging, intermediate, marts) in the asset graph."""

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        fqn = dbt_resource_props.get("fqn", [])
        if dbt_resource_props.get("resource_type") == "model" and len(fqn) > 2:
            return f"warehouse_{fqn[1]}"
        return "warehouse_seeds" if dbt_resource_props.get("resource_type") == "seed" else "warehouse"


# Several raw tables of one source share that source's extraction asset (raw/github covers six).
TRANSLATOR = LayeredTranslator(settings=DagsterDbtTranslatorSettings(enable_duplicate_source_asset_keys=True))


@dbt_assets(manifest=dbt_project.manifest_path, dagster_dbt_translator=TRANSLATOR)
def warehouse_models(
    context: AssetExecutionContext, dbt: DbtCliResource, impact_config: ImpactConfigResource
) -> Iterator[Any]:
    """`dbt build` into a copy of the warehouse, swapped in only when every model and test passed."""
    config = impact_config.load()
    ensure_entity_folders(config.raw_dir)  # a source not configured still gives its sources a schema
    with building_copy(config.warehouse) as scratch:
        os.environ.update(dbt_environment(scratch, config.raw_dir, config))
        try:
            args = ["build", "--full-refresh"] if impact_config.full_refresh else ["build"]
            yield from dbt.cli(args, context=context).stream()
        finally:
            os.environ.update(dbt_environment(config.warehouse, config.raw_dir, config))
