"""Deadlines as people type them, in the region's time zone, stored in UTC (month words:
bot.services.language)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.services.language import month_number

END_OF_DAY = time(23, 59)
_TIME = r"(?:\s*(?:pukul|jam|,)?\s*(?P<hour>\d{1,2})[.:](?P<minute>\d{2})(?:\s*(?:wib|wita|wit))?)?"
_DAY_MONTH_YEAR = re.compile(
    r"^(?P<day>\d{1,2})[\s/.-]+(?P<month>[a-z]+|\d{1,2})\.?[\s/.-]+(?P<year>\d{4})" + _TIME + r"$"
)
_ISO = re.compile(
    r"^(?P<year>\d{4})-(?P<month>\d{1,2})-(?P<day>\d{1,2})"
    + _TIME.replace(r"\s*(?:pukul|jam|,)?\s*", r"(?:\s+|t)")
    + r"$"
)


class DeadlineError(ValueError):
    """A deadline that could not be read."""


def parse_deadline(text: str, tz: ZoneInfo) -> datetime:
    """ "23 Agustus 2026 23.59", "23/08/2026 23:59", "2026-08-23 23:59" or a date alone (then
    23.59 local time) → an aware UTC datetime."""
    normalised = " ".join(text.casefold().split())
    match = _DAY_MONTH_YEAR.match(normalised) or _ISO.match(normalised)
    if match is None:
        raise DeadlineError(text)
    month_text = match["month"]
    month = int(month_text) if month_text.isdigit() else month_number(month_text)
    try:
        day = date(int(match["year"]), month or 0, int(match["day"]))
        at = time(int(match["hour"]), int(match["minute"])) if match["hour"] else END_OF_DAY
    except ValueError as exc:
        raise DeadlineError(text) from exc
    return datetime.combine(day, at, tzinfo=tz).astimezone(UTC)


def local_fire_time(deadline: datetime, offset_days: int, at: time, tz: ZoneInfo) -> datetime:
    """The reminder `offset_days` before a deadline, at local time `at`, in UTC."""
    local_day = deadline.astimezone(tz).date() - timedelta(days=offset_days)
    return datetime.combine(local_day, at, tzinfo=tz).astimezone(UTC)


def days_left(deadline: datetime, now: datetime, tz: ZoneInfo) -> int:
    """Calendar days between today and the deadline's day, in the region's zone."""
    return (deadline.astimezone(tz).date() - now.astimezone(tz).date()).days
