"""Consultations in the domain, without Telegram, on SQLite and PostgreSQL: mentor invites,
routing, the accept race, the relayed conversation, comments, sessions, closing, expiry and
who may see what."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import Session, select

from bot.services.consultations import (
    ConsultationService,
    SessionTimeError,
    parse_session_time,
)
from bot.services.consultations.mentors import expertise_options
from bot.services.consultations.routes import (
    AcceptConsultation,
    AcceptInvite,
    AllConsultations,
    AskCancel,
    AskCapacity,
    AskClose,
    AskComment,
    AskSchedule,
    AssignMentor,
    AssignMenu,
    ChooseGeneralTopic,
    ChooseRequestDraft,
    CommentMenu,
    ConfirmSession,
    ConsultationHistory,
    DeactivateMentor,
    DeclineConsultation,
    DeclineInvite,
    ExpertisePage,
    InviteMentor,
    MentorDetail,
    MentorList,
    MentorProfile,
    OpenChat,
    Rate,
    ReactivateMentor,
    ReassignMenu,
    ReassignTo,
    RejectSession,
    RequestAboutDraft,
    RerouteAll,
    SetCapacity,
    SkipTimes,
    StartRequest,
    ToggleExpertise,
    TogglePause,
    TopicPage,
    ViewConsultation,
    ViewConsultedDraft,
)
from bot.services.context import ServiceContext
from bot.services.dialog import AlreadyRecorded, Dialog, UpdateMark
from bot.services.features import build_dialog
from bot.services.replies import CopyReply, LongReply, Outcome, Reply
from models import consultations as cq
from models.consultations import (
    Consultation,
    ConsultationEvent,
    ConsultationNotice,
    ConsultationOffer,
    Mentor,
    MentorInvite,
    RelayedMessage,
    SessionReminder,
)
from models.db import Database
from models.tables import ConversationState, User
from scheduler.consultations import ExpirySource, SessionReminderSource
from tests.conftest import ADMIN_ID, WITA, Clock
from tests.helpers import buttons, new_draft, register, templates

ASN, OTHER_ASN = 501, 502
MENTOR_A, MENTOR_B, MENTOR_C = 601, 602, 603
QUESTION = "Bagaimana memperkuat bagian permasalahan dengan data puskesmas?"


class RecordingSender:
    """The scheduler's port for sending, recording instead of calling Telegram."""

    def __init__(self, status: str = "delivered") -> None:
        self.sent: list[tuple[int, Reply]] = []
        self.status = status

    async def __call__(self, chat_id: int, reply: Reply) -> str:
        self.sent.append((chat_id, reply))
        return self.status

    def to(self, chat_id: int) -> list[str]:
        return [r.template for c, r in self.sent if c == chat_id]


# ---- helpers ------------------------------------------------------------------------------------


def notice(outcome: Outcome) -> str | None:
    return outcome.notice


def replies_to(outcome: Outcome, user_id: int | None) -> list[str]:
    return [r.template for r in outcome.replies if isinstance(r, Reply) and r.to == user_id]


def invite_token(dialog: Dialog) -> str:
    outcome = dialog.command(ADMIN_ID, "undang_mentor")
    assert templates(outcome) == ["mentor/invite_link"]
    return outcome.replies[0].context["token"]


def make_mentor(dialog: Dialog, user_id: int, name: str, expertise: tuple[str, ...] = ()) -> None:
    """Register, accept an invite, choose fields of expertise through the buttons."""
    register(dialog, user_id, name=name)
    dialog.command(user_id, "start", f"mentor-{invite_token(dialog)}")
    assert notice(dialog.callback(user_id, AcceptInvite().pack())) == "mentor_joined"
    options = expertise_options(dialog.ctx)
    for field in expertise:
        dialog.callback(user_id, ToggleExpertise(options.index(field), 0).pack())


def setup_people(dialog: Dialog) -> None:
    register(dialog, ADMIN_ID, name="Admin Klinik")
    register(dialog, ASN, name="Andi Pratiwi")


def ask(
    dialog: Dialog, user_id: int = ASN, topic: str | None = "kesehatan", draft: int | None = None
) -> tuple[int, Outcome]:
    """Request a consultation through the flow (topic None: "general"); returns its id and the
    final outcome."""
    start = dialog.command(user_id, "konsultasi")
    if templates(start) == ["consult/my_list"]:
        start = dialog.callback(user_id, StartRequest().pack())
    if "consult/ask_draft" in templates(start):
        dialog.callback(user_id, f"k:d:{draft or 0}")
    if topic is None:
        dialog.callback(user_id, ChooseGeneralTopic().pack())
    else:
        assert templates(dialog.text(user_id, topic)) == [
            "consult/topic_chosen",
            "consult/ask_question",
        ]
    dialog.text(user_id, QUESTION)
    outcome = dialog.text(user_id, "Senin–Rabu pagi")
    with dialog.ctx.db.session() as session:
        latest = cq.consultations_newest_first(session, asn_id=user_id)[0]
    return latest.id or 0, outcome


def consultation(db: Database, cid: int) -> Consultation:
    with db.session() as session:
        found = session.get(Consultation, cid)
        assert found is not None
        return found


def offered_to(db: Database, cid: int) -> dict[int, str]:
    with db.session() as session:
        return {o.mentor_id: o.status for o in cq.offers_of(session, cid)}


def actions(db: Database, cid: int) -> list[tuple[str, int | None, str | None]]:
    with db.session() as session:
        return [(e.action, e.actor_id, e.to_status) for e in cq.events_of(session, cid)]


def flow(db: Database, user_id: int) -> tuple[str, dict[str, Any]]:
    with db.session() as session:
        state = session.get(ConversationState, user_id)
        return (state.flow, dict(state.data)) if state else ("idle", {})


def accepted(dialog: Dialog, expertise: tuple[str, ...] = ("Kesehatan",)) -> int:
    """ASN asks, mentor A (the only matching one) accepts: the consultation id."""
    setup_people(dialog)
    make_mentor(dialog, MENTOR_A, "Budi Santoso", expertise)
    cid, _ = ask(dialog)
    assert notice(dialog.callback(MENTOR_A, AcceptConsultation(cid).pack())) == "consult_accepted"
    return cid


# ---- mentors ------------------------------------------------------------------------------------


def test_invite_makes_a_mentor_once_and_refuses_misuse(dialog: Dialog, clock: Clock) -> None:
    setup_people(dialog)
    assert templates(dialog.command(ASN, "undang_mentor")) == ["common/forbidden"]
    token = invite_token(dialog)
    # Not registered yet: the registration starts, the token stays usable.
    assert templates(dialog.command(MENTOR_A, "start", f"mentor-{token}")) == [
        "mentor/register_first",
        "register/consent",
    ]
    register(dialog, MENTOR_A, name="Budi Santoso")
    assert templates(dialog.command(MENTOR_A, "start", f"mentor-{token}")) == [
        "mentor/invite_confirm"
    ]
    joined = dialog.callback(MENTOR_A, AcceptInvite().pack())
    assert templates(joined) == ["mentor/welcome", "mentor/expertise", "mentor/joined_admin"]
    assert replies_to(joined, ADMIN_ID) == ["mentor/joined_admin"]
    with dialog.ctx.db.session() as session:
        mentor = session.get(Mentor, MENTOR_A)
        assert mentor is not None and mentor.active and mentor.invited_by == ADMIN_ID
    # Reused, unknown, expired.
    register(dialog, MENTOR_B, name="Citra Dewi")
    assert templates(dialog.command(MENTOR_B, "start", f"mentor-{token}")) == ["mentor/invite_used"]
    assert templates(dialog.command(MENTOR_B, "start", "mentor-nope")) == ["mentor/invite_invalid"]
    late = invite_token(dialog)
    clock.advance(days=8)
    assert templates(dialog.command(MENTOR_B, "start", f"mentor-{late}")) == [
        "mentor/invite_expired"
    ]
    # A confirm button without an opened invite is stale; declining keeps the token.
    assert notice(dialog.callback(MENTOR_B, AcceptInvite().pack())) == "stale_button"
    fresh = invite_token(dialog)
    dialog.command(MENTOR_B, "start", f"mentor-{fresh}")
    assert templates(dialog.callback(MENTOR_B, DeclineInvite().pack())) == [
        "mentor/invite_declined"
    ]
    dialog.command(MENTOR_B, "start", f"mentor-{fresh}")
    assert notice(dialog.callback(MENTOR_B, AcceptInvite().pack())) == "mentor_joined"


def finish_registration(dialog: Dialog, user_id: int, name: str) -> Outcome:
    """Consent, name, office and the optional NIP (skipped), each step by a new Dialog (as after
    a restart): the outcome of the last step."""
    build_dialog(dialog.ctx).callback(user_id, "r:ok")
    build_dialog(dialog.ctx).text(user_id, name)
    found = build_dialog(dialog.ctx).text(user_id, "kesehatan")
    chosen = build_dialog(dialog.ctx).callback(user_id, buttons(found)[0].data)
    assert templates(chosen)[-1] == "register/ask_nip"  # the link waits for the last step
    assert pending_start(dialog, user_id) is not None
    return build_dialog(dialog.ctx).callback(user_id, buttons(chosen)[-1].data)


def pending_start(dialog: Dialog, user_id: int) -> str | None:
    with dialog.ctx.db.session() as session:
        state = session.get(ConversationState, user_id)
        return state.pending_start if state else None


def test_an_invite_opened_before_registering_continues_into_the_mentor_step(
    dialog: Dialog,
) -> None:
    setup_people(dialog)
    token = invite_token(dialog)
    opened = dialog.command(MENTOR_A, "start", f"mentor-{token}")
    assert templates(opened) == ["mentor/register_first", "register/consent"]
    assert pending_start(dialog, MENTOR_A) == f"mentor-{token}"
    # /batal and /start in between do not lose it either.
    dialog.command(MENTOR_A, "batal")
    dialog.command(MENTOR_A, "start")
    done = finish_registration(dialog, MENTOR_A, "Dr. Syamsul Alam, S.KM., M.Kes.")
    assert templates(done)[-3:] == ["register/nip_skipped", "menu/main", "mentor/invite_confirm"]
    assert done.replies[-1].context["resumed"] is True
    assert pending_start(dialog, MENTOR_A) is None
    joined = build_dialog(dialog.ctx).callback(MENTOR_A, AcceptInvite().pack())
    assert notice(joined) == "mentor_joined" and joined.menus == (MENTOR_A,)
    with dialog.ctx.db.session() as session:
        assert session.get(Mentor, MENTOR_A).active
    # Afterwards the next step of anything else does not open it again.
    assert templates(dialog.command(MENTOR_A, "profil")) == ["register/profile"]


