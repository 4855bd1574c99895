"""Pure text helpers: Indonesian month/date parsing and formatting, word counts, and
splitting long HTML/plain messages to fit Telegram's 4,096-character limit.

Everything here is free of Telegram and database imports so it can be unit-tested in
isolation and reused by handlers, the scheduler and exporters alike.
"""

from __future__ import annotations

import bisect
import calendar
import html
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser
from itertools import accumulate
from typing import Final, Literal, NamedTuple
from zoneinfo import ZoneInfo

__all__ = [
    "CONTINUATION_SUFFIX",
    "MAX_YEARS_AHEAD",
    "MIN_YEAR",
    "MONTHS_ID",
    "TELEGRAM_MESSAGE_LIMIT",
    "Block",
    "MonthYear",
    "MonthYearError",
    "MonthYearErrorReason",
    "count_words",
    "format_date_id",
    "format_datetime_id",
    "format_month_year",
    "html_visible_length",
    "parse_month_year",
    "shorten",
    "split_html_blocks",
    "split_plain_text",
    "utf16_len",
]

# --------------------------------------------------------------------------------------
# Months
# --------------------------------------------------------------------------------------

MONTHS_ID: Final[tuple[str, ...]] = (
    "Januari",
    "Februari",
    "Maret",
    "April",
    "Mei",
    "Juni",
    "Juli",
    "Agustus",
    "September",
    "Oktober",
    "November",
    "Desember",
)

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


# Every spelling we have seen people use, Indonesian and English, full and abbreviated.
_MONTH_WORDS: Final[dict[str, int]] = {
    **{name.lower(): i for i, name in enumerate(MONTHS_ID, start=1)},
    # Indonesian abbreviations and older spellings
    "jan": 1,
    "feb": 2,
    "peb": 2,
    "pebruari": 2,
    "mar": 3,
    "apr": 4,
    "jun": 6,
    "jul": 7,
    "agu": 8,
    "agt": 8,
    "ags": 8,
    "agus": 8,
    "agust": 8,
    "sep": 9,
    "sept": 9,
    "okt": 10,
    "nov": 11,
    "nop": 11,
    "nopember": 11,
    "des": 12,
    # English
    "january": 1,
    "february": 2,
    "march": 3,
    "may": 5,
    "june": 6,
    "july": 7,
    "aug": 8,
    "august": 8,
    "oct": 10,
    "october": 10,
    "dec": 12,
    "december": 12,
}

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
        month = _MONTH_WORDS.get(m.group("name"))
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


def format_month_year(m: MonthYear) -> str:
    """Human Indonesian form, e.g. "Maret 2025", for replies and documents."""
    return f"{MONTHS_ID[m.month - 1]} {m.year}"


# --------------------------------------------------------------------------------------
# Word counting
# --------------------------------------------------------------------------------------

# Keycap emoji (1️⃣, #️⃣) contain an ASCII digit but are pictures, not numbers.
_KEYCAP_RE: Final = re.compile("[0-9#*]\ufe0f?\u20e3")


def _is_word(token: str) -> bool:
    """A token is a word if it has at least one letter or digit (so "20%" and "e-KTP" count)."""
    token = _KEYCAP_RE.sub("", token)
    return any(unicodedata.category(ch)[0] in "LN" for ch in token)


def count_words(text: str) -> int:
    """Count words the way a person would, for proposal length limits.

    Whitespace separates words; tokens made only of punctuation, symbols or emoji
    ("—", "...", "🙏") are ignored so decoration does not inflate the count.
    """
    return sum(1 for token in text.split() if _is_word(token))


# --------------------------------------------------------------------------------------
# Dates and times
# --------------------------------------------------------------------------------------

_ID_TZ_LABELS: Final[dict[str, str]] = {
    "Asia/Jakarta": "WIB",
    "Asia/Pontianak": "WIB",
    "Asia/Makassar": "WITA",
    "Asia/Ujung_Pandang": "WITA",
    "Asia/Jayapura": "WIT",
}


