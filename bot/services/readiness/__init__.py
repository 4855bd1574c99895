"""How ready a draft is: complete, missing, weak, the IID evidence it can show, what to do next.

The rooms: `rules` (the data files, validated), `assessment` (the pure check and the advice
before writing a section; its docstring is the public API), `drafts` (the ticked indicators
of stored drafts), `report` and `checklist` (the replies), `service` (the feature, imported by
the composition root from there: it leads back to drafting, which imports this package).
"""

from __future__ import annotations

from bot.services.readiness.assessment import (
    Finding,
    IndicatorState,
    NextStep,
    Readiness,
    assess_readiness,
    section_advice,
    split_steps,
)
from bot.services.readiness.drafts import (
    readiness_of_draft,
    set_indicator_level,
    ticked_indicators_of,
    ticked_indicators_of_many,
)
from bot.services.readiness.rules import (
    MAX_LEVEL,
    Indicator,
    IndicatorSet,
    Rule,
    RuleSet,
    load_indicators,
    load_rules,
)

__all__ = [
    "MAX_LEVEL",
    "Finding",
    "Indicator",
    "IndicatorSet",
    "IndicatorState",
    "NextStep",
    "Readiness",
    "Rule",
    "RuleSet",
    "assess_readiness",
    "load_indicators",
    "load_rules",
    "readiness_of_draft",
    "section_advice",
    "set_indicator_level",
    "split_steps",
    "ticked_indicators_of",
    "ticked_indicators_of_many",
]
