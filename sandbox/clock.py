"""Calendar helpers shared by the generators: whole-second UTC times, the observation horizon, and the
quiet (holiday) weeks.

Weekly seasonality lives in the generators: people start work (a PR's first commit) and deploy on
weekdays, so weekends see only what spills over (a PR opened, reviewed or merged as spans run on);
bots keep no office hours.
"""

from __future__ import annotations

import datetime as dt

from sandbox.config import OrganisationConfig
from sandbox.rng import Stream

HOUR = 3600


def day_start(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.timezone.utc)


def at(day: dt.date, seconds: float) -> dt.datetime:
    return day_start(day) + dt.timedelta(seconds=int(seconds))


def work_time(stream: Stream, day: dt.date, working_share: float) -> dt.datetime:
    """A whole-second UTC time on `day`, mostly within working hours (09:00-18:00)."""
    if stream.chance(working_share):
        return at(day, stream.uniform(9 * HOUR, 18 * HOUR))
    return at(day, stream.uniform(0, 24 * HOUR))


def horizon(config: OrganisationConfig) -> dt.datetime:
    """The moment the world is observed: the end of the calendar's last day.

    Nothing exists after it, which keeps every run's data identical whatever today's date is.
    """
    return day_start(config.end_date + dt.timedelta(days=1))


def quiet_weeks(config: OrganisationConfig, seed: int, team_id: str) -> frozenset[dt.date]:
    """Mondays of a team's quiet weeks within the calendar: the two weeks starting on a Monday from
    18 December to 31 December (everyone's holidays), and one summer week per team and year, a Monday
    from mid-June to late August drawn per team (so teams are away at different times)."""
    first, last = config.start_date, config.end_date
    mondays = set()
    for year in range(first.year, last.year + 1):
        day = dt.date(year, 12, 18)
        while day <= dt.date(year, 12, 31):
            if day.weekday() == 0:
                mondays.add(day)
            day += dt.timedelta(days=1)
        june = dt.date(year, 6, 15)
        summer = [june + dt.timedelta(days=(7 - june.weekday()) % 7 + 7 * k) for k in range(11)]
        mondays.add(Stream(seed, "summer-week", team_id, year).choice(summer))
    return frozenset(m for m in mondays if first <= m <= last)
