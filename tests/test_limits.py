"""Per-account limits (bot/services/limits.py): drafts, unfinished consultation requests and
revisions kept per section; each refusal is a clear message and changes nothing."""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import col, select

from bot.services.context import ServiceContext
from bot.services.dialog import Dialog
from models import repository as repo
from models.consultations import Consultation, ConsultationOffer
from models.tables import AnswerRevision
from tests.helpers import new_draft, register, templates
from tests.test_consultations_service import ASN, ask, make_mentor, setup_people

USER = 801


def drafts_of(dialog: Dialog, user_id: int) -> list[int]:
    with dialog.ctx.db.session() as session:
        return [d.id for d in repo.drafts_of(session, user_id)]


def test_a_user_at_the_draft_limit_is_told_to_delete_one_first(
    dialog: Dialog, ctx: ServiceContext
) -> None:
    ctx.max_drafts_per_user = 2
    register(dialog, USER)
    for _ in range(2):
        new_draft(dialog, USER)
    assert templates(dialog.command(USER, "ide")) == ["draft/limit_reached"]
    # A format button pressed from an older message does not get past the limit either.
    refused = dialog.callback(USER, "n:iid")
    assert templates(refused) == ["draft/limit_reached"]
    assert refused.replies[0].context["count"] == 2
    assert len(drafts_of(dialog, USER)) == 2
    # Deleting one makes room again.
    dialog.callback(USER, f"d:xx:{drafts_of(dialog, USER)[0]}")
    assert templates(dialog.command(USER, "ide")) == ["draft/choose_format"]
    new_draft(dialog, USER)
    assert len(drafts_of(dialog, USER)) == 2


def count_rows(dialog: Dialog, table: type) -> int:
    with dialog.ctx.db.session() as session:
        return session.exec(select(func.count()).select_from(table)).one()


def test_an_asn_with_three_unfinished_requests_cannot_file_a_fourth(dialog: Dialog) -> None:
    setup_people(dialog)
    make_mentor(dialog, 601, "Budi Santoso", ("Kesehatan",))
    cids = [ask(dialog)[0] for _ in range(3)]
    offers = count_rows(dialog, ConsultationOffer)
    refused = dialog.callback(ASN, "k:n")
    assert templates(refused) == ["consult/limit_reached"]
    assert refused.replies[0].context["count"] == 3
    assert templates(dialog.text(ASN, "kesehatan")) != [
        "consult/topic_chosen",
        "consult/ask_question",
    ]
    assert (count_rows(dialog, Consultation), count_rows(dialog, ConsultationOffer)) == (3, offers)
    # Cancelling one makes room for a new request.
    dialog.callback(ASN, f"k:q:{cids[0]}")
    dialog.text(ASN, "Sudah terjawab di rapat OPD")
    ask(dialog)
    assert count_rows(dialog, Consultation) == 4


def test_only_the_newest_revisions_of_a_section_are_kept(
    dialog: Dialog, ctx: ServiceContext
) -> None:
    ctx.max_revisions_per_section = 3
    register(dialog, USER)
    draft_id = new_draft(dialog, USER)
    texts = [f"Inovasi Layanan Nomor {n}" for n in range(8)]
    for text in texts:
        dialog.callback(USER, f"d:s:{draft_id}:0")
        dialog.text(USER, text)
    dialog.callback(USER, f"d:s:{draft_id}:1")
    dialog.text(USER, "ASN")
    with dialog.ctx.db.session() as session:
        kept = session.exec(
            select(AnswerRevision.value)
            .where(AnswerRevision.draft_id == draft_id, AnswerRevision.section_key == "nama")
            .order_by(col(AnswerRevision.id))
        ).all()
        assert repo.answers_of(session, draft_id)["nama"] == texts[-1]
    assert kept == texts[-4:-1]  # the three texts before the current one
