"""Indonesian dates, times and names: how the bot writes them and how it reads what people type.

Writing goes through Babel (CLDR, locale ``id``): month names, the long date, the clock. The few
words CLDR has no pattern for ("pukul", "(lanjutan)", "Draf #7") and the spellings people type
that CLDR does not list ("Pebruari", "Nop", "Jum'at", "besok") are data in
``templates/data/language/<locale>.yaml``.

The seam for a second language: every word is looked up by key per locale — ``phrase(key,
locale=...)``, ``words(file, locale=...)`` (the words of a data file such as the workbook's
column headers), ``month_name(n, locale=...)``, ``format_date_id(d, locale=...)`` all default to
``DEFAULT_LOCALE`` ("id"). A second language adds ``templates/data/language/<locale>.yaml`` and
``templates/data/<locale>/<file>.yaml`` (same keys) and passes its locale; nothing here
translates anything yet.

Reading stays hand-written, on purpose. dateparser (``languages=["id"]``) was measured against
the inputs people really type (the table in tests/test_language_dates.py): it drops the time
after "besok jam 14.00" and "hari ini pukul 16.00" (both come back as 10.00, the time *now*),
reads neither "lusa pukul 3 sore" nor "Senin depan 09.00" nor a date followed by a place
("Rabu, 25 November 2026 pukul 10.00 di Ruang Klinik"), cannot tell "25/11/2026" (no time: a
session needs one) from midnight, and fills a missing day or month from today ("2025" alone
becomes this month of 2025). The parsers here read all of those, keep what is left as a note,
and name the reason for a refusal. Their month and weekday words still come from CLDR plus the
YAML spellings: there is one month table, built, not typed.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from typing import Any, Final, Literal, NamedTuple
from zoneinfo import ZoneInfo

import yaml
from babel.dates import format_date, get_day_names, get_month_names

from bot.paths import DATA_DIR
from bot.services.formats import ProposalFormat

__all__ = [
    "DEFAULT_LOCALE",
    "END_OF_DAY",
    "MAX_YEARS_AHEAD",
    "MIN_YEAR",
    "MONTHS_ID",
    "SESSION_HORIZON",
    "DeadlineError",
    "MonthYear",
    "MonthYearError",
    "MonthYearErrorReason",
    "SessionTimeError",
    "draft_name",
    "format_date_id",
    "format_datetime_id",
    "format_month_year",
    "month_name",
    "month_number",
    "parse_deadline",
    "parse_month_year",
    "parse_session_time",
    "phrase",
    "words",
]

DEFAULT_LOCALE: Final = "id"
LANGUAGE_DIR: Final = DATA_DIR / "language"


# ---- words looked up by key, per language ------------------------------------------------------


@cache
def _language(locale: str) -> dict[str, Any]:
    return yaml.safe_load((LANGUAGE_DIR / f"{locale}.yaml").read_text(encoding="utf-8"))


@cache
def words(file: str, locale: str = DEFAULT_LOCALE) -> dict[str, Any]:
    """The words of data file `file` ("workbook", "statistics"): templates/data/<file>.yaml for
    Indonesian, templates/data/<locale>/<file>.yaml for another language."""
    folder = DATA_DIR if locale == DEFAULT_LOCALE else DATA_DIR / locale
    return yaml.safe_load((folder / f"{file}.yaml").read_text(encoding="utf-8"))


def phrase(key: str, locale: str = DEFAULT_LOCALE, **params: object) -> str:
    """The phrase `key` of `locale`'s language file, its ``{placeholders}`` filled in."""
    return _language(locale)["phrases"][key].format(**params)


def draft_name(
    title: str | None,
    answers: Mapping[str, Any],
    draft_id: int | None,
    locale: str = DEFAULT_LOCALE,
    fmt: ProposalFormat | None = None,
) -> str:
    """What a draft is called: its title, else the innovation's name (the answer of `fmt`'s
    title section; "nama", the shipped formats' one, without a format), else "Draf #7"."""
    name = fmt.answer_for("title", answers) if fmt else answers.get("nama")
    return title or name or phrase("untitled_draft", locale, id=draft_id)


# ---- months and weekdays (CLDR) ----------------------------------------------------------------


def month_name(month: int, locale: str = DEFAULT_LOCALE) -> str:
    """The full name of a month (1-12), "Maret"."""
    return get_month_names("wide", locale=locale)[month]


MONTHS_ID: Final[tuple[str, ...]] = tuple(month_name(m) for m in range(1, 13))