def test_an_invite_that_expired_or_was_used_during_registration_is_answered_politely(
    dialog: Dialog, clock: Clock
) -> None:
    setup_people(dialog)
    expiring, taken = invite_token(dialog), invite_token(dialog)
    dialog.command(MENTOR_A, "start", f"mentor-{expiring}")
    dialog.command(MENTOR_B, "start", f"mentor-{taken}")
    register(dialog, OTHER_ASN, name="Eka Putri")
    with dialog.ctx.db.session() as session:  # `taken` used by someone else meanwhile
        assert cq.use_invite(session, _invite_id(session, taken), OTHER_ASN, clock())
    clock.advance(days=8)
    late = finish_registration(dialog, MENTOR_A, "Budi Santoso")
    assert templates(late)[-1] == "mentor/invite_expired"
    assert late.replies[-1].context["resumed"] is True
    used = finish_registration(dialog, MENTOR_B, "Citra Dewi")
    assert templates(used)[-1] == "mentor/invite_used"
    for user_id in (MENTOR_A, MENTOR_B):
        assert pending_start(dialog, user_id) is None
        assert flow(dialog.ctx.db, user_id)[0] == "idle"
        with dialog.ctx.db.session() as session:
            assert session.get(Mentor, user_id) is None


def test_declining_consent_forgets_the_invite_opened_before(dialog: Dialog) -> None:
    setup_people(dialog)
    dialog.command(MENTOR_A, "start", f"mentor-{invite_token(dialog)}")
    assert templates(dialog.callback(MENTOR_A, "r:no")) == ["register/consent_declined"]
    assert pending_start(dialog, MENTOR_A) is None


def test_an_unknown_invite_before_registering_is_answered_at_once(dialog: Dialog) -> None:
    assert templates(dialog.command(MENTOR_A, "start", "mentor-salah")) == ["mentor/invite_invalid"]
    assert pending_start(dialog, MENTOR_A) is None


def _invite_id(session: Session, token: str) -> int:
    return session.exec(select(MentorInvite.id).where(MentorInvite.token == token)).one()


def test_one_invite_confirmed_by_two_people_at_once_makes_one_mentor(dialog: Dialog) -> None:
    setup_people(dialog)
    token = invite_token(dialog)
    for user_id, name in ((MENTOR_A, "Budi Santoso"), (MENTOR_B, "Citra Dewi")):
        register(dialog, user_id, name=name)
        dialog.command(user_id, "start", f"mentor-{token}")
    results = race(
        lambda user_id: dialog.callback(user_id, AcceptInvite().pack()), [MENTOR_A, MENTOR_B]
    )
    assert sorted(notice(r) or "" for r in results) == ["", "mentor_joined"]
    with dialog.ctx.db.session() as session:
        assert len(session.exec(select(Mentor)).all()) == 1
        invite = session.exec(select(MentorInvite)).one()
        assert invite.used_by in (MENTOR_A, MENTOR_B)


def test_mentor_profile_expertise_capacity_pause(dialog: Dialog) -> None:
    setup_people(dialog)
    make_mentor(dialog, MENTOR_A, "Budi Santoso", ("Kesehatan", "Inovasi pelayanan publik"))
    options = expertise_options(dialog.ctx)
    # Toggling twice removes it again.
    dialog.callback(MENTOR_A, ToggleExpertise(options.index("Kesehatan"), 0).pack())
    dialog.callback(MENTOR_A, ToggleExpertise(options.index("Pendidikan"), 0).pack())
    assert (
        notice(dialog.callback(MENTOR_A, ToggleExpertise(len(options), 0).pack())) == "stale_button"
    )
    dialog.callback(MENTOR_A, SetCapacity(5).pack())
    assert notice(dialog.callback(MENTOR_A, SetCapacity(99).pack())) == "stale_button"
    assert notice(dialog.callback(MENTOR_A, TogglePause().pack())) == "mentor_paused"
    with dialog.ctx.db.session() as session:
        mentor = session.get(Mentor, MENTOR_A)
        assert mentor is not None
        assert mentor.expertise == ["Inovasi pelayanan publik", "Pendidikan"]
        assert mentor.capacity == 5 and mentor.paused
    assert notice(dialog.callback(MENTOR_A, TogglePause().pack())) == "mentor_resumed"
    # Someone who is not a mentor has no profile and no queue.
    for data in (
        ExpertisePage(0).pack(),
        AskCapacity().pack(),
        SetCapacity(3).pack(),
        TogglePause().pack(),
        MentorProfile().pack(),
    ):
        assert notice(dialog.callback(ASN, data)) == "mentor_only", data
    assert templates(dialog.command(ASN, "antrian")) == ["mentor/not_mentor"]
    assert templates(dialog.command(ASN, "antrean")) == ["mentor/not_mentor"]


# ---- asking and routing -------------------------------------------------------------------------


def test_request_is_stored_at_once_and_offered_to_least_loaded_matching_mentors(
    dialog: Dialog,
) -> None:
    setup_people(dialog)
    make_mentor(dialog, MENTOR_A, "Budi Santoso", ("Kesehatan",))
    make_mentor(dialog, MENTOR_B, "Citra Dewi", ("Kesehatan",))
    make_mentor(dialog, MENTOR_C, "Dedi Pendidikan", ("Pendidikan",))
    make_mentor(dialog, 604, "Eka Jeda", ("Kesehatan",))
    make_mentor(dialog, 605, "Fajar Blokir", ("Kesehatan",))
    dialog.callback(604, TogglePause().pack())  # paused
    dialog.set_reachable(605, False)  # blocked the bot
    # B already carries one consultation: A (none) is told first.
    register(dialog, OTHER_ASN, name="Gita Lestari")
    earlier, _ = ask(dialog, OTHER_ASN)
    dialog.callback(MENTOR_B, AcceptConsultation(earlier).pack())
    draft_id = new_draft(dialog, ASN)
    dialog.text(ASN, "SIPANDU BUMIL")
    dialog.command(ASN, "batal")
    assert templates(dialog.command(ASN, "konsultasi")) == ["consult/ask_draft"]
    assert templates(dialog.callback(ASN, ChooseRequestDraft(draft_id).pack())) == [
        "consult/draft_chosen",
        "consult/ask_topic",
    ]
    matches = dialog.text(ASN, "kese")
    assert templates(matches) == ["consult/topic_chosen", "consult/ask_question"]
    assert templates(dialog.text(ASN, "pendek")) == ["consult/question_invalid"]
    assert templates(dialog.text(ASN, QUESTION)) == ["consult/ask_times"]
    done = dialog.callback(ASN, SkipTimes().pack())
    offers = [r.to for r in done.replies if isinstance(r, Reply) and r.template == "consult/offer"]
    assert offers == [MENTOR_A, MENTOR_B]
    assert done.rebuild == ("consult_expiry",)
    with dialog.ctx.db.session() as session:
        stored = cq.consultations_newest_first(session, asn_id=ASN)[0]
        assert (stored.status, stored.topic, stored.draft_id) == ("open", "Kesehatan", draft_id)
        assert stored.question == QUESTION and stored.preferred_times is None
    assert offered_to(dialog.ctx.db, stored.id or 0) == {MENTOR_A: "offered", MENTOR_B: "offered"}


def test_capacity_full_or_no_match_goes_to_all_active_mentors(dialog: Dialog) -> None:
    setup_people(dialog)
    make_mentor(dialog, MENTOR_A, "Budi Santoso", ("Kesehatan",))
    make_mentor(dialog, MENTOR_B, "Citra Dewi", ("Pendidikan",))
    dialog.callback(MENTOR_A, SetCapacity(1).pack())
    register(dialog, OTHER_ASN, name="Gita Lestari")
    first, _ = ask(dialog, OTHER_ASN)
    dialog.callback(MENTOR_A, AcceptConsultation(first).pack())  # A is now full
    _, outcome = ask(dialog, ASN)
    assert replies_to(outcome, MENTOR_A) == ["consult/offer"]
    assert replies_to(outcome, MENTOR_B) == ["consult/offer"]
    dialog.callback(
        MENTOR_A, SetCapacity(5).pack()
    )  # room again, but a general question matches nobody
    _, outcome = ask(dialog, ASN, topic=None)
    assert replies_to(outcome, MENTOR_A) == ["consult/offer"]
    assert replies_to(outcome, MENTOR_B) == ["consult/offer"]
    # A typed topic that names nothing is answered with the choices, nothing stored.
    dialog.callback(ASN, StartRequest().pack())
    refused = dialog.text(ASN, "zzz-tidak-ada")
    assert templates(refused) == ["consult/topic_matches"]
    assert refused.replies[0].context["count"] == 0


def test_no_mentor_at_all_tells_the_admins(dialog: Dialog) -> None:
    setup_people(dialog)
    cid, outcome = ask(dialog)
    assert outcome.replies[0].context["offered"] == 0
    assert replies_to(outcome, ADMIN_ID) == ["consult/admin_unrouted"]
    assert consultation(dialog.ctx.db, cid).status == "open"


def race(call, arguments: list[Any]) -> list[Any]:
    """Run `call` for each argument in its own thread, released at the same moment."""
    barrier = threading.Barrier(len(arguments))
    results: list[Any] = [None] * len(arguments)
    errors: list[BaseException] = []

    def run(index: int, argument: Any) -> None:
        barrier.wait()
        try:
            results[index] = call(argument)
        except BaseException as exc:  # surfaced below: a thread's error must fail the test
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i, a)) for i, a in enumerate(arguments)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    return results


def test_two_mentors_accepting_at_the_same_moment_never_both_get_it(dialog: Dialog) -> None:
    setup_people(dialog)
    make_mentor(dialog, MENTOR_A, "Budi Santoso", ("Kesehatan",))
    make_mentor(dialog, MENTOR_B, "Citra Dewi", ("Kesehatan",))
    for _ in range(5):
        cid, _ = ask(dialog)
        results = race(
            lambda m, cid=cid: dialog.callback(m, AcceptConsultation(cid).pack()),
            [MENTOR_A, MENTOR_B],
        )
        assert sorted(notice(r) or "" for r in results) == ["consult_accepted", "consult_taken"]
        winner = MENTOR_A if notice(results[0]) == "consult_accepted" else MENTOR_B
        found = consultation(dialog.ctx.db, cid)
        assert (found.status, found.mentor_id) == ("assigned", winner)
        assert [a for a in actions(dialog.ctx.db, cid) if a[0] == "accepted"] == [
            ("accepted", winner, "assigned")
        ]
        assert sorted(offered_to(dialog.ctx.db, cid).values()) == ["accepted", "taken"]
        # The loser's buttons now say it is taken; the winner's show the consultation.
        loser = MENTOR_B if winner == MENTOR_A else MENTOR_A
        assert notice(dialog.callback(loser, DeclineConsultation(cid).pack())) == "consult_taken"
        dialog.callback(winner, AskClose(cid).pack())
        dialog.text(winner, "Selesai dibahas, terima kasih.")


