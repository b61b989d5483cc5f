"""Dates, times and numbers, in one place: the service's days are Europe/London's, whatever
the server's own time zone, and it writes them as GOV.UK's style guide does (1 March 2026,
2:05pm, 1,234). Pages (as Jinja filters), exports, emails and commands use these.
"""

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")


def in_london(value: datetime) -> datetime:
    """An aware moment as the clocks in London show it."""
    if value.tzinfo is None:
        raise ValueError("pass an aware datetime")
    return value.astimezone(LONDON)


def london_midnight(day: date) -> datetime:
    """The moment (in UTC) a London day begins."""
    return datetime.combine(day, time(), LONDON).astimezone(UTC)


def long_date(day: date | None) -> str:
    """1 March 2026 (a moment: its London date). Nothing for no date."""
    if day is None:
        return ""
    if isinstance(day, datetime):
        day = in_london(day)
    return f"{day.day} {day:%B %Y}"


def short_date(day: date) -> str:
    """1 Mar 2026: where columns are narrow (downloads)."""
    return f"{day.day} {day:%b %Y}"


def month_year(day: date) -> str:
    """March 2026."""
    return f"{day:%B %Y}"


def short_month(day: date) -> str:
    """Mar 2026: a chart's axis."""
    return f"{day:%b %Y}"


def weekday(day: date) -> str:
    """Sunday (a moment: its London day)."""
    if isinstance(day, datetime):
        day = in_london(day)
    return f"{day:%A}"


def time_of_day(value: datetime) -> str:
    """2:05pm, in London."""
    local = in_london(value)
    hour = local.hour % 12 or 12
    return f"{hour}:{local:%M}{'am' if local.hour < 12 else 'pm'}"


def london_datetime(value: datetime | None) -> str:
    """1 March 2026 at 2:05pm, in London. Nothing for no moment."""
    if value is None:
        return ""
    return f"{long_date(value)} at {time_of_day(value)}"


def number(value: int) -> str:
    """1,234."""
    return f"{value:,}"


# The filters pages write with: ``{{ cohort.starts_on | long_date }}``.
FILTERS = {
    "long_date": long_date,
    "short_date": short_date,
    "month_year": month_year,
    "weekday": weekday,
    "time_of_day": time_of_day,
    "london_datetime": london_datetime,
    "number": number,
}