@cache
def _month_words(locale: str) -> dict[str, int]:
    """Every spelling of a month people type: CLDR's full and abbreviated names in the
    language and in English, plus the older spellings of the language file."""
    words: dict[str, int] = {}
    for names_locale in ("en", locale):
        for width in ("wide", "abbreviated"):
            for number, name in get_month_names(width, locale=names_locale).items():
                words[name.casefold().rstrip(".")] = number
    words.update(_language(locale).get("month_spellings", {}))
    return words


def month_number(word: str, locale: str = DEFAULT_LOCALE) -> int | None:
    """The month (1-12) a typed word names ("Agt", "Nopember", "march"), or None."""
    return _month_words(locale).get(word.casefold().rstrip("."))


@cache
def _weekday_words(locale: str) -> dict[str, int]:
    """Weekday (Monday = 0) of every spelling: CLDR's names plus the language file's."""
    words = {n.casefold(): d for d, n in get_day_names("wide", locale=locale).items()}
    words.update(_language(locale).get("weekday_spellings", {}))
    return words


# ---- writing dates and times -------------------------------------------------------------------

_ID_TZ_LABELS: Final[dict[str, str]] = {
    "Asia/Jakarta": "WIB",
    "Asia/Pontianak": "WIB",
    "Asia/Makassar": "WITA",
    "Asia/Ujung_Pandang": "WITA",
    "Asia/Jayapura": "WIT",
}


def format_date_id(d: date | datetime, locale: str = DEFAULT_LOCALE) -> str:
    """Long date, e.g. "23 November 2026" (datetimes use their own wall date)."""
    return format_date(d, "d MMMM y", locale=locale)


def _format_offset(offset: timedelta | None) -> str:
    """Render a UTC offset Indonesian-style ("UTC+07.00"); zero offset is plain "UTC"."""
    if not offset:
        return "UTC"
    minutes = int(offset.total_seconds()) // 60
    sign = "+" if minutes >= 0 else "-"
    hours, mins = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours:02d}.{mins:02d}"


def _tz_label(tz: ZoneInfo, local: datetime) -> str:
    """WIB/WITA/WIT for Indonesian zones; else a letter abbreviation or the UTC offset."""
    if tz.key in _ID_TZ_LABELS:
        return _ID_TZ_LABELS[tz.key]
    name = local.tzname() or ""
    if name.isalpha() and name.isascii():
        return name
    return _format_offset(local.utcoffset())


def format_datetime_id(dt: datetime, tz: ZoneInfo, locale: str = DEFAULT_LOCALE) -> str:
    """Deadline-style text, e.g. "23 Agustus 2026 pukul 23.59 WITA", in the user's zone.

    Naive datetimes are taken as UTC, matching how timestamps are stored.
    """
    if dt.tzinfo is None or dt.utcoffset() is None:
        dt = dt.replace(tzinfo=UTC)
    local = dt.astimezone(tz)
    return phrase(
        "datetime",
        locale,
        date=format_date_id(local, locale),
        time=f"{local:%H.%M}",
        zone=_tz_label(tz, local),
    )


# ---- reading a month and year ------------------------------------------------------------------

MIN_YEAR: Final = 2000
"""Domain rule: innovations dated before 2000 are rejected as too early."""

MAX_YEARS_AHEAD: Final = 3
"""Domain rule: a month more than this many years after today's month is too late."""


class MonthYear(NamedTuple):
    """A calendar month; tuple order (year, month) makes comparisons chronological."""

    year: int
    month: int

    @property
    def iso(self) -> str:
        """ISO-8601 ``YYYY-MM`` form, used as the stable storage/callback format."""
        return f"{self.year:04d}-{self.month:02d}"

    @classmethod
    def from_iso(cls, s: str) -> MonthYear:
        """Parse the strict ``YYYY-MM`` storage form (not user input; see parse_month_year)."""
        m = re.fullmatch(r"(\d{4})-(\d{2})", s.strip())
        if m is None or not 1 <= int(m.group(2)) <= 12:
            raise ValueError(f"not an ISO year-month (YYYY-MM): {s!r}")
        return cls(int(m.group(1)), int(m.group(2)))


MonthYearErrorReason = Literal["unrecognised", "too_early", "too_late"]


class MonthYearError(ValueError):
    """Why a month/year answer was refused, so handlers can pick the right reply."""

    def __init__(
        self, reason: MonthYearErrorReason, text: str, value: MonthYear | None = None
    ) -> None:
        self.reason: MonthYearErrorReason = reason
        self.text = text
        self.value = value
        detail = f" (parsed as {value.iso})" if value is not None else ""
        super().__init__(f"{reason}: {text!r}{detail}")