def test_claiming_is_atomic_even_when_both_sessions_read_open_first(database: Database) -> None:
    """The raw race: two sessions both see the request open, then both try to claim it."""
    with database.session() as session:
        for user_id in (ASN, MENTOR_A, MENTOR_B):
            session.add(User(id=user_id, full_name=f"U{user_id}"))
        session.flush()
        request = Consultation(asn_id=ASN, question=QUESTION)
        session.add(request)
        session.flush()
        cid = request.id
    ready = threading.Barrier(2)

    def claim(mentor_id: int) -> bool:
        with Session(database.engine, expire_on_commit=False) as session:
            found = session.get(Consultation, cid)
            assert found is not None and found.status == "open"
            ready.wait()  # both have read "open" before either writes
            won = cq.move(
                session, found, ("open",), "assigned", datetime.now(UTC), mentor_id=mentor_id
            )
            session.commit()
            return won

    assert sorted(race(claim, [MENTOR_A, MENTOR_B])) == [False, True]
    with database.session() as session:
        found = session.get(Consultation, cid)
        assert found is not None and found.status == "assigned"
        assert found.mentor_id in (MENTOR_A, MENTOR_B)


def test_declines_move_the_request_on_and_finally_tell_admins(dialog: Dialog) -> None:
    setup_people(dialog)
    make_mentor(dialog, MENTOR_A, "Budi Santoso", ("Kesehatan",))
    make_mentor(dialog, MENTOR_B, "Citra Dewi", ("Pendidikan",))
    cid, _ = ask(dialog)
    assert offered_to(dialog.ctx.db, cid) == {MENTOR_A: "offered"}
    declined = dialog.callback(MENTOR_A, DeclineConsultation(cid).pack())
    assert notice(declined) == "consult_declined"
    assert replies_to(declined, MENTOR_B) == ["consult/offer"]
    final = dialog.callback(MENTOR_B, DeclineConsultation(cid).pack())
    assert replies_to(final, ADMIN_ID) == ["consult/admin_declined"]
    # A decliner no longer sees it, and cannot take it after all.
    assert notice(dialog.callback(MENTOR_A, ViewConsultation(cid).pack())) == "consult_not_found"
    assert notice(dialog.callback(MENTOR_A, AcceptConsultation(cid).pack())) == "consult_taken"
    assert consultation(dialog.ctx.db, cid).status == "open"


# ---- the conversation ---------------------------------------------------------------------------


def test_accepting_opens_a_relayed_conversation_both_ways(dialog: Dialog) -> None:
    cid = accepted(dialog)
    assert flow(dialog.ctx.db, MENTOR_A) == ("consult_chat", {"consultation": cid})
    assert flow(dialog.ctx.db, ASN) == ("consult_chat", {"consultation": cid})
    to_mentor = dialog.text(ASN, "Selamat pagi, Pak.")
    copy = to_mentor.replies[0]
    assert isinstance(copy, CopyReply)
    assert (copy.to, copy.from_chat_id, copy.message_id) == (MENTOR_A, ASN, None)
    assert copy.header is not None and copy.header.context["sender"] == "Andi Pratiwi"
    assert copy.on_result is not None and copy.on_result(11, 21, "sent", 20) is None
    # A photo from the mentor goes the other way, by its message id.
    from bot.services.feature import Media

    photo = Media(kind="photo", file_id="F", chat_id=MENTOR_A, message_id=31)
    back = dialog.non_text(MENTOR_A, photo).replies[0]
    assert isinstance(back, CopyReply) and (back.to, back.message_id) == (ASN, 31)
    assert back.on_result is not None and back.on_result(31, 12, "sent") is None
    sticker = dialog.non_text(MENTOR_A, Media(kind="sticker", chat_id=MENTOR_A, message_id=32))
    assert templates(sticker) == ["consult/relay_unsupported"]
    with dialog.ctx.db.session() as session:
        pairs = session.exec(select(RelayedMessage).order_by(RelayedMessage.id)).all()
        assert [
            (p.from_chat_id, p.from_message_id, p.to_chat_id, p.to_message_id) for p in pairs
        ] == [
            (ASN, 11, MENTOR_A, 21),
            (MENTOR_A, 31, ASN, 12),
        ]
    # A Telegram reply to the copy of the photo speaks in that consultation, under the original.
    dialog.command(ASN, "batal")
    service = _service(dialog)
    assert service.route_reply(ASN, 12)
    assert flow(dialog.ctx.db, ASN) == ("consult_chat", {"consultation": cid, "reply_to": 31})
    threaded = dialog.text(ASN, "Baik, saya lengkapi.").replies[0]
    assert isinstance(threaded, CopyReply) and threaded.reply_to_message_id == 31
    assert flow(dialog.ctx.db, ASN) == ("consult_chat", {"consultation": cid})
    assert not service.route_reply(ASN, 999)
    # Replying to the header ("who, which consultation") routes like replying to the copy.
    dialog.command(MENTOR_A, "batal")
    assert service.route_reply(MENTOR_A, 20)
    assert flow(dialog.ctx.db, MENTOR_A) == ("consult_chat", {"consultation": cid, "reply_to": 11})
    assert service.edited_copies(ASN, 11) == [(MENTOR_A, 21)]


def test_a_relay_that_failed_or_was_blocked_is_reported_to_the_sender(dialog: Dialog) -> None:
    cid = accepted(dialog)
    copy = dialog.text(ASN, "Halo").replies[0]
    assert isinstance(copy, CopyReply) and copy.on_result is not None
    failed = copy.on_result(40, None, "failed")
    assert failed is not None and templates(failed) == ["consult/relay_failed"]
    blocked = copy.on_result(41, None, "blocked")
    assert blocked is not None and templates(blocked) == ["consult/relay_blocked"]
    with dialog.ctx.db.session() as session:
        mentor = session.get(Mentor, MENTOR_A)
        assert mentor is not None and not mentor.reachable
        statuses = [r.status for r in session.exec(select(RelayedMessage))]
        assert statuses == ["failed", "blocked"]
    # Unreachable mentors are skipped in routing; acting in the bot makes them reachable again.
    _, outcome = ask(dialog)
    assert replies_to(outcome, MENTOR_A) == []
    dialog.command(MENTOR_A, "antrian")
    _, outcome = ask(dialog)
    assert replies_to(outcome, MENTOR_A) == ["consult/offer"]
    assert consultation(dialog.ctx.db, cid).status == "assigned"


def test_comment_on_a_section_shows_when_the_asn_views_it(dialog: Dialog) -> None:
    setup_people(dialog)
    make_mentor(dialog, MENTOR_A, "Budi Santoso", ("Kesehatan",))
    draft_id = new_draft(dialog, ASN)
    dialog.text(ASN, "SIPANDU BUMIL")
    dialog.command(ASN, "batal")
    # The "Konsultasi" button on an opened draft starts a request about it.
    summary = dialog.callback(ASN, f"d:o:{draft_id}")
    assert RequestAboutDraft(draft_id).pack() in [b.data for b in buttons(summary)]
    assert templates(dialog.callback(ASN, RequestAboutDraft(draft_id).pack())) == [
        "consult/ask_topic"
    ]
    dialog.text(ASN, "kesehatan")
    dialog.text(ASN, QUESTION)
    dialog.callback(ASN, SkipTimes().pack())
    cid = consultation_ids(dialog, ASN)[0]
    dialog.callback(MENTOR_A, AcceptConsultation(cid).pack())
    view = dialog.callback(MENTOR_A, ViewConsultedDraft(cid).pack())
    assert isinstance(view.replies[0], LongReply)
    menu = dialog.callback(MENTOR_A, CommentMenu(cid).pack())
    assert len(buttons(menu)) == 20
    dialog.callback(MENTOR_A, AskComment(cid, 10).pack())
    assert templates(dialog.text(MENTOR_A, "ok")) == ["consult/comment_invalid"]
    saved = dialog.text(MENTOR_A, "Tambahkan data ibu hamil <risiko tinggi> per desa & sumbernya.")
    assert replies_to(saved, ASN) == ["consult/comment_notice"]
    assert [b.data for b in buttons(saved) if b.data.startswith("d:s:")] == [f"d:s:{draft_id}:10"]
    question = dialog.callback(ASN, f"d:s:{draft_id}:10")
    comments = question.replies[-1].context["comments"]
    assert [(c["mentor"], c["text"]) for c in comments] == [
        ("Budi Santoso", "Tambahkan data ibu hamil <risiko tinggi> per desa & sumbernya.")
    ]
    other = dialog.callback(ASN, f"d:s:{draft_id}:11")
    assert other.replies[-1].context["comments"] == []
    assert ("commented", MENTOR_A, None) in actions(dialog.ctx.db, cid)


def consultation_ids(dialog: Dialog, user_id: int) -> list[int]:
    with dialog.ctx.db.session() as session:
        return [c.id or 0 for c in cq.consultations_newest_first(session, asn_id=user_id)]


def _service(dialog: Dialog) -> ConsultationService:
    return next(f.service for f in dialog.features if f.name == "consultations")


# ---- sessions, closing, rating, cancelling ------------------------------------------------------


def propose(dialog: Dialog, cid: int, text: str) -> int:
    dialog.callback(MENTOR_A, AskSchedule(cid).pack())
    outcome = dialog.text(MENTOR_A, text)
    assert templates(outcome) == ["consult/schedule_proposed", "consult/session_proposal"]
    return outcome.replies[0].context["proposal"].id


def test_session_proposed_confirmed_and_reminded_once(dialog: Dialog, clock: Clock) -> None:
    cid = accepted(dialog)
    dialog.callback(MENTOR_A, AskSchedule(cid).pack())
    assert templates(dialog.text(MENTOR_A, "kapan-kapan")) == ["consult/schedule_invalid"]
    # Rejected, then another time: 25 Nov 2026 10.00 WITA = 02.00 UTC.
    first = propose(dialog, cid, "24/11/2026 15.00")
    rejected = dialog.callback(ASN, RejectSession(first).pack())
    assert replies_to(rejected, MENTOR_A) == ["consult/session_rejected_mentor"]
    assert replies_to(dialog.text(ASN, "Kamis pagi"), MENTOR_A) == ["consult/retime_note"]
    second = propose(dialog, cid, "25 November 2026 pukul 10.00 di Ruang Klinik Bappeda")
    assert notice(dialog.callback(ASN, ConfirmSession(first).pack())) == "stale_button"
    confirmed = dialog.callback(ASN, ConfirmSession(second).pack())
    assert confirmed.rebuild == ("consult_reminders",)
    assert replies_to(confirmed, MENTOR_A) == ["consult/session_confirmed_mentor"]
    found = consultation(dialog.ctx.db, cid)
    assert found.status == "scheduled"
    source = SessionReminderSource(_service(dialog), (timedelta(days=1), timedelta(hours=1)))
    start = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
    assert source.wake_times(clock()) == [start - timedelta(days=1), start - timedelta(hours=1)]
    sender = RecordingSender()
    asyncio.run(source.run_due(clock(), sender))
    assert sender.sent == []
    clock.current = start - timedelta(days=1)
    asyncio.run(source.run_due(clock(), sender))
    asyncio.run(source.run_due(clock(), sender))  # a duplicated wake-up sends nothing more
    assert sorted(c for c, _ in sender.sent) == [ASN, MENTOR_A]
    assert {r.context["minutes"] for _, r in sender.sent} == {1440}
    assert source.wake_times(clock()) == [start - timedelta(hours=1)]
    clock.current = start - timedelta(minutes=30)
    asyncio.run(source.run_due(clock(), sender))
    assert [r.context["minutes"] for _, r in sender.sent[2:]] == [60, 60]
    clock.current = start + timedelta(minutes=5)
    asyncio.run(source.run_due(clock(), sender))
    assert len(sender.sent) == 4 and source.wake_times(clock()) == []


