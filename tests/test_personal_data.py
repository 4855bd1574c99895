"""`/dataku` gives a user everything stored about them; `/hapus_akun` deletes all of it."""

from __future__ import annotations

import json
import re

from sqlmodel import SQLModel, select

from bot.services.dialog import Dialog
from bot.services.replies import DocumentReply
from models.competitions import Competition, Follow, ReminderDelivery, Stage
from models.tables import Answer, Draft, User
from tests.helpers import new_draft, register, templates

ANDI, BUDI = 701, 702


def count_rows_naming(dialog: Dialog, user_id: int) -> int:
    """Columns anywhere in the schema that still hold the user's id or name (see traces)."""
    return len(traces(dialog.ctx.db, user_id, "Andi Pratiwi"))


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


def test_dataku_shows_a_mentor_the_records_of_others_that_name_them(dialog: Dialog, clock) -> None:
    """The consultation a mentor took and the comment they wrote are the ASN's records, but
    they are about the mentor too: shown to them, without the ASN's id."""
    from models.consultations import Consultation, ConsultationComment

    draft_id = seed_user_with_everything(dialog, clock)
    with dialog.ctx.db.session() as session:
        consultation = Consultation(asn_id=ANDI, mentor_id=BUDI, draft_id=draft_id, question="Q?")
        session.add(consultation)
        session.flush()
        session.add(
            ConsultationComment(
                consultation_id=consultation.id,
                draft_id=draft_id,
                section_key="nama",
                mentor_id=BUDI,
                text="Nama perlu lebih singkat.",
            )
        )
    data = json.loads(dialog.command(BUDI, "dataku").replies[0].content)
    taken = data["Konsultasi"]
    assert [(c["ID Telegram mentor"], c["ID Telegram pengusul"]) for c in taken] == [(BUDI, None)]
    assert [c["Komentar"] for c in data["Komentar mentor pada draf"]] == [
        "Nama perlu lebih singkat."
    ]
    assert str(ANDI) not in json.dumps(data) and "Andi" not in json.dumps(data)
    # The ASN's own export is unchanged by it: the consultation is theirs, with both sides.
    mine = json.loads(dialog.command(ANDI, "dataku").replies[0].content)
    assert [(c["ID Telegram pengusul"], c["ID Telegram mentor"]) for c in mine["Konsultasi"]] == [
        (ANDI, BUDI)
    ]


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


# ---- no trace left anywhere in the schema (issue 11.4) -------------------------------------------
#
# Which columns can name a person is decided here from the schema itself, not from the deletion
# code's lists (that test would be circular): a foreign key to users, or a 64-bit integer (a
# Telegram id; every other id of the schema is a 32-bit integer). A new table holding a person
# is found by this rule, and the flows below must then put the person into it too.

ZUL, ZUL_NAME = 7_100_200_300, "Zulkarnain Wibisono"
ASN_ANDI, MENTOR_BUDI, OTHER_ADMIN = 701, 702, 900
# 64-bit integers that are not people: the row itself, and Telegram's update counter.
NOT_PEOPLE = {("users", "id"), ("processed_updates", "update_id")}


def person_columns() -> list[tuple[str, str]]:
    from sqlalchemy import BigInteger

    found = []
    for table in SQLModel.metadata.sorted_tables:
        for column in table.columns:
            points_at_users = any(fk.column.table.name == "users" for fk in column.foreign_keys)
            if (points_at_users or isinstance(column.type, BigInteger)) and (
                table.name,
                column.name,
            ) not in NOT_PEOPLE:
                found.append((table.name, column.name))
    return found


def traces(database, user_id: int, name: str) -> set[tuple[str, str]]:
    """Every (table, column) of the whole schema holding the id, or the name or id in text."""
    from sqlalchemy import select as sa_select

    mention = re.compile(rf"{re.escape(name)}|\b{user_id}\b")

    def names_them(value: object) -> bool:
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        return mention.search(text) is not None

    found = set()
    with database.session() as session:
        for table in SQLModel.metadata.sorted_tables:
            for row in session.execute(sa_select(table)).mappings():
                for column, value in row.items():
                    if value is None:
                        continue
                    if isinstance(value, int) and not isinstance(value, bool):
                        if value == user_id:
                            found.add((table.name, column))
                    elif isinstance(value, str | dict | list) and names_them(value):
                        found.add((table.name, column))
    return found


