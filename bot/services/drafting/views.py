"""A draft as the rooms see it: `DraftView`, the base of the mixins (finding a user's draft),
the flow names and the small helpers every room shares.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from bot.services.answers import display_value
from bot.services.completeness import Completeness, assess
from bot.services.context import ServiceContext
from bot.services.feature import DraftActions
from bot.services.formats import ProposalFormat
from bot.services.language import draft_name
from bot.services.replies import (
    Chunk,
    Keyboard,
    Outcome,
    Reply,
)
from models import repository as repo
from models.tables import ConversationState, Draft

DRAFT = "draft"
EDIT = "edit"
RENAME = "rename"
# The step of a draft/edit flow holding a typed question until the user says what it is; the
# text waits in the state row (data["question"]), so a restart keeps it.
QUESTION = "question"
# (session, user id, draft id, question) -> the consultation request flow, question pre-filled
AskMentor = Callable[[Session, int, int, str], Outcome]


@dataclass(frozen=True)
class DraftView:
    """A draft with its format and answers, as the templates need it."""

    draft: Draft
    fmt: ProposalFormat
    answers: dict[str, str]

    @property
    def completeness(self) -> Completeness:
        return assess(self.fmt, self.answers)

    @property
    def title(self) -> str:
        return draft_name(self.draft.title, self.answers, self.draft.id, fmt=self.fmt)

    def as_context(self) -> dict[str, Any]:
        return {
            "draft_id": self.draft.id,
            "title": self.title,
            "format": self.fmt,
            "completeness": self.completeness,
            "draft": self.draft,
        }

    def preview_chunks(self, head: Chunk) -> tuple[Chunk, ...]:
        """The whole draft to read, after `head`: every answered section in order (or a line
        saying nothing is written yet). The owner's preview and a mentor's view share it."""
        chunks = [head]
        for number, section in enumerate(self.fmt.sections, start=1):
            value = display_value(section, self.answers.get(section.key))
            if value:
                context = {"section": section, "number": number}
                chunks.append(Chunk("draft/preview_section", context, value))
        if len(chunks) == 1:
            chunks.append(Chunk("draft/preview_empty", {}))
        return tuple(chunks)


class DraftBase:
    """What every room of `DraftingService` stands on: the context and the draft views.

    The rooms call one another through `self` (starting asks the first question of answering,
    answering ends on the summary); `DraftingService` is where they meet.
    """

    ctx: ServiceContext
    ask_mentor: AskMentor | None
    draft_actions: tuple[DraftActions, ...]

    def _view(self, draft: Draft, answers: dict[str, str]) -> DraftView:
        fmt = self.ctx.formats.get(draft.format_key) or self.ctx.formats.default
        return DraftView(draft=draft, fmt=fmt, answers=answers)

    def _owned_view(self, session: Session, user_id: int, draft_id: int) -> DraftView | None:
        draft = repo.owned_draft(session, user_id, draft_id)
        if draft is None or draft.id is None:
            return None
        return self._view(draft, repo.answers_of(session, draft.id))

    def _state_view(self, session: Session, state: ConversationState) -> DraftView | None:
        if state.draft_id is None:
            return None
        view = self._owned_view(session, state.user_id, state.draft_id)
        if view is None or (state.section_key and not view.fmt.has_section(state.section_key)):
            return None
        return view


def _not_found() -> Outcome:
    return Outcome(notice="draft_not_found", notice_alert=True).add(Reply("draft/not_found"))


def _resume_key(view: DraftView) -> str | None:
    """Where "continue" takes the user: the section they stopped at, else the first
    required one still empty; None when there is nothing left to continue."""
    key = view.draft.resume_section
    if key is not None and view.fmt.has_section(key):
        return key
    missing = view.completeness.missing_required
    return missing[0].key if missing else None


def _pending_text(state: ConversationState) -> str | None:
    if state.step != QUESTION:
        return None
    question = (state.data or {}).get("question")
    return question if isinstance(question, str) else None


def _forget_question(state: ConversationState) -> None:
    if state.step == QUESTION:
        state.step = None
        state.data = {}  # a new dict: JSON columns notice only reassignment


def _with_buttons(reply: Reply, buttons: Keyboard) -> Reply:
    return Reply(reply.template, reply.context, buttons, reply.edit, reply.to)
