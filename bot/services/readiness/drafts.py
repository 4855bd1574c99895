"""The readiness of stored drafts: the IID levels an ASN ticked (stored and read in
models/readiness.py) assessed against the draft's answers."""

from __future__ import annotations

from sqlmodel import Session

from bot.services.formats import ProposalFormat
from bot.services.readiness.assessment import Readiness, assess_readiness
from models import repository as repo
from models.readiness import set_indicator_level, ticked_indicators_of, ticked_indicators_of_many

__all__ = [
    "readiness_of_draft",
    "set_indicator_level",
    "ticked_indicators_of",
    "ticked_indicators_of_many",
]


def readiness_of_draft(session: Session, fmt: ProposalFormat, draft_id: int) -> Readiness:
    return assess_readiness(
        fmt, repo.answers_of(session, draft_id), ticked_indicators_of(session, draft_id)
    )
