"""Checking one answer against its section's rules, and showing stored values."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from rapidfuzz import fuzz, process

from bot.services.formats import ProposalFormat, Section
from bot.services.textutil import (
    MonthYear,
    MonthYearError,
    count_words,
    format_month_year,
    parse_month_year,
)


class InvalidAnswer(Exception):
    """An answer that breaks a rule; `template` names the message that explains it."""

    def __init__(self, template: str, **context: Any) -> None:
        super().__init__(template)
        self.template = template
        self.context = context


def clean_text(section: Section, text: str) -> str:
    """Validate a free-text answer; returns it as stored (verbatim, only trimmed)."""
    value = text.strip()
    if len(value) < section.min_chars:
        raise InvalidAnswer("invalid/too_short", minimum=section.min_chars, length=len(value))
    if len(value) > section.max_chars:
        raise InvalidAnswer("invalid/too_long", maximum=section.max_chars, length=len(value))
    if section.max_words is not None:
        words = count_words(value)
        if words > section.max_words:
            raise InvalidAnswer(
                "invalid/too_many_words",
                maximum=section.max_words,
                words=words,
                excess=words - section.max_words,
            )
    return value


def clean_month(
    fmt: ProposalFormat, section: Section, text: str, answers: Mapping[str, str], today: date
) -> str:
    """Parse a typed month ("Maret 2025", "03/2025"); returns it as ISO "2025-03"."""
    try:
        month = parse_month_year(text, today=today)
    except MonthYearError as exc:
        raise InvalidAnswer(f"invalid/month_{exc.reason}", text=text.strip()[:100]) from exc
    if section.not_before and answers.get(section.not_before):
        earliest = MonthYear.from_iso(answers[section.not_before])
        if month < earliest:
            raise InvalidAnswer(
                "invalid/month_before",
                earliest=format_month_year(earliest),
                other=fmt.section(section.not_before).title,
            )
    return month.iso


def match_choice(section: Section, text: str, limit: int = 8) -> list[str]:
    """Options that a typed text names: an exact match alone, otherwise the closest few."""
    typed = " ".join(text.split()).casefold()
    if not typed:
        return []
    exact = [o for o in section.options if o.casefold() == typed]
    if exact:
        return exact
    starting = [o for o in section.options if o.casefold().startswith(typed)]
    if len(starting) == 1:
        return starting
    containing = [o for o in section.options if typed in o.casefold() and o not in starting]
    if starting or containing:
        return (starting + containing)[:limit]
    scored = process.extract(
        typed, section.options, scorer=fuzz.WRatio, processor=str.casefold, limit=limit
    )
    return [option for option, score, _ in scored if score >= 75]


def display_value(section: Section, value: str | None) -> str:
    """A stored value as a person reads it (months as "Maret 2025")."""
    if not value:
        return ""
    if section.kind == "month":
        try:
            return format_month_year(MonthYear.from_iso(value))
        except ValueError:
            return value
    return value
