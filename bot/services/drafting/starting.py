"""Starting a draft: choosing its format, creating it, the list of one's drafts, opening and
resuming one.
"""

from __future__ import annotations

from sqlmodel import Session

from bot.services.drafting.routes import (
    ListDrafts,
    NewDraft,
    OpenDraft,
)
from bot.services.drafting.views import (
    DRAFT,
    DraftBase,
    _not_found,
    _resume_key,
)
from bot.services.replies import (
    Button,
    Outcome,
    Reply,
    keyboard,
    one_per_row,
)
from bot.services.textutil import shorten
from models import repository as repo
from models.tables import Draft

DRAFTS_PER_PAGE = 8


class Starting(DraftBase):
    """Choosing a format, creating, listing, opening and resuming drafts."""

    def choose_format(self, session: Session, user_id: int) -> Outcome:
        repo.clear_flow(repo.get_state(session, user_id))
        if full := self._drafts_full(session, user_id):
            return full
        buttons = [Button(NewDraft(f.key), text=f.title) for f in self.ctx.formats]
        return Outcome().add(
            Reply("draft/choose_format", {"formats": list(self.ctx.formats)}, one_per_row(buttons))
        )

    def create(self, session: Session, user_id: int, format_key: str) -> Outcome:
        fmt = self.ctx.formats.get(format_key)
        if fmt is None:
            return Outcome(notice="stale_button", notice_alert=True)
        if full := self._drafts_full(session, user_id):
            return full
        draft = Draft(owner_id=user_id, format_key=fmt.key, resume_section=fmt.sections[0].key)
        session.add(draft)
        session.flush()
        state = repo.get_state(session, user_id)
        outcome = Outcome().add(
            Reply("draft/created", {"format": fmt, "sections": len(fmt.sections)}, edit=True)
        )
        view = self._view(draft, {})  # a new draft has no answers yet
        return self._ask(session, state, view, fmt.sections[0].key, DRAFT, outcome)

    def list_drafts(
        self, session: Session, user_id: int, page: int = 0, edit: bool = False
    ) -> Outcome:
        repo.clear_flow(repo.get_state(session, user_id))
        drafts = repo.drafts_of(session, user_id)
        pages = max(1, -(-len(drafts) // DRAFTS_PER_PAGE))
        page = min(max(page, 0), pages - 1)
        shown = drafts[page * DRAFTS_PER_PAGE : (page + 1) * DRAFTS_PER_PAGE]
        answers = repo.answers_of_many(session, [d.id for d in shown if d.id is not None])
        views = [self._view(d, answers[d.id]) for d in shown if d.id is not None]
        buttons = [Button(OpenDraft(v.draft.id), text=shorten(v.title, 40)) for v in views]
        nav = []
        if page > 0:
            nav.append(Button(ListDrafts(page - 1), label="previous_page"))
        if page + 1 < pages:
            nav.append(Button(ListDrafts(page + 1), label="next_page"))
        rows = [*one_per_row(buttons), tuple(nav), (Button(NewDraft(), label="new_draft"),)]
        context = {
            "views": views,
            "page": page + 1,
            "pages": pages,
            "total": len(drafts),
            "offset": page * DRAFTS_PER_PAGE,
        }
        return Outcome().add(Reply("draft/list", context, keyboard(*rows), edit=edit))

    def open(self, session: Session, user_id: int, draft_id: int, edit: bool = True) -> Outcome:
        view = self._owned_view(session, user_id, draft_id)
        if view is None:
            return _not_found()
        return Outcome().add(self._summary(view, edit=edit))

    def resume(self, session: Session, user_id: int, draft_id: int) -> Outcome:
        view = self._owned_view(session, user_id, draft_id)
        if view is None:
            return _not_found()
        key = _resume_key(view)
        if key is None:
            return Outcome().add(self._summary(view, notice_template="draft/all_filled"))
        state = repo.get_state(session, user_id)
        return self._ask(session, state, view, key, DRAFT, Outcome())

    def _drafts_full(self, session: Session, user_id: int) -> Outcome | None:
        """The answer for a user who may not start another draft (bot/services/limits.py)."""
        count = repo.count_drafts_of(session, user_id)
        if count < self.ctx.max_drafts_per_user:
            return None
        buttons = keyboard([Button(ListDrafts(0), label="my_drafts")])
        return Outcome().add(Reply("draft/limit_reached", {"count": count}, buttons))