def test_a_bot_down_for_the_day_reminder_sends_only_the_nearest(
    dialog: Dialog, clock: Clock
) -> None:
    cid = accepted(dialog)
    sid = propose(dialog, cid, "25/11/2026 10.00")
    dialog.callback(ASN, ConfirmSession(sid).pack())
    source = SessionReminderSource(_service(dialog), (timedelta(days=1), timedelta(hours=1)))
    sender = RecordingSender("failed")
    clock.current = datetime(2026, 11, 25, 1, 30, tzinfo=UTC)
    asyncio.run(source.run_due(clock(), sender))
    assert {r.context["minutes"] for _, r in sender.sent} == {60}
    sender.status = "delivered"
    asyncio.run(source.run_due(clock(), sender))  # failed ones are retried
    assert len(sender.sent) == 4
    with dialog.ctx.db.session() as session:
        rows = session.exec(select(SessionReminder)).all()
        assert sorted((r.offset_minutes, r.status) for r in rows) == [
            (60, "sent"),
            (60, "sent"),
            (1440, "skipped"),
            (1440, "skipped"),
        ]


def test_close_with_summary_then_rating(dialog: Dialog) -> None:
    cid = accepted(dialog)
    sid = propose(dialog, cid, "25/11/2026 10.00")
    dialog.callback(ASN, ConfirmSession(sid).pack())
    assert notice(dialog.callback(ASN, AskClose(cid).pack())) == "consult_not_found"  # mentors only
    dialog.callback(MENTOR_A, AskClose(cid).pack())
    assert templates(dialog.text(MENTOR_A, "singkat")) == ["consult/close_invalid"]
    closed = dialog.text(MENTOR_A, "Sudah dibahas data permasalahan; lengkapi bukti dukung.")
    assert replies_to(closed, ASN) == ["consult/closed_asn"]
    assert closed.rebuild == ("consult_reminders",)
    assert len([b for b in buttons(closed) if b.data.startswith(f"k:r:{cid}:")]) == 5
    assert notice(dialog.callback(MENTOR_A, Rate(cid, 5).pack())) == "consult_not_found"
    assert notice(dialog.callback(ASN, Rate(cid, 9).pack())) == "stale_button"
    assert notice(dialog.callback(ASN, Rate(cid, 4).pack())) == "consult_rated"
    assert notice(dialog.callback(ASN, Rate(cid, 5).pack())) == "consult_already_rated"
    dialog.text(ASN, "Sangat membantu, terima kasih.")
    found = consultation(dialog.ctx.db, cid)
    assert (found.status, found.rating, found.rating_comment) == (
        "closed",
        4,
        "Sangat membantu, terima kasih.",
    )
    assert found.ended_at is not None
    # Talking in a closed consultation is refused politely.
    dialog.callback(ASN, OpenChat(cid).pack())
    assert templates(dialog.callback(ASN, OpenChat(cid).pack())) == ["consult/chat_closed"]
    assert [a for a, _, _ in actions(dialog.ctx.db, cid)] == [
        "created",
        "offered",
        "accepted",
        "session_proposed",
        "session_confirmed",
        "closed",
        "rated",
    ]


def test_either_side_cancels_with_a_reason(dialog: Dialog) -> None:
    cid = accepted(dialog)
    dialog.callback(MENTOR_A, AskCancel(cid).pack())
    assert templates(dialog.command(MENTOR_A, "batal")) == ["consult/flow_left"]
    dialog.callback(MENTOR_A, OpenChat(cid).pack())  # back to talking
    assert consultation(dialog.ctx.db, cid).status == "assigned"
    dialog.callback(ASN, AskCancel(cid).pack())
    assert templates(dialog.text(ASN, "x")) == ["consult/cancel_invalid"]
    cancelled = dialog.text(ASN, "Sudah dibantu rekan di Bappeda")
    assert replies_to(cancelled, MENTOR_A) == ["consult/cancelled_other"]
    found = consultation(dialog.ctx.db, cid)
    assert (found.status, found.cancel_reason) == ("cancelled", "Sudah dibantu rekan di Bappeda")
    assert ("cancelled", ASN, "cancelled") in actions(dialog.ctx.db, cid)
    # The mentor's chat mode now answers that the consultation ended.
    assert templates(dialog.text(MENTOR_A, "Halo?")) == ["consult/chat_closed"]
    assert flow(dialog.ctx.db, MENTOR_A)[0] == "idle"


# ---- who sees what ------------------------------------------------------------------------------


def test_every_callback_rechecks_who_may_see_the_consultation(dialog: Dialog) -> None:
    setup_people(dialog)
    make_mentor(dialog, MENTOR_A, "Budi Santoso", ("Kesehatan",))
    make_mentor(dialog, MENTOR_B, "Citra Dewi", ("Pendidikan",))  # not offered
    register(dialog, OTHER_ASN, name="Gita Lestari")
    draft_id = new_draft(dialog, ASN)
    dialog.text(ASN, "SIPANDU BUMIL")
    dialog.command(ASN, "batal")
    cid, _ = ask(dialog, draft=draft_id)
    # While open: the offered mentor may look; another mentor, another ASN may not.
    assert templates(dialog.callback(MENTOR_A, ViewConsultation(cid).pack())) == ["consult/offer"]
    assert isinstance(
        dialog.callback(MENTOR_A, ViewConsultedDraft(cid).pack()).replies[0], LongReply
    )
    everything = [
        ViewConsultation(cid).pack(),
        AcceptConsultation(cid).pack(),
        DeclineConsultation(cid).pack(),
        ViewConsultedDraft(cid).pack(),
        OpenChat(cid).pack(),
        CommentMenu(cid).pack(),
        AskComment(cid, 0).pack(),
        AskSchedule(cid).pack(),
        AskClose(cid).pack(),
        AskCancel(cid).pack(),
        Rate(cid, 5).pack(),
        ConsultationHistory(cid).pack(),
    ]
    for stranger in (MENTOR_B, OTHER_ASN):
        for data in everything:
            result = dialog.callback(stranger, data)
            assert notice(result) == "consult_not_found", (stranger, data)
            assert templates(result) == ["consult/not_found"], (stranger, data)
            assert result.replies[0].context == {}  # reveals nothing
    dialog.callback(MENTOR_A, AcceptConsultation(cid).pack())
    sid = propose(dialog, cid, "25/11/2026 10.00")
    for stranger in (MENTOR_B, OTHER_ASN, MENTOR_A):
        for data in (ConfirmSession(sid).pack(), RejectSession(sid).pack()):
            assert notice(dialog.callback(stranger, data)) == "consult_not_found", (stranger, data)
    # The ASN cannot act as the mentor; admin-only views stay closed to others.
    for data in (
        CommentMenu(cid).pack(),
        AskSchedule(cid).pack(),
        AskClose(cid).pack(),
        ConsultationHistory(cid).pack(),
        AskComment(cid, 0).pack(),
    ):
        assert notice(dialog.callback(ASN, data)) == "consult_not_found", data
    for user_id in (ASN, MENTOR_A):
        assert notice(dialog.callback(user_id, AllConsultations(0).pack())) == "forbidden"
        for data in (
            InviteMentor().pack(),
            MentorList().pack(),
            MentorDetail(MENTOR_A).pack(),
            DeactivateMentor(MENTOR_A).pack(),
            ReassignMenu(MENTOR_A).pack(),
        ):
            assert notice(dialog.callback(user_id, data)) == "forbidden", data
        assert templates(dialog.command(user_id, "mentor")) == ["common/forbidden"]
    # Garbage and unknown ids.
    for data in (
        ViewConsultation(999999).pack(),
        "k:v:abc",
        "k:zz:1",
        "k:a",
        "m:zz",
        f"k:sy:{sid + 100}",
    ):
        assert notice(dialog.callback(MENTOR_A, data)) in ("stale_button", "consult_not_found")
    # The admin sees every consultation and its history, but not the draft.
    assert templates(dialog.callback(ADMIN_ID, ViewConsultation(cid).pack())) == ["consult/detail"]
    assert isinstance(
        dialog.callback(ADMIN_ID, ConsultationHistory(cid).pack()).replies[0], LongReply
    )
    assert notice(dialog.callback(ADMIN_ID, ViewConsultedDraft(cid).pack())) == "consult_not_found"
    # Each side's own lists show only their consultations.
    assert templates(dialog.command(OTHER_ASN, "konsultasi")) == ["consult/ask_topic"]
    queue = dialog.command(MENTOR_B, "antrean")
    assert queue.replies[0].context["live"] == []
    assert dialog.command(MENTOR_B, "antrian").replies[0].context["live"] == []  # the alias


def test_history_lists_every_change_with_time_and_actor(dialog: Dialog, clock: Clock) -> None:
    cid = accepted(dialog)
    clock.advance(hours=1)
    dialog.callback(ASN, AskCancel(cid).pack())
    dialog.text(ASN, "Tidak jadi")
    with dialog.ctx.db.session() as session:
        events = cq.events_of(session, cid)
        assert [(e.action, e.actor_id, e.from_status, e.to_status) for e in events] == [
            ("created", ASN, None, "open"),
            ("offered", None, None, None),
            ("accepted", MENTOR_A, "open", "assigned"),
            ("cancelled", ASN, "assigned", "cancelled"),
        ]
        assert events[-1].at - events[0].at == timedelta(hours=1)
    history = dialog.callback(ADMIN_ID, ConsultationHistory(cid).pack()).replies[0]
    assert isinstance(history, LongReply)
    assert [c.head_context["e"].action for c in history.chunks[1:]] == [
        "created",
        "offered",
        "accepted",
        "cancelled",
    ]


