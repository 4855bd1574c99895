"""The buttons of competitions and deadlines: the admin's /lomba ("l") and the ASN's /tenggat,
follows, mutes and draft links ("t"). Other features offer `CompetitionsOfDraft`."""

from __future__ import annotations

from bot.services.routes import Route

# ---- admin: /lomba ------------------------------------------------------------------------------


class ListCompetitionsForAdmin(Route, prefix="l:m"):
    pass


class NewCompetition(Route, prefix="l:n"):
    pass


class ChooseLevel(Route, prefix="l:lv"):
    """A level of a new competition, by its place in the list of levels."""

    level: int


class AddAnotherStage(Route, prefix="l:more"):
    pass


class SaveCompetition(Route, prefix="l:done"):
    pass


class OpenCompetition(Route, prefix="l:o"):
    competition_id: int


class AskStageDeadline(Route, prefix="l:e"):
    stage_id: int


class AskNewStage(Route, prefix="l:as"):
    competition_id: int


class ConfirmDeleteCompetition(Route, prefix="l:x"):
    competition_id: int


class DeleteCompetition(Route, prefix="l:xx"):
    competition_id: int


# ---- ASN: /tenggat, follows and mutes ------------------------------------------------------------


class UpcomingDeadlines(Route, prefix="t:u"):
    pass


class FollowableCompetitions(Route, prefix="t:l"):
    pass


class ToggleFollow(Route, prefix="t:f"):
    competition_id: int


class MuteCompetition(Route, prefix="t:m"):
    competition_id: int


class UnmuteCompetition(Route, prefix="t:um"):
    competition_id: int


class MuteAll(Route, prefix="t:ma"):
    pass


class UnmuteAll(Route, prefix="t:ua"):
    pass


# ---- a draft's competitions ----------------------------------------------------------------------


class CompetitionsOfDraft(Route, prefix="t:d"):
    """The competitions a draft is entered in, from the opened draft."""

    draft_id: int


class LinkDraft(Route, prefix="t:dl"):
    draft_id: int
    competition_id: int


class UnlinkDraft(Route, prefix="t:du"):
    draft_id: int
    competition_id: int


class ToggleSubmitted(Route, prefix="t:ds"):
    draft_id: int
    competition_id: int
