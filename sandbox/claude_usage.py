"""Claude Code analytics records: one per developer per day with use.

Adopters use Claude Code on 2-5 weekdays of every week from their adoption week on. Before that
(and for never-adopters, always) there are isolated trial days, at most one in any week, so the
adoption rule of DESIGN section 5 (first of two consecutive weeks with use on at least 2 days each)
gives exactly the planned week and never an earlier one.
"""

from __future__ import annotations

import dataclasses
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
    return _with_runaway_days(days, seed, len(developers))


#: Overnight sessions are planted on or after this day (transcripts.OLD_VERSION_UNTIL: newer versions).
OVERNIGHT_NOT_BEFORE = dt.date(2026, 2, 9)
#: The report's cost of a day with an overnight runaway session: above DESIGN's developer-day alert ($50).
RUNAWAY_DAY_USD = (60.0, 90.0)


def overnight_days(usage: list[UsageDay], seed: int, developer_count: int) -> list[tuple[str, dt.date]]:
    """The (email, day) whose last session is left running overnight: one per 30 developers, on a day
    followed by another day with use (the morning after). A function of the dates alone, so the
    transcripts and the report agree on it."""
    days_of: dict[str, list[dt.date]] = {}
    for day in usage:
        days_of.setdefault(day.email, []).append(day.date)
    candidates = [
        (email, dates[i])
        for email, dates in sorted(days_of.items())
        for i in range(len(dates) - 1)
        if dates[i + 1] == dates[i] + dt.timedelta(days=1) and dates[i] >= OVERNIGHT_NOT_BEFORE
    ]
    picker = Stream(seed, "transcripts", "overnight")
    return picker.sample(candidates, max(1, developer_count // 30))


def _with_runaway_days(days: list[UsageDay], seed: int, developer_count: int) -> list[UsageDay]:
    """The report's side of a runaway agent: the day of an overnight session costs $60-90 (every model's
    tokens scaled alike), so the developer-day alert has a known day to fire on."""
    runaway = set(overnight_days(days, seed, developer_count))
    stream = Stream(seed, "claude", "runaway")
    result = []
    for day in days:
        if (day.email, day.date) in runaway:
            target = stream.uniform(*RUNAWAY_DAY_USD)
            factor = target * 100 / max(1, sum(m.cost_cents for m in day.models))
            day = dataclasses.replace(day, models=tuple(_scaled(m, factor) for m in day.models))
        result.append(day)
    return result


def _scaled(usage: ModelUsage, factor: float) -> ModelUsage:
    tokens = [int(n * factor) for n in (usage.input_tokens, usage.output_tokens, usage.cache_read_tokens,
                                        usage.cache_creation_tokens)]
    price_in, price_out, price_read, price_write = PRICES[usage.model]
    dollars = (tokens[0] * price_in + tokens[1] * price_out + tokens[2] * price_read + tokens[3] * price_write) / 1_000_000
    return ModelUsage(usage.model, *tokens, round(dollars * 100))


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
