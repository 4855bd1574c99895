"""The admin's management of competitions (/lomba): define one by conversation (name,
organiser, level, year, its stages), open it, move a deadline, add a stage, delete it.

Every command, button and flow here is declared `Role.ADMIN` on the feature (see
`CompetitionService.feature`); the Dialog checks that on every call.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session

from bot.services.competitions.routes import (
    AddAnotherStage,
    AskNewStage,
    AskStageDeadline,
    ChooseLevel,
    ConfirmDeleteCompetition,
    DeleteCompetition,
    ListCompetitionsForAdmin,
    NewCompetition,
    OpenCompetition,
    SaveCompetition,
)
from bot.services.competitions.stages import LEVELS, SCHEDULE, delete_competition, move_deadline
from bot.services.context import ServiceContext
from bot.services.deadlines import DeadlineError, days_left, parse_deadline
from bot.services.replies import Button, Outcome, Reply, keyboard, one_per_row
from bot.services.textutil import shorten, with_year
from models import repository as repo
from models.competitions import (
    Competition,
    Stage,
    competitions_newest_first,
    follower_count,
    linked_draft_count,
    stages_of,
)
from models.tables import ConversationState

NEW_COMPETITION = "lomba_new"
EDIT_DEADLINE = "lomba_deadline"
ADD_STAGE = "lomba_stage"
TEXT_MIN, TEXT_MAX = 3, 200
MENU_MAX = 30  # competitions listed as buttons in the menu


class CompetitionAdmin:
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    def menu(self, session: Session, user_id: int, edit: bool = False) -> Outcome:
        repo.clear_flow(repo.get_state(session, user_id))
        competitions = competitions_newest_first(session)
        buttons = [
            Button(OpenCompetition(c.id), text=with_year(c.name, c.year))
            for c in competitions[:MENU_MAX]
            if c.id is not None
        ]
        rows = [*one_per_row(buttons), (Button(NewCompetition(), label="competition_new"),)]
        context = {"competitions": competitions}
        return Outcome().add(Reply("lomba/menu", context, keyboard(*rows), edit=edit))

    # ---- a new competition, one answer at a time ----------------------------------------------

    def start_new(self, session: Session, user_id: int) -> Outcome:
        state = repo.get_state(session, user_id)
        repo.set_flow(state, NEW_COMPETITION, step="name", data={"stages": []})
        return Outcome().add(Reply("lomba/ask_name"))

    def on_text(self, session: Session, state: ConversationState, text: str) -> Outcome:
        value = " ".join(text.split())
        data = dict(state.data)
        step = state.step
        if step in ("name", "organiser", "stage_name") and not TEXT_MIN <= len(value) <= TEXT_MAX:
            bounds = {"minimum": TEXT_MIN, "maximum": TEXT_MAX}
            return Outcome().add(Reply("lomba/invalid_text", bounds))
        if step == "name":
            data["name"] = value
            return _next(state, data, "organiser", Reply("lomba/ask_organiser"))
        if step == "organiser":
            data["organiser"] = value
            buttons = [Button(ChooseLevel(i), text=level) for i, level in enumerate(LEVELS)]
            return _next(state, data, "level", Reply("lomba/ask_level", {}, one_per_row(buttons)))
        if step == "year":
            this_year = self.ctx.today().year
            if not value.isdigit() or not this_year - 1 <= int(value) <= this_year + 5:
                return Outcome().add(Reply("lomba/invalid_year", {"year": this_year}))
            data["year"] = int(value)
            return _next(state, data, "stage_name", Reply("lomba/ask_stage_name"))
        if step == "stage_name":
            data["stage_name"] = value
            ask = Reply("lomba/ask_deadline", {"stage": value})
            return _next(state, data, "stage_deadline", ask)
        if step == "stage_deadline":
            return self._take_stage_deadline(session, state, data, text)
        return Outcome().add(Reply("lomba/use_buttons"))

    def choose_level(self, session: Session, user_id: int, index: int) -> Outcome:
        state = repo.get_state(session, user_id)
        if state.flow != NEW_COMPETITION or state.step != "level":
            return Outcome(notice="stale_button", notice_alert=True)
        level = LEVELS[index]  # a forged index is an IndexError: a stale button
        data = {**state.data, "level": level}
        ask = Reply("lomba/ask_year", {"year": self.ctx.today().year})
        outcome = _next(state, data, "year", ask)
        outcome.replies.insert(0, Reply("lomba/level_chosen", {"level": level}, edit=True))
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
                Button(AddAnotherStage(), label="stage_more"),
                Button(SaveCompetition(), label="competition_save"),
            ]
        )
        summary = {"data": data, "stages": _stage_views(stages)}
        return _next(state, data, "more", Reply("lomba/draft_summary", summary, buttons))

    def more_or_done(self, session: Session, user_id: int, done: bool) -> Outcome:
        state = repo.get_state(session, user_id)
        if state.flow != NEW_COMPETITION or state.step != "more":
            return Outcome(notice="stale_button", notice_alert=True)
        data = dict(state.data)
        if not done:
            return _next(state, data, "stage_name", Reply("lomba/ask_stage_name"))
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

    # ---- one competition ----------------------------------------------------------------------

    def show(self, session: Session, competition_id: int) -> Outcome:
        competition = session.get(Competition, competition_id)
        if competition is None:
            return Outcome(notice="not_found", notice_alert=True)
        details = self._details(session, competition)
        return Outcome().add(Reply(details.template, details.context, details.buttons, edit=True))

    def _details(self, session: Session, competition: Competition) -> Reply:
        stages = stages_of(session, competition.id)
        buttons = [
            Button(
                AskStageDeadline(s.id),
                label="deadline_edit",
                params={"stage": shorten(s.name, 40)},
            )
            for s in stages
            if s.id is not None
        ]
        rows = [
            *one_per_row(buttons),
            (
                Button(AskNewStage(competition.id), label="stage_add"),
                Button(ConfirmDeleteCompetition(competition.id), label="competition_delete"),
            ),
            (Button(ListCompetitionsForAdmin(), label="competition_list"),),
        ]
        context = {
            "competition": competition,
            "stages": self._stage_rows(stages),
            "linked": linked_draft_count(session, competition.id),
            "followers": follower_count(session, competition.id),
        }
        return Reply("lomba/details", context, keyboard(*rows))

    def ask_deadline(self, session: Session, user_id: int, stage_id: int) -> Outcome:
        stage = session.get(Stage, stage_id)
        if stage is None:
            return Outcome(notice="not_found", notice_alert=True)
        repo.set_flow(repo.get_state(session, user_id), EDIT_DEADLINE, data={"stage_id": stage_id})
        context = {"stage": stage.name, "current": stage.deadline_at}
        return Outcome().add(Reply("lomba/ask_deadline", context))

    def on_deadline_text(self, session: Session, state: ConversationState, text: str) -> Outcome:
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

    def ask_stage(self, session: Session, user_id: int, competition_id: int) -> Outcome:
        if session.get(Competition, competition_id) is None:
            return Outcome(notice="not_found", notice_alert=True)
        state = repo.get_state(session, user_id)
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

    def confirm_delete(self, session: Session, competition_id: int) -> Outcome:
        competition = session.get(Competition, competition_id)
        if competition is None:
            return Outcome(notice="not_found", notice_alert=True)
        buttons = keyboard(
            [
                Button(DeleteCompetition(competition_id), label="confirm_delete"),
                Button(OpenCompetition(competition_id), label="cancel_delete"),
            ]
        )
        return Outcome().add(
            Reply("lomba/delete_confirm", {"competition": competition}, buttons, edit=True)
        )

    def delete(self, session: Session, competition_id: int) -> Outcome:
        competition = session.get(Competition, competition_id)
        if competition is None:
            return Outcome(notice="not_found", notice_alert=True)
        delete_competition(session, competition)
        return Outcome(notice="deleted_competition", rebuild=(SCHEDULE,)).add(
            Reply("lomba/deleted", {"name": competition.name}, edit=True)
        )

    def _stage_rows(self, stages: list[Stage]) -> list[dict[str, Any]]:
        now = self.ctx.now()
        return [{"stage": s, "days": days_left(s.deadline_at, now, self.ctx.tz)} for s in stages]


def _next(state: ConversationState, data: dict[str, Any], step: str, reply: Reply) -> Outcome:
    # Each answer is kept in the state row at once: a restart resumes at the same step.
    repo.set_flow(state, state.flow, step=step, draft_id=None, data=data)
    return Outcome().add(reply)


def _stage_views(stages: list[dict[str, str]]) -> list[dict[str, Any]]:
    return [{"name": s["name"], "deadline": datetime.fromisoformat(s["deadline"])} for s in stages]
