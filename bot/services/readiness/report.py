"""The readiness report of one draft ("Cek kesiapan"): filled, missing, weak, the IID score
and the next steps, as one long reply."""

from __future__ import annotations

from bot.services.drafting.routes import OpenDraft
from bot.services.formats import ProposalFormat
from bot.services.readiness.assessment import Readiness
from bot.services.readiness.routes import IndicatorChecklist
from bot.services.replies import Button, Chunk, LongReply, Outcome, keyboard


def report_outcome(draft_id: int, title: str, fmt: ProposalFormat, readiness: Readiness) -> Outcome:
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
        rows.append([Button(IndicatorChecklist(draft_id), label="indicator_checklist")])
    rows.append([Button(OpenDraft(draft_id), label="back_to_draft")])
    return Outcome(notice="readiness_checked").add(LongReply(tuple(chunks), keyboard(*rows)))
