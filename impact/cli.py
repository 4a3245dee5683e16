"""`impact`: the command line (DESIGN.md section 3)."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from impact.config import ConfigError, load_config

# Bound to the real stderr: a run sends Dagster's and dbt's own output to a log file meanwhile.
console = Console(file=sys.__stderr__)


def _run_with_progress(select: tuple[str, ...] | None = None) -> None:
    from orchestration.run import PipelineFailed, run_pipeline

    with Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(), console=console,
    ) as progress:
        task = progress.add_task("starting", total=None)

        def on_stage(number: int, total: int, name: str) -> None:
            progress.update(task, description=name, completed=number - 1, total=total)

        try:
            _, log_path = run_pipeline(select, on_stage=on_stage)
        except PipelineFailed as error:
            progress.stop()
            raise click.ClickException(str(error)) from None
    console.print(f"run log: {log_path}")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Impact Warehouse: what AI coding assistants change in your engineering delivery.

    Extracts GitHub, Claude Code and organisation data, builds a DuckDB warehouse with dbt, estimates
    the effect of AI adoption with difference-in-differences, and writes an HTML report.
    """


@main.command()
@click.option("--seed", default=42, show_default=True, help="Seed of the synthetic organisation.")
@click.option("--scale", default="small", show_default=True, help="Sandbox preset.")
@click.option("--workdir", default=".", type=click.Path(file_okay=False, path_type=Path),
              help="Where warehouse/ and reports/ are written.")
def demo(seed: int, scale: str, workdir: Path) -> None:
    """Run the whole pipeline on the bundled sandbox organisation and write the report.

    Starts the sandbox on loopback, writes warehouse/demo/impact.yaml pointing at it, extracts through
    the real connectors, builds the warehouse, estimates the effect of adoption and renders the report.
    """
    from impact.demo import summary_lines, write_sandbox_config
    from sandbox.organisation import generate_organisation
    from sandbox.server import SandboxServer

    workdir = workdir.resolve()
    started = time.monotonic()
    with console.status(f"generating the '{scale}' sandbox organisation (seed {seed})"):
        org = generate_organisation(preset=scale, seed=seed)
    with SandboxServer(org, host="127.0.0.1", port=0) as server:
        config_path = write_sandbox_config(
            org, server.url, workdir / "warehouse" / "demo" / "impact.yaml",
            warehouse=workdir / "warehouse" / "impact.duckdb", reports_dir=workdir / "reports",
        )
        os.environ["IMPACT_CONFIG"] = str(config_path)
        console.print(f"sandbox serving at {server.url}; config {config_path}")
        _run_with_progress()
    config = load_config(config_path)
    report = config.reports_dir / "impact_report.html"
    for line in summary_lines(config.warehouse, report):
        click.echo(line)
    click.echo(f"done in {time.monotonic() - started:.0f} s; open the report with: xdg-open {report}")


@main.command()
@click.option("--select", "select", multiple=True,
              help="Run only the stages whose names start with this (extract, warehouse, analysis, report).")
def run(select: tuple[str, ...]) -> None:
    """Run the pipeline (or some stages) against the sources configured in impact.yaml."""
    try:
        config = load_config()
    except ConfigError as error:
        raise click.ClickException(str(error)) from None
    console.print(f"config {config.path}; warehouse {config.warehouse}")
    _run_with_progress(select or None)


@main.command()
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path),
              help="The config file (default: $IMPACT_CONFIG, else ./impact.yaml).")
def doctor(config_path: Path | None) -> None:
    """Check the config, the warehouse path, the team mapping and each source's URL and credentials.

    Makes one cheap real call per source; exits with status 1 when anything needs fixing.
    """
    from rich.table import Table

    from impact.doctor import diagnose

    table = Table(show_header=True, header_style="bold")
    table.add_column("check")
    table.add_column("")
    table.add_column("detail", overflow="fold")
    failed = 0
    for check in diagnose(config_path):
        failed += not check.ok
        table.add_row(check.name, "[green]ok[/green]" if check.ok else "[red]FIX[/red]", check.detail)
    Console(file=sys.stdout, width=120).print(table)
    if failed:
        raise click.ClickException(f"{failed} check(s) need fixing")


@main.command()
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), help="Where to write the HTML.")
@click.option("--pdf", is_flag=True, help="Also print it to PDF beside the HTML (needs headless Chromium).")
def report(output: Path | None, pdf: bool) -> None:
    """Render the report from the warehouse as it is (no extraction, no build)."""
    from analysis.report import PdfExportError, render_report

    try:
        config = load_config()
    except ConfigError as error:
        raise click.ClickException(str(error)) from None
    if not config.warehouse.exists():
        raise click.ClickException(f"no warehouse at {config.warehouse}: run `impact run` first")
    try:
        path = render_report(config.warehouse, output or config.reports_dir / "impact_report.html", pdf=pdf)
    except PdfExportError as error:
        raise click.ClickException(str(error)) from None
    click.echo(str(path))
    if pdf:
        click.echo(str(path.with_suffix(".pdf")))


@main.group()
def sandbox() -> None:
    """The synthetic organisation, served over the real APIs' wire formats."""


@sandbox.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8765, show_default=True, type=int)
@click.option("--scale", default="small", show_default=True)
@click.option("--seed", default=42, show_default=True, type=int)
@click.option("--write-config", "write_config", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write an impact.yaml whose sources all point at this sandbox.")
def sandbox_serve(host: str, port: int, scale: str, seed: int, write_config: Path | None) -> None:
    """Serve the sandbox until interrupted (Ctrl-C)."""
    from impact.demo import SANDBOX_TOKEN_VARIABLE, write_sandbox_config
    from sandbox.organisation import generate_organisation
    from sandbox.server import SandboxServer

    org = generate_organisation(preset=scale, seed=seed)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    with SandboxServer(org, host=host, port=port) as server:
        click.echo(f"sandbox '{scale}' (seed {seed}) serving at {server.url}")
        if write_config:
            path = write_sandbox_config(
                org, server.url, write_config, warehouse=Path("warehouse/impact.duckdb"),
                reports_dir=Path("reports"),
            )
            click.echo(f"config written to {path}; run: export {SANDBOX_TOKEN_VARIABLE}=any-value "
                       f"IMPACT_CONFIG={path}; impact run")
        stop.wait()
        click.echo("stopped")


if __name__ == "__main__":
    main()
