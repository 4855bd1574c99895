"""The readiness feature: "Cek kesiapan" on an opened draft, and the IID evidence checklist.

Imported by the composition root (bot/services/features.py) from here, not from the package,
because it leads back to drafting's routes and drafting imports the package's advice."""

from __future__ import annotations

from sqlmodel import Session

from bot.services.context import ServiceContext
from bot.services.feature import Feature
from bot.services.formats import ProposalFormat
from bot.services.language import draft_name
from bot.services.readiness.assessment import Readiness, assess_readiness
from bot.services.readiness.checklist import checklist_outcome, indicator_outcome
from bot.services.readiness.drafts import set_indicator_level, ticked_indicators_of
from bot.services.readiness.report import report_outcome
from bot.services.readiness.routes import (
    IndicatorChecklist,
    OpenIndicator,
    ReadinessReport,
    SetIndicatorLevel,
)
from bot.services.readiness.rules import MAX_LEVEL
from bot.services.replies import Button, Outcome, Reply
from models import repository as repo


class ReadinessService:
    """The report, the checklist, one indicator and setting its level (routes in
    readiness/routes.py). Every call re-checks that the draft is the caller's own."""

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    def feature(self) -> Feature:
        return Feature(
            name="readiness",
            service=self,
            routes={
                ReadinessReport: lambda s, u, r: self.report(s, u, r.draft_id),
                IndicatorChecklist: lambda s, u, r: self.checklist(s, u, r.draft_id),
                OpenIndicator: lambda s, u, r: self.indicator(s, u, r.draft_id, r.number),
                SetIndicatorLevel: lambda s, u, r: self.set_level(
                    s, u, r.draft_id, r.number, r.level
                ),
            },
            draft_actions=lambda draft_id: [
                Button(ReadinessReport(draft_id), label="check_readiness")
            ],
        )

    def report(self, session: Session, user_id: int, draft_id: int) -> Outcome:
        found = self._owned(session, user_id, draft_id)
        if found is None:
            return _not_found()
        fmt, readiness, title = found
        return report_outcome(draft_id, title, fmt, readiness)

    def checklist(
        self, session: Session, user_id: int, draft_id: int, notice: str | None = None
    ) -> Outcome:
        found = self._owned(session, user_id, draft_id)
        if found is None:
            return _not_found()
        fmt, readiness, title = found
        return checklist_outcome(draft_id, title, fmt, readiness, notice)

    def indicator(self, session: Session, user_id: int, draft_id: int, number: int) -> Outcome:
        found = self._owned(session, user_id, draft_id)
        if found is None:
            return _not_found()
        fmt, readiness, title = found
        return indicator_outcome(draft_id, title, fmt, readiness, number)

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
        set_indicator_level(session, draft_id, key, level, self.ctx.now())
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
        return fmt, readiness, draft_name(draft.title, answers, draft.id, fmt=fmt)


def _not_found() -> Outcome:
    return Outcome(notice="draft_not_found", notice_alert=True).add(Reply("draft/not_found"))
