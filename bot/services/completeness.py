"""How complete a draft is, read from its format's sections and word rules."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bot.services.formats import ProposalFormat, Section, WordRule
from bot.services.textutil import count_words


@dataclass(frozen=True)
class WordProgress:
    rule: WordRule
    words: int

    @property
    def missing(self) -> int:
        return max(0, self.rule.min_words - self.words)


@dataclass(frozen=True)
class Completeness:
    required_total: int
    required_filled: int
    missing_required: tuple[Section, ...]
    word_progress: tuple[WordProgress, ...]
    filled_total: int
    section_total: int

    @property
    def percent(self) -> int:
        if not self.required_total:
            return 100
        return round(100 * self.required_filled / self.required_total)

    @property
    def word_shortfalls(self) -> tuple[WordProgress, ...]:
        return tuple(p for p in self.word_progress if p.missing)

    @property
    def is_complete(self) -> bool:
        return not self.missing_required and not self.word_shortfalls


def word_progress(fmt: ProposalFormat, rule: WordRule, answers: Mapping[str, str]) -> WordProgress:
    words = sum(count_words(answers.get(s.key, "")) for s in fmt.group_sections(rule.group))
    return WordProgress(rule=rule, words=words)


def assess(fmt: ProposalFormat, answers: Mapping[str, str]) -> Completeness:
    required = [s for s in fmt.sections if s.is_required(answers)]
    missing = tuple(s for s in required if not answers.get(s.key))
    return Completeness(
        required_total=len(required),
        required_filled=len(required) - len(missing),
        missing_required=missing,
        word_progress=tuple(word_progress(fmt, r, answers) for r in fmt.word_rules),
        filled_total=sum(1 for s in fmt.sections if answers.get(s.key)),
        section_total=len(fmt.sections),
    )
