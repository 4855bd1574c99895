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

    ticked_indicators_of(session, draft_id) -> dict[str, int]
    readiness_of_draft(session, fmt, draft_id) -> Readiness   (the two above, combined)
    load_indicators() / load_rules()   the data files, parsed and cached
    split_steps(text) -> list[str]     the numbered or bulleted steps of a text
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlmodel import Session, col, select

from bot.paths import DATA_DIR
from bot.services.completeness import Completeness, assess
from bot.services.context import ServiceContext
from bot.services.feature import Feature
from bot.services.formats import ProposalFormat, Section
from bot.services.readiness.routes import ReadinessReport
from bot.services.replies import Button, Chunk, LongReply, Outcome, Reply, keyboard, one_per_row
from bot.services.textutil import count_words
from models import repository as repo
from models.readiness import DraftIndicator

MAX_LEVEL = 3
NEXT_STEPS = 3

CheckKind = Literal[
    "missing_required",
    "filled",
    "word_minimum",
    "has_number",
    "keyword_groups",
    "min_steps",
    "min_words",
]


# ---- the data files ------------------------------------------------------------------------------


class Indicator(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    key: str = Field(pattern=r"^[a-z][a-z0-9_]{0,39}$")
    name: str
    bobot: int = Field(ge=1, le=10)
    mandatory: bool = False
    levels: tuple[str, str, str]
    evidence: str

    @property
    def max_score(self) -> int:
        return self.bobot * MAX_LEVEL


class IndicatorSet(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    reviewed: int
    formats: tuple[str, ...]
    indicators: tuple[Indicator, ...]

    @model_validator(mode="after")
    def _unique_keys(self) -> IndicatorSet:
        keys = [i.key for i in self.indicators]
        if len(keys) != len(set(keys)):
            raise ValueError("iid_indicators.yaml: duplicate indicator keys")
        return self

    @property
    def max_score(self) -> int:
        return sum(i.max_score for i in self.indicators)

    def applies_to(self, fmt: ProposalFormat) -> bool:
        return fmt.key in self.formats

    def get(self, key: str) -> Indicator | None:
        return next((i for i in self.indicators if i.key == key), None)


class Rule(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    key: str
    check: CheckKind
    message: str
    step: str
    weight: float = Field(ge=0)
    blocking: bool = False
    section: str | None = None
    formats: tuple[str, ...] = ()
    groups: tuple[tuple[str, ...], ...] = ()
    minimum: int = 0

    @model_validator(mode="after")
    def _has_what_its_check_needs(self) -> Rule:
        needs_section = self.check not in ("missing_required", "word_minimum")
        if needs_section and not self.section:
            raise ValueError(f"rule {self.key}: check {self.check} needs a section")
        if self.check == "keyword_groups" and not self.groups:
            raise ValueError(f"rule {self.key}: keyword_groups needs groups")
        if self.check in ("min_steps", "min_words") and self.minimum < 1:
            raise ValueError(f"rule {self.key}: {self.check} needs a minimum")
        return self

    def applies_to(self, fmt: ProposalFormat) -> bool:
        if self.formats and fmt.key not in self.formats:
            return False
        return self.section is None or fmt.has_section(self.section)


class IndicatorStepRules(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    points_per_level: float = 1.5
    mandatory_bonus: float = 15
    ready_requires_mandatory: bool = True
    missing_mandatory_step: str
    missing_step: str
    raise_level_step: str


class RuleSet(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    rules: tuple[Rule, ...]
    indicators: IndicatorStepRules

    @model_validator(mode="after")
    def _unique_keys(self) -> RuleSet:
        keys = [r.key for r in self.rules]
        if len(keys) != len(set(keys)):
            raise ValueError("readiness_rules.yaml: duplicate rule keys")
        return self


def _load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


@cache
def load_indicators(data_dir: Path = DATA_DIR) -> IndicatorSet:
    return IndicatorSet.model_validate(_load_yaml(data_dir / "iid_indicators.yaml"))


@cache
def load_rules(data_dir: Path = DATA_DIR) -> RuleSet:
    return RuleSet.model_validate(_load_yaml(data_dir / "readiness_rules.yaml"))


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
        message=_fill(rule.message, values),
        step=_fill(rule.step, values),
        weight=weight,
        blocking=rule.blocking,
        section_key=target.key if target else None,
    )


class _Blank(dict):
    def __missing__(self, key: str) -> str:
        return ""


def _fill(text: str, values: Mapping[str, Any]) -> str:
    return text.format_map(_Blank(values))


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
        steps.append(NextStep(_fill(template, values), weight, "indicator", indicator.key))
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


# ---- from the database ---------------------------------------------------------------------------


# Checks on a filled section's content: what reviewers look for in it.
_CONTENT_CHECKS = ("has_number", "keyword_groups", "min_steps", "min_words")


def section_advice(fmt: ProposalFormat, section: Section) -> list[str]:
    """What the readiness rules ask of this section's text, as advice to read before writing
    it (the rules' `step` texts)."""
    return [
        _fill(rule.step, {"section": section.title, "minimum": rule.minimum})
        for rule in load_rules().rules
        if rule.section == section.key and rule.check in _CONTENT_CHECKS and rule.applies_to(fmt)
    ]


def ticked_indicators_of(session: Session, draft_id: int) -> dict[str, int]:
    rows = session.exec(select(DraftIndicator).where(DraftIndicator.draft_id == draft_id))
    return {row.indicator_key: row.level for row in rows if row.level > 0}


def ticked_indicators_of_many(session: Session, draft_ids: list[int]) -> dict[int, dict[str, int]]:
    result: dict[int, dict[str, int]] = {draft_id: {} for draft_id in draft_ids}
    if draft_ids:
        query = select(DraftIndicator).where(col(DraftIndicator.draft_id).in_(draft_ids))
        for row in session.exec(query):
            if row.level > 0:
                result[row.draft_id][row.indicator_key] = row.level
    return result


def readiness_of_draft(session: Session, fmt: ProposalFormat, draft_id: int) -> Readiness:
    return assess_readiness(
        fmt, repo.answers_of(session, draft_id), ticked_indicators_of(session, draft_id)
    )


# ---- the feature: "Cek kesiapan" and the evidence checklist --------------------------------------


class ReadinessService:
    """Callback prefix "q": the report (q:v), the checklist (q:c), one indicator (q:i) and
    setting its level (q:s). Every call re-checks that the draft is the caller's own."""

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    def feature(self) -> Feature:
        return Feature(
            name="readiness",
            service=self,
            callbacks={"q": self._callback},
            draft_actions=lambda draft_id: [
                Button(ReadinessReport(draft_id), label="check_readiness")
            ],
        )

    def _callback(self, session: Session, user_id: int, parts: list[str]) -> Outcome:
        action, numbers = parts[0], [int(p) for p in parts[1:]]
        if action == "v":
            return self.report(session, user_id, numbers[0])
        if action == "c":
            return self.checklist(session, user_id, numbers[0])
        if action == "i":
            return self.indicator(session, user_id, numbers[0], numbers[1])
        if action == "s":
            return self.set_level(session, user_id, numbers[0], numbers[1], numbers[2])
        raise ValueError(action)

    def report(self, session: Session, user_id: int, draft_id: int) -> Outcome:
        found = self._owned(session, user_id, draft_id)
        if found is None:
            return _not_found()
        fmt, readiness, title = found
        context = {"draft_id": draft_id, "title": title, "format": fmt, "r": readiness}
        chunks = [Chunk("ready/report_head", context)]
        if readiness.filled:
            chunks.append(Chunk("ready/report_filled", context))
        if readiness.missing:
            chunks.append(Chunk("ready/report_missing", context))
        if readiness.weak:
            chunks.append(Chunk("ready/report_weak", context))
        if readiness.has_checklist:
            chunks.append(Chunk("ready/report_indicators", context))
        if readiness.next_steps:
            chunks.append(Chunk("ready/report_steps", context))
        rows = []
        if readiness.has_checklist:
            rows.append([Button(data=f"q:c:{draft_id}", label="indicator_checklist")])
        rows.append([Button(data=f"d:o:{draft_id}", label="back_to_draft")])
        return Outcome(notice="readiness_checked").add(LongReply(tuple(chunks), keyboard(*rows)))

    def checklist(
        self, session: Session, user_id: int, draft_id: int, notice: str | None = None
    ) -> Outcome:
        found = self._owned(session, user_id, draft_id)
        if found is None:
            return _not_found()
        fmt, readiness, title = found
        back = Button(data=f"d:o:{draft_id}", label="back_to_draft")
        context = {"draft_id": draft_id, "title": title, "format": fmt, "r": readiness}
        if not readiness.has_checklist:
            return Outcome().add(
                Reply("ready/checklist_not_applicable", context, keyboard([back]), edit=True)
            )
        buttons = [
            Button(
                data=f"q:i:{draft_id}:{number}",
                label="indicator_ticked" if state.ticked else "indicator_unticked",
                params={
                    "number": number + 1,
                    "name": state.indicator.name,
                    "star": "*" if state.indicator.mandatory else "",
                    "level": state.level,
                },
            )
            for number, state in enumerate(readiness.indicators)
        ]
        rows = [
            *one_per_row(buttons),
            (Button(data=f"q:v:{draft_id}", label="readiness_result"), back),
        ]
        return Outcome(notice=notice).add(
            Reply("ready/checklist", context, keyboard(*rows), edit=True)
        )

    def indicator(self, session: Session, user_id: int, draft_id: int, number: int) -> Outcome:
        found = self._owned(session, user_id, draft_id)
        if found is None:
            return _not_found()
        fmt, readiness, title = found
        if not 0 <= number < len(readiness.indicators):
            return Outcome(notice="stale_button", notice_alert=True)
        state = readiness.indicators[number]
        levels = [
            Button(
                data=f"q:s:{draft_id}:{number}:{level}",
                label="indicator_level_current" if level == state.level else "indicator_level",
                params={"level": level},
            )
            for level in range(1, MAX_LEVEL + 1)
        ]
        rows = [
            levels,
            [Button(data=f"q:s:{draft_id}:{number}:0", label="indicator_none")],
            [Button(data=f"q:c:{draft_id}", label="back_to_checklist")],
        ]
        context = {
            "draft_id": draft_id,
            "title": title,
            "format": fmt,
            "number": number + 1,
            "state": state,
            "indicator": state.indicator,
        }
        return Outcome().add(Reply("ready/indicator", context, keyboard(*rows), edit=True))

    def set_level(
        self, session: Session, user_id: int, draft_id: int, number: int, level: int
    ) -> Outcome:
        found = self._owned(session, user_id, draft_id)
        if found is None:
            return _not_found()
        readiness = found[1]
        if not 0 <= number < len(readiness.indicators) or not 0 <= level <= MAX_LEVEL:
            return Outcome(notice="stale_button", notice_alert=True)
        key = readiness.indicators[number].indicator.key
        row = session.exec(
            select(DraftIndicator).where(
                DraftIndicator.draft_id == draft_id, DraftIndicator.indicator_key == key
            )
        ).first()
        if level == 0 and row is not None:
            session.delete(row)
        elif level:
            row = row or DraftIndicator(draft_id=draft_id, indicator_key=key, level=level)
            row.level = level
            row.updated_at = self.ctx.now()
            session.add(row)
        session.flush()
        return self.checklist(session, user_id, draft_id, notice="saved")

    def _owned(
        self, session: Session, user_id: int, draft_id: int
    ) -> tuple[ProposalFormat, Readiness, str] | None:
        """The caller's own draft, its format, readiness and title; None for anyone else's."""
        draft = repo.owned_draft(session, user_id, draft_id)
        if draft is None or draft.id is None:
            return None
        fmt = self.ctx.formats.get(draft.format_key) or self.ctx.formats.default
        answers = repo.answers_of(session, draft.id)
        readiness = assess_readiness(fmt, answers, ticked_indicators_of(session, draft.id))
        title = draft.title or answers.get("nama") or f"Draf #{draft.id}"
        return fmt, readiness, title


def _not_found() -> Outcome:
    return Outcome(notice="draft_not_found", notice_alert=True).add(Reply("draft/not_found"))
