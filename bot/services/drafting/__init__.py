"""The proposal-drafting conversation: one section at a time, every answer saved at once.

State lives in `conversation_states` (flow "draft" while walking the sections in order, "edit"
while replacing one section, "rename" while waiting for a new title). Each public method is one
transaction: the answer and the user's new place are committed together.

The rooms (each a mixin of `DraftingService`, all on `views.DraftBase`; none imports this
package, so there is no cycle):

    routes.py            every d: button (and "n", "a"), as typed routes
    starting.py          choosing a format, creating, the list of drafts, opening, resuming
    answering.py         the flow of answers: questions, saving, skip/back, choice pages
    question_choices.py  a question typed where an answer was expected
    continuation.py      joining the parts of a long text the client split
    summary.py           the summary, the edit menu, preview, rename, delete
    views.py             DraftView, the base of the rooms, flow names, small helpers
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import Session

from bot.services.context import ServiceContext
from bot.services.drafting.answering import Answering
from bot.services.drafting.continuation import SPLIT_PART_MIN_LENGTH, Continuation
from bot.services.drafting.question_choices import QuestionChoices
from bot.services.drafting.routes import (
    AskMentorAboutQuestion,
    AskRename,
    ChoicePage,
    ChooseOption,
    ChooseSectionToEdit,
    ConfirmDelete,
    ContinueDraft,
    DeleteDraft,
    EditSection,
    ListDrafts,
    NewDraft,
    OpenDraft,
    PreviewDraft,
    SaveQuestionAsAnswer,
    ShowGuidance,
)
from bot.services.drafting.starting import Starting
from bot.services.drafting.summary import Summary
from bot.services.drafting.views import (
    DRAFT,
    EDIT,
    QUESTION,
    RENAME,
    AskMentor,
    DraftBase,
    DraftView,
)
from bot.services.feature import DraftActions, Feature, RouteHandler
from bot.services.replies import Outcome
from models import repository as repo

__all__ = [
    "DRAFT",
    "EDIT",
    "QUESTION",
    "RENAME",
    "SPLIT_PART_MIN_LENGTH",
    "AskMentor",
    "DraftView",
    "DraftingService",
]


class DraftingService(Starting, Answering, QuestionChoices, Continuation, Summary, DraftBase):
    """The drafting feature, assembled from its rooms."""

    def __init__(
        self,
        ctx: ServiceContext,
        ask_mentor: AskMentor | None = None,
        draft_actions: Sequence[DraftActions] = (),
    ) -> None:
        self.ctx = ctx
        # Set by the composition root when consultations run: "ask a mentor" about a question.
        self.ask_mentor = ask_mentor
        # What other features offer on an opened draft (their Feature.draft_actions).
        self.draft_actions = tuple(draft_actions)

    def feature(self) -> Feature:
        return Feature(
            name="drafting",
            service=self,
            commands={
                "ide": lambda s, st, a: self.choose_format(s, st.user_id),
                "draf": lambda s, st, a: self.list_drafts(s, st.user_id),
                "lewati": lambda s, st, a: self.skip(s, st),
                "kembali": lambda s, st, a: self.back(s, st),
            },
            routes={
                NewDraft: self._new,
                ChooseOption: lambda s, u, r: self.on_choice(s, u, r.draft_id, r.index, r.option),
                ListDrafts: lambda s, u, r: self.list_drafts(s, u, r.page, edit=True),
                OpenDraft: self._open_pressed,
                ContinueDraft: lambda s, u, r: self.resume(s, u, r.draft_id),
                ChooseSectionToEdit: lambda s, u, r: self.edit_menu(s, u, r.draft_id),
                EditSection: lambda s, u, r: self.edit_section(s, u, r.draft_id, r.index),
                PreviewDraft: lambda s, u, r: self.preview(s, u, r.draft_id),
                AskRename: lambda s, u, r: self.ask_rename(s, u, r.draft_id),
                ConfirmDelete: lambda s, u, r: self.confirm_delete(s, u, r.draft_id),
                DeleteDraft: lambda s, u, r: self.delete(s, u, r.draft_id),
                ChoicePage: lambda s, u, r: self.choice_page(s, u, r.draft_id, r.index, r.page),
                SaveQuestionAsAnswer: self._question_choice("qs"),
                ShowGuidance: self._question_choice("qg"),
                AskMentorAboutQuestion: self._question_choice("qm"),
            },
            text_flows={DRAFT: self.on_text, EDIT: self.on_text, RENAME: self.rename},
            cancel_flows={
                flow: lambda s, st, a: self.pause(s, st) for flow in (DRAFT, EDIT, RENAME)
            },
            before_text=lambda s, st, text: (
                self.append_continuation(s, st, text) if self.is_continuation(st) else None
            ),
            on_redelivery=self.ask_again,
            awaited=self.awaited_section,
        )

    def _new(self, session: Session, user_id: int, route: NewDraft) -> Outcome:
        if not route.format_key:
            return self.choose_format(session, user_id)
        return self.create(session, user_id, route.format_key)

    def _open_pressed(self, session: Session, user_id: int, route: OpenDraft) -> Outcome:
        # Opening a draft from a button leaves whatever flow the user was in.
        repo.clear_flow(repo.get_state(session, user_id))
        return self.open(session, user_id, route.draft_id)

    def _question_choice(self, action: str) -> RouteHandler:
        def handle(session: Session, user_id: int, route: SaveQuestionAsAnswer) -> Outcome:
            draft_id, index, token = route.draft_id, route.index, route.token
            return self.on_question_choice(session, user_id, action, draft_id, index, token)

        return handle
