"""Calendar helpers shared by the generators: whole-second UTC times, and the observation horizon."""

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