_YEAR = r"(?P<year>\d{4}|'\d{2}|\d{2})"
_NAMED_RE: Final = re.compile(
    r"(?:(?P<day>\d{1,2})[\s/-]+)?(?P<name>[a-z]+)\.?[\s,/-]*"
    r"(?:tahun\s+|thn\.?\s+|th\.?\s+)?" + _YEAR
)
_NUM_MY_RE: Final = re.compile(r"(?P<month>\d{1,2})\s*(?:[/.-]|\s)\s*" + _YEAR)
_NUM_YM_RE: Final = re.compile(r"(?P<year>\d{4})\s*(?:[/.-]|\s)\s*(?P<month>\d{1,2})")
_NUM_DMY_RE: Final = re.compile(
    r"(?P<day>\d{1,2})\s*(?P<sep>[/.-])\s*(?P<month>\d{1,2})\s*(?P=sep)\s*(?P<year>\d{4}|\d{2})"
)
_NUM_YMD_RE: Final = re.compile(r"(?P<year>\d{4})-(?P<month>\d{1,2})-(?P<day>\d{1,2})")
_FILLER_RE: Final = re.compile(r"^(?:tanggal|tgl\.?|bulan|bln\.?)\s+")
_APOSTROPHES: Final = str.maketrans({"’": "'", "‘": "'", "`": "'", "´": "'"})


def _year_value(raw: str) -> int:
    """Two-digit years ("'25", "25") always mean 20xx: nobody here means the 1900s."""
    digits = raw.lstrip("'")
    return 2000 + int(digits) if len(digits) == 2 else int(digits)


def _recognise(norm: str) -> tuple[int, int, int | None] | None:
    """Return (year, month, day-or-None) for a normalised string, or None if unrecognised."""
    if m := _NAMED_RE.fullmatch(norm):
        month = month_number(m.group("name"))
        if month is None:
            return None
        day = m.group("day")
        return _year_value(m.group("year")), month, int(day) if day else None
    if m := _NUM_DMY_RE.fullmatch(norm):
        return _year_value(m.group("year")), int(m.group("month")), int(m.group("day"))
    if m := _NUM_YMD_RE.fullmatch(norm):
        return int(m.group("year")), int(m.group("month")), int(m.group("day"))
    if m := _NUM_YM_RE.fullmatch(norm):
        return int(m.group("year")), int(m.group("month")), None
    if m := _NUM_MY_RE.fullmatch(norm):
        return _year_value(m.group("year")), int(m.group("month")), None
    return None


def parse_month_year(text: str, *, today: date) -> MonthYear:
    """Read a month and year typed by a person, the many ways Indonesians write it.

    Full dates ("12 Maret 2025", "12/03/2025", day first) yield their month. Raises
    MonthYearError with ``reason`` "unrecognised", "too_early" (before MIN_YEAR) or
    "too_late" (after today's month plus MAX_YEARS_AHEAD years); the latter two carry
    the parsed ``value`` so the reply can echo what was understood.
    """
    norm = " ".join(text.translate(_APOSTROPHES).lower().split())
    norm = _FILLER_RE.sub("", norm).rstrip(".!").rstrip()
    found = _recognise(norm)
    if found is None:
        raise MonthYearError("unrecognised", text)
    year, month, day = found
    if not 1 <= month <= 12 or year < 1:
        raise MonthYearError("unrecognised", text)
    if day is not None and not 1 <= day <= calendar.monthrange(year, month)[1]:
        raise MonthYearError("unrecognised", text)
    value = MonthYear(year, month)
    if year < MIN_YEAR:
        raise MonthYearError("too_early", text, value)
    if value > MonthYear(today.year + MAX_YEARS_AHEAD, today.month):
        raise MonthYearError("too_late", text, value)
    return value


def format_month_year(m: MonthYear, locale: str = DEFAULT_LOCALE) -> str:
    """Human form, e.g. "Maret 2025", for replies and documents."""
    return format_date(date(m.year, m.month, 1), "MMMM y", locale=locale)


# ---- reading a deadline -----------------------------------------------------------------------

