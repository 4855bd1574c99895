"""Tests for bot.services.textutil (pure functions: no Telegram, no database)."""

from __future__ import annotations

import html
import itertools
import random
from datetime import UTC, date, datetime, timedelta, timezone
from html.parser import HTMLParser
from zoneinfo import ZoneInfo

import pytest

from bot.services import textutil
from bot.services.textutil import (
    CONTINUATION_SUFFIX,
    MONTHS_ID,
    Block,
    MonthYear,
    MonthYearError,
    count_words,
    format_date_id,
    format_datetime_id,
    format_month_year,
    html_visible_length,
    parse_month_year,
    shorten,
    split_html_blocks,
    split_plain_text,
    utf16_len,
)

TODAY = date(2026, 11, 23)

# --------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------


class _BalanceChecker(HTMLParser):
    """Records tag nesting problems so tests can assert a message is well-formed."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"unexpected </{tag}> with open {self.stack}")
        else:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _assert_well_formed(message: str) -> str:
    """Parse a message, assert tags balance and no raw '<' survives; return visible text."""
    checker = _BalanceChecker()
    checker.feed(message)
    checker.close()
    assert not checker.errors, checker.errors
    assert not checker.stack, f"unclosed tags: {checker.stack}"
    return "".join(checker.text)


def _assert_messages_ok(messages: list[str], limit: int) -> None:
    """Every message is non-empty, within the limit (both len and UTF-16), and well-formed."""
    assert messages
    for msg in messages:
        assert msg.strip()
        assert len(msg) <= limit
        assert utf16_len(msg) <= limit
        assert html_visible_length(msg) <= limit
        _assert_well_formed(msg)


def _body_pieces(messages: list[str], head_html: str, prefix: str, suffix: str) -> list[str]:
    """Extract, in order, the raw (unescaped) body pieces of one block from the messages.

    Escaped bodies contain no "<", so the wrapper suffix, or "\n\n<" (the next block's
    head) when there is no suffix, reliably marks where a piece ends.
    """
    heads = (head_html + CONTINUATION_SUFFIX + "\n", head_html + "\n")
    pieces: list[str] = []
    for msg in messages:
        idx = 0
        while True:
            found = [(msg.find(h, idx), h) for h in heads]
            found = [(i, h) for i, h in found if i >= 0]
            if not found:
                break
            i, h = min(found)
            body_start = i + len(h)
            assert msg.startswith(prefix, body_start)
            body_start += len(prefix)
            end = msg.find(suffix if suffix else "\n\n<", body_start)
            end = len(msg) if end < 0 else end
            pieces.append(html.unescape(msg[body_start:end]))
            idx = end
    return pieces


def _squash(text: str) -> str:
    """Remove all whitespace: reassembly is exact except whitespace at cut points."""
    return "".join(text.split())


def _paragraphs(total: int, seed: int = 7) -> str:
    rng = random.Random(seed)
    words = ["inovasi", "pelayanan", "publik", "e-KTP", "Si-Cepat", "20%", "2025", "desa"]
    paras: list[str] = []
    size = 0
    while size < total:
        sentences = []
        for _ in range(rng.randint(2, 6)):
            sentence = " ".join(rng.choice(words) for _ in range(rng.randint(5, 20)))
            sentences.append(sentence.capitalize() + ".")
        para = " ".join(sentences)
        if rng.random() < 0.3:
            para = para.replace(". ", ".\n", 1)
        paras.append(para)
        size += len(para) + 2
    return "\n\n".join(paras)[:total]


# --------------------------------------------------------------------------------------
# MonthYear
# --------------------------------------------------------------------------------------


def test_month_year_iso_roundtrip_and_ordering() -> None:
    m = MonthYear(2025, 3)
    assert m.iso == "2025-03"
    assert MonthYear.from_iso("2025-03") == m
    assert MonthYear(2024, 12) < MonthYear(2025, 1) < MonthYear(2025, 2)
    assert sorted([MonthYear(2025, 10), MonthYear(2025, 2)]) == [
        MonthYear(2025, 2),
        MonthYear(2025, 10),
    ]


@pytest.mark.parametrize("bad", ["2025-3", "2025-13", "03-2025", "", "2025/03"])
def test_month_year_from_iso_is_strict(bad: str) -> None:
    with pytest.raises(ValueError):
        MonthYear.from_iso(bad)


def test_months_id() -> None:
    assert len(MONTHS_ID) == 12
    assert MONTHS_ID[0] == "Januari" and MONTHS_ID[2] == "Maret" and MONTHS_ID[-1] == "Desember"


# --------------------------------------------------------------------------------------
# parse_month_year
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Maret 2025", (2025, 3)),
        ("maret 2025", (2025, 3)),
        ("MARET  2025", (2025, 3)),
        ("  Maret 2025  ", (2025, 3)),
        ("Mar 2025", (2025, 3)),
        ("Mar. 2025", (2025, 3)),
        ("Agt 2025", (2025, 8)),
        ("Agu 2025", (2025, 8)),
        ("Agustus 2025", (2025, 8)),
        ("Sept 2025", (2025, 9)),
        ("Sep 2025", (2025, 9)),
        ("Nop 2025", (2025, 11)),
        ("Nov 2025", (2025, 11)),
        ("Des 2025", (2025, 12)),
        ("Peb 2025", (2025, 2)),
        ("Feb 2025", (2025, 2)),
        ("Januari 2025", (2025, 1)),
        ("April 2025", (2025, 4)),
        ("Mei 2025", (2025, 5)),
        ("Juni 2025", (2025, 6)),
        ("Jun 2025", (2025, 6)),
        ("Juli 2025", (2025, 7)),
        ("Jul 2025", (2025, 7)),
        ("Okt 2025", (2025, 10)),
        ("Oktober 2025", (2025, 10)),
        ("March 2025", (2025, 3)),
        ("May 2025", (2025, 5)),
        ("August 2025", (2025, 8)),
        ("October 2025", (2025, 10)),
        ("December 2025", (2025, 12)),
        ("03/2025", (2025, 3)),
        ("3/2025", (2025, 3)),
        ("03-2025", (2025, 3)),
        ("3.2025", (2025, 3)),
        ("03 2025", (2025, 3)),
        ("2025-03", (2025, 3)),
        ("2025/03", (2025, 3)),
        ("bulan Maret tahun 2025", (2025, 3)),
        ("Bulan maret tahun 2025", (2025, 3)),
        ("Maret, 2025", (2025, 3)),
        ("Maret '25", (2025, 3)),
        ("Maret ’25", (2025, 3)),
        ("03/25", (2025, 3)),
        ("12 Maret 2025", (2025, 3)),
        ("12/03/2025", (2025, 3)),
        ("1-3-2025", (2025, 3)),
        ("31.12.2025", (2025, 12)),
        ("2025-03-12", (2025, 3)),
        ("Maret\u00a02025", (2025, 3)),
        ("Maret 2025.", (2025, 3)),
        ("Sept. 2025", (2025, 9)),
        ("Jan-2025", (2025, 1)),
        ("12-Mar-2025", (2025, 3)),
        ("tgl 5 Mei 2025", (2025, 5)),
        ("2025.03", (2025, 3)),
    ],
)
def test_parse_month_year_accepts(text: str, expected: tuple[int, int]) -> None:
    assert parse_month_year(text, today=TODAY) == MonthYear(*expected)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "13/2025",
        "0/2025",
        "2025",
        "besok",
        "Maret",
        "Marte 2025",
        "2025-13",
        "31/02/2025",
        "32 Maret 2025",
        "Maret 2025 2026",
        "12 03 2025 x",
    ],
)
def test_parse_month_year_unrecognised(text: str) -> None:
    with pytest.raises(MonthYearError) as exc:
        parse_month_year(text, today=TODAY)
    assert exc.value.reason == "unrecognised"
    assert exc.value.value is None
    assert isinstance(exc.value, ValueError)


@pytest.mark.parametrize(
    ("text", "value"),
    [("Desember 1999", (1999, 12)), ("01/1990", (1990, 1)), ("12/03/1999", (1999, 3))],
)
def test_parse_month_year_too_early(text: str, value: tuple[int, int]) -> None:
    with pytest.raises(MonthYearError) as exc:
        parse_month_year(text, today=TODAY)
    assert exc.value.reason == "too_early"
    assert exc.value.value == MonthYear(*value)


def test_parse_month_year_lower_bound_inclusive() -> None:
    assert parse_month_year("Januari 2000", today=TODAY) == MonthYear(2000, 1)
    assert parse_month_year("01/00", today=TODAY) == MonthYear(2000, 1)


def test_parse_month_year_upper_bound_relative_to_today() -> None:
    # today = 23 Nov 2026 -> last accepted month is November 2029.
    assert parse_month_year("November 2029", today=TODAY) == MonthYear(2029, 11)
    assert parse_month_year("30/11/2029", today=TODAY) == MonthYear(2029, 11)
    for text, value in [("Desember 2029", (2029, 12)), ("01/2030", (2030, 1))]:
        with pytest.raises(MonthYearError) as exc:
            parse_month_year(text, today=TODAY)
        assert exc.value.reason == "too_late"
        assert exc.value.value == MonthYear(*value)
    # Two-digit years are always 20xx, so '99 is 2099: too late, not 1999.
    with pytest.raises(MonthYearError) as exc:
        parse_month_year("Maret '99", today=TODAY)
    assert exc.value.reason == "too_late"
    assert exc.value.value == MonthYear(2099, 3)
    # The bound moves with today.
    assert parse_month_year("Desember 2029", today=date(2026, 12, 1)) == MonthYear(2029, 12)


# --------------------------------------------------------------------------------------
# Formatting
# --------------------------------------------------------------------------------------


def test_format_month_year() -> None:
    assert format_month_year(MonthYear(2025, 3)) == "Maret 2025"
    assert format_month_year(MonthYear(2026, 12)) == "Desember 2026"
    assert [format_month_year(MonthYear(2025, m)).split()[0] for m in range(1, 13)] == list(
        MONTHS_ID
    )


def test_format_then_parse_roundtrip() -> None:
    for month in range(1, 13):
        m = MonthYear(2026, month)
        assert parse_month_year(format_month_year(m), today=TODAY) == m


def test_format_date_id() -> None:
    assert format_date_id(date(2026, 11, 23)) == "23 November 2026"
    assert format_date_id(date(2026, 3, 1)) == "1 Maret 2026"
    assert format_date_id(datetime(2026, 8, 23, 23, 59)) == "23 Agustus 2026"


@pytest.mark.parametrize(
    ("tz", "expected"),
    [
        ("Asia/Jakarta", "23 Agustus 2026 pukul 22.59 WIB"),
        ("Asia/Pontianak", "23 Agustus 2026 pukul 22.59 WIB"),
        ("Asia/Makassar", "23 Agustus 2026 pukul 23.59 WITA"),
        ("Asia/Jayapura", "24 Agustus 2026 pukul 00.59 WIT"),
        ("UTC", "23 Agustus 2026 pukul 15.59 UTC"),
        ("Asia/Bangkok", "23 Agustus 2026 pukul 22.59 UTC+07.00"),
        ("Asia/Kolkata", "23 Agustus 2026 pukul 21.29 IST"),
        ("America/St_Johns", "23 Agustus 2026 pukul 13.29 NDT"),
    ],
)
def test_format_datetime_id_zones(tz: str, expected: str) -> None:
    utc = datetime(2026, 8, 23, 15, 59, tzinfo=UTC)
    assert format_datetime_id(utc, ZoneInfo(tz)) == expected


def test_format_datetime_id_naive_is_utc_and_aware_is_converted() -> None:
    wita = ZoneInfo("Asia/Makassar")
    naive = datetime(2026, 8, 23, 15, 59)
    assert format_datetime_id(naive, wita) == "23 Agustus 2026 pukul 23.59 WITA"
    jakarta_time = datetime(2026, 8, 23, 22, 59, tzinfo=ZoneInfo("Asia/Jakarta"))
    assert format_datetime_id(jakarta_time, wita) == "23 Agustus 2026 pukul 23.59 WITA"
    fixed = datetime(2026, 8, 23, 15, 59, tzinfo=timezone(timedelta(hours=-3)))
    assert format_datetime_id(fixed, ZoneInfo("Asia/Jayapura")) == (
        "24 Agustus 2026 pukul 03.59 WIT"
    )


def test_format_datetime_id_offset_with_minutes() -> None:
    utc = datetime(2026, 1, 10, 0, 0, tzinfo=UTC)
    assert format_datetime_id(utc, ZoneInfo("Asia/Kathmandu")) == (
        "10 Januari 2026 pukul 05.45 UTC+05.45"
    )
    assert format_datetime_id(utc, ZoneInfo("America/Sao_Paulo")) == (
        "9 Januari 2026 pukul 21.00 UTC-03.00"
    )


# --------------------------------------------------------------------------------------
# count_words
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", 0),
        ("   \n\t ", 0),
        ("satu", 1),
        ("satu dua tiga", 3),
        ("satu   dua\n\ntiga\tempat", 4),
        ("e-KTP Si-Cepat 20% 2025", 4),
        ("Inovasi 🚀 desa", 2),
        ("🚀 🙏🏽 👨‍👩‍👧 ✅", 0),
        ("Inovasi — pelayanan ... publik !!! ?", 3),
        ("1️⃣ Pertama 2️⃣ Kedua", 2),
        ("pelayanan, publik. (desa)", 3),
        ("Rp10.000,00 per-orang", 2),
        ("café naïve", 2),
        ("“Inovasi”", 1),
    ],
)
def test_count_words(text: str, expected: int) -> None:
    assert count_words(text) == expected


# --------------------------------------------------------------------------------------
# split_html_blocks
# --------------------------------------------------------------------------------------


def test_empty_input_gives_no_messages() -> None:
    assert split_html_blocks([]) == []
    assert split_html_blocks([Block(head_html="")]) == []


def test_block_rendering() -> None:
    assert split_html_blocks([Block("<b>A</b>")]) == ["<b>A</b>"]
    assert split_html_blocks([Block("<b>A</b>", "x < y & z", "<i>", "</i>")]) == [
        "<b>A</b>\n<i>x &lt; y &amp; z</i>"
    ]
    assert split_html_blocks([Block("<b>A</b>", "1"), Block("<b>B</b>", "2")]) == [
        "<b>A</b>\n1\n\n<b>B</b>\n2"
    ]


def test_many_small_blocks_are_packed_greedily() -> None:
    blocks = [Block(f"<b>Bagian {i}</b>", f"Isi bagian {i}. " * 10) for i in range(200)]
    messages = split_html_blocks(blocks, limit=1000)
    _assert_messages_ok(messages, 1000)
    # Greedy: the next message's first block would not have fitted into the previous one.
    for a, b in itertools.pairwise(messages):
        assert len(a) + 2 + len(b.split("\n\n")[0]) > 1000
    # Every block appears exactly once, whole and in order.
    joined = "\n\n".join(messages)
    rendered = [f"{b.head_html}\n{b.body_text}" for b in blocks]
    assert joined == "\n\n".join(rendered)
    assert len(messages) <= len(blocks) // 4


def test_long_body_with_paragraphs_splits_at_paragraphs() -> None:
    body = _paragraphs(20_000)
    head = "<b>Bagian 3 — Tujuan</b>"
    messages = split_html_blocks([Block(head, body, "<i>", "</i>")])
    _assert_messages_ok(messages, 4096)
    assert len(messages) >= 5
    assert messages[0].startswith(head + "\n<i>")
    for msg in messages[1:]:
        assert msg.startswith(head + CONTINUATION_SUFFIX + "\n<i>")
    pieces = _body_pieces(messages, head, "<i>", "</i>")
    assert len(pieces) == len(messages)
    assert _squash("".join(pieces)) == _squash(body)
    # Whitespace is only lost at cut points: joining with the cut whitespace restores it.
    rebuilt = pieces[0]
    for piece in pieces[1:]:
        gap_start = len(rebuilt)
        nxt = body.index(piece, gap_start)
        assert body[gap_start:nxt].strip() == ""
        rebuilt = body[:nxt] + piece
    assert rebuilt == body
    # Cuts prefer paragraph breaks, and messages are reasonably full.
    for piece in pieces[:-1]:
        end = body.index(piece) + len(piece)
        assert body[end : end + 2] == "\n\n"
    assert all(len(m) > 2048 for m in messages[:-1])


def test_single_huge_word_is_hard_cut() -> None:
    word = "a" * 10_000
    head = "<b>Kata</b>"
    messages = split_html_blocks([Block(head, word)])
    _assert_messages_ok(messages, 4096)
    assert len(messages) == 3
    pieces = _body_pieces(messages, head, "", "")
    assert "".join(pieces) == word
    assert len(messages[0]) == 4096


def test_words_are_never_cut_when_they_fit() -> None:
    rng = random.Random(1)
    words = [
        "".join(rng.choice("abcdefgh") for _ in range(rng.randint(1, 30))) for _ in range(3000)
    ]
    body = " ".join(words)
    head = "<b>H</b>"
    messages = split_html_blocks([Block(head, body)], limit=500)
    _assert_messages_ok(messages, 500)
    pieces = _body_pieces(messages, head, "", "")
    assert " ".join(pieces) == body  # only single spaces at cuts: exact reassembly
    for piece in pieces:
        assert all(w in set(words) for w in piece.split(" "))


def test_escaping_expansion_never_overflows() -> None:
    body = ("<script>alert('x')</script> & <b>bold</b> &amp; " * 400) + "&" * 5000 + "<" * 3000
    head = "<b>Bagian 5 — Risiko &amp; Mitigasi</b>"
    messages = split_html_blocks([Block(head, body, "<blockquote>", "</blockquote>")])
    _assert_messages_ok(messages, 4096)
    for msg in messages:
        text = _assert_well_formed(msg)
        assert "<script>" not in msg  # user-supplied tags never survive as markup
        assert text.strip()  # something visible
    pieces = _body_pieces(messages, head, "<blockquote>", "</blockquote>")
    assert _squash("".join(pieces)) == _squash(body)


def test_escape_sequences_are_not_split_even_at_tight_limits() -> None:
    body = "&<>" * 300
    for limit in (40, 41, 42, 43, 44, 97):
        messages = split_html_blocks([Block("<b>H</b>", body, "<i>", "</i>")], limit=limit)
        _assert_messages_ok(messages, limit)
        pieces = _body_pieces(messages, "<b>H</b>", "<i>", "</i>")
        assert "".join(pieces) == body


def test_emoji_body_is_measured_safely() -> None:
    body = "🚀" * 5000 + " selesai 👨‍👩‍👧 " + "🙏🏽" * 100
    head = "<b>Emoji</b>"
    messages = split_html_blocks([Block(head, body)])
    _assert_messages_ok(messages, 4096)
    pieces = _body_pieces(messages, head, "", "")
    assert _squash("".join(pieces)) == _squash(body)
    # Family emoji (ZWJ sequence) is never torn apart: it fits, so no cut inside a word.
    assert any("👨‍👩‍👧" in p for p in pieces)


def test_hard_cut_keeps_skin_tone_with_its_emoji() -> None:
    body = "👍🏽" * 3000
    messages = split_html_blocks([Block("<b>H</b>", body)], limit=1000)
    _assert_messages_ok(messages, 1000)
    for piece in _body_pieces(messages, "<b>H</b>", "", ""):
        assert piece == "👍🏽" * (len(piece) // 2)


def test_oversized_block_mixed_with_small_blocks() -> None:
    blocks = [
        Block("<b>Bagian 1</b>", "Pendek."),
        Block("<b>Bagian 2</b>", _paragraphs(9000, seed=3), "<i>", "</i>"),
        Block("<b>Bagian 3</b>", "Juga pendek."),
        Block("<b>Bagian 4</b>"),
    ]
    messages = split_html_blocks(blocks)
    _assert_messages_ok(messages, 4096)
    assert messages[0].startswith("<b>Bagian 1</b>\nPendek.")
    assert messages[-1].endswith("<b>Bagian 3</b>\nJuga pendek.\n\n<b>Bagian 4</b>")
    pieces = _body_pieces(messages, "<b>Bagian 2</b>", "<i>", "</i>")
    assert _squash("".join(pieces)) == _squash(blocks[1].body_text)


def test_continuation_suffix_is_configurable(monkeypatch: pytest.MonkeyPatch) -> None:
    body = "kata " * 2000
    msgs = split_html_blocks([Block("<b>H</b>", body)], continuation_suffix=" (lanj.)")
    assert msgs[1].startswith("<b>H</b> (lanj.)\n")
    monkeypatch.setattr(textutil, "CONTINUATION_SUFFIX", " [sambungan]")
    msgs = split_html_blocks([Block("<b>H</b>", body)])
    assert msgs[1].startswith("<b>H</b> [sambungan]\n")


def test_head_too_long_raises() -> None:
    with pytest.raises(ValueError):
        split_html_blocks([Block("<b>" + "x" * 100 + "</b>", "isi")], limit=50)
    with pytest.raises(ValueError):
        split_html_blocks([Block("<b>" + "x" * 100 + "</b>")], limit=50)


def test_whitespace_only_oversized_body_sends_head_only() -> None:
    messages = split_html_blocks([Block("<b>H</b>", " \n" * 100)], limit=50)
    assert messages == ["<b>H</b>"]


def test_random_bodies_property() -> None:
    """A cheap hand-rolled property test over random bodies, limits and wrappers."""
    rng = random.Random(2026)
    alphabet = ["a", "b", "kata", " ", " ", "\n", "\n\n", ". ", "<", "&", ">", "🚀", "é", "x" * 40]
    for _ in range(60):
        body = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 600)))
        limit = rng.randint(60, 400)
        head = "<b>Bagian</b>"
        prefix, suffix = rng.choice([("", ""), ("<i>", "</i>"), ("<code>", "</code>")])
        blocks = [Block("<u>awal</u>", "x"), Block(head, body, prefix, suffix)]
        messages = split_html_blocks(blocks, limit=limit)
        _assert_messages_ok(messages, limit)
        if body.strip():
            # Prefix is "" in some cases; locate pieces only after the first block.
            rest = [m.removeprefix("<u>awal</u>\nx").removeprefix("\n\n") for m in messages]
            pieces = _body_pieces([m for m in rest if m], head, prefix, suffix)
            assert _squash("".join(pieces)) == _squash(body)


# --------------------------------------------------------------------------------------
# split_plain_text and html_visible_length
# --------------------------------------------------------------------------------------


def test_split_plain_text_short_and_empty() -> None:
    assert split_plain_text("halo") == ["halo"]
    assert split_plain_text("") == []
    assert split_plain_text(" \n ") == []


def test_split_plain_text_boundaries() -> None:
    text = _paragraphs(12_000, seed=11)
    parts = split_plain_text(text, limit=1000)
    assert all(0 < utf16_len(p) <= 1000 for p in parts)
    assert _squash("".join(parts)) == _squash(text)
    for part in parts[:-1]:
        end = text.index(part) + len(part)
        assert text[end] in " \n"


def test_split_plain_text_prefers_line_then_sentence_then_space() -> None:
    line = "Kalimat satu. Kalimat dua\nbaris dua kata kata"
    assert split_plain_text(line, limit=30) == ["Kalimat satu. Kalimat dua", "baris dua kata kata"]
    sentence = "Kalimat pertama panjang. Kalimat kedua"
    assert split_plain_text(sentence, limit=30) == ["Kalimat pertama panjang.", "Kalimat kedua"]
    spaces = "aaaa bbbb cccc dddd eeee ffff"
    assert split_plain_text(spaces, limit=12) == ["aaaa bbbb", "cccc dddd", "eeee ffff"]
    # A paragraph break too early in the window loses to a later, fuller boundary.
    early = "Hai\n\n" + "kata " * 10
    assert split_plain_text(early, limit=30)[0] != "Hai"


def test_split_plain_text_long_word_and_emoji() -> None:
    assert split_plain_text("x" * 25, limit=10) == ["x" * 10, "x" * 10, "x" * 5]
    parts = split_plain_text("🚀" * 15, limit=10)
    assert parts == ["🚀" * 5, "🚀" * 5, "🚀" * 5]


def test_html_visible_length() -> None:
    assert html_visible_length("<b>Halo</b> &amp; <i>dunia</i>") == len("Halo & dunia")
    assert html_visible_length("&lt;script&gt;") == len("<script>")
    assert html_visible_length("") == 0


def test_utf16_len() -> None:
    assert utf16_len("abc") == 3
    assert utf16_len("🚀") == 2
    assert utf16_len("é🚀a") == 4


# --------------------------------------------------------------------------------------
# Shortening labels
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("Kesehatan", 40, "Kesehatan"),
        ("Koperasi, usaha kecil dan menengah", 20, "Koperasi, usaha…"),
        ("Koperasi, usaha kecil dan menengah", 10, "Koperasi…"),
        ("Pemberdayaan perempuan dan pelindungan anak", 30, "Pemberdayaan perempuan dan…"),
        ("Inovasi Pelayanan Publik Terpadu", 24, "Inovasi Pelayanan…"),
        ("Inovasi Pelayanan Publik Terpadu", 26, "Inovasi Pelayanan Publik…"),
        ("Lomba Inovasi Daerah — Pekan Inovasi 2026", 23, "Lomba Inovasi Daerah…"),
        ("  SIPANDU\n BUMIL  Sidrap ", 14, "SIPANDU BUMIL…"),
        # A single word longer than the limit has no boundary to cut at.
        ("Supercalifragilistik", 8, "Superca…"),
    ],
)
def test_shorten_cuts_at_a_word_boundary(text: str, limit: int, expected: str) -> None:
    assert shorten(text, limit) == expected
    assert len(shorten(text, limit)) <= limit


def test_shorten_never_cuts_inside_a_word_of_urusan_names() -> None:
    for name in load_urusan():
        # Limits from one past the first word (with the "…"): a boundary always exists.
        for limit in range(len(name.split()[0]) + 2, len(name)):
            short = shorten(name, limit)
            kept = short.removesuffix("…")
            assert name.startswith(kept) and len(short) <= limit, (name, limit, short)
            assert name[len(kept)] in " ,", (name, limit, short)


def load_urusan() -> tuple[str, ...]:
    from bot.services.formats import load_data_list

    return load_data_list("urusan")
