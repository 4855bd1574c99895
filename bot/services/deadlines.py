"""Deadlines in the region's time zone, stored in UTC: when a reminder fires, how many days
are left. Reading a typed deadline is bot.services.language's (re-exported here)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.services.language import END_OF_DAY, DeadlineError, parse_deadline

__all__ = ["END_OF_DAY", "DeadlineError", "days_left", "local_fire_time", "parse_deadline"]


def local_fire_time(deadline: datetime, offset_days: int, at: time, tz: ZoneInfo) -> datetime:
    """The reminder `offset_days` before a deadline, at local time `at`, in UTC."""
    local_day = deadline.astimezone(tz).date() - timedelta(days=offset_days)
    return datetime.combine(local_day, at, tzinfo=tz).astimezone(UTC)


def days_left(deadline: datetime, now: datetime, tz: ZoneInfo) -> int:
    """Calendar days between today and the deadline's day, in the region's zone."""
    return (deadline.astimezone(tz).date() - now.astimezone(tz).date()).days
