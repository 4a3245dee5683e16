"""`impact spend`: month-to-date AI spend against budget per team (and budgeted role or person).

Reads `marts.mart_ai_budget` read-only, so it works beside a running pipeline and never changes the
warehouse. The month shown by default is the one of the mart's "as of" day (the last day with spend
data), not the wall clock's: the same warehouse always prints the same table.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from pathlib import Path

import duckdb
from rich.console import Console
from rich.table import Table
from rich.text import Text

BUDGET_TABLE = "marts.mart_ai_budget"
BAR_WIDTH = 20
MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


class SpendError(RuntimeError):
    """Why the spend table cannot be shown, and what to do about it."""


@dataclasses.dataclass(frozen=True)
class ScopeSpend:
    scope_kind: str  # team | role | person
    scope: str
    name: str  # the team's name for teams, else the scope as configured
    budget_usd: float | None
    spend_to_date_usd: float
    projected_month_usd: float
    over_budget: bool

    @property
    def projected_share(self) -> float | None:
        """Projected month as a share of the budget (1.0 = exactly on budget); None without a budget."""
        return self.projected_month_usd / self.budget_usd if self.budget_usd else None


@dataclasses.dataclass(frozen=True)
class SpendView:
    month: str  # YYYY-MM
    as_of: dt.date
    elapsed_days: int
    days_in_month: int
    scopes: tuple[ScopeSpend, ...]

    def as_json(self) -> dict[str, object]:
        return {
            "month": self.month,
            "as_of": self.as_of.isoformat(),
            "elapsed_days": self.elapsed_days,
            "days_in_month": self.days_in_month,
            "scopes": [
                {"scope_kind": s.scope_kind, "scope": s.scope, "name": s.name, "budget_usd": s.budget_usd,
                 "spend_to_date_usd": s.spend_to_date_usd, "projected_month_usd": s.projected_month_usd,
                 "over_budget": s.over_budget}
                for s in self.scopes
            ],
        }


def parse_month(value: str | None) -> dt.date | None:
    """`YYYY-MM` -> the month's first day; None stays None (the as-of month)."""
    if value is None:
        return None
    match = MONTH.match(value.strip())
    if not match:
        raise SpendError(f"--month {value!r} is not a month: use YYYY-MM, e.g. 2026-07")
    return dt.date(int(match[1]), int(match[2]), 1)


def read_spend(warehouse: Path, month: str | None = None) -> SpendView:
    """The budget mart's rows of one month (default: the month of its as-of day)."""
    warehouse = Path(warehouse)
    wanted = parse_month(month)
    if not warehouse.exists():
        raise SpendError(f"no warehouse at {warehouse}: run `impact run` or `impact demo` first")
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        found = connection.execute(
            "select count(*) from information_schema.tables where table_schema = 'marts' and table_name = 'mart_ai_budget'"
        ).fetchone()
        if not found or not found[0]:
            raise SpendError(f"{warehouse} has no {BUDGET_TABLE} yet: run `impact run` to build it")
        months = [row[0] for row in connection.execute(
            f"select distinct month_start from {BUDGET_TABLE} order by 1").fetchall()]
        if not months:
            raise SpendError("no AI spend in the warehouse yet: configure claude_code or anthropic and run `impact run`")
        if wanted is None:
            current = connection.execute(f"select max(month_start) from {BUDGET_TABLE} where is_current_month").fetchone()
            wanted = current[0] if current and current[0] else months[-1]
        if wanted not in months:
            raise SpendError(
                f"no AI spend data for {wanted:%Y-%m}: months with data are {months[0]:%Y-%m} to {months[-1]:%Y-%m}"
            )
        rows = connection.execute(
            f"""
            select b.scope_kind, b.scope, coalesce(t.team_name, b.scope), b.budget_usd, b.spend_to_date_usd,
                   b.projected_month_usd, b.over_budget, b.as_of_date, b.elapsed_days, b.days_in_month
            from {BUDGET_TABLE} as b
            left join marts.dim_team as t on b.scope_kind = 'team' and t.team_id = b.team_id
            where b.month_start = ?
            order by case b.scope_kind when 'team' then 0 when 'role' then 1 else 2 end, b.scope
            """,
            [wanted],
        ).fetchall()
    first = rows[0]
    as_of = min(first[7], _month_end(wanted))
    return SpendView(
        month=f"{wanted:%Y-%m}", as_of=as_of, elapsed_days=int(first[8]), days_in_month=int(first[9]),
        scopes=tuple(ScopeSpend(kind, scope, name, budget, spend, projected, bool(over))
                     for kind, scope, name, budget, spend, projected, over, *_ in rows),
    )


def _month_end(month_start: dt.date) -> dt.date:
    following = (month_start.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return following - dt.timedelta(days=1)


def _bar(share: float | None, over: bool) -> Text:
    """Projected month against budget: filled up to the budget, a red tail beyond it."""
    if share is None:
        return Text("no budget", style="dim")
    filled = min(BAR_WIDTH, round(min(share, 1.0) * BAR_WIDTH))
    bar = Text("█" * filled, style="red" if over else ("yellow" if share > 0.8 else "green"))
    bar.append("░" * (BAR_WIDTH - filled), style="dim")
    bar.append(f" {share:4.0%}", style="bold red" if over else "")
    return bar


def spend_table(view: SpendView) -> Table:
    """The table a person reads at a glance: one row per scope, over-budget rows in red."""
    table = Table(
        title=f"AI spend, {view.month} (to {view.as_of:%d %b}, day {view.elapsed_days} of {view.days_in_month})",
        header_style="bold",
    )
    table.add_column("scope")
    table.add_column("budget", justify="right")
    table.add_column("spent to date", justify="right")
    table.add_column("projected month", justify="right")
    table.add_column("projected / budget")
    table.add_column("status")
    for scope in view.scopes:
        label = scope.name if scope.scope_kind == "team" else f"{scope.scope_kind}: {scope.scope}"
        style = "red" if scope.over_budget else None
        status = Text("OVER BUDGET", style="bold red") if scope.over_budget else (
            Text("on track", style="green") if scope.budget_usd is not None else Text("-", style="dim"))
        table.add_row(
            Text(label, style=style or ""),
            "-" if scope.budget_usd is None else f"${scope.budget_usd:,.0f}",
            f"${scope.spend_to_date_usd:,.2f}",
            Text(f"${scope.projected_month_usd:,.2f}", style=style or ""),
            _bar(scope.projected_share, scope.over_budget),
            status,
        )
    return table


def print_spend(view: SpendView, console: Console) -> None:
    console.print(spend_table(view))
    over = [s.name for s in view.scopes if s.over_budget]
    console.print(
        f"projected month = spent to date / {view.elapsed_days} day(s) x {view.days_in_month}; "
        + (f"[bold red]over budget: {', '.join(over)}[/]" if over else "[green]no scope over budget[/]")
    )
