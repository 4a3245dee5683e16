"""Claude Code analytics records: one per developer per day with use.

Adopters use Claude Code on 2-5 weekdays of every week from their adoption week on. Before that
(and for never-adopters, always) there are isolated trial days, at most one in any week, so the
adoption rule of DESIGN section 5 (first of two consecutive weeks with use on at least 2 days each)
gives exactly the planned week and never an earlier one.
"""

from __future__ import annotations

import datetime as dt

from sandbox.config import OrganisationConfig
from sandbox.entities import Developer, ModelUsage, UsageDay
from sandbox.rng import Stream

SONNET = "claude-sonnet-4-5-20250929"
OPUS = "claude-opus-4-1-20250805"
#: USD per million tokens: input, output, cache read, cache write (5-minute)
PRICES = {
    SONNET: (3.0, 15.0, 0.30, 3.75),
    OPUS: (15.0, 75.0, 1.50, 18.75),
}
TOOLS = ("edit_tool", "multi_edit_tool", "write_tool", "notebook_edit_tool")


def generate_usage(config: OrganisationConfig, seed: int, developers: list[Developer]) -> list[UsageDay]:
    """All records, ordered by date then email (the order the report serves them in)."""
    days: list[UsageDay] = []
    for developer in developers:
        stream = Stream(seed, "claude", developer.login)
        adopted = developer.planned_adoption_week
        for week in range(config.weeks):
            monday = config.start_date + dt.timedelta(weeks=week)
            if adopted is not None and monday >= adopted:
                weekdays = sorted(stream.sample(range(5), stream.integer(2, 5)))
                heavy = True
            else:
                probability = (
                    config.trial_week_probability_adopter if adopted is not None else config.trial_week_probability_never
                )
                weekdays = [stream.integer(0, 4)] if stream.chance(probability) else []
                heavy = False
            for weekday in weekdays:
                days.append(_record(stream, developer, monday + dt.timedelta(days=weekday), heavy))
    days.sort(key=lambda d: (d.date, d.email))
    return days


def _record(stream: Stream, developer: Developer, day: dt.date, heavy: bool) -> UsageDay:
    sessions = stream.integer(1, 6) if heavy else stream.integer(1, 2)
    roll = stream.uniform()
    models = (SONNET,) if roll < 0.55 else (OPUS,) if roll < 0.70 else (SONNET, OPUS)
    breakdown = tuple(_model_usage(stream, model, sessions) for model in models)
    edits = []
    for tool in TOOLS:
        if tool == "notebook_edit_tool" and developer.team_id != "data":
            edits.append((tool, 0, 0))
            continue
        proposed = stream.integer(0, 12 * sessions)
        rejected = int(proposed * stream.uniform(0.0, 0.3))
        edits.append((tool, proposed - rejected, rejected))
    lines_added = int(stream.lognormal(120 * sessions, 0.7))
    return UsageDay(
        date=day,
        email=developer.email,
        terminal_type=developer.terminal_type,
        sessions=sessions,
        lines_added=lines_added,
        lines_removed=int(lines_added * stream.uniform(0.1, 0.6)),
        commits=stream.integer(0, sessions),
        pull_requests=stream.integer(0, max(1, sessions // 3)) if heavy else 0,
        tool_actions=tuple(edits),
        models=breakdown,
    )


def _model_usage(stream: Stream, model: str, sessions: int) -> ModelUsage:
    input_tokens = int(stream.lognormal(15_000 * sessions, 0.6))
    output_tokens = int(stream.lognormal(8_000 * sessions, 0.6))
    cache_read = int(stream.lognormal(400_000 * sessions, 0.7))
    cache_creation = int(stream.lognormal(40_000 * sessions, 0.7))
    price_in, price_out, price_read, price_write = PRICES[model]
    dollars = (
        input_tokens * price_in + output_tokens * price_out + cache_read * price_read + cache_creation * price_write
    ) / 1_000_000
    return ModelUsage(model, input_tokens, output_tokens, cache_read, cache_creation, round(dollars * 100))