def format_date_id(d: date | datetime) -> str:
    """Indonesian long date, e.g. "23 November 2026" (datetimes use their own wall date)."""
    return f"{d.day} {MONTHS_ID[d.month - 1]} {d.year}"


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


def format_datetime_id(dt: datetime, tz: ZoneInfo) -> str:
    """Deadline-style text, e.g. "23 Agustus 2026 pukul 23.59 WITA", in the user's zone.

    Naive datetimes are taken as UTC, matching how timestamps are stored.
    """
    if dt.tzinfo is None or dt.utcoffset() is None:
        dt = dt.replace(tzinfo=UTC)
    local = dt.astimezone(tz)
    return f"{format_date_id(local)} pukul {local:%H.%M} {_tz_label(tz, local)}"


# --------------------------------------------------------------------------------------
# Shortening labels and excerpts
# --------------------------------------------------------------------------------------

# Punctuation that would dangle before the ellipsis ("Koperasi,…").
_DANGLING: Final = " \t\n,;:.-–—/(&"


def shorten(text: str, limit: int, *, collapse: bool = True) -> str:
    """At most `limit` characters, cut at a word boundary and marked with "…".

    Only a first word longer than the limit is itself cut (there is no boundary to use).
    `collapse` first folds runs of whitespace into one space (labels are one line).
    """
    if collapse:
        text = " ".join(text.split())
    if len(text) <= limit:
        return text
    if limit < 2:
        return "…"[:limit]
    room = text[: limit - 1]
    if not text[limit - 1].isspace():  # the cut falls inside a word: drop that word
        boundary = max(room.rfind(" "), room.rfind("\n"), room.rfind("\t"))
        if boundary > 0 and room[:boundary].strip(_DANGLING):
            room = room[:boundary]
    return room.rstrip(_DANGLING) + "…" if room.rstrip(_DANGLING) else room + "…"


# --------------------------------------------------------------------------------------
# Message splitting
# --------------------------------------------------------------------------------------

TELEGRAM_MESSAGE_LIMIT: Final = 4096

CONTINUATION_SUFFIX = " (lanjutan)"
"""HTML appended to a block's head on continuation messages; reassign to change it."""

_BLOCK_SEPARATOR: Final = "\n\n"

# A higher-priority boundary (paragraph > line > sentence) is used only if the piece it
# produces fills at least this share of the budget, so we never send a near-empty message
# just because a paragraph break happened to sit near the start.
_MIN_FILL: Final = 0.5