END_OF_DAY = time(23, 59)
_DEADLINE_TIME = (
    r"(?:\s*(?:pukul|jam|,)?\s*(?P<hour>\d{1,2})[.:](?P<minute>\d{2})(?:\s*(?:wib|wita|wit))?)?"
)
_DEADLINE_DMY = re.compile(
    r"^(?P<day>\d{1,2})[\s/.-]+(?P<month>[a-z]+|\d{1,2})\.?[\s/.-]+(?P<year>\d{4})"
    + _DEADLINE_TIME
    + r"$"
)
_DEADLINE_ISO = re.compile(
    r"^(?P<year>\d{4})-(?P<month>\d{1,2})-(?P<day>\d{1,2})"
    + _DEADLINE_TIME.replace(r"\s*(?:pukul|jam|,)?\s*", r"(?:\s+|t)")
    + r"$"
)


class DeadlineError(ValueError):
    """A deadline that could not be read."""


def parse_deadline(text: str, tz: ZoneInfo) -> datetime:
    """ "23 Agustus 2026 23.59", "23/08/2026 23:59", "2026-08-23 23:59" or a date alone (then
    23.59 local time) → an aware UTC datetime."""
    normalised = " ".join(text.casefold().split())
    match = _DEADLINE_DMY.match(normalised) or _DEADLINE_ISO.match(normalised)
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


# ---- reading a session time --------------------------------------------------------------------

SESSION_HORIZON: Final = timedelta(days=180)
"""How far ahead a consultation session may be set."""


class SessionTimeError(ValueError):
    """Why a typed session time was refused: unrecognised, past or too_far."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _alternation(words: Mapping[str, int]) -> str:
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


_DATE_FULL = re.compile(r"\b(\d{1,2})([/.\-])(\d{1,2})\2(\d{4}|\d{2})\b")
_DATE_SHORT = re.compile(r"\b(\d{1,2})[/\-](\d{1,2})\b")
_DATE_NAMED = re.compile(
    rf"\b(\d{{1,2}})\s+({_alternation(_month_words(DEFAULT_LOCALE))})\.?(?:\s+(\d{{4}}))?\b",
    re.IGNORECASE,
)
_RELATIVE_DAYS: Final[dict[str, int]] = _language(DEFAULT_LOCALE)["relative_days"]
_RELATIVE_WORD = re.compile(rf"\b({_alternation(_RELATIVE_DAYS)})\b", re.IGNORECASE)
_WEEKDAY_WORD = re.compile(
    rf"\b({_alternation(_weekday_words(DEFAULT_LOCALE))})\b(\s+depan\b)?", re.IGNORECASE
)
_TIME = re.compile(r"(?:\b(?:pukul|pkl\.?|jam)\s*)?\b(\d{1,2})[.:](\d{2})\b", re.IGNORECASE)
_HOUR_ONLY = re.compile(r"\b(?:pukul|pkl\.?|jam)\s*(\d{1,2})\b", re.IGNORECASE)
_DAYPART = re.compile(r"\b(pagi|siang|sore|malam)\b", re.IGNORECASE)
_NOISE = re.compile(r"\b(wita|wib|wit|tanggal|tgl\.?|hari|depan)\b", re.IGNORECASE)


def parse_session_time(
    text: str, now: datetime, tz: ZoneInfo, horizon: timedelta = SESSION_HORIZON
) -> tuple[datetime, str | None]:
    """A date and time in the region's zone, e.g. "25/11/2026 10.00 di Ruang Klinik",
    "Senin, 30 November pukul 9.30 via Zoom", "besok jam 14.00". Returns the time in `now`'s
    zone (UTC) and what else was typed (the place, a link) as a note. Raises SessionTimeError
    "unrecognised" (no date, no time, no such day), "past" or "too_far" (after `horizon`)."""
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
    if starts_at > now + horizon:
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
        return _date(year, month_number(month) or 0, int(d)), text, bool(y)
    found = _DATE_SHORT.search(text)
    if found:
        d, m = found.groups()
        text = _WEEKDAY_WORD.sub(" ", _cut(text, found))
        return _date(today.year, int(m), int(d)), text, False
    found = _RELATIVE_WORD.search(text)
    if found:
        ahead = _RELATIVE_DAYS[found.group(1).lower()]
        return today + timedelta(days=ahead), _cut(text, found), True
    found = _WEEKDAY_WORD.search(text)
    if found:
        wanted = _weekday_words(DEFAULT_LOCALE)[found.group(1).lower()]
        ahead = (wanted - today.weekday()) % 7
        if ahead == 0 and found.group(2):  # "Senin depan" said on a Monday: a week from today
            ahead = 7
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
