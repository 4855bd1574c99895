"""An opened draft: its summary and buttons, the edit menu, the preview, renaming and deleting."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from bot.services.drafting.routes import (
    AskRename,
    ChooseSectionToEdit,
    ConfirmDelete,
    ContinueDraft,
    DeleteDraft,
    EditSection,
    ListDrafts,
    OpenDraft,
    PreviewDraft,
)
from bot.services.drafting.views import (
    EDIT,
    RENAME,
    DraftBase,
    DraftView,
    _not_found,
    _resume_key,
)
from bot.services.replies import (
    Button,
    Chunk,
    Keyboard,
    LongReply,
    Outcome,
    Reply,
    in_rows,
    keyboard,
    one_per_row,
)
from bot.services.textutil import shorten
from models import repository as repo
from models.tables import ConversationState

TITLE_MIN, TITLE_MAX = 3, 150


class Summary(DraftBase):
    """The summary of a draft and what can be done with it from there."""

    def _summary(
        self, view: DraftView, edit: bool = False, notice_template: str | None = None, **extra: Any
    ) -> Reply:
        context = {
            **view.as_context(),
            "notice_template": notice_template,
            "created": view.draft.created_at.astimezone(self.ctx.tz),
            "updated": view.draft.updated_at.astimezone(self.ctx.tz),
            "resume": view.fmt.section(view.draft.resume_section)
            if view.draft.resume_section and view.fmt.has_section(view.draft.resume_section)
            else None,
            **extra,
        }
        return Reply("draft/summary", context, self._summary_buttons(view), edit=edit)

    def _summary_buttons(self, view: DraftView) -> Keyboard:
        draft_id = view.draft.id
        first = [Button(ChooseSectionToEdit(draft_id), label="edit_section")]
        if _resume_key(view) is not None:  # nothing left to continue on a complete draft
            first.insert(0, Button(ContinueDraft(draft_id), label="continue_draft"))
        offered = [button for actions in self.draft_actions for button in actions(draft_id)]
        return keyboard(
            first,
            [
                Button(PreviewDraft(draft_id), label="preview"),
                Button(AskRename(draft_id), label="rename"),
            ],
            *in_rows(offered, 2),
            [
                Button(ConfirmDelete(draft_id), label="delete"),
                Button(ListDrafts(0), label="my_drafts"),
            ],
        )

    def edit_menu(self, session: Session, user_id: int, draft_id: int) -> Outcome:
        view = self._owned_view(session, user_id, draft_id)
        if view is None:
            return _not_found()
        buttons = [
            Button(
                EditSection(draft_id, i),
                label="section_filled" if view.answers.get(s.key) else "section_empty",
                params={"number": i + 1, "title": shorten(s.title, 40)},
            )
            for i, s in enumerate(view.fmt.sections)
        ]
        rows = [*one_per_row(buttons), (Button(OpenDraft(draft_id), label="back_to_draft"),)]
        return Outcome().add(
            Reply("draft/edit_menu", view.as_context(), keyboard(*rows), edit=True)
        )

    def edit_section(self, session: Session, user_id: int, draft_id: int, index: int) -> Outcome:
        view = self._owned_view(session, user_id, draft_id)
        if view is None or not 0 <= index < len(view.fmt.sections):
            return _not_found()
        state = repo.get_state(session, user_id)
        return self._ask(session, state, view, view.fmt.sections[index].key, EDIT, Outcome())

    def preview(self, session: Session, user_id: int, draft_id: int) -> Outcome:
        view = self._owned_view(session, user_id, draft_id)
        if view is None:
            return _not_found()
        chunks = view.preview_chunks(Chunk("draft/preview_head", view.as_context()))
        buttons = keyboard([Button(OpenDraft(draft_id), label="back_to_draft")])
        return Outcome(notice="preview_sent").add(LongReply(chunks, buttons))

    def ask_rename(self, session: Session, user_id: int, draft_id: int) -> Outcome:
        view = self._owned_view(session, user_id, draft_id)
        if view is None:
            return _not_found()
        repo.set_flow(repo.get_state(session, user_id), RENAME, draft_id=draft_id)
        return Outcome().add(Reply("draft/rename_ask", view.as_context()))

    def rename(self, session: Session, state: ConversationState, text: str) -> Outcome:
        view = self._state_view(session, state)
        if view is None:
            repo.clear_flow(state)
            return _not_found()
        title = " ".join(text.split())
        if not TITLE_MIN <= len(title) <= TITLE_MAX:
            return Outcome().add(
                Reply("draft/rename_invalid", {"minimum": TITLE_MIN, "maximum": TITLE_MAX})
            )
        view.draft.title = title
        view.draft.updated_at = self.ctx.now()
        session.add(view.draft)
        repo.clear_flow(state)
        return Outcome().add(self._summary(view, notice_template="draft/renamed"))

    def confirm_delete(self, session: Session, user_id: int, draft_id: int) -> Outcome:
        view = self._owned_view(session, user_id, draft_id)
        if view is None:
            return _not_found()
        buttons = keyboard(
            [
                Button(DeleteDraft(draft_id), label="confirm_delete"),
                Button(OpenDraft(draft_id), label="cancel_delete"),
            ]
        )
        return Outcome().add(Reply("draft/delete_confirm", view.as_context(), buttons, edit=True))

    def delete(self, session: Session, user_id: int, draft_id: int) -> Outcome:
        view = self._owned_view(session, user_id, draft_id)
        if view is None:
            return _not_found()
        state = repo.get_state(session, user_id)
        if state.draft_id == draft_id:
            repo.clear_flow(state)
        if state.last_text_target and state.last_text_target.startswith(f"{draft_id}:"):
            state.last_text_target = None
        title = view.title
        repo.delete_draft(session, view.draft)
        buttons = keyboard([Button(ListDrafts(0), label="my_drafts")])
        return Outcome(notice="deleted").add(
            Reply("draft/deleted", {"title": title}, buttons, edit=True)
        )
