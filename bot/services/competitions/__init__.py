"""Competitions and their deadlines: admins define them (/lomba), ASN follow them, link drafts
to them and see what is due (/tenggat)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, func
from sqlmodel import Session, col, select

from bot.services.competitions.routes import CompetitionsOfDraft
from bot.services.context import ServiceContext
from bot.services.deadlines import DeadlineError, days_left, parse_deadline
from bot.services.feature import Feature
from bot.services.replies import Button, Outcome, Reply, keyboard, one_per_row
from bot.services.textutil import shorten, with_year
from models import repository as repo
from models.competitions import (
    Competition,
    DraftLink,
    Follow,
    ReminderDelivery,
    ReminderMute,
    Stage,
)
from models.tables import ConversationState, Draft

LEVELS = ("Kabupaten/Kota", "Provinsi", "Nasional")
NEW_COMPETITION = "lomba_new"
EDIT_DEADLINE = "lomba_deadline"
ADD_STAGE = "lomba_stage"
ALL = 0  # ReminderMute.competition_id meaning "every competition"
SCHEDULE = "reminders"  # the scheduler source to rebuild after a change


class CompetitionService:
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    def feature(self) -> Feature:
        return Feature(
            name="competitions",
            service=self,
            commands={
                "lomba": lambda s, st, a: self.admin_menu(s, st.user_id),
                "tenggat": lambda s, st, a: self.upcoming(s, st.user_id),
            },
            callbacks={"l": self._admin_callback, "t": self._user_callback},
            text_flows={
                NEW_COMPETITION: self._on_new_text,
                EDIT_DEADLINE: self._on_deadline_text,
                ADD_STAGE: self._on_new_text,
            },
            draft_actions=lambda draft_id: [
                Button(CompetitionsOfDraft(draft_id), label="competitions_of_draft")
            ],
        )

    # ---- admin: /lomba ------------------------------------------------------------------------

    def admin_menu(self, session: Session, user_id: int, edit: bool = False) -> Outcome:
        if not self.ctx.is_admin(user_id):
            return _forbidden()
        repo.clear_flow(repo.get_state(session, user_id))
        competitions = list(
            session.exec(
                select(Competition).order_by(col(Competition.year).desc(), col(Competition.name))
            )
        )
        buttons = [
            Button(data=f"l:o:{c.id}", text=with_year(c.name, c.year)) for c in competitions[:30]
        ]
        rows = [*one_per_row(buttons), (Button(data="l:n", label="competition_new"),)]
        context = {"competitions": competitions}
        return Outcome().add(Reply("lomba/menu", context, keyboard(*rows), edit=edit))

    def _admin_callback(self, session: Session, user_id: int, parts: list[str]) -> Outcome:
        if not self.ctx.is_admin(user_id):
            return _forbidden()
        action, args = parts[0], [int(p) for p in parts[1:]]
        state = repo.get_state(session, user_id)
        if action == "m":
            return self.admin_menu(session, user_id, edit=True)
        if action == "n":
            repo.set_flow(state, NEW_COMPETITION, step="name", data={"stages": []})
            return Outcome().add(Reply("lomba/ask_name"))
        if action == "lv":
            return self._take_level(session, state, args[0])
        if action in ("more", "done"):
            return self._more_or_done(session, state, action == "done")
        if action == "o":
            return self._show(session, args[0])
        if action == "e":
            return self._ask_deadline(session, state, args[0])
        if action == "as":
            return self._ask_stage(session, state, args[0])
        if action == "x":
            return self._confirm_delete(session, args[0])
        if action == "xx":
            return self._delete(session, args[0])
        raise ValueError(action)

    def _on_new_text(self, session: Session, state: ConversationState, text: str) -> Outcome:
        if not self.ctx.is_admin(state.user_id):
            repo.clear_flow(state)
            return _forbidden()
        value = " ".join(text.split())
        data = dict(state.data)
        step = state.step
        if step in ("name", "organiser", "stage_name") and not 3 <= len(value) <= 200:
            return Outcome().add(Reply("lomba/invalid_text", {"minimum": 3, "maximum": 200}))
        if step == "name":
            data["name"] = value
            return self._next(state, data, "organiser", Reply("lomba/ask_organiser"))
        if step == "organiser":
            data["organiser"] = value
            buttons = [Button(data=f"l:lv:{i}", text=level) for i, level in enumerate(LEVELS)]
            return self._next(
                state, data, "level", Reply("lomba/ask_level", {}, one_per_row(buttons))
            )
        if step == "year":
            this_year = self.ctx.today().year
            if not value.isdigit() or not this_year - 1 <= int(value) <= this_year + 5:
                return Outcome().add(Reply("lomba/invalid_year", {"year": this_year}))
            data["year"] = int(value)
            return self._next(state, data, "stage_name", Reply("lomba/ask_stage_name"))
        if step == "stage_name":
            data["stage_name"] = value
            return self._next(
                state, data, "stage_deadline", Reply("lomba/ask_deadline", {"stage": value})
            )
        if step == "stage_deadline":
            return self._take_stage_deadline(session, state, data, text)
        return Outcome().add(Reply("lomba/use_buttons"))

    def _next(
        self, state: ConversationState, data: dict[str, Any], step: str, reply: Reply
    ) -> Outcome:
        # Each answer is kept in the state row at once: a restart resumes at the same step.
        repo.set_flow(state, state.flow, step=step, draft_id=None, data=data)
        return Outcome().add(reply)

    def _take_level(self, session: Session, state: ConversationState, index: int) -> Outcome:
        if state.flow != NEW_COMPETITION or state.step != "level":
            return Outcome(notice="stale_button", notice_alert=True)
        data = {**state.data, "level": LEVELS[index]}
        outcome = self._next(
            state, data, "year", Reply("lomba/ask_year", {"year": self.ctx.today().year})
        )
        outcome.replies.insert(0, Reply("lomba/level_chosen", {"level": LEVELS[index]}, edit=True))
        return outcome

    def _take_stage_deadline(
        self, session: Session, state: ConversationState, data: dict[str, Any], text: str
    ) -> Outcome:
        try:
            deadline = parse_deadline(text, self.ctx.tz)
        except DeadlineError:
            return Outcome().add(Reply("lomba/invalid_deadline", {"text": text.strip()[:80]}))
        if deadline <= self.ctx.now():
            return Outcome().add(Reply("lomba/deadline_past"))
        if state.flow == ADD_STAGE:
            return self._add_stage(
                session, state, data["competition_id"], data["stage_name"], deadline
            )
        stages = [
            *data.get("stages", []),
            {"name": data.pop("stage_name"), "deadline": deadline.isoformat()},
        ]
        data["stages"] = stages
        buttons = keyboard(
            [
                Button(data="l:more", label="stage_more"),
                Button(data="l:done", label="competition_save"),
            ]
        )
        summary = {"data": data, "stages": _stage_views(stages, self.ctx)}
        return self._next(state, data, "more", Reply("lomba/draft_summary", summary, buttons))

    def _more_or_done(self, session: Session, state: ConversationState, done: bool) -> Outcome:
        if state.flow != NEW_COMPETITION or state.step != "more":
            return Outcome(notice="stale_button", notice_alert=True)
        data = dict(state.data)
        if not done:
            return self._next(state, data, "stage_name", Reply("lomba/ask_stage_name"))
        competition = Competition(
            name=data["name"], organiser=data["organiser"], level=data["level"], year=data["year"]
        )
        session.add(competition)
        session.flush()
        for stage in data["stages"]:
            session.add(
                Stage(
                    competition_id=competition.id,
                    name=stage["name"],
                    deadline_at=datetime.fromisoformat(stage["deadline"]),
                )
            )
        repo.clear_flow(state)
        outcome = Outcome(notice="saved", rebuild=(SCHEDULE,))
        outcome.add(Reply("lomba/saved", {"competition": competition}, edit=True))
        return outcome.add(self._details(session, competition))

    def _show(self, session: Session, competition_id: int) -> Outcome:
        competition = session.get(Competition, competition_id)
        if competition is None:
            return Outcome(notice="not_found", notice_alert=True)
        details = self._details(session, competition)
        return Outcome().add(Reply(details.template, details.context, details.buttons, edit=True))

    def _details(self, session: Session, competition: Competition) -> Reply:
        stages = stages_of(session, competition.id)
        linked = session.exec(
            select(func.count()).where(DraftLink.competition_id == competition.id)
        ).one()
        followers = session.exec(
            select(func.count()).where(Follow.competition_id == competition.id)
        ).one()
        buttons = [
            Button(data=f"l:e:{s.id}", label="deadline_edit", params={"stage": shorten(s.name, 40)})
            for s in stages
        ]
        rows = [
            *one_per_row(buttons),
            (
                Button(data=f"l:as:{competition.id}", label="stage_add"),
                Button(data=f"l:x:{competition.id}", label="competition_delete"),
            ),
            (Button(data="l:m", label="competition_list"),),
        ]
        context = {
            "competition": competition,
            "stages": self._stage_rows(stages),
            "linked": linked,
            "followers": followers,
        }
        return Reply("lomba/details", context, keyboard(*rows))

    def _ask_deadline(self, session: Session, state: ConversationState, stage_id: int) -> Outcome:
        stage = session.get(Stage, stage_id)
        if stage is None:
            return Outcome(notice="not_found", notice_alert=True)
        repo.set_flow(state, EDIT_DEADLINE, data={"stage_id": stage_id})
        context = {"stage": stage.name, "current": stage.deadline_at}
        return Outcome().add(Reply("lomba/ask_deadline", context))

    def _on_deadline_text(self, session: Session, state: ConversationState, text: str) -> Outcome:
        if not self.ctx.is_admin(state.user_id):
            repo.clear_flow(state)
            return _forbidden()
        stage = session.get(Stage, int(state.data.get("stage_id", 0)))
        if stage is None:
            repo.clear_flow(state)
            return Outcome().add(Reply("lomba/not_found"))
        try:
            deadline = parse_deadline(text, self.ctx.tz)
        except DeadlineError:
            return Outcome().add(Reply("lomba/invalid_deadline", {"text": text.strip()[:80]}))
        move_deadline(session, stage, deadline, self.ctx.now())
        repo.clear_flow(state)
        competition = session.get(Competition, stage.competition_id)
        outcome = Outcome(rebuild=(SCHEDULE,)).add(
            Reply("lomba/deadline_moved", {"stage": stage.name, "deadline": deadline})
        )
        return outcome.add(self._details(session, competition))

    def _ask_stage(
        self, session: Session, state: ConversationState, competition_id: int
    ) -> Outcome:
        if session.get(Competition, competition_id) is None:
            return Outcome(notice="not_found", notice_alert=True)
        repo.set_flow(state, ADD_STAGE, step="stage_name", data={"competition_id": competition_id})
        return Outcome().add(Reply("lomba/ask_stage_name"))

    def _add_stage(
        self,
        session: Session,
        state: ConversationState,
        competition_id: int,
        name: str,
        deadline: datetime,
    ) -> Outcome:
        competition = session.get(Competition, competition_id)
        repo.clear_flow(state)
        if competition is None:
            return Outcome().add(Reply("lomba/not_found"))
        session.add(Stage(competition_id=competition_id, name=name, deadline_at=deadline))
        session.flush()
        return Outcome(rebuild=(SCHEDULE,)).add(self._details(session, competition))

    def _confirm_delete(self, session: Session, competition_id: int) -> Outcome:
        competition = session.get(Competition, competition_id)
        if competition is None:
            return Outcome(notice="not_found", notice_alert=True)
        buttons = keyboard(
            [
                Button(data=f"l:xx:{competition_id}", label="confirm_delete"),
                Button(data=f"l:o:{competition_id}", label="cancel_delete"),
            ]
        )
        return Outcome().add(
            Reply("lomba/delete_confirm", {"competition": competition}, buttons, edit=True)
        )

    def _delete(self, session: Session, competition_id: int) -> Outcome:
        competition = session.get(Competition, competition_id)
        if competition is None:
            return Outcome(notice="not_found", notice_alert=True)
        delete_competition(session, competition)
        return Outcome(notice="deleted_competition", rebuild=(SCHEDULE,)).add(
            Reply("lomba/deleted", {"name": competition.name}, edit=True)
        )

    # ---- ASN: /tenggat, follows, mutes, draft links -------------------------------------------

    def upcoming(self, session: Session, user_id: int, edit: bool = False) -> Outcome:
        """Upcoming deadlines of the competitions this user follows or has drafts in."""
        now = self.ctx.now()
        competition_ids = relevant_competitions(session, user_id)
        stages = (
            [
                s
                for s in session.exec(
                    select(Stage)
                    .where(col(Stage.competition_id).in_(competition_ids), Stage.deadline_at >= now)
                    .order_by(col(Stage.deadline_at))
                )
            ]
            if competition_ids
            else []
        )
        competitions = (
            {
                c.id: c
                for c in session.exec(
                    select(Competition).where(col(Competition.id).in_(competition_ids))
                )
            }
            if competition_ids
            else {}
        )
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
            Button(data="t:ua", label="unmute_all")
            if ALL in muted
            else Button(data="t:ma", label="mute_all")
        )
        buttons = keyboard([Button(data="t:l", label="follow_competitions")], [mute_all])
        return Outcome().add(
            Reply("tenggat/upcoming", {"rows": rows, "all_muted": ALL in muted}, buttons, edit=edit)
        )

    def _user_callback(self, session: Session, user_id: int, parts: list[str]) -> Outcome:
        action, args = parts[0], [int(p) for p in parts[1:]]
        if action == "u":
            return self.upcoming(session, user_id, edit=True)
        if action == "l":
            return self._competition_list(session, user_id)
        if action == "f":
            return self._toggle_follow(session, user_id, args[0])
        if action in ("m", "um"):
            return self._set_mute(session, user_id, args[0], mute=action == "m")
        if action in ("ma", "ua"):
            return self._set_mute(session, user_id, ALL, mute=action == "ma")
        if action == "d":
            return self._draft_links(session, user_id, args[0])
        if action in ("dl", "du", "ds"):
            return self._change_link(session, user_id, action, args[0], args[1])
        raise ValueError(action)

    def _competition_list(self, session: Session, user_id: int) -> Outcome:
        now = self.ctx.now()
        open_ids = {
            s.competition_id for s in session.exec(select(Stage).where(Stage.deadline_at >= now))
        }
        competitions = [
            c
            for c in session.exec(select(Competition).order_by(col(Competition.name)))
            if c.id in open_ids
        ]
        followed = set(session.exec(select(Follow.competition_id).where(Follow.user_id == user_id)))
        muted = muted_competitions(session, user_id)
        rows = []
        for c in competitions[:30]:
            follow_label = "unfollow" if c.id in followed else "follow"
            mute = (
                Button(data=f"t:um:{c.id}", label="unmute")
                if c.id in muted
                else Button(data=f"t:m:{c.id}", label="mute")
            )
            rows.append(
                (
                    Button(
                        data=f"t:f:{c.id}", label=follow_label, params={"name": shorten(c.name, 35)}
                    ),
                    mute,
                )
            )
        rows.append((Button(data="t:u", label="back_to_deadlines"),))
        context = {"competitions": competitions, "followed": followed}
        return Outcome().add(Reply("tenggat/competitions", context, tuple(rows), edit=True))

    def _toggle_follow(self, session: Session, user_id: int, competition_id: int) -> Outcome:
        if session.get(Competition, competition_id) is None:
            return Outcome(notice="not_found", notice_alert=True)
        follow = session.exec(
            select(Follow).where(Follow.user_id == user_id, Follow.competition_id == competition_id)
        ).first()
        if follow is None:
            session.add(Follow(user_id=user_id, competition_id=competition_id))
            notice = "followed"
        else:
            session.delete(follow)
            notice = "unfollowed"
        session.flush()
        outcome = self._competition_list(session, user_id)
        outcome.notice = notice
        return outcome

    def _set_mute(self, session: Session, user_id: int, competition_id: int, mute: bool) -> Outcome:
        if competition_id != ALL and session.get(Competition, competition_id) is None:
            return Outcome(notice="not_found", notice_alert=True)
        existing = session.exec(
            select(ReminderMute).where(
                ReminderMute.user_id == user_id, ReminderMute.competition_id == competition_id
            )
        ).first()
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

    def _draft_links(self, session: Session, user_id: int, draft_id: int) -> Outcome:
        draft = repo.owned_draft(session, user_id, draft_id)
        if draft is None:
            return Outcome(notice="draft_not_found", notice_alert=True).add(
                Reply("draft/not_found")
            )
        links = {
            link.competition_id: link
            for link in session.exec(select(DraftLink).where(DraftLink.draft_id == draft_id))
        }
        now = self.ctx.now()
        open_ids = {
            s.competition_id for s in session.exec(select(Stage).where(Stage.deadline_at >= now))
        }
        competitions = [
            c
            for c in session.exec(select(Competition).order_by(col(Competition.name)))
            if c.id in open_ids or c.id in links
        ]
        rows = []
        for c in competitions[:25]:
            link = links.get(c.id)
            if link is None:
                rows.append(
                    (
                        Button(
                            data=f"t:dl:{draft_id}:{c.id}",
                            label="link_draft",
                            params={"name": shorten(c.name, 40)},
                        ),
                    )
                )
                continue
            rows.append(
                (
                    Button(
                        data=f"t:ds:{draft_id}:{c.id}",
                        label="unmark_submitted" if link.submitted_at else "mark_submitted",
                        params={"name": shorten(c.name, 30)},
                    ),
                    Button(data=f"t:du:{draft_id}:{c.id}", label="unlink_draft"),
                )
            )
        rows.append((Button(data=f"d:o:{draft_id}", label="back_to_draft"),))
        context = {"draft_id": draft_id, "competitions": competitions, "links": links}
        return Outcome().add(Reply("tenggat/draft_links", context, tuple(rows), edit=True))

    def _change_link(
        self, session: Session, user_id: int, action: str, draft_id: int, competition_id: int
    ) -> Outcome:
        if repo.owned_draft(session, user_id, draft_id) is None:
            return Outcome(notice="draft_not_found", notice_alert=True).add(
                Reply("draft/not_found")
            )
        if session.get(Competition, competition_id) is None:
            return Outcome(notice="not_found", notice_alert=True)
        link = session.exec(
            select(DraftLink).where(
                DraftLink.draft_id == draft_id, DraftLink.competition_id == competition_id
            )
        ).first()
        if action == "dl" and link is None:
            session.add(DraftLink(draft_id=draft_id, competition_id=competition_id))
        elif action == "du" and link is not None:
            session.delete(link)
        elif action == "ds" and link is not None:
            link.submitted_at = None if link.submitted_at else self.ctx.now()
            session.add(link)
        session.flush()
        outcome = self._draft_links(session, user_id, draft_id)
        outcome.notice = "saved"
        return outcome

    def _stage_rows(self, stages: list[Stage]) -> list[dict[str, Any]]:
        now = self.ctx.now()
        return [{"stage": s, "days": days_left(s.deadline_at, now, self.ctx.tz)} for s in stages]


# ---- queries shared with reminders and the command-line import ---------------------------------


def stages_of(session: Session, competition_id: int | None) -> list[Stage]:
    query = select(Stage).where(Stage.competition_id == competition_id)
    return list(session.exec(query.order_by(col(Stage.deadline_at))))


def relevant_competitions(session: Session, user_id: int) -> list[int]:
    followed = session.exec(select(Follow.competition_id).where(Follow.user_id == user_id))
    linked = session.exec(
        select(DraftLink.competition_id)
        .join(Draft, col(Draft.id) == DraftLink.draft_id)
        .where(Draft.owner_id == user_id)
    )
    return sorted(set(followed) | set(linked))


def muted_competitions(session: Session, user_id: int) -> set[int]:
    return set(
        session.exec(select(ReminderMute.competition_id).where(ReminderMute.user_id == user_id))
    )


def move_deadline(session: Session, stage: Stage, deadline: datetime, now: datetime) -> None:
    """A new deadline: reminders already sent stay sent, the others are planned afresh."""
    stage.deadline_at = deadline
    stage.updated_at = now
    session.add(stage)
    session.exec(
        delete(ReminderDelivery).where(
            col(ReminderDelivery.stage_id) == stage.id,
            col(ReminderDelivery.status).in_(("skipped", "failed")),
        )
    )


def delete_competition(session: Session, competition: Competition) -> None:
    stage_ids = [s.id for s in stages_of(session, competition.id)]
    if stage_ids:
        session.exec(delete(ReminderDelivery).where(col(ReminderDelivery.stage_id).in_(stage_ids)))
    for table in (Stage, DraftLink, Follow):
        session.exec(delete(table).where(col(table.competition_id) == competition.id))
    session.exec(delete(ReminderMute).where(col(ReminderMute.competition_id) == competition.id))
    session.delete(competition)


def _stage_views(stages: list[dict[str, str]], ctx: ServiceContext) -> list[dict[str, Any]]:
    return [{"name": s["name"], "deadline": datetime.fromisoformat(s["deadline"])} for s in stages]


def _forbidden() -> Outcome:
    return Outcome(notice="forbidden", notice_alert=True).add(Reply("common/forbidden"))
