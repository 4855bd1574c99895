"""Long texts the client split into several messages: a quick next message is joined to the
answer it continues.
"""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session

from bot.services.answers import (
    InvalidAnswer,
    clean_text,
)
from bot.services.drafting.views import (
    DRAFT,
    EDIT,
    DraftBase,
    _not_found,
)
from bot.services.formats import Section
from bot.services.replies import (
    Outcome,
    Reply,
)
from models import repository as repo
from models.tables import ConversationState, Draft

# A message this long may be the first part of a text the client split (Telegram clients split
# pastes at 4,096 characters); a quick next message is then joined to it.
SPLIT_PART_MIN_LENGTH = 3000


class Continuation(DraftBase):
    """Joining the parts of a split long text."""

    def is_continuation(self, state: ConversationState) -> bool:
        """Is a text arriving now the rest of the previous long text?"""
        if not state.last_text_target or state.last_text_at is None:
            return False
        if state.last_text_length < SPLIT_PART_MIN_LENGTH:
            return False
        window = timedelta(seconds=self.ctx.continuation_window_seconds)
        return self.ctx.now() - state.last_text_at <= window

    def append_continuation(self, session: Session, state: ConversationState, text: str) -> Outcome:
        draft_id, section_key = _parse_target(state.last_text_target or "")
        view = self._owned_view(session, state.user_id, draft_id)
        if view is None or not view.fmt.has_section(section_key):
            state.last_text_target = None
            return _not_found()
        section = view.fmt.section(section_key)
        joined = _join_parts(view.answers.get(section_key, ""), text)
        try:
            value = clean_text(section, joined)
        except InvalidAnswer as invalid:
            state.last_text_target = None
            return Outcome().add(Reply(invalid.template, {"section": section, **invalid.context}))
        repo.store_answer(
            session, view.draft, section_key, value, self.ctx.max_revisions_per_section
        )
        self._remember_text(state, view.draft, section, len(text))
        view.answers[section_key] = value
        outcome = Outcome().add(
            Reply("draft/continuation", {"section": section, "length": len(value)})
        )
        if state.flow in (DRAFT, EDIT) and state.draft_id == view.draft.id and state.section_key:
            section = view.fmt.section(state.section_key)
            return self._add_question(outcome, session, view, section, state.flow)
        return outcome

    def _remember_text(
        self, state: ConversationState, draft: Draft, section: Section, length: int
    ) -> None:
        state.last_text_at = self.ctx.now()
        state.last_text_target = f"{draft.id}:{section.key}"
        state.last_text_length = length


def _parse_target(target: str) -> tuple[int, str]:
    draft_id, _, section_key = target.partition(":")
    return (int(draft_id) if draft_id.isdigit() else 0), section_key


def _join_parts(first: str, rest: str) -> str:
    """Join the parts of a split text; clients cut at whitespace, which the cut removed."""
    if not first:
        return rest
    if first[-1].isspace() or rest[:1].isspace():
        return first + rest
    return first + " " + rest