def test_admin_deactivates_a_mentor_and_reassigns_their_consultations(dialog: Dialog) -> None:
    cid = accepted(dialog)
    sid = propose(dialog, cid, "25/11/2026 10.00")
    dialog.callback(ASN, ConfirmSession(sid).pack())
    make_mentor(dialog, MENTOR_B, "Citra Dewi", ("Pendidikan",))
    listing = dialog.command(ADMIN_ID, "mentor")
    assert [r["name"] for r in listing.replies[0].context["rows"]] == ["Budi Santoso", "Citra Dewi"]
    off = dialog.callback(ADMIN_ID, DeactivateMentor(MENTOR_A).pack())
    assert replies_to(off, MENTOR_A) == ["mentor/deactivated_notice"]
    assert ReassignMenu(MENTOR_A).pack() in [b.data for b in buttons(off)]
    # A deactivated mentor can no longer act on it.
    assert notice(dialog.callback(MENTOR_A, AskClose(cid).pack())) == "consult_not_found"
    moved = dialog.callback(ADMIN_ID, ReassignTo(MENTOR_A, MENTOR_B).pack())
    assert replies_to(moved, MENTOR_B) == ["consult/assigned_by_admin"]
    assert replies_to(moved, ASN) == ["consult/mentor_changed"]
    found = consultation(dialog.ctx.db, cid)
    assert (found.status, found.mentor_id) == ("assigned", MENTOR_B)
    with dialog.ctx.db.session() as session:
        assert [s.status for s in cq.sessions_of(session, cid)] == ["void"]
    assert ("reassigned", ADMIN_ID, "assigned") in actions(dialog.ctx.db, cid)
    # Back to routing: B's consultation is offered again, to others.
    dialog.callback(ADMIN_ID, ReactivateMentor(MENTOR_A).pack())
    rerouted = dialog.callback(ADMIN_ID, RerouteAll(MENTOR_B).pack())
    assert replies_to(rerouted, MENTOR_A) == ["consult/offer"]
    assert consultation(dialog.ctx.db, cid).status == "open"
    assert notice(dialog.callback(ADMIN_ID, ReassignTo(MENTOR_B, 999).pack())) == "not_found"


# ---- expiry and re-announcement -----------------------------------------------------------------


def notices(db: Database) -> list[tuple[str, int, int, str]]:
    with db.session() as session:
        rows = session.exec(select(ConsultationNotice).order_by(ConsultationNotice.id)).all()
        return [(n.kind, n.round, n.user_id, n.status) for n in rows]


def test_unaccepted_request_is_reannounced_then_expires(
    dialog: Dialog, ctx: ServiceContext, clock: Clock
) -> None:
    setup_people(dialog)
    make_mentor(dialog, MENTOR_A, "Budi Santoso", ("Kesehatan",))
    make_mentor(dialog, MENTOR_B, "Citra Dewi", ("Pendidikan",))
    make_mentor(dialog, MENTOR_C, "Dedi Lestari", ("Pendidikan",))
    cid, _ = ask(dialog)
    dialog.callback(MENTOR_C, TogglePause().pack())  # paused: not announced to
    source = ExpirySource(_service(dialog), timedelta(hours=24), reannouncements=1)
    created = clock()
    assert source.wake_times(clock()) == [created + timedelta(hours=24)]
    sender = RecordingSender()
    clock.advance(hours=23)
    asyncio.run(source.run_due(clock(), sender))
    assert sender.sent == []
    clock.advance(hours=1)
    asyncio.run(source.run_due(clock(), sender))
    asyncio.run(source.run_due(clock(), sender))  # a second wake-up sends nothing twice
    assert sender.to(MENTOR_A) == ["consult/offer"] and sender.to(MENTOR_B) == ["consult/offer"]
    assert sender.to(MENTOR_C) == []
    assert sender.to(ADMIN_ID) == ["consult/admin_reannounced"]
    assert sender.to(ASN) == ["consult/asn_reannounced"]
    assert all(r.context.get("again") for c, r in sender.sent if c in (MENTOR_A, MENTOR_B))
    found = consultation(dialog.ctx.db, cid)
    assert (found.status, found.announce_round) == ("open", 2)
    assert found.announced_at == clock()
    # Still nobody: after another period it expires and the ASN and admins are told.
    clock.advance(hours=24)
    asyncio.run(source.run_due(clock(), sender))
    assert sender.to(ASN)[-1] == "consult/asn_expired"
    assert sender.to(ADMIN_ID)[-1] == "consult/admin_expired"
    assert consultation(dialog.ctx.db, cid).status == "expired"
    assert notice(dialog.callback(MENTOR_A, AcceptConsultation(cid).pack())) == "consult_taken"
    assert [a for a, _, _ in actions(dialog.ctx.db, cid)][-3:] == [
        "reannounced",
        "offered",
        "expired",
    ]
    assert source.wake_times(clock()) == []
    assert {s for *_, s in notices(dialog.ctx.db)} == {"sent"}


def test_an_accepted_request_is_not_reannounced_and_failed_notices_are_retried(
    dialog: Dialog, clock: Clock
) -> None:
    setup_people(dialog)
    make_mentor(dialog, MENTOR_A, "Budi Santoso", ("Kesehatan",))
    first, _ = ask(dialog)
    second, _ = ask(dialog)
    dialog.callback(MENTOR_A, AcceptConsultation(first).pack())
    source = ExpirySource(_service(dialog), timedelta(hours=24))
    clock.advance(hours=25)
    sender = RecordingSender("failed")
    asyncio.run(source.run_due(clock(), sender))
    assert consultation(dialog.ctx.db, first).status == "assigned"
    assert {n[3] for n in notices(dialog.ctx.db)} == {"failed"}
    assert source.wake_times(clock())[0] == clock()  # failed notices ask to be tried again
    sender.status = "delivered"
    asyncio.run(source.run_due(clock(), sender))
    assert {n[3] for n in notices(dialog.ctx.db)} == {"sent"}
    assert len(sender.sent) == 2 * 3  # offer to A, admin, ASN; each once failed, once sent
    # Accepted after the notice went out: the late offer answers "taken".
    assert (
        notice(dialog.callback(MENTOR_A, AcceptConsultation(second).pack())) == "consult_accepted"
    )


# ---- typed times -----------------------------------------------------------------------------


NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # Monday 23 November 2026, 10.00 WITA


@pytest.mark.parametrize(
    ("text", "local", "note"),
    [
        ("25/11/2026 10.00", (2026, 11, 25, 10, 0), None),
        ("25-11-26 14:30 via Zoom", (2026, 11, 25, 14, 30), "via Zoom"),
        ("25.11.2026 pukul 09.15 WITA", (2026, 11, 25, 9, 15), None),
        (
            "Rabu, 25 November 2026 pukul 10.00 di Ruang Klinik",
            (2026, 11, 25, 10, 0),
            "di Ruang Klinik",
        ),
        ("30 Nov jam 8.00", (2026, 11, 30, 8, 0), None),
        ("besok jam 14.00", (2026, 11, 24, 14, 0), None),
        ("lusa pukul 3 sore", (2026, 11, 25, 15, 0), None),
        ("Kamis 10.00", (2026, 11, 26, 10, 0), None),
        ("5/1 09.00", (2027, 1, 5, 9, 0), None),
        ("hari ini pukul 16.00", (2026, 11, 23, 16, 0), None),
    ],
)
def test_session_times_typed_the_way_people_type_them(
    text: str, local: tuple[int, ...], note: str | None
) -> None:
    starts_at, found_note = parse_session_time(text, NOW, WITA)
    assert starts_at.astimezone(WITA).timetuple()[:5] == local
    assert found_note == note


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("kapan saja", "unrecognised"),
        ("31/02/2027 10.00", "unrecognised"),
        ("25/11/2026", "unrecognised"),
        ("25/11/2026 25.00", "unrecognised"),
        ("23/11/2026 09.00", "past"),
        ("01/01/2020 09.00", "past"),
        ("25/11/2027 10.00", "too_far"),
    ],
)
def test_session_times_refused_with_a_reason(text: str, reason: str) -> None:
    with pytest.raises(SessionTimeError) as refused:
        parse_session_time(text, NOW, WITA)
    assert refused.value.reason == reason


def test_offers_are_recorded_per_mentor(database: Database) -> None:
    """The offer table forbids two offers of one request to one mentor."""
    from sqlalchemy.exc import IntegrityError

    with database.session() as session:
        for user_id in (ASN, MENTOR_A):
            session.add(User(id=user_id, full_name=f"U{user_id}"))
        session.flush()
        request = Consultation(asn_id=ASN, question=QUESTION)
        session.add(request)
        session.flush()
        cid = request.id or 0
        session.add(ConsultationOffer(consultation_id=cid, mentor_id=MENTOR_A))
    with pytest.raises(IntegrityError), database.session() as session:
        session.add(ConsultationOffer(consultation_id=cid, mentor_id=MENTOR_A))
    with database.session() as session:
        assert len(session.exec(select(ConsultationEvent)).all()) == 0


# ---- every reply renders ------------------------------------------------------------------------


class Recording:
    """The dialog, keeping every outcome so that each reply can be rendered afterwards."""

    def __init__(self, dialog: Dialog) -> None:
        self.dialog = dialog
        self.outcomes: list[Outcome] = []

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.dialog, name)
        if not callable(method):
            return method

        def call(*args: Any) -> Any:
            outcome = method(*args)
            if isinstance(outcome, Outcome):
                self.outcomes.append(outcome)
            return outcome

        return call


