"""Drafting without friction (issue 10, point 5): the current text to copy when editing, what
/lewati does after /kembali, no "continue" on a complete draft, "riwayat" only when there was
a previous text, each topic once, labels cut at a word boundary. Domain, both databases."""

from __future__ import annotations

from bot.rendering import Renderer
from bot.services.dialog import Dialog
from bot.services.replies import LongReply, Outcome
from tests.conftest import WITA
from tests.helpers import (
    answers,
    button_data,
    buttons,
    last_reply,
    new_draft,
    register,
)
from tests.proposal_samples import add_draft, strong_iid_answers

USER = 701
renderer = Renderer(WITA)


def rendered(outcome: Outcome) -> list[str]:
    return [m.text for reply in outcome.replies for m in renderer.render_any(reply)]


def test_editing_a_short_text_shows_it_inside_the_question_to_copy(dialog: Dialog) -> None:
    register(dialog, USER)
    draft_id = new_draft(dialog, USER)
    dialog.text(USER, "SI <CEPAT> & Tanggap")
    dialog.command(USER, "batal")
    question = dialog.callback(USER, f"d:s:{draft_id}:0")
    assert last_reply(question).context["copy_inline"]
    assert "<pre>SI &lt;CEPAT&gt; &amp; Tanggap</pre>" in rendered(question)[-1]


def test_editing_a_long_text_sends_it_to_copy_in_telegram_sized_parts(dialog: Dialog) -> None:
    register(dialog, USER)
    text = ("Perbup Nomor 12 Tahun 2024 tentang Inovasi Daerah & <SK> Kepala Dinas. " * 60).strip()
    assert len(text) > 4096
    draft_id = add_draft(dialog.ctx.db, USER, dialog.ctx.formats.default, {"dasar_hukum": text})
    question = dialog.callback(USER, f"d:s:{draft_id}:9")
    copy = question.replies[0]
    assert isinstance(copy, LongReply) and copy.chunks[0].pre
    messages = rendered(question)
    assert len(messages) >= 3  # the text in two or more parts, then the question
    assert all(len(m) <= 4096 for m in messages)
    parts = [m.split("<pre>", 1)[1].split("</pre>", 1)[0] for m in messages[:-1]]
    shown = " ".join(
        p.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&") for p in parts
    )
    assert shown.split() == text.split()
    assert "<pre>" not in messages[-1] and "pesan sebelumnya" in messages[-1]


def test_after_kembali_the_question_says_lewati_keeps_the_answer(dialog: Dialog) -> None:
    register(dialog, USER)
    new_draft(dialog, USER)
    dialog.text(USER, "SIPANDU BUMIL")
    back = dialog.command(USER, "kembali")
    assert "/lewati — pertahankan jawaban saat ini dan lanjut" in rendered(back)[-1]
    fresh = dialog.command(USER, "lewati")  # Inisiator, never answered
    assert "pertahankan" not in rendered(fresh)[-1]


def test_continue_is_not_offered_on_a_complete_draft(dialog: Dialog) -> None:
    register(dialog, USER)
    fmt = dialog.ctx.formats.default
    complete = add_draft(dialog.ctx.db, USER, fmt, strong_iid_answers())
    partial = add_draft(dialog.ctx.db, USER, fmt, {"nama": "SIPANDU BUMIL"})
    labels_complete = [b.label for b in buttons(dialog.callback(USER, f"d:o:{complete}"))]
    labels_partial = [b.label for b in buttons(dialog.callback(USER, f"d:o:{partial}"))]
    assert "continue_draft" not in labels_complete and "edit_section" in labels_complete
    assert "continue_draft" in labels_partial


def test_history_is_mentioned_only_when_a_previous_text_was_replaced(dialog: Dialog) -> None:
    register(dialog, USER)
    draft_id = new_draft(dialog, USER)
    dialog.text(USER, "Nama Pertama")
    dialog.command(USER, "batal")
    dialog.callback(USER, f"d:s:{draft_id}:18")  # anggaran, empty until now
    first = dialog.text(USER, "Tanpa anggaran")
    assert "diperbarui" in rendered(first)[-1] and "riwayat" not in rendered(first)[-1]
    dialog.callback(USER, f"d:s:{draft_id}:0")
    replaced = dialog.text(USER, "Nama Kedua")
    assert "Teks sebelumnya disimpan sebagai riwayat" in rendered(replaced)[-1]
    assert answers(dialog, draft_id)["nama"] == "Nama Kedua"


def test_a_suggested_topic_is_not_listed_a_second_time(dialog: Dialog) -> None:
    register(dialog, USER)
    fmt = dialog.ctx.formats.default
    draft_id = add_draft(dialog.ctx.db, USER, fmt, {"nama": "X", "urusan": "Kesehatan"})
    page = dialog.callback(USER, f"k:nd:{draft_id}")
    names = [renderer.button_label(b) for b in buttons(page)]
    assert names.count("⭐ Kesehatan") == 1
    seen = []
    while True:
        seen += [renderer.button_label(b) for b in buttons(page) if b.data.startswith("k:t:")]
        if not any(b.label == "next_page" for b in buttons(page)):
            break
        page = dialog.callback(USER, button_data(page, label="next_page"))
    assert "Kesehatan" not in seen and len(seen) == len(set(seen))


def test_long_labels_are_cut_at_a_word_boundary(dialog: Dialog) -> None:
    register(dialog, USER)
    title = "Sistem Informasi Pelayanan Terpadu Kesehatan Ibu dan Anak Kabupaten Sidenreng"
    add_draft(dialog.ctx.db, USER, dialog.ctx.formats.default, {}, title=title)
    listing = dialog.command(USER, "draf")
    label = next(renderer.button_label(b) for b in buttons(listing) if b.data.startswith("d:o:"))
    assert label.endswith("…") and len(label) <= 40
    kept = label[:-1]
    assert title.startswith(kept) and title[len(kept)] == " ", label
