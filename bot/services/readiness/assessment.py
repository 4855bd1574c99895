"""How ready a draft is: complete, missing, weak, the IID evidence it can show, what to do next.

Public API (stable; used by the reminders, the mentors' draft summary and the coordinator's
statistics — change it only together with those callers):

    assess_readiness(fmt, answers, ticked_indicators=None) -> Readiness
        fmt                a ProposalFormat (bot.services.formats)
        answers            section key -> stored answer (models.repository.answers_of)
        ticked_indicators  indicator key -> level 1–3 the ASN ticked (a bare iterable of keys
                           counts each as level 1); None or {} when nothing is ticked
        Pure: no database, no clock. Rules and weights come from
        templates/data/readiness_rules.yaml and templates/data/iid_indicators.yaml.

    Readiness
        .is_ready          all required sections filled, no blocking finding (e.g. rancang
                           bangun under 300 words) and, where the format uses the IID checklist,
                           every mandatory indicator ticked
        .filled            sections with an answer, in format order
        .missing           Findings for sections still empty (required ones, and rules such as
                           "no trial date" or "no budget")
        .weak              Findings for filled sections that fall short (no number in the goal,
                           no before/after in the method, too few words, ...)
        .missing_sections  the required Sections still empty
        .indicators        IndicatorState per IID indicator (empty when the format has no
                           checklist); .score, .max_score, .score_percent, .missing_mandatory
        .next_steps        the three most valuable NextSteps (text, weight)
        .completeness      the Completeness of bot.services.completeness

    split_steps(text) -> list[str]     the numbered or bulleted steps of a text
    section_advice(fmt, section)       the rules' advice for a section, before writing it
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal

from bot.services.completeness import Completeness, assess
from bot.services.formats import ProposalFormat, Section
from bot.services.readiness.rules import (
    MAX_LEVEL,
    NEXT_STEPS,
    Indicator,
    IndicatorSet,
    IndicatorStepRules,
    Rule,
    RuleSet,
    fill,
    load_indicators,
    load_rules,
)
from bot.services.textutil import count_words

# ---- the result ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    """Something missing or weak, with what to do about it."""

    rule: str
    kind: Literal["missing", "weak"]
    message: str
    step: str
    weight: float
    blocking: bool
    section_key: str | None = None


@dataclass(frozen=True)
class IndicatorState:
    indicator: Indicator
    level: int  # 0 = no evidence yet

    @property
    def score(self) -> int:
        return self.indicator.bobot * self.level

    @property
    def ticked(self) -> bool:
        return self.level > 0


@dataclass(frozen=True)
class NextStep:
    text: str
    weight: float
    source: Literal["rule", "indicator"]
    key: str


@dataclass(frozen=True)
class Readiness:
    format_key: str
    completeness: Completeness
    filled: tuple[Section, ...]
    missing: tuple[Finding, ...]
    weak: tuple[Finding, ...]
    indicators: tuple[IndicatorState, ...] = ()
    max_score: int = 0
    next_steps: tuple[NextStep, ...] = ()
    requires_mandatory: bool = True
    missing_sections: tuple[Section, ...] = ()

    @property
    def score(self) -> int:
        return sum(s.score for s in self.indicators)

    @property
    def score_percent(self) -> int:
        return round(100 * self.score / self.max_score) if self.max_score else 0

    @property
    def has_checklist(self) -> bool:
        return bool(self.indicators)

    @property
    def ticked_count(self) -> int:
        return sum(1 for s in self.indicators if s.ticked)

    @property
    def missing_mandatory(self) -> tuple[Indicator, ...]:
        return tuple(s.indicator for s in self.indicators if s.indicator.mandatory and not s.ticked)

    @property
    def blocking(self) -> tuple[Finding, ...]:
        return tuple(f for f in (*self.missing, *self.weak) if f.blocking)

    @property
    def is_ready(self) -> bool:
        if self.blocking or self.missing_sections:
            return False
        return not (self.requires_mandatory and self.missing_mandatory)


# ---- the check -----------------------------------------------------------------------------------


def assess_readiness(
    fmt: ProposalFormat,
    answers: Mapping[str, str],
    ticked_indicators: Mapping[str, int] | Iterable[str] | None = None,
    *,
    rules: RuleSet | None = None,
    indicators: IndicatorSet | None = None,
) -> Readiness:
    """Check a draft against the rules and the IID checklist (see the module docstring)."""
    rules = rules or load_rules()
    indicators = indicators or load_indicators()
    completeness = assess(fmt, answers)
    missing: list[Finding] = []
    weak: list[Finding] = []
    specific = {r.section for r in rules.rules if r.check == "filled" and r.applies_to(fmt)}
    for rule in rules.rules:
        if not rule.applies_to(fmt):
            continue
        for finding in _apply(rule, fmt, answers, completeness, specific):
            (missing if finding.kind == "missing" else weak).append(finding)
    states = _indicator_states(fmt, indicators, ticked_indicators)
    candidates = [
        *(NextStep(f.step, f.weight, "rule", f.rule) for f in (*missing, *weak)),
        *_indicator_steps(states, rules.indicators),
    ]
    ranked = sorted(enumerate(candidates), key=lambda pair: (-pair[1].weight, pair[0]))
    return Readiness(
        format_key=fmt.key,
        completeness=completeness,
        filled=tuple(s for s in fmt.sections if answers.get(s.key)),
        missing=tuple(missing),
        weak=tuple(weak),
        indicators=states,
        max_score=indicators.max_score if states else 0,
        next_steps=tuple(step for _, step in ranked[:NEXT_STEPS]),
        requires_mandatory=rules.indicators.ready_requires_mandatory,
        missing_sections=completeness.missing_required,
    )


def _apply(
    rule: Rule,
    fmt: ProposalFormat,
    answers: Mapping[str, str],
    completeness: Completeness,
    specific: set[str | None],
) -> list[Finding]:
    if rule.check == "missing_required":
        return [
            _finding(rule, "missing", s, section=s.title, weight=rule.weight + (s.weight or 0))
            for s in completeness.missing_required
            if s.key not in specific
        ]
    if rule.check == "word_minimum":
        return [
            _finding(
                rule,
                "weak",
                None,
                label=p.rule.label,
                Label=p.rule.label[:1].upper() + p.rule.label[1:],
                words=p.words,
                minimum=p.rule.min_words,
                missing=p.missing,
            )
            for p in completeness.word_shortfalls
        ]
    section = fmt.section(rule.section or "")
    value = answers.get(section.key, "")
    if rule.check == "filled":
        return [] if value else [_finding(rule, "missing", section, section=section.title)]
    if not value:
        return []  # an empty section is reported as missing, not as weak
    words = count_words(value)
    failed = {
        "has_number": lambda: not _HAS_NUMBER.search(value),
        "keyword_groups": lambda: not all(_mentions(value, group) for group in rule.groups),
        "min_steps": lambda: len(split_steps(value)) < rule.minimum,
        "min_words": lambda: words < rule.minimum,
    }[rule.check]()
    if not failed:
        return []
    return [_finding(rule, "weak", section, section=section.title, words=words)]


def _finding(
    rule: Rule, kind: Literal["missing", "weak"], target: Section | None, **values: Any
) -> Finding:
    weight = values.pop("weight", rule.weight)
    values.setdefault("minimum", rule.minimum)
    return Finding(
        rule=rule.key,
        kind=kind,
        message=fill(rule.message, values),
        step=fill(rule.step, values),
        weight=weight,
        blocking=rule.blocking,
        section_key=target.key if target else None,
    )


_HAS_NUMBER = re.compile(r"\d|\bpersen\b", re.IGNORECASE)


@cache
def _keyword_pattern(words: tuple[str, ...]) -> re.Pattern[str]:
    alternatives = "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)


def _mentions(text: str, words: tuple[str, ...]) -> bool:
    return bool(_keyword_pattern(words).search(text))


def _indicator_states(
    fmt: ProposalFormat,
    indicators: IndicatorSet,
    ticked: Mapping[str, int] | Iterable[str] | None,
) -> tuple[IndicatorState, ...]:
    if not indicators.applies_to(fmt):
        return ()
    levels = _levels(ticked)
    return tuple(
        IndicatorState(i, min(max(levels.get(i.key, 0), 0), MAX_LEVEL))
        for i in indicators.indicators
    )


def _levels(ticked: Mapping[str, int] | Iterable[str] | None) -> dict[str, int]:
    if not ticked:
        return {}
    if isinstance(ticked, Mapping):
        return {str(k): int(v) for k, v in ticked.items()}
    return {str(k): 1 for k in ticked}


def _indicator_steps(
    states: tuple[IndicatorState, ...], config: IndicatorStepRules
) -> list[NextStep]:
    steps = []
    for state in states:
        indicator = state.indicator
        if state.level >= MAX_LEVEL:
            continue
        weight = indicator.bobot * (MAX_LEVEL - state.level) * config.points_per_level
        values: dict[str, Any] = {
            "name": indicator.name,
            "bobot": indicator.bobot,
            "evidence": indicator.evidence,
            "level": state.level,
            "next_level": state.level + 1,
            "next_text": indicator.levels[state.level],
        }
        if not state.ticked and indicator.mandatory:
            weight += config.mandatory_bonus
            template = config.missing_mandatory_step
        elif not state.ticked:
            template = config.missing_step
        else:
            template = config.raise_level_step
        steps.append(NextStep(fill(template, values), weight, "indicator", indicator.key))
    return steps


# ---- steps in a text -----------------------------------------------------------------------------

_NUMBERED = re.compile(r"(?:(?<=\s)|^)(\d{1,2})[.)]\s+")
_BULLET_LINE = re.compile(r"^\s*(?:[-•*▪●–]|\d{1,2}[.)])\s+(.+)$", re.MULTILINE)


def split_steps(text: str) -> list[str]:
    """The steps of an enumerated text ("1. … 2. … 3. …" inline or one per line, or bullets).

    Numbers count as steps only when they run 1, 2, 3 … in order, so "PP 38/2017" or "12
    posyandu" inside a step do not split it. Fewer than two steps gives [].
    """
    numbered = _numbered_steps(text)
    if len(numbered) >= 2:
        return numbered
    bullets = [m.group(1).strip() for m in _BULLET_LINE.finditer(text)]
    return bullets if len(bullets) >= 2 else []


def _numbered_steps(text: str) -> list[str]:
    starts: list[tuple[int, int]] = []  # (marker start, content start)
    expected = 1
    for match in _NUMBERED.finditer(text):
        if int(match.group(1)) == expected:
            starts.append((match.start(), match.end()))
            expected += 1
    steps = []
    for index, (_, content_start) in enumerate(starts):
        end = starts[index + 1][0] if index + 1 < len(starts) else len(text)
        step = text[content_start:end].strip()
        if step:
            steps.append(step)
    return steps


# ---- advice before writing a section -------------------------------------------------------------

# Checks on a filled section's content: what reviewers look for in it.
_CONTENT_CHECKS = ("has_number", "keyword_groups", "min_steps", "min_words")


def section_advice(fmt: ProposalFormat, section: Section) -> list[str]:
    """What the readiness rules ask of this section's text, as advice to read before writing
    it (the rules' `step` texts)."""
    return [
        fill(rule.step, {"section": section.title, "minimum": rule.minimum})
        for rule in load_rules().rules
        if rule.section == section.key and rule.check in _CONTENT_CHECKS and rule.applies_to(fmt)
    ]