_SENTENCE_END: Final = frozenset(".!?…")
_CLOSERS: Final = frozenset("\"')]»”’")
_WHITESPACE_RE: Final = re.compile(r"\s+")


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units (emoji count 2); always >= len(text).

    Reports disagree on whether Telegram's limit counts code points or UTF-16 units;
    measuring the larger of the two keeps every message safe under either reading.
    """
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def _char_cost_plain(ch: str) -> int:
    """UTF-16 size of one character as sent."""
    return 2 if ord(ch) > 0xFFFF else 1


_ESCAPE_COST: Final[dict[str, int]] = {"&": 5, "<": 4, ">": 4}  # &amp; &lt; &gt;


def _char_cost_html(ch: str) -> int:
    """UTF-16 size of one raw character after html.escape(quote=False)."""
    return _ESCAPE_COST.get(ch) or _char_cost_plain(ch)


def _boundary_rank(text: str, start: int, end: int) -> int:
    """Rank the whitespace run text[start:end] as a cut: 3 paragraph, 2 line, 1 sentence, 0."""
    run = text[start:end]
    newlines = run.count("\n")
    if newlines >= 2:
        return 3
    if newlines == 1:
        return 2
    prev = text[start - 1] if start > 0 else ""
    if prev in _CLOSERS and start > 1:
        prev = text[start - 2]
    return 1 if prev in _SENTENCE_END else 0


def _is_glue(ch: str) -> bool:
    """Characters that must stay attached to the previous one (marks, ZWJ, selectors)."""
    cp = ord(ch)
    return (
        unicodedata.category(ch).startswith("M")
        or cp == 0x200D
        or 0xFE00 <= cp <= 0xFE0F
        or 0x1F3FB <= cp <= 0x1F3FF
        or 0xE0020 <= cp <= 0xE007F
    )


def _hard_cut(text: str, pos: int, max_end: int) -> int:
    """Cut a too-long word at max_end, backing off so emoji/accents stay whole if possible."""
    cut = max_end
    while cut > pos + 1 and (_is_glue(text[cut]) or text[cut - 1] == "\u200d"):
        cut -= 1
    return cut if cut > pos else max_end


def _split_raw(
    text: str, budget_for: Callable[[int], int], cost: Callable[[str], int]
) -> list[str]:
    """Cut raw text into pieces whose cost fits budget_for(piece_index).

    Cuts fall on the whitespace run with the best rank (paragraph, line, sentence, any)
    that fills enough of the budget; the whitespace at a cut is dropped. A single word
    longer than the budget is hard-cut. Whitespace-only pieces are discarded.
    """
    cum = [0, *accumulate(cost(ch) for ch in text)]
    pieces: list[str] = []
    pos = 0
    n = len(text)
    while pos < n:
        budget = budget_for(len(pieces))
        if cum[n] - cum[pos] <= budget:
            pieces.append(text[pos:])
            break
        # Largest end such that text[pos:end] fits.
        max_end = bisect.bisect_right(cum, cum[pos] + budget) - 1
        if max_end <= pos:
            raise ValueError("limit too small to fit any text after the block head")
        best: dict[int, tuple[int, int]] = {}
        for ws in _WHITESPACE_RE.finditer(text, pos, max_end + 1):
            if ws.start() > pos:
                # Re-match without the window end so a run straddling it is seen whole.
                full = _WHITESPACE_RE.match(text, ws.start())
                run_end = full.end() if full else ws.end()
                best[_boundary_rank(text, ws.start(), run_end)] = (ws.start(), run_end)
        cut_at: tuple[int, int] | None = None
        for rank in (3, 2, 1):
            if rank in best and cum[best[rank][0]] - cum[pos] >= budget * _MIN_FILL:
                cut_at = best[rank]
                break
        if cut_at is None and best:
            cut_at = max(best.values())  # latest whitespace of any kind
        if cut_at is None:
            cut = _hard_cut(text, pos, max_end)
            cut_at = (cut, cut)
        pieces.append(text[pos : cut_at[0]])
        pos = cut_at[1]  # the whitespace at the cut is dropped
    return [p for p in pieces if p.strip()]


@dataclass(frozen=True)
class Block:
    """One section of a message: escaped HTML head plus optional raw (unescaped) body.

    Renders as ``head_html + "\\n" + body_prefix_html + escape(body_text) + body_suffix_html``,
    or just ``head_html`` when body_text is empty.
    """

    head_html: str
    body_text: str = ""
    body_prefix_html: str = ""
    body_suffix_html: str = ""


def _render(head: str, block: Block, body: str) -> str:
    """Render a head with one (raw) body piece; tags wrap whole escaped pieces only."""
    if not body:
        return head
    escaped = html.escape(body, quote=False)
    return f"{head}\n{block.body_prefix_html}{escaped}{block.body_suffix_html}"


def _block_units(block: Block, limit: int, suffix: str) -> list[str]:
    """Render a block as one unit, or as several head-repeating units if it is too long."""
    whole = _render(block.head_html, block, block.body_text)
    if utf16_len(whole) <= limit:
        return [whole] if whole.strip() else []
    cont_head = block.head_html + suffix
    wrap = 1 + utf16_len(block.body_prefix_html) + utf16_len(block.body_suffix_html)
    first_budget = limit - utf16_len(block.head_html) - wrap
    cont_budget = limit - utf16_len(cont_head) - wrap
    if min(first_budget, cont_budget) < max(_ESCAPE_COST.values()):
        raise ValueError(f"block head too long for limit={limit}: {block.head_html[:80]!r}")
    pieces = _split_raw(
        block.body_text,
        lambda i: first_budget if i == 0 else cont_budget,
        _char_cost_html,
    )
    if not pieces:  # oversized whitespace-only body: nothing worth sending but the head
        return [block.head_html] if block.head_html.strip() else []
    return [
        _render(block.head_html if i == 0 else cont_head, block, p) for i, p in enumerate(pieces)
    ]


def split_html_blocks(
    blocks: Sequence[Block],
    limit: int = TELEGRAM_MESSAGE_LIMIT,
    *,
    continuation_suffix: str | None = None,
) -> list[str]:
    """Pack blocks into as few HTML messages as fit Telegram's size limit.

    Whole blocks are packed greedily (joined by a blank line); a block too big on its own
    is split between words, each continuation repeating its head plus CONTINUATION_SUFFIX
    (read at call time). Raw body text is split before escaping and tags only wrap whole
    pieces, so every message is well-formed HTML. Size is measured in UTF-16 units of the
    final HTML, which is never less than len() nor Telegram's visible length. Raises
    ValueError if a head alone cannot fit within ``limit``.
    """
    suffix = CONTINUATION_SUFFIX if continuation_suffix is None else continuation_suffix
    messages: list[str] = []
    current = ""
    for block in blocks:
        for unit in _block_units(block, limit, suffix):
            if utf16_len(unit) > limit:
                raise ValueError(f"block head too long for limit={limit}: {block.head_html[:80]!r}")
            if not current:
                current = unit
            elif utf16_len(current) + len(_BLOCK_SEPARATOR) + utf16_len(unit) <= limit:
                current = current + _BLOCK_SEPARATOR + unit
            else:
                messages.append(current)
                current = unit
    if current:
        messages.append(current)
    return messages


def split_plain_text(text: str, limit: int = TELEGRAM_MESSAGE_LIMIT) -> list[str]:
    """Split plain text into messages of at most ``limit`` (UTF-16 units), between words.

    Same boundary preference as split_html_blocks: paragraph, line, sentence, whitespace,
    and a hard cut only inside a word longer than the limit. Whitespace-only input gives [].
    """
    if limit < 2:
        raise ValueError("limit must be at least 2 (one UTF-16 surrogate pair)")
    if not text.strip():
        return []
    return _split_raw(text, lambda _i: limit, _char_cost_plain)


class _TextExtractor(HTMLParser):
    """Collects character data, with entities already decoded by convert_charrefs."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def html_visible_length(html_text: str) -> int:
    """Length of the text a reader sees (tags removed, entities decoded); for tests/checks."""
    parser = _TextExtractor()
    parser.feed(html_text)
    parser.close()
    return len("".join(parser.parts))


