"""Reminders run on Europe/London dates; the database keeps UTC."""

from datetime import date, datetime, time

from tracker.formats import LONDON


def london_date(now: datetime) -> date:
    """Return the calendar date in London at an aware instant."""
    if now.tzinfo is None:
        raise ValueError("pass an aware datetime")
    return now.astimezone(LONDON).date()


def london_morning(day: date, hour: int = 8) -> datetime:
    """Return an aware instant on a London date, at the hour reminders usually go out."""
    return datetime.combine(day, time(hour), tzinfo=LONDON)
