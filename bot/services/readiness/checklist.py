"""The IID evidence checklist of one draft: the list of indicators with their ticked levels,
and one indicator with the level buttons."""

from __future__ import annotations

from bot.services.drafting.routes import OpenDraft
from bot.services.formats import ProposalFormat
from bot.services.readiness.assessment import Readiness
from bot.services.readiness.routes import (
    IndicatorChecklist,
    OpenIndicator,
    ReadinessReport,
    SetIndicatorLevel,
)
from bot.services.readiness.rules import MAX_LEVEL
from bot.services.replies import Button, Outcome, Reply, keyboard, one_per_row


def checklist_outcome(
    draft_id: int,
    title: str,
    fmt: ProposalFormat,
    readiness: Readiness,
    notice: str | None = None,
) -> Outcome:
    back = Button(OpenDraft(draft_id), label="back_to_draft")
    context = {"draft_id": draft_id, "title": title, "format": fmt, "r": readiness}
    if not readiness.has_checklist:
        return Outcome().add(
            Reply("ready/checklist_not_applicable", context, keyboard([back]), edit=True)
        )
    buttons = [
        Button(
            OpenIndicator(draft_id, number),
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
        (Button(ReadinessReport(draft_id), label="readiness_result"), back),
    ]
    return Outcome(notice=notice).add(Reply("ready/checklist", context, keyboard(*rows), edit=True))


def indicator_outcome(
    draft_id: int, title: str, fmt: ProposalFormat, readiness: Readiness, number: int
) -> Outcome:
    """One indicator (by its position in the checklist) with a button per level."""
    if not 0 <= number < len(readiness.indicators):
        return Outcome(notice="stale_button", notice_alert=True)
    state = readiness.indicators[number]
    levels = [
        Button(
            SetIndicatorLevel(draft_id, number, level),
            label="indicator_level_current" if level == state.level else "indicator_level",
            params={"level": level},
        )
        for level in range(1, MAX_LEVEL + 1)
    ]
    rows = [
        levels,
        [Button(SetIndicatorLevel(draft_id, number, 0), label="indicator_none")],
        [Button(IndicatorChecklist(draft_id), label="back_to_checklist")],
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
