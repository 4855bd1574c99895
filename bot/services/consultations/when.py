"""Session times typed the way people type them ("besok jam 10", "Senin 30 November pukul 9.30")."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.services.textutil import MONTHS_ID, format_datetime_id

# The furthest ahead a session may be set.
SESSION_HORIZON = timedelta(days=180)


class SessionTimeError(ValueError):
    """Why a typed session time was refused: unrecognised, past or too_far."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


_MONTHS = {
    **{name.lower(): i for i, name in enumerate(MONTHS_ID, start=1)},
    **{name[:3].lower(): i for i, name in enumerate(MONTHS_ID, start=1)},
    "agt": 8,
    "ags": 8,
    "sept": 9,
    "nop": 11,
    "nov": 11,
    "pebruari": 2,
    "peb": 2,
    "may": 5,
    "aug": 8,
    "oct": 10,
    "dec": 12,
}
_WEEKDAYS = {
    "senin": 0,
    "selasa": 1,
    "rabu": 2,
    "kamis": 3,
    "jumat": 4,
    "jum'at": 4,
    "sabtu": 5,
    "minggu": 6,
    "ahad": 6,
}
_RELATIVE = {"hari ini": 0, "besok": 1, "lusa": 2}
_MONTH_WORD = "|".join(sorted(_MONTHS, key=len, reverse=True))
_DATE_FULL = re.compile(r"\b(\d{1,2})([/.\-])(\d{1,2})\2(\d{4}|\d{2})\b")
_DATE_SHORT = re.compile(r"\b(\d{1,2})[/\-](\d{1,2})\b")
_DATE_NAMED = re.compile(rf"\b(\d{{1,2}})\s+({_MONTH_WORD})\.?(?:\s+(\d{{4}}))?\b", re.IGNORECASE)
_RELATIVE_WORD = re.compile(r"\b(hari ini|besok|lusa)\b", re.IGNORECASE)
_WEEKDAY_WORD = re.compile(
    r"\b(senin|selasa|rabu|kamis|jum'?at|sabtu|minggu|ahad)\b", re.IGNORECASE
)
_TIME = re.compile(r"(?:\b(?:pukul|pkl\.?|jam)\s*)?\b(\d{1,2})[.:](\d{2})\b", re.IGNORECASE)
_HOUR_ONLY = re.compile(r"\b(?:pukul|pkl\.?|jam)\s*(\d{1,2})\b", re.IGNORECASE)
_DAYPART = re.compile(r"\b(pagi|siang|sore|malam)\b", re.IGNORECASE)
_NOISE = re.compile(r"\b(wita|wib|wit|tanggal|tgl\.?|hari|depan)\b", re.IGNORECASE)


def parse_session_time(text: str, now: datetime, tz: ZoneInfo) -> tuple[datetime, str | None]:
    """A date and time in the region's zone, e.g. "25/11/2026 10.00 di Ruang Klinik",
    "Senin, 30 November pukul 9.30 via Zoom", "besok jam 14.00". Returns the UTC time and
    what else was typed (the place, a link) as a note."""
    rest = " " + " ".join(text.split()) + " "
    today = now.astimezone(tz).date()
    day, rest, year_given = _take_date(rest, today)
    clock, rest = _take_time(rest)
    if day is None or clock is None:
        raise SessionTimeError("unrecognised")
    local = datetime.combine(day, clock, tzinfo=tz)
    if not year_given and local <= now:
        try:
            local = local.replace(year=local.year + 1)
        except ValueError as exc:  # 29 February
            raise SessionTimeError("unrecognised") from exc
    starts_at = local.astimezone(now.tzinfo)
    if starts_at <= now:
        raise SessionTimeError("past")
    if starts_at > now + SESSION_HORIZON:
        raise SessionTimeError("too_far")
    note = _NOISE.sub(" ", rest)
    note = " ".join(note.split()).strip(" ,;:-–—")
    return starts_at, (note[:200] or None)


def _take_date(text: str, today: date) -> tuple[date | None, str, bool]:
    """(the date, the text without it, whether a year was typed)."""
    found = _DATE_FULL.search(text)
    if found:
        d, _, m, y = found.groups()
        year = int(y) + (2000 if len(y) == 2 else 0)
        return _date(year, int(m), int(d)), _cut(text, found), True
    found = _DATE_NAMED.search(text)
    if found:
        d, month, y = found.groups()
        year = int(y) if y else today.year
        text = _WEEKDAY_WORD.sub(" ", _cut(text, found))
        return _date(year, _MONTHS[month.lower()], int(d)), text, bool(y)
    found = _DATE_SHORT.search(text)
    if found:
        d, m = found.groups()
        text = _WEEKDAY_WORD.sub(" ", _cut(text, found))
        return _date(today.year, int(m), int(d)), text, False
    found = _RELATIVE_WORD.search(text)
    if found:
        return today + timedelta(days=_RELATIVE[found.group(1).lower()]), _cut(text, found), True
    found = _WEEKDAY_WORD.search(text)
    if found:
        wanted = _WEEKDAYS[found.group(1).lower()]
        ahead = (wanted - today.weekday()) % 7
        return today + timedelta(days=ahead), _cut(text, found), True
    return None, text, False


def _take_time(text: str) -> tuple[time | None, str]:
    found = _TIME.search(text)
    hour = minute = None
    if found:
        hour, minute = int(found.group(1)), int(found.group(2))
    else:
        found = _HOUR_ONLY.search(text)
        if found:
            hour, minute = int(found.group(1)), 0
    if found is None or hour is None or minute is None:
        return None, text
    text = _cut(text, found)
    part = _DAYPART.search(text)
    if part:
        word = part.group(1).lower()
        if (word in ("sore", "malam") and hour < 12) or (word == "siang" and hour < 6):
            hour += 12
        text = _cut(text, part)
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        return None, text
    return time(hour, minute), text


def _date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _cut(text: str, found: re.Match[str]) -> str:
    return text[: found.start()] + " " + text[found.end() :]


def _when(moment: datetime, tz: ZoneInfo) -> str:
    return format_datetime_id(moment, tz)
