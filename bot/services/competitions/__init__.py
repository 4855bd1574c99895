"""Competitions and their deadlines: admins define them (/lomba), ASN follow them, link drafts
to them and see what is due (/tenggat).

The rooms: routes.py (every button), admin.py (/lomba, Role.ADMIN), following.py (/tenggat,
follows and mutes), draft_links.py (a draft's competitions, from the opened draft), stages.py
(levels, moving a deadline, deleting; shared with the import), year_file.py (`klinik lomba
import FILE`). The queries live in models/competitions.py. `CompetitionService.feature` is the
one declaration of the feature's commands, buttons, flows and roles.
"""

from __future__ import annotations

from bot.services.competitions import routes as r
from bot.services.competitions.admin import (
    ADD_STAGE,
    EDIT_DEADLINE,
    NEW_COMPETITION,
    CompetitionAdmin,
)
from bot.services.competitions.draft_links import DraftLinks
from bot.services.competitions.following import ALL, Following
from bot.services.competitions.stages import LEVELS, SCHEDULE, delete_competition, move_deadline
from bot.services.context import ServiceContext
from bot.services.feature import Feature
from bot.services.replies import Button
from bot.services.roles import Role
from models.competitions import muted_competitions, relevant_competitions, stages_of

__all__ = [
    "ALL",
    "LEVELS",
    "SCHEDULE",
    "CompetitionService",
    "delete_competition",
    "move_deadline",
    "muted_competitions",
    "relevant_competitions",
    "stages_of",
]

# What only an admin may do: /lomba, its buttons and its conversations.
ADMIN_ONLY = (
    "lomba",
    NEW_COMPETITION,
    EDIT_DEADLINE,
    ADD_STAGE,
    r.ListCompetitionsForAdmin,
    r.NewCompetition,
    r.ChooseLevel,
    r.AddAnotherStage,
    r.SaveCompetition,
    r.OpenCompetition,
    r.AskStageDeadline,
    r.AskNewStage,
    r.ConfirmDeleteCompetition,
    r.DeleteCompetition,
)


class CompetitionService:
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx
        self.admin = CompetitionAdmin(ctx)
        self.following = Following(ctx)
        self.draft_links = DraftLinks(ctx)

    def feature(self) -> Feature:
        admin, following, links = self.admin, self.following, self.draft_links
        return Feature(
            name="competitions",
            service=self,
            commands={
                "lomba": lambda s, st, a: admin.menu(s, st.user_id),
                "tenggat": lambda s, st, a: following.upcoming(s, st.user_id),
            },
            routes={
                r.ListCompetitionsForAdmin: lambda s, u, v: admin.menu(s, u, edit=True),
                r.NewCompetition: lambda s, u, v: admin.start_new(s, u),
                r.ChooseLevel: lambda s, u, v: admin.choose_level(s, u, v.level),
                r.AddAnotherStage: lambda s, u, v: admin.more_or_done(s, u, done=False),
                r.SaveCompetition: lambda s, u, v: admin.more_or_done(s, u, done=True),
                r.OpenCompetition: lambda s, u, v: admin.show(s, v.competition_id),
                r.AskStageDeadline: lambda s, u, v: admin.ask_deadline(s, u, v.stage_id),
                r.AskNewStage: lambda s, u, v: admin.ask_stage(s, u, v.competition_id),
                r.ConfirmDeleteCompetition: lambda s, u, v: admin.confirm_delete(
                    s, v.competition_id
                ),
                r.DeleteCompetition: lambda s, u, v: admin.delete(s, v.competition_id),
                r.UpcomingDeadlines: lambda s, u, v: following.upcoming(s, u, edit=True),
                r.FollowableCompetitions: lambda s, u, v: following.competition_list(s, u),
                r.ToggleFollow: lambda s, u, v: following.toggle_follow(s, u, v.competition_id),
                r.MuteCompetition: lambda s, u, v: following.set_mute(
                    s, u, v.competition_id, mute=True
                ),
                r.UnmuteCompetition: lambda s, u, v: following.set_mute(
                    s, u, v.competition_id, mute=False
                ),
                r.MuteAll: lambda s, u, v: following.set_mute(s, u, ALL, mute=True),
                r.UnmuteAll: lambda s, u, v: following.set_mute(s, u, ALL, mute=False),
                r.CompetitionsOfDraft: lambda s, u, v: links.show(s, u, v.draft_id),
                r.LinkDraft: lambda s, u, v: links.change(
                    s, u, "link", v.draft_id, v.competition_id
                ),
                r.UnlinkDraft: lambda s, u, v: links.change(
                    s, u, "unlink", v.draft_id, v.competition_id
                ),
                r.ToggleSubmitted: lambda s, u, v: links.change(
                    s, u, "toggle_submitted", v.draft_id, v.competition_id
                ),
            },
            roles=dict.fromkeys(ADMIN_ONLY, Role.ADMIN),
            text_flows={
                NEW_COMPETITION: admin.on_text,
                EDIT_DEADLINE: admin.on_deadline_text,
                ADD_STAGE: admin.on_text,
            },
            draft_actions=lambda draft_id: [
                Button(r.CompetitionsOfDraft(draft_id), label="competitions_of_draft")
            ],
        )