def test_every_reply_renders_as_valid_telegram_html(
    dialog: Dialog, ctx: ServiceContext, clock: Clock
) -> None:
    from bot.emulator.formatting import check_message_text, parse_text
    from bot.rendering import Renderer

    setup_people(dialog)
    register(dialog, OTHER_ASN, name="Gita <Lestari>")
    make_mentor(dialog, MENTOR_A, "Budi <Santoso> & Co", ("Kesehatan",))
    make_mentor(dialog, MENTOR_B, "Citra Dewi", ("Kesehatan", "Pendidikan"))
    draft_id = new_draft(dialog, ASN)
    dialog.text(ASN, "SIPANDU <BUMIL> & Kader")
    for text in ("ASN", "Penerapan", "Digital", "publik", "Non tematik", "Kesehatan"):
        dialog.text(ASN, text)
    dialog.command(ASN, "batal")
    d = Recording(dialog)
    d.command(MENTOR_A, "undang_mentor")
    d.command(ADMIN_ID, "undang_mentor")
    d.callback(MENTOR_A, MentorProfile().pack())
    d.callback(MENTOR_A, ExpertisePage(4).pack())
    d.callback(MENTOR_A, AskCapacity().pack())
    d.callback(MENTOR_A, TogglePause().pack())
    d.callback(MENTOR_A, TogglePause().pack())
    d.command(ASN, "konsultasi")
    d.callback(ASN, ChooseRequestDraft(draft_id).pack())
    d.callback(ASN, TopicPage(2).pack())
    d.text(ASN, "a")
    d.text(ASN, "zzz")
    d.text(ASN, "kesehatan")
    d.text(ASN, "x")
    d.text(ASN, "Pertanyaan dengan <tag> & ampersand: " + "data " * 420)
    d.text(ASN, "Q <b>tebal</b> & " + QUESTION)
    d.text(ASN, "x")
    d.text(ASN, "Senin <pagi> & sore")
    cid = consultation_ids(dialog, ASN)[0]
    ctx.max_open_consultations = 1  # the one just asked for is as many as allowed
    d.callback(ASN, StartRequest().pack())
    ctx.max_open_consultations = 3
    for user_id in (ASN, MENTOR_A, ADMIN_ID):
        d.callback(user_id, ViewConsultation(cid).pack())
    d.callback(MENTOR_A, ViewConsultedDraft(cid).pack())
    d.command(ADMIN_ID, "mentor")
    d.callback(ADMIN_ID, MentorDetail(MENTOR_A).pack())
    d.callback(ADMIN_ID, AllConsultations(0).pack())
    d.callback(ASN, OpenChat(cid).pack())
    d.callback(MENTOR_A, AcceptConsultation(cid).pack())
    d.callback(MENTOR_B, AcceptConsultation(cid).pack())
    d.command(MENTOR_A, "antrian")
    d.command(ASN, "konsultasi")
    for user_id in (ASN, MENTOR_A, ADMIN_ID):
        d.callback(user_id, ViewConsultation(cid).pack())
    d.callback(MENTOR_A, CommentMenu(cid).pack())
    d.callback(MENTOR_A, AskComment(cid, 0).pack())
    d.text(MENTOR_A, "ok")
    d.text(MENTOR_A, "Komentar <penting> & rinci " * 30)
    d.callback(ASN, f"d:s:{draft_id}:0")
    d.command(ASN, "batal")
    d.callback(MENTOR_A, AskSchedule(cid).pack())
    for text in ("kapan", "01/01/2020 10.00", "01/01/2028 10.00"):
        d.text(MENTOR_A, text)
    d.text(MENTOR_A, "24/11/2026 10.00 via <Zoom> & tautan")
    sid = propose(dialog, cid, "25/11/2026 10.00 di Ruang Klinik")
    d.callback(ASN, ViewConsultation(cid).pack())
    d.callback(ASN, RejectSession(sid).pack())
    d.text(ASN, "Kamis <pagi>")
    sid = propose(dialog, cid, "25/11/2026 11.00")
    d.callback(ASN, ConfirmSession(sid).pack())
    d.callback(MENTOR_A, ViewConsultation(cid).pack())
    d.callback(ASN, OpenChat(cid).pack())
    d.text(ASN, "Halo")
    from bot.services.feature import Media

    d.non_text(ASN, Media(kind="poll", chat_id=ASN, message_id=5))
    copy = dialog.text(ASN, "Halo lagi").replies[0]
    assert isinstance(copy, CopyReply) and copy.on_result is not None
    d.outcomes += [copy.on_result(7, None, "failed"), copy.on_result(8, None, "blocked")]
    d.outcomes.append(Outcome().add(copy.header))  # type: ignore[arg-type]
    d.command(MENTOR_A, "antrian")  # acting again: reachable again
    for start in (
        OpenChat(cid).pack(),
        AskSchedule(cid).pack(),
        AskClose(cid).pack(),
        AskCancel(cid).pack(),
        AskComment(cid, 1).pack(),
    ):
        d.callback(MENTOR_A, start)
        d.command(MENTOR_A, "batal")
    source = SessionReminderSource(_service(dialog), (timedelta(days=1), timedelta(hours=1)))
    sender = RecordingSender()
    clock.current = datetime(2026, 11, 24, 3, 30, tzinfo=UTC)
    asyncio.run(source.run_due(clock(), sender))
    late = propose(dialog, cid, "24/11/2026 12.00")
    clock.advance(hours=1)
    d.callback(ASN, ConfirmSession(late).pack())
    d.callback(MENTOR_A, AskClose(cid).pack())
    d.text(MENTOR_A, "x")
    d.text(MENTOR_A, "Ringkasan <hasil> & langkah " * 40)
    d.callback(ASN, Rate(cid, 4).pack())
    d.text(ASN, "Masukan <baik> & jelas")
    d.callback(ADMIN_ID, ConsultationHistory(cid).pack())
    d.callback(ASN, ViewConsultation(cid).pack())
    d.callback(ASN, OpenChat(cid).pack())  # the conversation of a closed consultation
    second, _ = ask(dialog)
    d.callback(MENTOR_B, AcceptConsultation(second).pack())
    d.callback(MENTOR_B, AskCancel(second).pack())
    d.text(MENTOR_B, "x")
    d.text(MENTOR_B, "Berhalangan <dinas> & luar kota")
    d.command(ASN, "konsultasi")
    d.callback(ASN, StartRequest().pack())
    d.text(ASN, "apa")
    d.callback(ASN, ChooseRequestDraft(0).pack())
    d.callback(ASN, ChooseGeneralTopic().pack())
    d.text(ASN, QUESTION)
    d.callback(ASN, SkipTimes().pack())
    third = consultation_ids(dialog, ASN)[0]
    d.callback(MENTOR_A, DeclineConsultation(third).pack())
    d.callback(MENTOR_B, DeclineConsultation(third).pack())
    d.callback(ADMIN_ID, ViewConsultation(third).pack())
    d.callback(ADMIN_ID, AssignMenu(third).pack())
    d.callback(ADMIN_ID, AssignMentor(third, MENTOR_A).pack())
    with dialog.ctx.db.session() as session:  # A leaves: third goes back to routing
        d.outcomes.append(_service(dialog).mentor_leaving(session, MENTOR_A))
    d.callback(ADMIN_ID, ReactivateMentor(MENTOR_A).pack())
    d.callback(ADMIN_ID, DeactivateMentor(MENTOR_B).pack())
    d.callback(ADMIN_ID, ReassignMenu(MENTOR_B).pack())
    d.callback(ADMIN_ID, ReactivateMentor(MENTOR_B).pack())
    fourth, _ = ask(dialog)
    d.callback(MENTOR_A, AcceptConsultation(fourth).pack())
    d.callback(ADMIN_ID, ReassignTo(MENTOR_A, MENTOR_B).pack())
    d.callback(ADMIN_ID, RerouteAll(MENTOR_B).pack())
    d.callback(OTHER_ASN, ViewConsultation(cid).pack())
    d.command(OTHER_ASN, "antrian")
    d.callback(ADMIN_ID, MentorDetail(999).pack())
    for mentor_id in (MENTOR_A, MENTOR_B):
        d.callback(ADMIN_ID, DeactivateMentor(mentor_id).pack())
    ask(d)  # type: ignore[arg-type]  # nobody left
    expiry = ExpirySource(_service(dialog), timedelta(hours=24))
    for _ in range(2):
        clock.advance(hours=25)
        asyncio.run(expiry.run_due(clock(), sender))
    register(dialog, 700, name="Calon Mentor")
    token = invite_token(dialog)
    d.command(700, "start", f"mentor-{token}")
    d.text(700, "ya")
    d.callback(700, DeclineInvite().pack())
    d.command(700, "start", f"mentor-{token}")
    d.callback(700, AcceptInvite().pack())
    d.command(OTHER_ASN, "start", f"mentor-{token}")
    d.command(701, "start", f"mentor-{invite_token(dialog)}")
    late_token = invite_token(dialog)
    clock.advance(days=8)
    d.command(OTHER_ASN, "start", f"mentor-{late_token}")
    d.command(700, "start", f"mentor-{late_token}")
    d.command(700, "start", "mentor-salah")
    d.command(MENTOR_A, "start", f"mentor-{invite_token(dialog)}")
    replies = [r for o in d.outcomes for r in o.replies] + [r for _, r in sender.sent]
    renderer = Renderer(WITA)
    renderer.env.globals["bot_username"] = "klinik_bot"
    rendered_templates = set()
    for reply in replies:
        if isinstance(reply, CopyReply):
            continue
        for message in renderer.render_any(reply):
            check_message_text(parse_text(message.text, "HTML"))
            assert "None" not in message.text, message.text
            for row in message.buttons:
                for label, data in row:
                    assert label and len(data.encode()) <= 64
        if isinstance(reply, LongReply):
            rendered_templates.update(c.head_template for c in reply.chunks)
        if isinstance(reply, Reply) and reply.context.get("notice_template"):
            rendered_templates.add(reply.context["notice_template"])
        rendered_templates.add(getattr(reply, "template", None))
    used = {t for t in rendered_templates if t}
    import glob
    import os

    shipped = {
        os.path.relpath(p, "templates/messages")[: -len(".html.j2")]
        for folder in ("consult", "mentor")
        for p in glob.glob(f"templates/messages/{folder}/[!_]*.html.j2")
    }
    missing = shipped - used
    assert not missing, sorted(missing)


# ---- the state machine --------------------------------------------------------------------------

ALL_STATES = ("open", "assigned", "scheduled", "closed", "cancelled", "expired")
ALLOWED = {
    "accepted": {"open"},
    "reassigned": {"assigned", "scheduled"},
    "reopened": {"assigned", "scheduled"},
    "session_confirmed": {"assigned", "scheduled"},
    "closed": {"assigned", "scheduled"},
    "cancelled": {"open", "assigned", "scheduled"},
    "expired": {"open"},
    "reannounced": {"open"},
}


@pytest.mark.parametrize("action", sorted(ALLOWED))
def test_state_machine_allows_exactly_its_transitions(ctx: ServiceContext, action: str) -> None:
    from bot.services.consultations import TRANSITIONS

    service = ConsultationService(ctx)
    with ctx.db.session() as session:
        session.add(User(id=ASN, full_name="Andi"))
        session.add(User(id=MENTOR_A, full_name="Budi"))
        session.flush()
        for status in ALL_STATES:
            c = Consultation(asn_id=ASN, question=QUESTION, status=status, mentor_id=MENTOR_A)
            session.add(c)
            session.flush()
            moved = service.transition(session, c, action, MENTOR_A)
            assert moved == (status in ALLOWED[action]), (action, status)
            target = TRANSITIONS[action][1]
            assert c.status == (target if moved else status)
            events = session.exec(
                select(ConsultationEvent).where(ConsultationEvent.consultation_id == c.id)
            ).all()
            expected = [(action, status, target)] if moved else []
            assert [(e.action, e.from_status, e.to_status) for e in events] == expected
            assert (c.ended_at is not None) == (
                moved and target in ("closed", "cancelled", "expired")
            )


def test_a_relay_lost_with_its_process_is_passed_on_when_telegram_redelivers(
    dialog: Dialog,
) -> None:
    accepted(dialog)
    first = dialog.text(
        ASN, "Selamat pagi, Pak.", mark=UpdateMark(7001)
    )  # the process dies before the copy leaves
    assert isinstance(first.replies[0], CopyReply)
    with pytest.raises(AlreadyRecorded):
        dialog.text(ASN, "Selamat pagi, Pak.", mark=UpdateMark(7001))
    again = dialog.redelivered(ASN, "text", ("Selamat pagi, Pak.",), 11)
    copy = again.replies[0]
    assert isinstance(copy, CopyReply) and copy.to == MENTOR_A and copy.on_result is not None
    assert copy.on_result(11, 21, "sent", 20) is None
    # Passed on once: a further repeat sends nothing.
    assert dialog.redelivered(ASN, "text", ("Selamat pagi, Pak.",), 11).replies == []
    with dialog.ctx.db.session() as session:
        assert len(session.exec(select(RelayedMessage)).all()) == 1


