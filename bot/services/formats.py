"""Proposal formats, declared once as data in templates/formats/*.yaml.

A format is an ordered list of sections. The drafting conversation, the preview, the
completeness check and the export all read the same `ProposalFormat`, so a region adds its own
format by dropping a YAML file next to the shipped ones.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from bot.paths import DATA_DIR, FORMATS_DIR

SectionKind = Literal["text", "choice", "month"]
# What a section means to the rest of the bot, so a region's own format works everywhere:
# the innovation's name (a draft's title), its stage (statistics), its form of innovation and
# its field of government affairs (urusan; mentors' expertise). A format may lack any of them.
SectionRole = Literal["title", "stage", "form", "affairs"]


class Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    key: str = Field(pattern=r"^[a-z][a-z0-9_]{0,39}$")
    title: str
    kind: SectionKind
    question: str
    tip: str
    example: str
    required: bool = True
    group: str | None = None
    min_chars: int = 1
    max_chars: int = 4000
    max_words: int | None = None
    options: tuple[str, ...] = ()
    options_from: str | None = None
    # Section is optional when another section's answer is one of these values.
    optional_when: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    # A month section that may not be earlier than another month section.
    not_before: str | None = None
    weight: float | None = None
    role: SectionRole | None = None

    @model_validator(mode="after")
    def _choice_has_options(self) -> Section:
        if self.kind == "choice" and not self.options:
            raise ValueError(f"section {self.key}: a choice needs options")
        if self.min_chars > self.max_chars:
            raise ValueError(f"section {self.key}: min_chars > max_chars")
        return self

    def is_required(self, answers: Mapping[str, str]) -> bool:
        if not self.required:
            return False
        return not any(answers.get(key) in values for key, values in self.optional_when.items())


class WordRule(BaseModel):
    """A minimum word count across a group of sections (e.g. 300 words of rancang bangun)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    group: str
    label: str
    min_words: int


class ProposalFormat(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    key: str = Field(pattern=r"^[a-z][a-z0-9_]{0,19}$")
    title: str
    short_title: str
    description: str
    default: bool = False
    order: int = 100
    sections: tuple[Section, ...]
    word_rules: tuple[WordRule, ...] = ()

    @model_validator(mode="after")
    def _keys_are_unique_and_references_exist(self) -> ProposalFormat:
        keys = [s.key for s in self.sections]
        if len(keys) != len(set(keys)):
            raise ValueError(f"format {self.key}: duplicate section keys")
        for section in self.sections:
            refs = [*section.optional_when, *([section.not_before] if section.not_before else [])]
            for ref in refs:
                if ref not in keys:
                    raise ValueError(f"format {self.key}: {section.key} refers to unknown {ref}")
        roles = [s.role for s in self.sections if s.role]
        if len(roles) != len(set(roles)):
            raise ValueError(f"format {self.key}: a section role declared twice")
        for rule in self.word_rules:
            if not any(s.group == rule.group for s in self.sections):
                raise ValueError(f"format {self.key}: word rule for empty group {rule.group}")
        return self

    @cached_property
    def _index(self) -> dict[str, int]:
        return {s.key: i for i, s in enumerate(self.sections)}

    def section(self, key: str) -> Section:
        return self.sections[self._index[key]]

    def by_role(self, role: SectionRole) -> Section | None:
        """The section that plays `role` (see SectionRole); None when this format has none."""
        return next((s for s in self.sections if s.role == role), None)

    def answer_for(self, role: SectionRole, answers: Mapping[str, str]) -> str | None:
        """The stored answer of the section playing `role`; None when absent or unanswered."""
        section = self.by_role(role)
        return (answers.get(section.key) or None) if section else None

    def has_section(self, key: str) -> bool:
        return key in self._index

    def index(self, key: str) -> int:
        return self._index[key]

    def next_key(self, key: str | None) -> str | None:
        """The section after `key` (the first when key is None); None after the last."""
        position = 0 if key is None else self._index[key] + 1
        return self.sections[position].key if position < len(self.sections) else None

    def previous_key(self, key: str | None) -> str | None:
        if key is None:
            return self.sections[-1].key
        position = self._index[key] - 1
        return self.sections[position].key if position >= 0 else None

    def group_sections(self, group: str) -> list[Section]:
        return [s for s in self.sections if s.group == group]

    def word_rule_for(self, section: Section) -> WordRule | None:
        return next((r for r in self.word_rules if r.group == section.group), None)


class FormatRegistry:
    """All proposal formats of this deployment, by key, in display order."""

    def __init__(self, formats: list[ProposalFormat]) -> None:
        if not formats:
            raise ValueError("no proposal formats declared")
        self._formats = {f.key: f for f in sorted(formats, key=lambda f: (f.order, f.key))}

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self._formats.values())

    def get(self, key: str) -> ProposalFormat | None:
        return self._formats.get(key)

    def __getitem__(self, key: str) -> ProposalFormat:
        return self._formats[key]

    @property
    def default(self) -> ProposalFormat:
        return next((f for f in self if f.default), next(iter(self)))

    @classmethod
    def load(cls, formats_dir: Path = FORMATS_DIR, data_dir: Path = DATA_DIR) -> FormatRegistry:
        return cls([load_format(path, data_dir) for path in sorted(formats_dir.glob("*.yaml"))])


def load_data_list(name: str, data_dir: Path = DATA_DIR) -> tuple[str, ...]:
    values = yaml.safe_load((data_dir / f"{name}.yaml").read_text(encoding="utf-8"))
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise ValueError(f"{name}.yaml must be a list of texts")
    return tuple(values)


def load_format(path: Path, data_dir: Path = DATA_DIR) -> ProposalFormat:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    for section in raw.get("sections", []):
        if section.get("options_from"):
            section["options"] = load_data_list(section["options_from"], data_dir)
        for key, values in section.get("optional_when", {}).items():
            if isinstance(values, str):
                section["optional_when"][key] = [values]
    return ProposalFormat.model_validate(raw)
