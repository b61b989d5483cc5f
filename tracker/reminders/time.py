"""Reminders run on Europe/London dates; the database keeps UTC."""

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")


def london_date(now: datetime) -> date:
    """Return the calendar date in London at an aware instant."""
    if now.tzinfo is None:
        raise ValueError("pass an aware datetime")
    return now.astimezone(LONDON).date()


def london_morning(day: date, hour: int = 8) -> datetime:
    """Return an aware instant on a London date, at the hour reminders usually go out."""
    return datetime.combine(day, time(hour), tzinfo=LONDON)


def format_date(day: date) -> str:
    return f"{day.day} {day:%B %Y}"
