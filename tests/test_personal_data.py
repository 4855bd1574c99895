"""`/dataku` gives a user everything stored about them; `/hapus_akun` deletes all of it."""

from __future__ import annotations

import json

from sqlmodel import SQLModel, select

from bot.services.dialog import Dialog
from bot.services.replies import DocumentReply
from models.competitions import Competition, Follow, ReminderDelivery, Stage
from models.tables import Answer, Draft, User
from tests.helpers import new_draft, register, templates

ANDI, BUDI = 701, 702


def count_rows_naming(dialog: Dialog, user_id: int) -> int:
    from bot.services.personal_data import _any_equal, user_tables

    total = 0
    with dialog.ctx.db.session() as session:
        for table, columns in user_tables():
            total += len(
                session.exec(select(table).where(_any_equal(table, columns, user_id))).all()
            )
    return total


def seed_user_with_everything(dialog: Dialog, clock) -> int:
    register(dialog, ANDI)
    register(dialog, BUDI, name="Budi Santoso")
    draft_id = new_draft(dialog, ANDI)
    dialog.text(ANDI, "SIPANDU BUMIL")
    with dialog.ctx.db.session() as session:
        competition = Competition(name="IGA", organiser="Kemendagri", level="Nasional", year=2026)
        session.add(competition)
        session.flush()
        stage = Stage(competition_id=competition.id, name="Input", deadline_at=clock())
        session.add(stage)
        session.flush()
        session.add(Follow(user_id=ANDI, competition_id=competition.id))
        session.add(
            ReminderDelivery(
                user_id=ANDI, stage_id=stage.id, offset_days=7, fire_at=clock(), status="sent"
            )
        )
    return draft_id


def test_dataku_sends_everything_stored_about_the_user(dialog: Dialog, clock) -> None:
    seed_user_with_everything(dialog, clock)
    outcome = dialog.command(ANDI, "dataku")
    document = outcome.replies[0]
    assert isinstance(document, DocumentReply)
    data = json.loads(document.content)
    assert data["Profil"][0]["Nama lengkap"] == "Andi Pratiwi"
    assert [a["Isi jawaban"] for a in data["Jawaban pada draf"]] == ["SIPANDU BUMIL"]
    assert data["Lomba yang diikuti"] and data["Pengingat tenggat yang dikirim"]
    assert all(u["ID Telegram"] == ANDI for u in data["Profil"])
    assert "Budi" not in document.content.decode()


def test_hapus_akun_deletes_every_row_after_confirmation(dialog: Dialog, clock) -> None:
    draft_id = seed_user_with_everything(dialog, clock)
    assert templates(dialog.command(ANDI, "hapus_akun")) == ["pdp/delete_confirm"]
    assert count_rows_naming(dialog, ANDI) > 0  # nothing deleted before confirming
    assert templates(dialog.callback(ANDI, "x:all")) == ["pdp/deleted"]
    assert count_rows_naming(dialog, ANDI) == 0
    with dialog.ctx.db.session() as session:
        assert session.get(User, ANDI) is None
        assert session.get(Draft, draft_id) is None
        assert session.exec(select(Answer)).all() == []
        assert session.get(User, BUDI) is not None  # others untouched
    assert dialog.callback(ANDI, "x:all").notice in ("stale_button", None)


def test_drafts_can_be_handed_to_the_office(dialog: Dialog, clock) -> None:
    draft_id = seed_user_with_everything(dialog, clock)
    dialog.command(ANDI, "hapus_akun")
    outcome = dialog.callback(ANDI, "x:opd")
    assert outcome.replies[0].context["handed"] == 1
    with dialog.ctx.db.session() as session:
        draft = session.get(Draft, draft_id)
        assert draft.owner_id is None and draft.opd_id is not None
        assert [a.value for a in session.exec(select(Answer))] == ["SIPANDU BUMIL"]
        assert session.get(User, ANDI) is None


def test_cancel_and_forged_buttons_delete_nothing(dialog: Dialog, clock) -> None:
    seed_user_with_everything(dialog, clock)
    before = count_rows_naming(dialog, ANDI)
    assert dialog.callback(ANDI, "x:all").notice == "stale_button"  # not asked first
    dialog.command(ANDI, "hapus_akun")
    assert templates(dialog.callback(ANDI, "x:no")) == ["pdp/delete_cancelled"]
    assert count_rows_naming(dialog, ANDI) == before
    assert SQLModel.metadata.tables["users"] is not None


def test_a_mentor_leaving_keeps_the_asn_consultation(dialog: Dialog, clock) -> None:
    from models.consultations import Consultation

    register(dialog, ANDI)
    register(dialog, BUDI, name="Budi Santoso")
    with dialog.ctx.db.session() as session:
        session.add(Consultation(asn_id=ANDI, mentor_id=BUDI, question="Bagaimana menulis tujuan?"))
    dialog.command(BUDI, "hapus_akun")
    dialog.callback(BUDI, "x:all")
    with dialog.ctx.db.session() as session:
        consultation = session.exec(select(Consultation)).one()
        assert (consultation.asn_id, consultation.mentor_id) == (ANDI, None)
        assert session.get(User, BUDI) is None
