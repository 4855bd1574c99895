"""The ASN's side of competitions: /tenggat (the deadlines that concern them), following a
competition and muting its reminders (one competition, or all)."""

from __future__ import annotations

from sqlmodel import Session

from bot.services.competitions.routes import (
    FollowableCompetitions,
    MuteAll,
    MuteCompetition,
    ToggleFollow,
    UnmuteAll,
    UnmuteCompetition,
    UpcomingDeadlines,
)
from bot.services.context import ServiceContext
from bot.services.deadlines import days_left
from bot.services.replies import Button, Outcome, Reply, keyboard
from bot.services.textutil import shorten
from models.competitions import (
    Competition,
    Follow,
    ReminderMute,
    competitions_by_id,
    competitions_by_name,
    follow_of,
    followed_competitions,
    mute_of,
    muted_competitions,
    open_competition_ids,
    relevant_competitions,
    upcoming_stages,
)

ALL = 0  # ReminderMute.competition_id meaning "every competition"
LIST_MAX = 30  # competitions listed with follow/mute buttons


class Following:
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    def upcoming(self, session: Session, user_id: int, edit: bool = False) -> Outcome:
        """Upcoming deadlines of the competitions this user follows or has drafts in."""
        now = self.ctx.now()
        competition_ids = relevant_competitions(session, user_id)
        stages = upcoming_stages(session, competition_ids, now)
        competitions = competitions_by_id(session, competition_ids)
        muted = muted_competitions(session, user_id)
        rows = [
            {
                "stage": s,
                "competition": competitions[s.competition_id],
                "days": days_left(s.deadline_at, now, self.ctx.tz),
                "muted": ALL in muted or s.competition_id in muted,
            }
            for s in stages
        ]
        mute_all = (
            Button(UnmuteAll(), label="unmute_all")
            if ALL in muted
            else Button(MuteAll(), label="mute_all")
        )
        buttons = keyboard(
            [Button(FollowableCompetitions(), label="follow_competitions")], [mute_all]
        )
        context = {"rows": rows, "all_muted": ALL in muted}
        return Outcome().add(Reply("tenggat/upcoming", context, buttons, edit=edit))

    def competition_list(self, session: Session, user_id: int) -> Outcome:
        """The competitions still open, each with its follow and mute button."""
        open_ids = open_competition_ids(session, self.ctx.now())
        competitions = [c for c in competitions_by_name(session) if c.id in open_ids]
        followed = followed_competitions(session, user_id)
        muted = muted_competitions(session, user_id)
        rows = []
        for c in competitions[:LIST_MAX]:
            assert c.id is not None
            follow_label = "unfollow" if c.id in followed else "follow"
            mute = (
                Button(UnmuteCompetition(c.id), label="unmute")
                if c.id in muted
                else Button(MuteCompetition(c.id), label="mute")
            )
            name = {"name": shorten(c.name, 35)}
            rows.append((Button(ToggleFollow(c.id), label=follow_label, params=name), mute))
        rows.append((Button(UpcomingDeadlines(), label="back_to_deadlines"),))
        context = {"competitions": competitions, "followed": followed}
        return Outcome().add(Reply("tenggat/competitions", context, tuple(rows), edit=True))

    def toggle_follow(self, session: Session, user_id: int, competition_id: int) -> Outcome:
        if session.get(Competition, competition_id) is None:
            return Outcome(notice="not_found", notice_alert=True)
        follow = follow_of(session, user_id, competition_id)
        if follow is None:
            session.add(Follow(user_id=user_id, competition_id=competition_id))
            notice = "followed"
        else:
            session.delete(follow)
            notice = "unfollowed"
        session.flush()
        outcome = self.competition_list(session, user_id)
        outcome.notice = notice
        return outcome

    def set_mute(self, session: Session, user_id: int, competition_id: int, mute: bool) -> Outcome:
        """Mute or unmute one competition's reminders (`ALL`: every competition's)."""
        if competition_id != ALL and session.get(Competition, competition_id) is None:
            return Outcome(notice="not_found", notice_alert=True)
        existing = mute_of(session, user_id, competition_id)
        if mute and existing is None:
            session.add(ReminderMute(user_id=user_id, competition_id=competition_id))
        if not mute and existing is not None:
            session.delete(existing)
        session.flush()
        context = {
            "all": competition_id == ALL,
            "muted": mute,
            "competition": session.get(Competition, competition_id) if competition_id else None,
        }
        return Outcome(notice="muted" if mute else "unmuted").add(
            Reply("tenggat/mute_changed", context)
        )