def test_a_reply_routed_to_its_consultation_is_recorded_with_the_relay_not_before(
    dialog: Dialog,
) -> None:
    """A Telegram reply is first routed to its consultation (a lookup of its own), then
    relayed: the update's id must go with the relay, so that a redelivery is recognised."""
    accepted(dialog)
    copy = dialog.text(MENTOR_A, "Silakan lengkapi datanya.").replies[0]
    assert isinstance(copy, CopyReply) and copy.on_result is not None
    copy.on_result(50, 60, "sent", 59)  # the ASN sees it as message 60
    service = _service(dialog)
    for _ in range(2):  # Telegram delivers update 7002 twice
        assert service.route_reply(ASN, 60)
        try:
            outcome = dialog.text(ASN, "Baik, Pak.", mark=UpdateMark(7002))
        except AlreadyRecorded:
            outcome = None
    # Handled once: the first delivery relayed it, the second was recognised.
    assert outcome is None


# ---- no request is ever stuck (issue 10.2) -------------------------------------------------------


def rendered(reply: Reply) -> str:
    from bot.rendering import Renderer

    return Renderer(WITA).render(reply).text


def offers_in(outcome: Outcome) -> list[int | None]:
    return [r.to for r in outcome.replies if isinstance(r, Reply) and r.template == "consult/offer"]


def test_a_request_made_before_any_mentor_is_offered_to_the_first_who_joins(
    dialog: Dialog,
) -> None:
    setup_people(dialog)
    cid, asked = ask(dialog)
    promise = rendered(asked.replies[0])  # type: ignore[arg-type]
    assert "Admin klinik sudah kami beri tahu dan dapat langsung menugaskan" in promise
    assert "begitu ada mentor yang bergabung" in promise
    register(dialog, MENTOR_A, name="Budi Santoso")
    dialog.command(MENTOR_A, "start", f"mentor-{invite_token(dialog)}")
    joined = dialog.callback(MENTOR_A, AcceptInvite().pack())
    assert offers_in(joined) == [MENTOR_A]
    assert offered_to(dialog.ctx.db, cid) == {MENTOR_A: "offered"}
    assert templates(dialog.command(MENTOR_A, "antrian")) == ["consult/queue"]
    queue = dialog.command(MENTOR_A, "antrian").replies[0].context["live"]
    assert [item["c"].id for item in queue] == [cid]
    assert notice(dialog.callback(MENTOR_A, AcceptConsultation(cid).pack())) == "consult_accepted"


def test_waiting_requests_reach_a_mentor_who_resumes_or_gets_room(dialog: Dialog) -> None:
    setup_people(dialog)
    make_mentor(dialog, MENTOR_A, "Budi Santoso", ("Kesehatan",))
    make_mentor(dialog, MENTOR_B, "Citra Dewi", ("Kesehatan",))
    dialog.callback(MENTOR_A, TogglePause().pack())  # paused
    dialog.callback(MENTOR_B, SetCapacity(1).pack())
    register(dialog, OTHER_ASN, name="Gita Lestari")
    first, _ = ask(dialog, OTHER_ASN)
    dialog.callback(MENTOR_B, AcceptConsultation(first).pack())  # B is full now
    second, routed = ask(dialog)
    assert offers_in(routed) == [MENTOR_B]  # nobody else active: full B still hears of it
    third, routed = ask(dialog, topic="pendidikan")
    # Resuming: both waiting requests are offered to A (nobody has room for them).
    resumed = dialog.callback(MENTOR_A, TogglePause().pack())
    assert notice(resumed) == "mentor_resumed"
    assert offers_in(resumed) == [MENTOR_A, MENTOR_A]
    assert offered_to(dialog.ctx.db, second)[MENTOR_A] == "offered"
    # Pausing and resuming again offers nothing twice.
    dialog.callback(MENTOR_A, TogglePause().pack())
    assert offers_in(dialog.callback(MENTOR_A, TogglePause().pack())) == []
    # A declines the health question; B finishing their consultation has room for it again.
    dialog.callback(MENTOR_A, DeclineConsultation(second).pack())
    dialog.callback(MENTOR_A, DeclineConsultation(third).pack())
    fourth, _ = ask(dialog)
    assert offered_to(dialog.ctx.db, fourth) == {MENTOR_A: "offered"}  # B is full
    dialog.callback(MENTOR_B, AskClose(first).pack())
    closed = dialog.text(MENTOR_B, "Sudah dibahas tuntas, terima kasih.")
    assert offers_in(closed) == [MENTOR_B]  # fourth: B's field, B has room now
    assert offered_to(dialog.ctx.db, fourth) == {MENTOR_A: "offered", MENTOR_B: "offered"}
    # A larger capacity counts as room too; a declined request is never offered again.
    dialog.callback(MENTOR_B, AcceptConsultation(fourth).pack())  # B is full again
    fifth, routed = ask(dialog, OTHER_ASN)  # ASN has 3 open: the limit
    assert offers_in(routed) == [MENTOR_A]
    assert offers_in(dialog.callback(MENTOR_B, SetCapacity(3).pack())) == [MENTOR_B]
    assert offered_to(dialog.ctx.db, fifth) == {MENTOR_A: "offered", MENTOR_B: "offered"}
    assert offered_to(dialog.ctx.db, third) == {MENTOR_A: "declined", MENTOR_B: "offered"}


def test_without_admins_the_asn_is_told_only_what_will_happen(
    database: Database, formats, clock: Clock
) -> None:
    from bot.services.features import build_dialog

    lonely = build_dialog(
        ServiceContext(db=database, formats=formats, tz=WITA, admin_ids=frozenset(), clock=clock)
    )
    register(lonely, ASN, name="Andi Pratiwi")
    cid, asked = ask(lonely)
    promise = rendered(asked.replies[0])  # type: ignore[arg-type]
    assert "Admin klinik" not in promise and "admin klinik ikut" not in promise
    assert "klinik belum menunjuk admin" in promise
    assert "begitu ada mentor yang bergabung atau kembali tersedia" in promise
    assert [r.to for r in asked.replies if isinstance(r, Reply)] == [None]
    expiry = ExpirySource(_service(lonely), timedelta(hours=24))
    sender = RecordingSender()
    clock.advance(hours=25)
    asyncio.run(expiry.run_due(clock(), sender))
    [(to, again)] = sender.sent
    assert to == ASN and "admin" not in rendered(again).lower()
    assert "belum ada mentor yang tersedia" in rendered(again)
    clock.advance(hours=25)
    asyncio.run(expiry.run_due(clock(), sender))
    assert "Admin klinik" not in rendered(sender.sent[-1][1])
    assert consultation(database, cid).status == "expired"


def test_an_admin_assigns_an_open_request_to_a_chosen_mentor(dialog: Dialog) -> None:
    setup_people(dialog)
    make_mentor(dialog, MENTOR_A, "Budi Santoso", ("Kesehatan",))
    make_mentor(dialog, MENTOR_B, "Citra Dewi", ("Pendidikan",))
    register(dialog, OTHER_ASN, name="Gita Lestari")
    cid, _ = ask(dialog)
    dialog.callback(MENTOR_A, DeclineConsultation(cid).pack())
    declined = dialog.callback(MENTOR_B, DeclineConsultation(cid).pack())
    assert replies_to(declined, ADMIN_ID) == ["consult/admin_declined"]
    detail = dialog.callback(ADMIN_ID, ViewConsultation(cid).pack())
    assert AssignMenu(cid).pack() in [b.data for b in buttons(detail)]
    menu = dialog.callback(ADMIN_ID, AssignMenu(cid).pack())
    assert templates(menu) == ["consult/assign_menu"]
    choices = [b.data for b in buttons(menu) if b.data.startswith("k:gm:")]
    assert choices == [AssignMentor(cid, MENTOR_A).pack(), AssignMentor(cid, MENTOR_B).pack()]
    # Nobody else may assign; nobody can be assigned who is not an active mentor.
    for person in (ASN, MENTOR_A, OTHER_ASN):
        for data in (AssignMenu(cid).pack(), AssignMentor(cid, MENTOR_B).pack()):
            assert notice(dialog.callback(person, data)) == "consult_not_found", (person, data)
    for forged in (
        AssignMentor(cid, OTHER_ASN).pack(),
        AssignMentor(cid, ASN).pack(),
        AssignMentor(cid, 999).pack(),
    ):
        assert notice(dialog.callback(ADMIN_ID, forged)) == "consult_not_found", forged
    assert consultation(dialog.ctx.db, cid).status == "open"
    done = dialog.callback(ADMIN_ID, AssignMentor(cid, MENTOR_B).pack())
    assert templates(done)[0] == "consult/assigned"
    assert replies_to(done, MENTOR_B) == ["consult/assigned_mentor"]
    assert replies_to(done, ASN) == ["consult/accepted_asn"]
    found = consultation(dialog.ctx.db, cid)
    assert (found.status, found.mentor_id) == ("assigned", MENTOR_B)
    assert flow(dialog.ctx.db, MENTOR_B) == ("consult_chat", {"consultation": cid})
    copy = dialog.text(ASN, "Selamat siang, Bu.").replies[0]
    assert isinstance(copy, CopyReply) and copy.to == MENTOR_B
    assert ("assigned", ADMIN_ID, "assigned") in actions(dialog.ctx.db, cid)
    # Pressed again (or after someone accepted): taken, nothing changes.
    assert notice(dialog.callback(ADMIN_ID, AssignMentor(cid, MENTOR_A).pack())) == "consult_taken"
    assert notice(dialog.callback(ADMIN_ID, AssignMenu(cid).pack())) == "consult_taken"
    history = dialog.callback(ADMIN_ID, ConsultationHistory(cid).pack()).replies[0]
    assert isinstance(history, LongReply)
    lines = [rendered_chunk(c) for c in history.chunks[1:]]
    assert any("Ditugaskan admin</b> kepada Citra Dewi" in line for line in lines), lines


def rendered_chunk(chunk: Any) -> str:
    from bot.rendering import Renderer

    return Renderer(WITA).text(chunk.head_template, chunk.head_context)


# ---- a mentor who deletes their account (issue 11.1) -------------------------------------------


