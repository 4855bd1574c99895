"""A draft's competitions (from the opened draft): enter it in one, take it out, mark it
submitted (reminders for that competition stop). Only the draft's owner may."""

from __future__ import annotations

from typing import Literal

from sqlmodel import Session

from bot.services.competitions.routes import LinkDraft, ToggleSubmitted, UnlinkDraft
from bot.services.context import ServiceContext
from bot.services.drafting.routes import OpenDraft
from bot.services.replies import Button, Outcome, Reply
from bot.services.textutil import shorten
from models import repository as repo
from models.competitions import (
    Competition,
    DraftLink,
    competitions_by_name,
    link_of,
    links_of_draft,
    open_competition_ids,
)

LinkChange = Literal["link", "unlink", "toggle_submitted"]
LIST_MAX = 25  # competitions listed with their buttons


class DraftLinks:
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    def show(self, session: Session, user_id: int, draft_id: int) -> Outcome:
        """The open competitions and those the draft is in, each with its buttons."""
        if repo.owned_draft(session, user_id, draft_id) is None:
            return _draft_not_found()
        links = links_of_draft(session, draft_id)
        open_ids = open_competition_ids(session, self.ctx.now())
        competitions = [
            c for c in competitions_by_name(session) if c.id in open_ids or c.id in links
        ]
        rows = [_buttons(draft_id, c, links.get(c.id)) for c in competitions[:LIST_MAX]]
        rows.append((Button(OpenDraft(draft_id), label="back_to_draft"),))
        context = {"draft_id": draft_id, "competitions": competitions, "links": links}
        return Outcome().add(Reply("tenggat/draft_links", context, tuple(rows), edit=True))

    def change(
        self,
        session: Session,
        user_id: int,
        change: LinkChange,
        draft_id: int,
        competition_id: int,
    ) -> Outcome:
        if repo.owned_draft(session, user_id, draft_id) is None:
            return _draft_not_found()
        if session.get(Competition, competition_id) is None:
            return Outcome(notice="not_found", notice_alert=True)
        link = link_of(session, draft_id, competition_id)
        if change == "link" and link is None:
            session.add(DraftLink(draft_id=draft_id, competition_id=competition_id))
        elif change == "unlink" and link is not None:
            session.delete(link)
        elif change == "toggle_submitted" and link is not None:
            link.submitted_at = None if link.submitted_at else self.ctx.now()
            session.add(link)
        session.flush()
        outcome = self.show(session, user_id, draft_id)
        outcome.notice = "saved"
        return outcome


def _buttons(draft_id: int, competition: Competition, link: DraftLink | None) -> tuple:
    assert competition.id is not None
    if link is None:
        name = {"name": shorten(competition.name, 40)}
        return (Button(LinkDraft(draft_id, competition.id), label="link_draft", params=name),)
    label = "unmark_submitted" if link.submitted_at else "mark_submitted"
    name = {"name": shorten(competition.name, 30)}
    return (
        Button(ToggleSubmitted(draft_id, competition.id), label=label, params=name),
        Button(UnlinkDraft(draft_id, competition.id), label="unlink_draft"),
    )


def _draft_not_found() -> Outcome:
    return Outcome(notice="draft_not_found", notice_alert=True).add(Reply("draft/not_found"))
