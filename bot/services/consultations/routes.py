"""Every button of consultations and mentors, declared once as a typed route.

Routes modules import nothing but `bot.services.routes`, so any feature may import one of these
classes to offer the action (drafting offers `RequestAboutDraft`) without an import cycle. The
prefixes are the strings the buttons already in users' chats carry.
"""

from __future__ import annotations

from bot.services.routes import BigInt, Route

# ---- the ASN's request ------------------------------------------------------------------------


class StartRequest(Route, prefix="k:n"):
    """A new request, starting with the choice of draft."""


class RequestAboutDraft(Route, prefix="k:nd"):
    """Ask a mentor about this draft, from the opened draft."""

    draft_id: int


class MyConsultations(Route, prefix="k:l"):
    """The ASN's own requests."""


class ChooseRequestDraft(Route, prefix="k:d"):
    """The draft the request is about (0: none)."""

    draft_id: int


class ChooseTopic(Route, prefix="k:t"):
    """A field of expertise, by its place in the list."""

    index: int


class ChooseGeneralTopic(Route, prefix="k:tg"):
    """No particular field: any mentor."""


class TopicPage(Route, prefix="k:tp"):
    page: int


class SkipTimes(Route, prefix="k:ts"):
    """No preferred times."""


# ---- offers and the mentor's queue ------------------------------------------------------------


class MentorQueue(Route, prefix="k:aq"):
    """The mentor's consultations and open offers."""


class AcceptConsultation(Route, prefix="k:a"):
    consultation_id: int


class DeclineConsultation(Route, prefix="k:x"):
    consultation_id: int


# ---- one consultation ---------------------------------------------------------------------------


class ViewConsultation(Route, prefix="k:v"):
    consultation_id: int


class ViewConsultedDraft(Route, prefix="k:dv"):
    consultation_id: int


class OpenChat(Route, prefix="k:c"):
    """Write in the consultation's conversation."""

    consultation_id: int


class CommentMenu(Route, prefix="k:cm"):
    """The mentor picks a field of the draft to comment on."""

    consultation_id: int


class AskComment(Route, prefix="k:cs"):
    consultation_id: int
    field_index: int


class AskSchedule(Route, prefix="k:s"):
    consultation_id: int


class ConfirmSession(Route, prefix="k:sy"):
    session_id: int


class RejectSession(Route, prefix="k:sn"):
    session_id: int


class AskClose(Route, prefix="k:z"):
    consultation_id: int


class AskCancel(Route, prefix="k:q"):
    consultation_id: int


class Rate(Route, prefix="k:r"):
    consultation_id: int
    stars: int


class SkipRatingComment(Route, prefix="k:rn"):
    consultation_id: int


# ---- admins -------------------------------------------------------------------------------------


class ConsultationHistory(Route, prefix="k:h"):
    consultation_id: int


class AllConsultations(Route, prefix="k:al"):
    page: int


class AssignMenu(Route, prefix="k:ga"):
    consultation_id: int


class AssignMentor(Route, prefix="k:gm"):
    consultation_id: int
    mentor_id: BigInt


# ---- mentors: invites and the mentor's profile --------------------------------------------------


class AcceptInvite(Route, prefix="m:j"):
    pass


class DeclineInvite(Route, prefix="m:n"):
    pass


class MentorProfile(Route, prefix="m:me"):
    pass


class ExpertisePage(Route, prefix="m:e"):
    page: int


class ToggleExpertise(Route, prefix="m:t"):
    index: int
    page: int


class ExpertiseDone(Route, prefix="m:ed"):
    pass


class AskCapacity(Route, prefix="m:c"):
    pass


class SetCapacity(Route, prefix="m:k"):
    capacity: int


class TogglePause(Route, prefix="m:p"):
    pass


# ---- mentors: the admin's management ------------------------------------------------------------


class InviteMentor(Route, prefix="m:i"):
    pass


class MentorList(Route, prefix="m:l"):
    pass


class MentorDetail(Route, prefix="m:v"):
    mentor_id: BigInt


class DeactivateMentor(Route, prefix="m:x"):
    mentor_id: BigInt


class ReactivateMentor(Route, prefix="m:y"):
    mentor_id: BigInt


class ReassignMenu(Route, prefix="m:r"):
    mentor_id: BigInt


class ReassignTo(Route, prefix="m:ra"):
    mentor_id: BigInt
    target_id: BigInt


class RerouteAll(Route, prefix="m:rr"):
    """Send the mentor's consultations back to routing (no particular new mentor)."""

    mentor_id: BigInt