# ---- names inside sentences -------------------------------------------------------------


def mark_after(text: object, mark: str) -> str:
    """The punctuation mark that follows `text`: a full stop that `text` already ends with (a
    name ending in an academic title, "dr. Rahmawati Said, M.Kes.") is not written twice.
    For a mark after markup that closes around the text:
    `<b>{{ x }}</b>{{ x|mark_after(".") }}`."""
    if mark.startswith(".") and str(text).rstrip().endswith("."):
        return mark[1:]
    return mark


def with_mark(text: object, mark: str) -> str:
    """`text` followed by a punctuation mark, without a doubled full stop (see mark_after)."""
    value = str(text).rstrip()
    return value + mark_after(value, mark)


def word_before(word: str, name: object) -> str:
    """`word` and a space to put before `name`, or nothing when the name already begins with
    it: "Lomba " + "Innovative Government Award", but not "Lomba Lomba Inovasi Daerah"."""
    first = str(name).split(maxsplit=1)[:1]
    if first and first[0].casefold() == word.casefold():
        return ""
    return f"{word} "


def year_note(name: object, year: object) -> str:
    """ " (2027)" after a name that does not already say its year ("IGA 2027" stays as it is)."""
    if year is None or re.search(rf"\b{re.escape(str(year))}\b", str(name)):
        return ""
    return f" ({year})"


def with_year(name: object, year: object) -> str:
    """A competition's name with its year, "Lomba Inovasi Daerah (2027)", unless it has it."""
    return f"{name}{year_note(name, year)}"
