"""`impact`: the command line (DESIGN.md section 3)."""

from __future__ import annotations

import os

# One BLAS thread: the estimators fit thousands of small regressions, where BLAS threads only fight each
# other and dbt for the cores (the medium analysis: 7 s with one thread, 31 s with the default). Set
# before numpy is first imported; an explicit setting in the environment wins.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

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


def _run_with_progress(select: tuple[str, ...] | None = None, full_refresh: bool = False) -> None:
    from orchestration.run import PipelineFailed, run_pipeline

    with Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(), console=console,
    ) as progress:
        task = progress.add_task("starting", total=None)

        def on_stage(number: int, total: int, name: str) -> None:
            progress.update(task, description=name, completed=number - 1, total=total)

        try:
            _, log_path = run_pipeline(select, on_stage=on_stage, full_refresh=full_refresh)
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
              help="Run only the stages whose names start with this (extract, warehouse, alerts, analysis, report).")
@click.option("--full-refresh", is_flag=True,
              help="Ignore saved cursors (re-read every source from start_date) and rebuild incremental models.")
def run(select: tuple[str, ...], full_refresh: bool) -> None:
    """Run the pipeline (or some stages) against the sources configured in impact.yaml.

    Stages, in order: extract (each configured source, incrementally from its saved cursor), warehouse
    (dbt build with its tests), analysis (the effect estimates) and report. A progress bar shows the
    stage; Dagster's and dbt's own output goes to the run log printed at the end. Check the setup
    first with `impact doctor`.
    """
    try:
        config = load_config()
    except ConfigError as error:
        raise click.ClickException(str(error)) from None
    console.print(f"config {config.path}; warehouse {config.warehouse}" + ("; full refresh" if full_refresh else ""))
    _run_with_progress(select or None, full_refresh=full_refresh)


@main.command()
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path),
              help="The config file (default: $IMPACT_CONFIG, else ./impact.yaml).")
def doctor(config_path: Path | None) -> None:
    """Check the config, the warehouse path, the team mapping and each source's URL and credentials.

    Makes one cheap real call per configured source (GitHub, Anthropic Admin API, Jira, PagerDuty) and
    says in words what is wrong and what to change; secrets are never printed. Exits with status 1
    when anything needs fixing.
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
    """Render the report from the warehouse as it is (no extraction, no build).

    One self-contained HTML file (charts inline, nothing fetched when opened): the findings with their
    confidence intervals, adoption, cost and efficiency, spend and budgets, DORA by team, PR stages,
    the event studies, caveats, methods and data freshness. Teams under report.min_team_size people
    are only shown combined; people are named only with report.show_individuals: true.
    """
    from analysis.report import PdfExportError, ReportDataError, render_report

    try:
        config = load_config()
    except ConfigError as error:
        raise click.ClickException(str(error)) from None
    if not config.warehouse.exists():
        raise click.ClickException(f"no warehouse at {config.warehouse}: run `impact run` first")
    try:
        path = render_report(
            config.warehouse, output or config.reports_dir / "impact_report.html", pdf=pdf,
            min_team_size=config.report.min_team_size, show_individuals=config.report.show_individuals,
        )
    except (PdfExportError, ReportDataError) as error:
        raise click.ClickException(str(error)) from None
    click.echo(str(path))
    if pdf:
        click.echo(str(path.with_suffix(".pdf")))


@main.command()
@click.option("--month", help="Month to show, YYYY-MM (default: the month of the last day with spend data).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts instead of the table.")
def spend(month: str | None, as_json: bool) -> None:
    """Month-to-date AI spend against budget per team, with the projected month (reads the warehouse)."""
    import json

    from impact.spend import SpendError, print_spend, read_spend

    try:
        config = load_config()
    except ConfigError as error:
        raise click.ClickException(str(error)) from None
    try:
        view = read_spend(config.warehouse, month)
    except SpendError as error:
        raise click.ClickException(str(error)) from None
    if as_json:
        click.echo(json.dumps(view.as_json(), indent=2))
    else:
        print_spend(view, Console(file=sys.stdout, width=120))


@main.group()
def sandbox() -> None:
    """The synthetic organisation, served over the real APIs' wire formats."""


@sandbox.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8765, show_default=True, type=int, help="Port (0: any free port).")
@click.option("--scale", default="small", show_default=True, help="Sandbox preset (organisation size).")
@click.option("--seed", default=42, show_default=True, type=int, help="Seed of the synthetic organisation.")
@click.option("--write-config", "write_config", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write an impact.yaml whose sources all point at this sandbox.")
@click.option("--faults", "fault_rates", multiple=True, metavar="SOURCE=RATE",
              help="Inject each source's transient faults (429, 5xx, secondary limits...) into this share of its "
                   "requests, e.g. --faults github=0.05 --faults anthropic=0.1; drawn from a seed, so repeatable.")
def sandbox_serve(host: str, port: int, scale: str, seed: int, write_config: Path | None,
                  fault_rates: tuple[str, ...]) -> None:
    """Serve the sandbox until interrupted (Ctrl-C).

    A synthetic organisation (people, repositories, pull requests, deployments, incidents, Claude Code
    usage) with planted AI effects, over the real wire formats of GitHub, the Anthropic Admin API, Jira
    and PagerDuty. The same --seed gives the same data byte for byte.
    """
    from impact.demo import SANDBOX_TOKEN_VARIABLE, write_sandbox_config
    from sandbox.organisation import generate_organisation
    from sandbox.server import SandboxServer

    plan = _fault_plan(fault_rates, seed)
    org = generate_organisation(preset=scale, seed=seed)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    with SandboxServer(org, host=host, port=port, faults=plan) as server:
        click.echo(f"sandbox '{scale}' (seed {seed}) serving at {server.url}"
                   + (f" with faults {', '.join(fault_rates)}" if fault_rates else ""))
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


def _fault_plan(fault_rates: tuple[str, ...], seed: int):
    """`--faults github=0.05` options as a seeded FaultPlan (None when none were given)."""
    from sandbox.faults import FaultPlan

    if not fault_rates:
        return None
    rates: dict[str, float] = {}
    for option in fault_rates:
        source, _, rate = option.partition("=")
        try:
            rates[source.strip()] = float(rate)
        except ValueError:
            raise click.BadParameter(f"{option!r}: write SOURCE=RATE, e.g. github=0.05", param_hint="--faults") from None
    try:
        return FaultPlan(rates=rates, seed=seed)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--faults") from None
