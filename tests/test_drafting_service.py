"""The drafting domain, without Telegram, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlmodel import select

from bot.services.dialog import AlreadyRecorded, Dialog, UpdateMark
from bot.services.features import build_dialog
from bot.services.replies import LongReply
from models.tables import AnswerRevision, ConversationState, ProcessedUpdate, User
from tests.helpers import (
    ANSWERS_BEFORE_RANCANG_BANGUN,
    answers,
    button_data,
    buttons,
    last_reply,
    new_draft,
    register,
    state,
    templates,
)

USER = 501
OTHER = 502
LONG_RB = " ".join(["kata"] * 60)


def test_consent_comes_before_any_personal_data(dialog: Dialog) -> None:
    outcome = dialog.command(USER, "start")
    assert templates(outcome) == ["register/consent"]
    # Typing a name before consenting stores nothing.
    dialog.text(USER, "Andi Pratiwi")
    with dialog.ctx.db.session() as session:
        user = session.get(User, USER)
        assert user is not None and user.full_name is None and user.consent_at is None
    assert templates(dialog.callback(USER, "r:no")) == ["register/consent_declined"]
    with dialog.ctx.db.session() as session:
        assert session.get(User, USER) is None


def test_registration_name_then_opd_search(dialog: Dialog) -> None:
    dialog.command(USER, "start")
    assert "register/ask_name" in templates(dialog.callback(USER, "r:ok"))
    assert templates(dialog.text(USER, "A")) == ["register/name_invalid"]
    assert templates(dialog.text(USER, "dr. Andi Pratiwi")) == ["register/ask_opd"]
    assert templates(dialog.text(USER, "zzzzqqq")) == ["register/opd_not_found"]
    found = dialog.text(USER, "kesehatn")  # a typo still finds it
    assert [b.text for b in buttons(found)] == ["Dinas Kesehatan"]
    done = dialog.callback(USER, buttons(found)[0].data)
    assert templates(done)[-2:] == ["register/welcome", "register/ask_nip"]
    assert templates(dialog.callback(USER, "r:s")) == ["register/nip_skipped", "menu/main"]
    assert dialog.callback(USER, "r:s").notice == "stale_button"  # skipped once only
    assert templates(dialog.command(USER, "start")) == ["menu/main"]


def test_unregistered_user_cannot_draft(dialog: Dialog) -> None:
    assert templates(dialog.command(USER, "ide")) == ["common/register_first"]
    assert dialog.callback(USER, "n:iid").notice == "register_first"


def test_walk_sections_saving_each_answer_at_once(dialog: Dialog) -> None:
    register(dialog, USER)
    draft_id = new_draft(dialog, USER)
    assert state(dialog, USER) == ("draft", draft_id, "nama")
    outcome = dialog.text(USER, "SIPANDU <b>Bumil</b> & <script>")
    assert answers(dialog, draft_id) == {"nama": "SIPANDU <b>Bumil</b> & <script>"}
    question = last_reply(outcome)
    assert question.context["number"] == 2 and question.context["total"] == 19
    assert question.context["saved"]["section"].key == "nama"
    # Choices: a button, or typed text that names one option.
    dialog.callback(USER, button_data(outcome, text="ASN"))
    dialog.text(USER, "uji")
    dialog.text(USER, "digital")
    assert answers(dialog, draft_id)["tahapan"] == "Uji coba"
    assert answers(dialog, draft_id)["jenis"] == "Digital (daring)"
    assert state(dialog, USER)[2] == "bentuk"


def test_stale_and_forged_choice_buttons_change_nothing(dialog: Dialog) -> None:
    register(dialog, USER)
    draft_id = new_draft(dialog, USER)
    outcome = dialog.text(USER, "SIPANDU Bumil")
    asn = button_data(outcome, text="ASN")
    dialog.callback(USER, asn)
    # The same button again (an old message) is stale: the bot waits for another section.
    assert dialog.callback(USER, asn).notice == "stale_button"
    assert answers(dialog, draft_id)["inisiator"] == "ASN"
    # Another user forging callback data for this draft sees "not found".
    register(dialog, OTHER, name="Budi Santoso")
    forged = dialog.callback(OTHER, f"a:{draft_id}:2:0")
    assert forged.notice == "draft_not_found"
    for data in (f"d:o:{draft_id}", f"d:p:{draft_id}", f"d:xx:{draft_id}", f"d:s:{draft_id}:0"):
        result = dialog.callback(OTHER, data)
        assert result.notice == "draft_not_found", data
        assert templates(result) == ["draft/not_found"]
    assert answers(dialog, draft_id)["nama"] == "SIPANDU Bumil"
    assert dialog.callback(USER, "d:zz:1").notice == "stale_button"
    assert dialog.callback(USER, "garbage").notice == "stale_button"


def test_months_typed_the_way_people_type_them(dialog: Dialog) -> None:
    register(dialog, USER)
    draft_id = new_draft(dialog, USER)
    for text in ANSWERS_BEFORE_RANCANG_BANGUN[:7]:
        dialog.text(USER, text)
    assert templates(dialog.text(USER, "besok")) == ["invalid/month_unrecognised"]
    assert templates(dialog.text(USER, "Maret 1999")) == ["invalid/month_too_early"]
    dialog.text(USER, "03/2025")
    assert templates(dialog.text(USER, "Februari 2025")) == ["invalid/month_before"]
    dialog.text(USER, "Juli 2025")
    saved = answers(dialog, draft_id)
    assert saved["waktu_uji_coba"] == "2025-03" and saved["waktu_penerapan"] == "2025-07"


def test_skip_back_pause_and_resume(dialog: Dialog) -> None:
    register(dialog, USER)
    draft_id = new_draft(dialog, USER)
    dialog.text(USER, "SIPANDU Bumil")
    skipped = dialog.command(USER, "lewati")
    assert templates(skipped)[0] == "draft/skipped_required"
    assert state(dialog, USER)[2] == "tahapan"
    dialog.command(USER, "kembali")
    assert state(dialog, USER)[2] == "inisiator"
    assert templates(dialog.command(USER, "batal"))[-1] == "draft/paused"
    assert state(dialog, USER)[0] == "idle"
    # Typing while paused answers nothing.
    assert templates(dialog.text(USER, "ASN")) == ["common/idle_text"]
    resumed = dialog.callback(USER, f"d:c:{draft_id}")
    assert last_reply(resumed).context["section"].key == "inisiator"
    assert answers(dialog, draft_id) == {"nama": "SIPANDU Bumil"}


def test_rancang_bangun_word_floor_is_counted_across_parts(dialog: Dialog) -> None:
    register(dialog, USER)
    draft_id = new_draft(dialog, USER)
    dialog.callback(USER, f"d:s:{draft_id}:9")  # edit "dasar hukum" directly
    outcome = dialog.text(USER, LONG_RB)
    summary = last_reply(outcome)
    progress = summary.context["completeness"].word_progress[0]
    assert progress.words == 60 and progress.missing == 240
    # Walking on from permasalahan reports the running total.
    dialog.callback(USER, f"d:c:{draft_id}")
    dialog.callback(USER, f"d:s:{draft_id}:10")
    outcome = dialog.text(USER, LONG_RB * 5)
    assert last_reply(outcome).context["completeness"].word_progress[0].missing == 0


def test_kipp_summary_ceiling_of_200_words(dialog: Dialog) -> None:
    register(dialog, USER)
    draft_id = new_draft(dialog, USER, "kipp")
    dialog.text(USER, "SIPANDU Bumil")
    too_long = dialog.text(USER, " ".join(["ringkas"] * 230))
    assert templates(too_long) == ["invalid/too_many_words"]
    assert last_reply(too_long).context["excess"] == 30
    assert "ringkasan" not in answers(dialog, draft_id)
    dialog.text(USER, " ".join(["ringkas"] * 200))
    assert "ringkasan" in answers(dialog, draft_id)


def test_edit_keeps_previous_text_as_revision(dialog: Dialog) -> None:
    register(dialog, USER)
    draft_id = new_draft(dialog, USER)
    dialog.text(USER, "Nama Pertama")
    dialog.command(USER, "batal")
    menu = dialog.callback(USER, f"d:e:{draft_id}")
    assert len(buttons(menu)) == 20  # 19 sections + back
    dialog.callback(USER, f"d:s:{draft_id}:0")
    updated = dialog.text(USER, "Nama Kedua")
    assert last_reply(updated).context["notice_template"] == "draft/section_updated"
    assert answers(dialog, draft_id)["nama"] == "Nama Kedua"
    with dialog.ctx.db.session() as session:
        revisions = session.exec(select(AnswerRevision)).all()
        assert [(r.section_key, r.value) for r in revisions] == [("nama", "Nama Pertama")]
    assert state(dialog, USER)[0] == "idle"


def test_preview_splits_into_telegram_sized_messages(dialog: Dialog) -> None:
    register(dialog, USER)
    draft_id = new_draft(dialog, USER)
    dialog.text(USER, "SIPANDU Bumil")
    for index in range(9, 15):
        dialog.callback(USER, f"d:s:{draft_id}:{index}")
        dialog.text(USER, ("Paragraf <uji> & data. " * 120 + "\n\n") * 3)
    preview = dialog.callback(USER, f"d:p:{draft_id}")
    reply = preview.replies[0]
    assert isinstance(reply, LongReply)
    assert [c.head_context["section"].key for c in reply.chunks[1:]] == [
        "nama",
        "dasar_hukum",
        "permasalahan",
        "isu_strategis",
        "metode",
        "keunggulan",
        "cara_kerja",
    ]


def test_rename_and_delete_with_confirmation(dialog: Dialog) -> None:
    register(dialog, USER)
    draft_id = new_draft(dialog, USER)
    dialog.text(USER, "SIPANDU Bumil")
    dialog.callback(USER, f"d:r:{draft_id}")
    assert templates(dialog.text(USER, "x")) == ["draft/rename_invalid"]
    renamed = dialog.text(USER, "Draf untuk IGA 2026")
    assert last_reply(renamed).context["title"] == "Draf untuk IGA 2026"
    confirm = dialog.callback(USER, f"d:x:{draft_id}")
    assert templates(confirm) == ["draft/delete_confirm"]
    assert answers(dialog, draft_id)  # nothing deleted before confirming
    assert dialog.callback(USER, f"d:xx:{draft_id}").notice == "deleted"
    assert answers(dialog, draft_id) == {}
    # A button of the deleted draft now answers "not found".
    assert dialog.callback(USER, f"d:c:{draft_id}").notice == "draft_not_found"


def test_long_text_split_by_the_client_is_one_answer(dialog: Dialog, clock) -> None:
    register(dialog, USER)
    draft_id = new_draft(dialog, USER)
    for text in ANSWERS_BEFORE_RANCANG_BANGUN:
        dialog.text(USER, text)
    parts = ["a" * 10 + " " + "kata " * 816, "lanjutan " * 455, "akhir teks."]
    assert len(parts[0]) <= 4096
    dialog.text(USER, parts[0])
    clock.advance(seconds=1)
    joined = dialog.text(USER, parts[1])
    assert templates(joined) == ["draft/continuation", "draft/question"]
    clock.advance(seconds=1)
    dialog.text(USER, parts[2])
    stored = answers(dialog, draft_id)["dasar_hukum"]
    assert stored.startswith(parts[0].strip()) and stored.endswith("akhir teks.")
    assert "permasalahan" not in answers(dialog, draft_id)
    assert state(dialog, USER)[2] == "permasalahan"
    # Later text, after the window, answers the next section as usual.
    clock.advance(seconds=30)
    dialog.text(USER, "Masalahnya " * 10)
    assert answers(dialog, draft_id)["permasalahan"].startswith("Masalahnya")


def test_short_answers_in_quick_succession_are_not_joined(dialog: Dialog) -> None:
    register(dialog, USER)
    draft_id = new_draft(dialog, USER)
    dialog.text(USER, "SIPANDU Bumil")
    dialog.text(USER, "ASN")
    assert answers(dialog, draft_id) == {"nama": "SIPANDU Bumil", "inisiator": "ASN"}


def test_a_new_update_reusing_an_old_id_is_handled_and_old_records_are_pruned(
    dialog: Dialog, clock
) -> None:
    """Ids repeat (a restarted emulator, Telegram's random id after a quiet week): the same id
    with another content fingerprint is a new update; records older than 48 hours go."""
    register(dialog, USER)
    draft_id = new_draft(dialog, USER)
    dialog.text(USER, "SIPANDU Bumil", mark=UpdateMark(1, "fingerprint-of-an-old-message"))
    clock.advance(hours=47)
    dialog.text(USER, "ASN", mark=UpdateMark(1, "fingerprint-of-a-new-message"))
    assert answers(dialog, draft_id) == {"nama": "SIPANDU Bumil", "inisiator": "ASN"}
    with pytest.raises(AlreadyRecorded):
        dialog.text(USER, "ASN", mark=UpdateMark(1, "fingerprint-of-a-new-message"))
    clock.advance(hours=2)
    assert dialog.prune_processed_updates() == 1  # the first, now 49 hours old
    with dialog.ctx.db.session() as session:
        kept = session.exec(select(ProcessedUpdate.fingerprint)).all()
    assert kept == ["fingerprint-of-a-new-message"]


def test_an_update_handled_before_changes_nothing_and_asks_the_awaited_question(
    dialog: Dialog,
) -> None:
    register(dialog, USER)
    draft_id = new_draft(dialog, USER)
    dialog.text(USER, "SIPANDU Bumil", mark=UpdateMark(77))
    with pytest.raises(AlreadyRecorded):
        dialog.text(USER, "SIPANDU Bumil", mark=UpdateMark(77))
    assert answers(dialog, draft_id) == {"nama": "SIPANDU Bumil"}
    again = last_reply(dialog.redelivered(USER))
    assert again.template == "draft/question"
    assert again.context["section"].key == "inisiator"
    dialog.command(USER, "batal")
    assert dialog.redelivered(USER).replies == []


def test_state_survives_a_new_dialog_on_the_same_database(dialog: Dialog) -> None:
    register(dialog, USER)
    draft_id = new_draft(dialog, USER)
    dialog.text(USER, "SIPANDU Bumil")
    restarted = build_dialog(dialog.ctx)
    restarted.text(USER, "ASN")
    assert answers(dialog, draft_id) == {"nama": "SIPANDU Bumil", "inisiator": "ASN"}
    with dialog.ctx.db.session() as session:
        assert session.get(ConversationState, USER).section_key == "tahapan"


def test_opd_admin_requires_admin_role(dialog: Dialog) -> None:
    from tests.conftest import ADMIN_ID

    register(dialog, USER)
    register(dialog, ADMIN_ID, name="Admin Klinik")
    assert templates(dialog.command(USER, "opd")) == ["common/forbidden"]
    assert dialog.callback(USER, "o:a").notice == "forbidden"
    assert dialog.callback(USER, "o:x:1").notice == "forbidden"
    dialog.callback(ADMIN_ID, "o:a")
    assert templates(dialog.text(ADMIN_ID, "Puskesmas Rappang")) == ["opd/added"]
    found = dialog.text(USER, "rappang")  # not in a flow: the text is not an OPD search
    assert templates(found) == ["common/idle_text"]
    dialog.callback(ADMIN_ID, "o:d")
    choose = dialog.text(ADMIN_ID, "rappang")
    assert templates(dialog.callback(ADMIN_ID, buttons(choose)[0].data)) == ["opd/deactivated"]
