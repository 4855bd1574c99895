"""A question typed while a free-text section is awaited is not an answer (issue 10, point 3),
and the urusan choice of 38 options (point 5): domain, on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlmodel import select

from bot.services.dialog import Dialog
from bot.services.features import build_dialog
from bot.services.replies import Outcome
from models.consultations import Consultation
from models.tables import ConversationState
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

USER = 601
QUESTION = "apa maksudnya judul inovasi? boleh pakai singkatan?"


def asked(dialog: Dialog, text: str = QUESTION) -> tuple[int, Outcome]:
    register(dialog, USER)
    draft_id = new_draft(dialog, USER)
    return draft_id, dialog.text(USER, text)


def pending(dialog: Dialog) -> tuple[str | None, dict]:
    with dialog.ctx.db.session() as session:
        found = session.get(ConversationState, USER)
        assert found is not None
        return found.step, dict(found.data)


def test_a_question_is_kept_aside_and_nothing_is_stored(dialog: Dialog) -> None:
    draft_id, outcome = asked(dialog)
    assert templates(outcome) == ["draft/question_detected"]
    assert [b.label for b in buttons(outcome)] == [
        "question_save",
        "question_guidance",
        "question_mentor",
    ]
    assert answers(dialog, draft_id) == {}
    assert state(dialog, USER) == ("draft", draft_id, "nama")
    assert pending(dialog) == ("question", {"question": QUESTION})


def test_save_anyway_stores_exactly_that_text_and_moves_on(dialog: Dialog) -> None:
    draft_id, outcome = asked(dialog)
    saved = dialog.callback(USER, button_data(outcome, label="question_save"))
    assert saved.notice == "saved"
    assert answers(dialog, draft_id) == {"nama": QUESTION}
    assert state(dialog, USER) == ("draft", draft_id, "inisiator")
    assert pending(dialog) == (None, {})
    # Pressed again, the button is stale: the question is no longer waiting.
    again = dialog.callback(USER, button_data(outcome, label="question_save"))
    assert again.notice == "stale_button"
    assert answers(dialog, draft_id) == {"nama": QUESTION}


def test_guidance_shows_tip_example_and_what_reviewers_look_for(dialog: Dialog) -> None:
    register(dialog, USER)
    draft_id = new_draft(dialog, USER)
    for text in ANSWERS_BEFORE_RANCANG_BANGUN:
        dialog.text(USER, text)
    for _ in range(6):  # the rancang bangun parts, up to "tujuan"
        dialog.command(USER, "lewati")
    assert state(dialog, USER)[2] == "tujuan"
    outcome = dialog.text(USER, "Tujuannya harus pakai angka ya?")
    guidance = dialog.callback(USER, button_data(outcome, label="question_guidance"))
    reply = last_reply(guidance)
    assert reply.template == "draft/section_guidance"
    assert reply.context["section"].key == "tujuan"
    assert any("terukur" in advice for advice in reply.context["advice"])
    assert "tujuan" not in answers(dialog, draft_id)
    # The question still waits: saving it from the guidance works.
    assert dialog.callback(USER, button_data(guidance, label="question_save")).notice == "saved"
    assert answers(dialog, draft_id)["tujuan"] == "Tujuannya harus pakai angka ya?"


def test_ask_a_mentor_opens_the_request_with_the_question_tied_to_the_draft(
    dialog: Dialog,
) -> None:
    draft_id, outcome = asked(dialog)
    request = dialog.callback(USER, button_data(outcome, label="question_mentor"))
    assert templates(request)[:2] == ["draft/question_to_mentor", "consult/ask_topic"]
    topic = dialog.callback(USER, button_data(request, label="consult_topic_general"))
    assert templates(topic) == ["consult/topic_chosen", "consult/ask_times"]
    assert last_reply(topic).context["question"] == QUESTION
    dialog.callback(USER, "k:ts")
    with dialog.ctx.db.session() as session:
        consultation = session.exec(select(Consultation)).one()
        assert consultation.question == QUESTION and consultation.draft_id == draft_id
    assert answers(dialog, draft_id) == {}


def test_a_too_short_question_for_a_mentor_is_asked_for_in_full(dialog: Dialog) -> None:
    _, outcome = asked(dialog, "apa ini?")
    request = dialog.callback(USER, button_data(outcome, label="question_mentor"))
    topic = dialog.callback(USER, button_data(request, label="consult_topic_general"))
    assert templates(topic) == ["consult/topic_chosen", "consult/ask_question"]


def test_a_choice_pressed_after_the_user_moved_on_is_stale(dialog: Dialog) -> None:
    draft_id, first = asked(dialog)
    second = dialog.text(USER, "Boleh pakai nama daerah?")
    # The first question's buttons no longer match the one waiting now.
    assert dialog.callback(USER, button_data(first, label="question_save")).notice == (
        "stale_button"
    )
    dialog.text(USER, "SIPANDU BUMIL")
    for label in ("question_save", "question_guidance", "question_mentor"):
        assert dialog.callback(USER, button_data(second, label=label)).notice == "stale_button"
    assert answers(dialog, draft_id) == {"nama": "SIPANDU BUMIL"}
    assert state(dialog, USER) == ("draft", draft_id, "inisiator")


def test_the_pending_question_survives_a_restart(dialog: Dialog) -> None:
    draft_id, outcome = asked(dialog)
    restarted = build_dialog(dialog.ctx)  # a new process: nothing in memory
    assert templates(restarted.redelivered(USER)) == ["draft/question_detected"]
    restarted.callback(USER, button_data(outcome, label="question_save"))
    assert answers(dialog, draft_id) == {"nama": QUESTION}


def test_choice_sections_and_long_answers_are_not_questions(dialog: Dialog) -> None:
    draft_id, _ = asked(dialog, "SIPANDU BUMIL")
    typed = dialog.text(USER, "apa?")  # inisiator is a choice: searched, not a question
    assert templates(typed) == ["draft/choice_not_matched"]
    for text in ANSWERS_BEFORE_RANCANG_BANGUN[1:]:
        dialog.text(USER, text)
    long_answer = (
        "Mengapa inovasi ini perlu? Perbup Sidenreng Rappang Nomor 12 Tahun 2024 tentang "
        "Inovasi Daerah dan SK Kepala Dinas Kesehatan Nomor 440/123/2024 menjadi dasar "
        "pelaksanaannya, bersama UU 23/2014 tentang Pemerintahan Daerah dan PP 38/2017 "
        "tentang Inovasi Daerah yang mewajibkan pemerintah daerah berinovasi."
    )
    outcome = dialog.text(USER, long_answer)
    assert "draft/question_detected" not in templates(outcome)
    assert answers(dialog, draft_id)["dasar_hukum"] == long_answer


def test_forged_question_buttons_are_stale(dialog: Dialog) -> None:
    draft_id, outcome = asked(dialog)
    data = button_data(outcome, label="question_save")
    token = data.rsplit(":", 1)[1]
    for forged in (
        f"d:qs:{draft_id}:1:{token}",  # another section
        f"d:qs:{draft_id}:0:{int(token) + 1}",  # another text
        f"d:qx:{draft_id}:0:{token}",
        f"d:qs:{draft_id}:0",
    ):
        assert dialog.callback(USER, forged).notice == "stale_button", forged
    assert dialog.callback(USER + 1, data).notice in ("register_first", "draft_not_found")
    assert answers(dialog, draft_id) == {}


# ---- the urusan choice: likeliest first, everything paged, each option once ---------------


def at_urusan(dialog: Dialog, opd: str = "kesehatan") -> tuple[int, Outcome]:
    register(dialog, USER, opd=opd)
    draft_id = new_draft(dialog, USER)
    outcome = Outcome()
    for text in ANSWERS_BEFORE_RANCANG_BANGUN[:6]:
        outcome = dialog.text(USER, text)
    assert state(dialog, USER)[2] == "urusan"
    return draft_id, outcome


def option_texts(outcome: Outcome) -> list[str]:
    return [b.text for b in buttons(outcome) if b.data.startswith("a:")]


def test_urusan_shows_the_likeliest_few_then_all_of_them_paged(dialog: Dialog) -> None:
    draft_id, outcome = at_urusan(dialog)
    likely = option_texts(outcome)
    assert len(likely) == 6 and likely[0] == "Kesehatan"  # the user's OPD: Dinas Kesehatan
    urusan = dialog.ctx.formats.default.section("urusan").options
    seen: list[str] = []
    page = dialog.callback(USER, button_data(outcome, label="choice_all"))
    while True:
        seen += option_texts(page)
        assert len(option_texts(page)) <= 8
        if not any(b.label == "next_page" for b in buttons(page)):
            break
        page = dialog.callback(USER, button_data(page, label="next_page"))
    assert seen == list(urusan)  # every option, each once, in the list's order
    # An option from the last page is saved like any other.
    chosen = dialog.callback(USER, button_data(page, text=urusan[-1]))
    assert chosen.notice == "saved"
    assert answers(dialog, draft_id)["urusan"] == urusan[-1]
    # Paging after the user moved on is stale.
    assert dialog.callback(USER, f"d:cp:{draft_id}:6:1").notice == "stale_button"


def test_urusan_likeliest_follow_the_office_when_its_name_says_nothing(dialog: Dialog) -> None:
    register(dialog, USER + 6, name="Citra Lestari", opd="puskesmas")
    dialog.callback(USER + 6, "n:iid")  # another office's choice counts for nothing here
    for text in (*ANSWERS_BEFORE_RANCANG_BANGUN[:6], "kearsipan"):
        dialog.text(USER + 6, text)
    register(dialog, USER + 5, name="Budi Santoso", opd="kecamatan")
    for _ in range(2):  # two earlier drafts of the same office chose Pariwisata
        dialog.callback(USER + 5, "n:iid")
        for text in (*ANSWERS_BEFORE_RANCANG_BANGUN[:6], "pariwisata"):
            dialog.text(USER + 5, text)
        dialog.command(USER + 5, "batal")
    _, outcome = at_urusan(dialog, opd="kecamatan")
    assert option_texts(outcome)[0] == "Pariwisata" and "Kearsipan" not in option_texts(outcome)


def test_typing_part_of_an_urusan_still_finds_it(dialog: Dialog) -> None:
    draft_id, _ = at_urusan(dialog)
    dialog.text(USER, "kearsipan")
    assert answers(dialog, draft_id)["urusan"] == "Kearsipan"
