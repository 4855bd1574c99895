"""The readiness data files: the rules (templates/data/readiness_rules.yaml) and the IID
indicators (templates/data/iid_indicators.yaml), validated and cached."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from bot.paths import DATA_DIR
from bot.services.formats import ProposalFormat

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


class _Blank(dict):
    def __missing__(self, key: str) -> str:
        return ""


def fill(text: str, values: Mapping[str, Any]) -> str:
    """A rule's message or step with its placeholders filled ({section}, {minimum}, ...);
    an unknown placeholder stays empty."""
    return text.format_map(_Blank(values))