def everything_a_person_can_leave(dialog: Dialog, clock) -> None:
    """Through the bot's own flows: ZUL is an ASN, a mentor and an admin at once."""
    import asyncio
    from datetime import timedelta

    from bot.services.broadcast import BroadcastService
    from bot.services.deadlines import parse_deadline
    from bot.services.reminders import ReminderService
    from scheduler.broadcasts import BroadcastSource
    from scheduler.consultations import ExpirySource, SessionReminderSource
    from scheduler.reminders import ReminderSource
    from tests.conftest import WITA
    from tests.helpers import add_competition
    from tests.test_admin_views import FakeTelegram
    from tests.test_consultations_service import _service, ask

    clock.current = parse_deadline("23 November 2026 08.00", WITA)
    register(dialog, OTHER_ADMIN, name="Admin Klinik")
    register(dialog, ZUL, name=ZUL_NAME)
    register(dialog, ASN_ANDI, name="Andi Pratiwi")
    register(dialog, MENTOR_BUDI, name="Budi Santoso")
    # Competitions: one followed (a reminder goes out), one muted.
    with dialog.ctx.db.session() as session:
        followed = add_competition(
            session, "IGA", {"Input": parse_deadline("30 November 2026 23.59", WITA)}
        )
        muted = add_competition(
            session, "KIPP", {"Daftar": parse_deadline("30 Desember 2026 23.59", WITA)}
        )
        followed_id, muted_id = followed.id, muted.id
    dialog.callback(ZUL, f"t:f:{followed_id}")
    dialog.callback(ZUL, f"t:m:{muted_id}")
    asyncio.run(ReminderSource(ReminderService(dialog.ctx)).run_due(clock(), FakeTelegram()))
    # ZUL becomes a mentor through their own invite, and invites Budi.
    for person in (ZUL, MENTOR_BUDI):
        token = invite_token_of(dialog, ZUL)
        dialog.command(person, "start", f"mentor-{token}")
        dialog.callback(person, "m:j")
        dialog.callback(person, "m:t:0:0")  # the first field of expertise
    # ZUL asks as an ASN (about a draft of theirs); Budi takes it; they talk.
    draft_id = new_draft(dialog, ZUL)
    dialog.text(ZUL, "SIPANDU ZUL")
    dialog.command(ZUL, "batal")
    options = _topic(dialog)
    own, _ = ask(dialog, ZUL, topic=options, draft=draft_id)
    accepted = dialog.callback(MENTOR_BUDI, f"k:a:{own}")
    assert accepted.notice == "consult_accepted", (accepted, offered(dialog, own))
    relay(dialog, ZUL, own, 11, 21)
    relay(dialog, MENTOR_BUDI, own, 31, 41)
    # ZUL mentors Andi: accepts, comments, proposes a session Andi confirms, talks, is reminded.
    andi_draft = new_draft(dialog, ASN_ANDI)
    dialog.text(ASN_ANDI, "SIPANDU ANDI")
    dialog.command(ASN_ANDI, "batal")
    theirs, _ = ask(dialog, ASN_ANDI, topic=options, draft=andi_draft)
    dialog.callback(ZUL, f"k:a:{theirs}")
    dialog.callback(ZUL, f"k:cs:{theirs}:0")
    dialog.text(ZUL, "Saran: sebutkan layanan dan sasarannya.")
    dialog.callback(ZUL, f"k:s:{theirs}")
    proposed = dialog.text(ZUL, "25/11/2026 10.00 di Ruang Klinik")
    dialog.callback(ASN_ANDI, f"k:sy:{proposed.replies[0].context['proposal'].id}")
    relay(dialog, ZUL, theirs, 51, 61)
    relay(dialog, ASN_ANDI, theirs, 71, 81)
    service = _service(dialog)
    clock.current = parse_deadline("24 November 2026 10.00", WITA)
    asyncio.run(
        SessionReminderSource(service, (timedelta(days=1),)).run_due(clock(), FakeTelegram())
    )
    # A request nobody takes: re-announced, the admins (ZUL among them) told.
    ask(dialog, ASN_ANDI, topic=options)
    clock.advance(hours=25)
    asyncio.run(ExpirySource(service, timedelta(hours=24)).run_due(clock(), FakeTelegram()))
    # ZUL the admin: a broadcast (sent to everyone, ZUL too), an export.
    dialog.command(ZUL, "siaran")
    dialog.text(ZUL, f"Kelas menulis proposal bersama {ZUL_NAME}.")
    with dialog.ctx.db.session() as session:
        from models.readiness import Broadcast

        broadcast_id = session.exec(select(Broadcast)).one().id
    dialog.callback(ZUL, f"b:a:{broadcast_id}:all")
    dialog.callback(ZUL, f"b:y:{broadcast_id}")
    source = BroadcastSource(BroadcastService(dialog.ctx))
    asyncio.run(source.run_due(clock(), FakeTelegram()))
    dialog.command(ZUL, "ekspor")


def offered(dialog: Dialog, cid: int) -> dict[int, str]:
    from models import consultations as cq

    with dialog.ctx.db.session() as session:
        return {o.mentor_id: o.status for o in cq.offers_of(session, cid)}


def invite_token_of(dialog: Dialog, admin: int) -> str:
    outcome = dialog.command(admin, "undang_mentor")
    return outcome.replies[0].context["token"]


def _topic(dialog: Dialog) -> str:
    from bot.services.consultations.mentors import expertise_options

    return expertise_options(dialog.ctx)[0]


def relay(dialog: Dialog, sender: int, cid: int, source_id: int, copy_id: int) -> None:
    from bot.services.replies import CopyReply

    dialog.callback(sender, f"k:c:{cid}")
    copy = dialog.text(sender, "Pesan dalam konsultasi.").replies[0]
    assert isinstance(copy, CopyReply) and copy.on_result is not None
    copy.on_result(source_id, copy_id, "sent", copy_id - 1)


def test_hapus_akun_leaves_no_trace_in_any_column_of_the_schema(database, formats, clock) -> None:
    from bot.services.context import ServiceContext
    from bot.services.features import build_dialog
    from tests.conftest import WITA

    dialog = build_dialog(
        ServiceContext(
            db=database,
            formats=formats,
            tz=WITA,
            admin_ids=frozenset({OTHER_ADMIN, ZUL}),
            clock=clock,
        )
    )
    everything_a_person_can_leave(dialog, clock)
    before = traces(database, ZUL, ZUL_NAME)
    # The flows reach every column the schema says can name a person: none is left untested.
    assert set(person_columns()) - before == set()
    dialog.command(ZUL, "hapus_akun")
    assert templates(dialog.callback(ZUL, "x:all"))[0] == "pdp/deleted"
    assert traces(database, ZUL, ZUL_NAME) == set()
    # Other people's things stay: Andi's consultation (open again), Budi, the other admin.
    with database.session() as session:
        from models.consultations import Consultation

        andi = session.exec(select(Consultation).where(Consultation.asn_id == ASN_ANDI)).all()
        assert andi and all(c.mentor_id is None for c in andi)
        assert session.get(User, MENTOR_BUDI) is not None
