"""Pure text helpers: word counts, shortening, names inside sentences, and splitting long
HTML/plain messages to fit Telegram's 4,096-character limit.

Dates, months and times live in bot.services.language; their names are re-exported here so
older imports (``from bot.services.textutil import format_date_id``) keep working.

Everything here is free of Telegram and database imports so it can be unit-tested in
isolation and reused by handlers, the scheduler and exporters alike.
"""

from __future__ import annotations

import bisect
import html
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html.parser import HTMLParser
from itertools import accumulate
from typing import Final

from bot.services.language import (
    MAX_YEARS_AHEAD,
    MIN_YEAR,
    MONTHS_ID,
    MonthYear,
    MonthYearError,
    MonthYearErrorReason,
    format_date_id,
    format_datetime_id,
    format_month_year,
    parse_month_year,
    phrase,
)

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

CONTINUATION_SUFFIX = " " + phrase("continuation")
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