def test_a_mentor_who_deletes_their_account_hands_their_consultations_on(
    dialog: Dialog,
) -> None:
    cid = accepted(dialog)
    propose(dialog, cid, "25/11/2026 10.00")
    make_mentor(dialog, MENTOR_B, "Citra Dewi", ("Pendidikan",))
    register(dialog, OTHER_ASN, name="Gita Lestari")
    waiting, _ = ask(dialog, OTHER_ASN)  # offered to A only (the matching mentor)
    assert offered_to(dialog.ctx.db, waiting) == {MENTOR_A: "offered"}
    dialog.command(MENTOR_A, "hapus_akun")
    gone = dialog.callback(MENTOR_A, "x:all")
    assert templates(gone)[0] == "pdp/deleted"
    assert gone.menus == (MENTOR_A,)  # the mentor's command menu is reset
    assert replies_to(gone, ASN) == ["consult/mentor_left_asn"]
    assert sorted(offers_in(gone)) == [MENTOR_B, MENTOR_B]  # both requests, to the other mentor
    assert replies_to(gone, MENTOR_A) == []
    left = next(r for r in gone.replies if isinstance(r, Reply) and r.to == ASN)
    assert "kami teruskan kepada 1 mentor lain" in rendered(left)
    found = consultation(dialog.ctx.db, cid)
    assert (found.status, found.mentor_id) == ("open", None)
    with dialog.ctx.db.session() as session:
        assert [s.status for s in cq.sessions_of(session, cid)] == ["void"]
        assert session.get(Mentor, MENTOR_A) is None
    # The ASN still in the conversation is told it waits for a mentor, every time: no error.
    assert templates(dialog.text(ASN, "Pak, apakah masih di sana?")) == ["consult/chat_not_yet"]
    assert templates(dialog.text(ASN, "Halo?")) == ["common/idle_text"]
    assert notice(dialog.callback(MENTOR_B, AcceptConsultation(cid).pack())) == "consult_accepted"
    copy = dialog.text(ASN, "Selamat pagi, Bu.").replies[0]
    assert isinstance(copy, CopyReply) and copy.to == MENTOR_B
    # The history still reads well, without the name of the person who left.
    history = dialog.callback(ADMIN_ID, ConsultationHistory(cid).pack()).replies[0]
    assert isinstance(history, LongReply)
    lines = [rendered_chunk(c) for c in history.chunks[1:]]
    assert "Budi" not in " ".join(lines)
    assert "Ditawarkan kepada mentor</b>: mentor yang sudah menghapus akun" in lines[1]
    accepted_line = next(line for line in lines if "Diterima mentor" in line)
    assert accepted_line.endswith("oleh pengguna yang sudah menghapus akun")
    assert lines[-1].endswith("oleh Citra Dewi") and lines[0].endswith("oleh Andi Pratiwi")
    reopened = next(line for line in lines if "Dibuka kembali" in line)
    assert reopened.endswith("oleh sistem")


def test_a_consultation_left_without_its_mentor_by_old_data_never_raises(
    dialog: Dialog,
) -> None:
    """Data from before the fix: assigned, mentor gone. The ASN's messages get an answer."""
    cid = accepted(dialog)
    with dialog.ctx.db.session() as session:
        found = session.get(Consultation, cid)
        assert found is not None
        found.mentor_id = None
        session.add(found)
    assert templates(dialog.text(ASN, "Halo?")) == ["consult/chat_not_yet"]
    assert flow(dialog.ctx.db, ASN)[0] == "idle"


# ---- the draft after the consultation (issue 11.9) ---------------------------------------------

# The routes into the consulted draft, for a consultation id.
DRAFT_PATHS = (
    ViewConsultedDraft,
    CommentMenu,
    lambda cid: AskComment(cid, 0),
    lambda cid: AskComment(cid, 5),
)


def consulted_draft(dialog: Dialog) -> tuple[int, int]:
    """A draft, a request about it, mentor A (Kesehatan) offered it: (consultation, draft)."""
    setup_people(dialog)
    make_mentor(dialog, MENTOR_A, "Budi Santoso", ("Kesehatan",))
    make_mentor(dialog, MENTOR_B, "Citra Dewi", ("Pendidikan",))
    draft_id = new_draft(dialog, ASN)
    dialog.text(ASN, "SIPANDU BUMIL")
    dialog.command(ASN, "batal")
    cid, _ = ask(dialog, draft=draft_id)
    return cid, draft_id


def assert_no_draft_for(dialog: Dialog, mentor_id: int, cid: int) -> None:
    for path in DRAFT_PATHS:
        data = path(cid).pack()
        refused = dialog.callback(mentor_id, data)
        assert notice(refused) == "consult_not_found", data
        assert templates(refused) == ["consult/not_found"], data
    detail = dialog.callback(mentor_id, ViewConsultation(cid).pack())
    if templates(detail) == ["consult/detail"]:  # the record stays, the draft does not
        assert detail.replies[0].context["draft"] is None
        assert not [b for b in buttons(detail) if b.data.startswith(("k:dv", "k:cm"))]
        assert "SIPANDU" not in rendered(detail.replies[0])  # type: ignore[arg-type]


def start_comment(dialog: Dialog, cid: int) -> None:
    assert templates(dialog.callback(MENTOR_A, AskComment(cid, 0).pack())) == [
        "consult/comment_ask"
    ]


def comment_refused(dialog: Dialog, cid: int) -> None:
    late = dialog.text(MENTOR_A, "Komentar yang terlambat untuk bagian nama.")
    assert templates(late) == ["consult/not_found"]
    assert replies_to(late, ASN) == []
    with dialog.ctx.db.session() as session:
        assert session.exec(select(cq.ConsultationComment)).all() == []


def test_a_mentor_reads_the_draft_only_while_the_consultation_goes_on(dialog: Dialog) -> None:
    cid, draft_id = consulted_draft(dialog)
    # Offered, then accepted: every path is open.
    assert isinstance(
        dialog.callback(MENTOR_A, ViewConsultedDraft(cid).pack()).replies[0], LongReply
    )
    dialog.callback(MENTOR_A, AcceptConsultation(cid).pack())
    assert isinstance(
        dialog.callback(MENTOR_A, ViewConsultedDraft(cid).pack()).replies[0], LongReply
    )
    assert templates(dialog.callback(MENTOR_A, CommentMenu(cid).pack())) == ["consult/comment_menu"]
    start_comment(dialog, cid)
    # Closed while a comment was being written: the comment and every later look are refused.
    dialog.command(MENTOR_A, "batal")
    dialog.callback(MENTOR_A, AskClose(cid).pack())
    dialog.text(MENTOR_A, "Sudah dibahas, silakan lanjutkan menulis.")
    dialog.text(ASN, "x")  # the ASN edits the draft afterwards: none of it reaches the mentor
    assert_no_draft_for(dialog, MENTOR_A, cid)
    dialog.callback(ASN, f"d:s:{draft_id}:0")
    dialog.text(ASN, "SIPANDU BUMIL PLUS")
    assert_no_draft_for(dialog, MENTOR_A, cid)
    # The ASN still reads their own draft there.
    assert isinstance(dialog.callback(ASN, ViewConsultedDraft(cid).pack()).replies[0], LongReply)


def test_a_cancelled_consultation_closes_the_draft_even_mid_comment(dialog: Dialog) -> None:
    cid, _ = consulted_draft(dialog)
    dialog.callback(MENTOR_A, AcceptConsultation(cid).pack())
    start_comment(dialog, cid)
    dialog.callback(ASN, AskCancel(cid).pack())
    dialog.text(ASN, "Sudah dibantu rekan di Bappeda")
    comment_refused(dialog, cid)
    assert_no_draft_for(dialog, MENTOR_A, cid)


def test_an_expired_offer_no_longer_shows_the_draft(dialog: Dialog, clock: Clock) -> None:
    cid, _ = consulted_draft(dialog)
    expiry = ExpirySource(_service(dialog), timedelta(hours=24), reannouncements=0)
    clock.advance(hours=25)
    asyncio.run(expiry.run_due(clock(), RecordingSender()))
    assert consultation(dialog.ctx.db, cid).status == "expired"
    for mentor_id in (MENTOR_A, MENTOR_B):
        assert_no_draft_for(dialog, mentor_id, cid)
        assert (
            notice(dialog.callback(mentor_id, ViewConsultation(cid).pack())) == "consult_not_found"
        )


def test_a_mentor_moved_off_a_consultation_loses_its_draft(dialog: Dialog) -> None:
    cid, _ = consulted_draft(dialog)
    dialog.callback(MENTOR_A, AcceptConsultation(cid).pack())
    start_comment(dialog, cid)
    dialog.callback(ADMIN_ID, ReassignTo(MENTOR_A, MENTOR_B).pack())
    comment_refused(dialog, cid)
    assert_no_draft_for(dialog, MENTOR_A, cid)
    assert notice(dialog.callback(MENTOR_A, ViewConsultation(cid).pack())) == "consult_not_found"
    # The new mentor reads it; the old buttons of an offer stay dead (forged or kept).
    assert isinstance(
        dialog.callback(MENTOR_B, ViewConsultedDraft(cid).pack()).replies[0], LongReply
    )
    for forged in (
        ViewConsultedDraft(cid).pack(),
        AcceptConsultation(cid).pack(),
        CommentMenu(cid).pack(),
        AskComment(cid, 99).pack(),
    ):
        assert notice(dialog.callback(MENTOR_A, forged)) in ("consult_not_found", "consult_taken")


def test_a_mentor_deactivated_elsewhere_is_handed_on_through_the_outbox(
    dialog: Dialog, clock: Clock
) -> None:
    """`klinik mentor deactivate` cannot send: what it would say is queued in the same
    transaction and the bot's expiry job delivers it, once."""
    cid = accepted(dialog)
    make_mentor(dialog, MENTOR_B, "Citra Dewi", ("Pendidikan",))
    service = _service(dialog)
    with dialog.ctx.db.session() as session:
        assert service.mentor_leaving_later(session, OTHER_ASN) is None  # not a mentor
        assert service.mentor_leaving_later(session, MENTOR_A) == 2  # the ASN, mentor B
    assert consultation(dialog.ctx.db, cid).status == "open"
    assert notice(dialog.callback(MENTOR_A, ViewConsultation(cid).pack())) == "consult_not_found"
    source = ExpirySource(service, timedelta(hours=24))
    assert source.wake_times(clock())[0] == clock()  # now: notices wait to be sent
    sender = RecordingSender()
    for _ in range(2):  # a second wake-up sends nothing twice
        asyncio.run(source.run_due(clock(), sender))
    assert sender.to(ASN) == ["consult/mentor_left_asn"]
    assert sender.to(MENTOR_B) == ["consult/offer"]
    assert sender.to(ADMIN_ID) == []
    offer = next(r for c, r in sender.sent if c == MENTOR_B)
    assert not offer.context["again"]  # a first offer, not a re-announcement
    assert "1 mentor lain" in rendered(next(r for c, r in sender.sent if c == ASN))
    assert notice(dialog.callback(MENTOR_B, AcceptConsultation(cid).pack())) == "consult_accepted"
