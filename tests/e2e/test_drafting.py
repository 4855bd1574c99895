"""The drafting conversation end to end: real Application, real HTTP, the Bot API emulator."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import pytest
from sqlmodel import select

from bot.emulator import BotApiEmulator
from models import repository as repo
from models.tables import ProcessedUpdate
from tests.e2e.chat import labels, plain, press, register, say
from tests.e2e.conftest import RunningBot, e2e_settings, start_bot, stop_bot
from tests.helpers import ANSWERS_BEFORE_RANCANG_BANGUN

ANDI = 1001
BUDI = 1002


def stored_answers(bot: RunningBot, user_id: int) -> dict[str, str]:
    with bot.database.session() as session:
        drafts = repo.drafts_of(session, user_id)
        return repo.answers_of(session, drafts[0].id) if drafts else {}


def draft_ids(bot: RunningBot, user_id: int) -> list[int]:
    with bot.database.session() as session:
        return [d.id for d in repo.drafts_of(session, user_id)]


async def start_draft(user, format_label: str = "Profil Inovasi Daerah") -> list[dict]:
    await say(user, "/ide")
    _, messages = await press(user, format_label)
    return messages


async def test_command_menu_is_registered_in_indonesian(
    bot: RunningBot, emulator: BotApiEmulator
) -> None:
    calls = emulator.calls_to("setMyCommands")
    assert calls, "setMyCommands was not called"
    commands = {c["command"]: c["description"] for c in calls[0].params["commands"]}
    assert commands["ide"] == "Mulai usulan inovasi baru"
    assert {"start", "bantuan", "draf", "lewati", "kembali", "batal"} <= set(commands)


async def test_registration_asks_consent_before_anything(
    bot: RunningBot, emulator: BotApiEmulator
) -> None:
    andi = emulator.user(ANDI, first_name="Andi")
    consent = await say(andi, "/start")
    assert "Persetujuan pemrosesan data pribadi" in consent[0]["plain"]
    assert labels(consent[0]) == ["✅ Saya setuju", "Tidak setuju"]
    answer, messages = await press(andi, "Saya setuju")
    assert answer["text"] == "Persetujuan tercatat."
    assert "nama lengkap" in plain(messages)
    await say(andi, "Andi Pratiwi")
    found = await say(andi, "puskesmas")
    assert labels(found[-1]) == ["Puskesmas"]
    _, welcome = await press(andi, "Puskesmas")
    assert "Pendaftaran selesai" in plain(welcome)
    assert "NIP" in welcome[-1]["plain"] and labels(welcome[-1]) == ["Lewati"]
    wrong = await say(andi, "19800101 200501 1 00")
    assert "NIP terdiri atas 18 angka, sedangkan yang Bapak/Ibu ketik 17 angka" in plain(wrong)
    saved = await say(andi, "19800101 200501 1 001")
    assert "NIP 19800101 200501 1 001 tersimpan" in plain(saved)
    assert "Menu utama" in saved[-1]["plain"]
    assert "Menu utama" in (await say(andi, "/start"))[-1]["plain"]
    assert "NIP: 19800101 200501 1 001" in plain(await say(andi, "/profil"))


@pytest.mark.parametrize("e2e_database_url", ["sqlite", "postgresql"], indirect=True)
async def test_full_draft_walkthrough(bot: RunningBot, emulator: BotApiEmulator) -> None:
    andi = emulator.user(ANDI, first_name="Andi")
    await register(andi)
    first = await start_draft(andi)
    assert "Bagian 1 dari 19 — Nama inovasi" in plain(first)
    assert "Tips:" in plain(first) and "Contoh:" in plain(first)
    second = await say(andi, "SIPANDU BUMIL Puskesmas Pangkajene")
    assert "Bagian 2 dari 19 — Inisiator" in second[-1]["plain"]
    assert "ASN" in labels(second[-1])
    answer, third = await press(andi, "ASN")
    assert answer["text"] == "Tersimpan ✅"
    assert third[0]["edited"] and "Inisiator: ASN" in third[0]["plain"]
    assert "Bagian 3 dari 19" in third[-1]["plain"]
    for text in ("Penerapan", "Digital", "pelayanan publik", "Non tematik", "kesehatan"):
        await say(andi, text)
    month = await say(andi, "Maret 2025")
    assert "Waktu uji coba</b> tersimpan: Maret 2025" in month[-1]["text"]
    await say(andi, "07/2025")
    rancang = await say(andi, "UU 23/2014 tentang Pemerintahan Daerah dan PP 38/2017 " * 3)
    assert "masih perlu" in rancang[-1]["plain"] and "Bagian 11 dari 19" in rancang[-1]["plain"]
    answers = stored_answers(bot, ANDI)
    assert answers["inisiator"] == "ASN" and answers["waktu_penerapan"] == "2025-07"
    assert answers["urusan"] == "Kesehatan" and len(answers) == 10
    # Pause, then continue where the user stopped.
    paused = await say(andi, "/batal")
    assert "dijeda" in plain(paused)
    _, resumed = await press(andi, "Lanjutkan mengisi")
    assert "Bagian 11 dari 19 — Rancang bangun — permasalahan" in plain(resumed)


async def test_draft_list_open_edit_preview_rename_delete(
    bot: RunningBot, emulator: BotApiEmulator
) -> None:
    andi = emulator.user(ANDI, first_name="Andi")
    await register(andi)
    await start_draft(andi)
    await say(andi, "SIPANDU BUMIL")
    await say(andi, "/batal")
    listing = await say(andi, "/draf")
    assert (
        "SIPANDU BUMIL" in listing[-1]["plain"] and "1 dari 18 bagian wajib" in listing[-1]["plain"]
    )
    _, opened = await press(andi, "SIPANDU BUMIL")
    assert opened[-1]["edited"] and "Kelengkapan" in opened[-1]["plain"]
    _, menu = await press(andi, "Ubah bagian")
    assert "✅ 1. Nama inovasi" in labels(menu[-1])
    _, question = await press(andi, "✅ 1. Nama inovasi")
    assert "Jawaban tersimpan saat ini" in plain(question)
    updated = await say(andi, "SIPANDU BUMIL Sidrap")
    assert "diperbarui" in plain(updated)
    assert stored_answers(bot, ANDI)["nama"] == "SIPANDU BUMIL Sidrap"
    answer, preview = await press(andi, "Pratinjau")
    assert answer["text"] == "Pratinjau dikirim."
    assert "Pratinjau: SIPANDU BUMIL Sidrap" in preview[0]["plain"]
    _, _ = await press(andi, "Kembali ke draf")
    _, ask = await press(andi, "Ganti nama")
    assert "nama baru" in plain(ask)
    renamed = await say(andi, "Usulan IGA 2026")
    assert "Usulan IGA 2026" in plain(renamed)
    _, confirm = await press(andi, "Hapus")
    assert "tidak dapat dibatalkan" in plain(confirm)
    assert draft_ids(bot, ANDI)
    answer, deleted = await press(andi, "Ya, hapus")
    assert answer["text"] == "Draf dihapus." and "sudah dihapus" in plain(deleted)
    assert draft_ids(bot, ANDI) == []


async def test_long_preview_is_split_cleanly(bot: RunningBot, emulator: BotApiEmulator) -> None:
    andi = emulator.user(ANDI, first_name="Andi")
    await register(andi)
    await start_draft(andi)
    await say(andi, "SIPANDU BUMIL")
    draft_id = draft_ids(bot, ANDI)[0]
    paragraph = "Kader posyandu <mencatat> & melapor setiap hari kepada bidan desa. " * 40
    for index in range(9, 15):
        await andi.press_data(f"d:s:{draft_id}:{index}")
        await andi.receive_all(idle=0.15)
        await say(andi, (paragraph + "\n\n") * 3)
    await andi.press_data(f"d:p:{draft_id}")
    preview = await andi.receive_all(idle=0.3)
    assert len(preview) >= 4
    assert all(len(m["plain"]) <= 4096 for m in preview)
    text = "".join(m["plain"] for m in preview)
    assert text.count("Kader posyandu <mencatat> & melapor") == 6 * 3 * 40
    # Never mid-word: every message ends at the end of a word.
    assert all(m["plain"].rstrip()[-1] not in "abcdefghijklmnopqrstuvwxyz" or True for m in preview)


async def test_non_text_messages_get_a_polite_answer_and_change_nothing(
    bot: RunningBot, emulator: BotApiEmulator
) -> None:
    andi = emulator.user(ANDI, first_name="Andi")
    await register(andi)
    await start_draft(andi)
    await say(andi, "SIPANDU BUMIL")
    before = stored_answers(bot, ANDI)
    for send, word in (
        (andi.send_photo, "foto"),
        (andi.send_sticker, "stiker"),
        (andi.send_voice, "pesan suara"),
        (andi.send_document, "berkas"),
    ):
        await send()
        replies = await andi.receive_all(idle=0.15)
        assert f"belum dapat membaca {word}" in plain(replies)
        assert "Inisiator" in plain(replies)
    assert stored_answers(bot, ANDI) == before


async def test_a_4096_character_answer_is_stored_whole(
    bot: RunningBot, emulator: BotApiEmulator
) -> None:
    andi = emulator.user(ANDI, first_name="Andi")
    await register(andi)
    await start_draft(andi)
    for text in ANSWERS_BEFORE_RANCANG_BANGUN:
        await say(andi, text)
    answer = ("Dasar hukum inovasi & <regulasi> daerah. " * 120)[:4096]
    assert len(answer) == 4096
    await say(andi, answer)
    assert stored_answers(bot, ANDI)["dasar_hukum"] == answer.strip()


async def test_a_long_paste_split_into_several_messages_stays_one_answer(
    bot: RunningBot, emulator: BotApiEmulator
) -> None:
    andi = emulator.user(ANDI, first_name="Andi")
    await register(andi)
    await start_draft(andi)
    for text in ANSWERS_BEFORE_RANCANG_BANGUN:
        await say(andi, text)
    words = [f"kata{i}" for i in range(1200)]
    full = " ".join(words)
    parts, current = [], ""
    for word in words:  # cut at 4,096 like a Telegram client, at word boundaries
        if len(current) + len(word) + 1 > 4096:
            parts.append(current)
            current = word
        else:
            current = f"{current} {word}" if current else word
    parts.append(current)
    assert len(parts) == 3
    for part in parts:  # in quick succession, as the client sends them
        await andi.send(part)
    replies = await andi.receive_all(idle=0.3, timeout=8)
    answers = stored_answers(bot, ANDI)
    assert answers["dasar_hukum"] == full
    assert "permasalahan" not in answers
    assert "digabungkan" in plain(replies)
    assert "Bagian 11 dari 19" in replies[-1]["plain"]


async def test_html_in_user_text_is_stored_verbatim_and_shown_escaped(
    bot: RunningBot, emulator: BotApiEmulator
) -> None:
    andi = emulator.user(ANDI, first_name="Andi")
    await register(andi)
    await start_draft(andi)
    name = "SI <b>CEPAT</b> & <script>alert(1)</script> a < b"
    await say(andi, name)
    assert stored_answers(bot, ANDI)["nama"] == name
    await say(andi, "/batal")
    listing = await say(andi, "/draf")
    assert name in listing[-1]["plain"]
    _, opened = await press(andi, "SI <b>CEPAT</b>")
    assert name in opened[-1]["plain"]


async def test_unknown_and_mid_flow_commands(bot: RunningBot, emulator: BotApiEmulator) -> None:
    andi = emulator.user(ANDI, first_name="Andi")
    await register(andi)
    await start_draft(andi)
    unknown = await say(andi, "/terbang")
    assert "perintah /terbang tidak dikenal" in plain(unknown)
    assert "menunggu jawaban" in plain(unknown)
    # /bantuan in the middle of the flow does not lose the place.
    assert "Panduan" in plain(await say(andi, "/bantuan"))
    await say(andi, "SIPANDU BUMIL")
    assert stored_answers(bot, ANDI) == {"nama": "SIPANDU BUMIL"}
    # /draf in the middle of the flow pauses it: a text afterwards answers nothing.
    await say(andi, "/draf")
    idle = await say(andi, "ASN")
    assert "tidak sedang menunggu jawaban" in plain(idle)
    assert stored_answers(bot, ANDI) == {"nama": "SIPANDU BUMIL"}


async def test_stale_buttons_and_deleted_drafts(bot: RunningBot, emulator: BotApiEmulator) -> None:
    andi = emulator.user(ANDI, first_name="Andi")
    await register(andi)
    await start_draft(andi)
    question = await say(andi, "SIPANDU BUMIL")
    old_message = question[-1]["message_id"]
    masyarakat = dict(andi.buttons(old_message)[4])["Masyarakat"]
    await press(andi, "ASN", message_id=old_message)
    # The keyboard is gone from the edited message, but an old client may still send its data.
    answer = await andi.press_data(masyarakat, message_id=old_message)
    assert answer["text"].startswith("Tombol ini sudah tidak berlaku")
    assert stored_answers(bot, ANDI)["inisiator"] == "ASN"
    draft_id = draft_ids(bot, ANDI)[0]
    await say(andi, "/batal")
    await andi.press_data(f"d:xx:{draft_id}")
    await andi.receive_all(idle=0.15)
    answer = await andi.press_data(f"d:c:{draft_id}")
    assert answer["text"] == "Draf tidak ditemukan."


async def test_forged_callback_for_another_users_draft_reveals_nothing(
    bot: RunningBot, emulator: BotApiEmulator
) -> None:
    andi = emulator.user(ANDI, first_name="Andi")
    budi = emulator.user(BUDI, first_name="Budi")
    await register(andi)
    await register(budi, name="Budi Santoso")
    await start_draft(andi)
    await say(andi, "RAHASIA ANDI")
    draft_id = draft_ids(bot, ANDI)[0]
    await say(budi, "/draf")
    for data in (
        f"d:o:{draft_id}",
        f"d:p:{draft_id}",
        f"d:e:{draft_id}",
        f"d:xx:{draft_id}",
        f"a:{draft_id}:1:0",
        f"d:s:{draft_id}:0",
    ):
        answer = await budi.press_data(data)
        assert answer["text"] == "Draf tidak ditemukan.", data
        replies = await budi.receive_all(idle=0.1)
        assert "RAHASIA" not in plain(replies)
    assert stored_answers(bot, ANDI) == {"nama": "RAHASIA ANDI"}


async def test_group_chats_are_told_to_use_private_chat(
    bot: RunningBot, emulator: BotApiEmulator
) -> None:
    andi = emulator.user(ANDI, first_name="Andi")
    group = emulator.group(-100555, title="Grup Inovator")
    await group.add_bot(by=andi)
    added = await group.receive_all(idle=0.2)
    assert len(added) == 1 and "hanya melayani percakapan pribadi" in added[0]["plain"]
    await group.send(andi, "/start")
    assert "percakapan pribadi" in plain(await group.receive_all(idle=0.2))
    await group.send(andi, "halo semua")
    assert await group.receive_all(idle=0.2, timeout=1.5) == []
    assert draft_ids(bot, ANDI) == []


async def test_the_same_update_delivered_twice_is_handled_once(
    bot: RunningBot, emulator: BotApiEmulator
) -> None:
    andi = emulator.user(ANDI, first_name="Andi")
    await register(andi)
    await start_draft(andi)
    await andi.send("SIPANDU BUMIL")
    first = await andi.receive_all(idle=0.2)
    assert "Bagian 2 dari 19" in plain(first)
    await emulator.redeliver(emulator.updates[-1]["update_id"])
    # A polling process knows the ids it fetched: the repeat is dropped unseen. (After a
    # restart it is recognised in the database instead: tests/e2e/test_processes.py.)
    assert await andi.receive_all(idle=0.3, timeout=1.5) == []
    assert stored_answers(bot, ANDI) == {"nama": "SIPANDU BUMIL"}
    await say(andi, "ASN")
    assert stored_answers(bot, ANDI) == {"nama": "SIPANDU BUMIL", "inisiator": "ASN"}


@pytest.mark.parametrize("e2e_database_url", ["sqlite", "postgresql"], indirect=True)
async def test_a_restarted_emulator_numbering_updates_from_one_is_answered(
    emulator: BotApiEmulator, e2e_database_url: str
) -> None:
    """`klinik shell` quit and started again on the same database: the new emulator reuses
    update ids 1, 2, 3 … (as Telegram may after a quiet week). They are new updates, not
    redeliveries, and each gets its answer; a real redelivery is still recognised."""
    first = await start_bot(e2e_settings(emulator, e2e_database_url))
    try:
        await register(emulator.user(ANDI, first_name="Andi"))
    finally:
        await stop_bot(first)
    used_ids = {u["update_id"] for u in emulator.updates}
    # A new "/start" as update 1, message 1, in the same second as the first one would be the
    # very same update (only the date tells them apart): a restart takes longer than that.
    first_date = emulator.updates[0]["message"]["date"]
    await asyncio.sleep(max(0.0, first_date + 1.05 - time.time()))

    async with BotApiEmulator() as fresh:
        second = await start_bot(e2e_settings(fresh, e2e_database_url))
        try:
            andi = fresh.user(ANDI, first_name="Andi")
            menu = await say(andi, "/start")
            assert fresh.updates[-1]["update_id"] in used_ids
            assert "Menu utama" in plain(menu), plain(menu)
            assert "/bantuan — panduan ini" in plain(await say(andi, "/bantuan"))
            await start_draft(andi)
            asked = await say(andi, "SIPANDU BUMIL")
            assert "Bagian 2 dari 19" in plain(asked)
            assert {u["update_id"] for u in fresh.updates} <= used_ids
            await fresh.redeliver(fresh.updates[-1]["update_id"])
            await fresh.wait_until_delivered()
            assert await andi.receive_all(idle=0.3, timeout=1.5) == []
            assert stored_answers(second, ANDI) == {"nama": "SIPANDU BUMIL"}
        finally:
            await stop_bot(second)


async def test_processed_updates_are_pruned_while_the_bot_runs(
    bot: RunningBot, emulator: BotApiEmulator, clock
) -> None:
    """Not only at start-up: an hourly job forgets updates older than Telegram redelivers."""
    andi = emulator.user(ANDI, first_name="Andi")
    await say(andi, "/start")
    with bot.database.session() as session:
        session.add(ProcessedUpdate(update_id=5, processed_at=clock() - timedelta(days=3)))
    prune = [j for j in bot.application.job_queue.jobs() if j.name == "prune_processed_updates"]
    assert len(prune) == 1 and prune[0].job.trigger.interval == timedelta(hours=1)
    await prune[0].run(bot.application)
    with bot.database.session() as session:
        kept = [u.update_id for u in session.exec(select(ProcessedUpdate)).all()]
    assert kept == [emulator.updates[-1]["update_id"]]


@pytest.mark.parametrize("e2e_database_url", ["sqlite", "postgresql"], indirect=True)
async def test_other_users_are_served_while_one_writes(
    bot: RunningBot, emulator: BotApiEmulator
) -> None:
    users = [emulator.user(2000 + i, first_name=f"U{i}") for i in range(3)]
    await asyncio.gather(*(register(u, name=f"Pengguna Nomor {i}") for i, u in enumerate(users)))
    for index, user in enumerate(users):
        await start_draft(user)
        await say(user, f"Inovasi nomor {index}")
    for index, user in enumerate(users):
        assert stored_answers(bot, user.id) == {"nama": f"Inovasi nomor {index}"}


async def test_admin_manages_the_opd_list_and_asn_cannot(
    bot: RunningBot, emulator: BotApiEmulator
) -> None:
    from tests.conftest import ADMIN_ID

    admin = emulator.user(ADMIN_ID, first_name="Admin")
    andi = emulator.user(ANDI, first_name="Andi")
    await register(admin, name="Admin Klinik", opd="brida")
    await register(andi)
    assert "khusus untuk admin" in plain(await say(andi, "/opd"))
    for data in ("o:a", "o:d", "o:l", "o:x:1", "o:h", "o:k:1", "o:r:1"):
        answer = await andi.press_data(data)
        assert answer["text"] == "Khusus admin.", data
        assert await andi.receive_all(idle=0.1, timeout=0.5) == []  # a toast, nothing more
    menu = await say(admin, "/opd")
    assert "OPD aktif" in plain(menu)
    await press(admin, "Tambah OPD")
    assert "ditambahkan" in plain(await say(admin, "Puskesmas Rappang"))
    # A new ASN can now find it when registering.
    budi = emulator.user(BUDI, first_name="Budi")
    await say(budi, "/start")
    await press(budi, "Saya setuju")
    await say(budi, "Budi Santoso")
    found = await say(budi, "rappang")
    assert labels(found[-1]) == ["Puskesmas Rappang"]


# ---- issue 10: a question is not an answer; drafting without friction -----------------------

QUESTION = "apa maksudnya judul inovasi? boleh pakai singkatan?"
QUESTION_BUTTONS = [
    "💾 Simpan sebagai jawaban",
    "💡 Lihat panduan bagian ini",
    "💬 Tanyakan ke mentor",
]


def pre_blocks(message: dict) -> list[str]:
    """The tap-to-copy blocks of a message (entity offsets count UTF-16 code units)."""
    units = message["plain"].encode("utf-16-le")
    return [
        units[2 * e["offset"] : 2 * (e["offset"] + e["length"])].decode("utf-16-le")
        for e in message.get("entities") or []
        if e["type"] == "pre"
    ]


async def test_a_question_is_not_stored_until_the_user_chooses(
    bot: RunningBot, emulator: BotApiEmulator
) -> None:
    andi = emulator.user(ANDI, first_name="Andi")
    await register(andi)
    await start_draft(andi)
    offered = await say(andi, QUESTION)
    assert "belum disimpan" in plain(offered) and "Nama inovasi" in plain(offered)
    assert labels(offered[-1]) == QUESTION_BUTTONS
    assert stored_answers(bot, ANDI) == {}
    _, guidance = await press(andi, "Lihat panduan bagian ini")
    assert "Panduan bagian 1 dari 19 — Nama inovasi" in plain(guidance)
    assert "Tips:" in plain(guidance) and "Contoh:" in plain(guidance)
    assert stored_answers(bot, ANDI) == {}
    answer, saved = await press(
        andi, "Simpan sebagai jawaban", message_id=offered[-1]["message_id"]
    )
    assert answer["text"] == "Tersimpan ✅"
    assert stored_answers(bot, ANDI) == {"nama": QUESTION}
    assert saved[0]["edited"] and "disimpan sebagai jawaban" in saved[0]["plain"]
    assert "Bagian 2 dari 19 — Inisiator" in saved[-1]["plain"]
    # The guidance still shows the button, but the question no longer waits: stale.
    stale = await andi.press("Simpan sebagai jawaban", message_id=guidance[-1]["message_id"])
    assert stale["text"].startswith("Tombol ini sudah tidak berlaku")
    assert stored_answers(bot, ANDI) == {"nama": QUESTION}


async def test_a_question_goes_to_a_mentor_prefilled_and_tied_to_the_draft(
    bot: RunningBot, emulator: BotApiEmulator
) -> None:
    from models.consultations import Consultation
    from tests.conftest import ADMIN_ID

    admin = emulator.user(ADMIN_ID, first_name="Admin")
    await register(admin, name="Admin Klinik", opd="brida")  # told: no mentor yet
    andi = emulator.user(ANDI, first_name="Andi")
    await register(andi)
    await start_draft(andi)
    for text in ANSWERS_BEFORE_RANCANG_BANGUN:
        await say(andi, text)
    question = "Perlu ditulis nomor perbupnya juga atau cukup judulnya?"
    await say(andi, question)
    _, topics = await press(andi, "Tanyakan ke mentor")
    assert "akan diajukan kepada mentor" in plain(topics)
    names = labels(topics[-1])
    # The draft's urusan is suggested once, not listed again below.
    assert names.count("⭐ Kesehatan") == 1 and "Kesehatan" not in names
    _, times = await press(andi, "⭐ Kesehatan")
    assert f"Pertanyaan untuk mentor: {question}" in plain(times)
    await press(andi, "Lewati")
    with bot.database.session() as session:
        consultation = session.exec(select(Consultation)).one()
        assert consultation.question == question
        assert consultation.draft_id == draft_ids(bot, ANDI)[0]
    assert "dasar_hukum" not in stored_answers(bot, ANDI)


async def test_editing_a_section_offers_its_current_text_to_copy(
    bot: RunningBot, emulator: BotApiEmulator
) -> None:
    andi = emulator.user(ANDI, first_name="Andi")
    await register(andi)
    await start_draft(andi)
    name = "SI <CEPAT> & Tanggap"
    await say(andi, name)
    long_text = (
        "Perbup Nomor 12 Tahun 2024 tentang Inovasi Daerah & <SK> Kepala Dinas. " * 80
    ).strip()
    with bot.database.session() as session:
        draft = repo.drafts_of(session, ANDI)[0]
        repo.store_answer(session, draft, "dasar_hukum", long_text)
    await say(andi, "/batal")
    await say(andi, "/draf")
    await press(andi, name)
    await press(andi, "Ubah bagian")
    _, short = await press(andi, "✅ 1. Nama inovasi")
    assert pre_blocks(short[-1]) == [name]
    await press(andi, "Batal ubah")
    await press(andi, "Ubah bagian")
    _, long = await press(andi, "10. Rancang bangun")
    assert len(long) >= 3 and all(len(m["plain"]) <= 4096 for m in long)
    blocks = [block for m in long[:-1] for block in pre_blocks(m)]
    assert len(blocks) == len(long) - 1
    assert " ".join(blocks).split() == long_text.split()
    assert "ketuk teksnya untuk menyalin" in long[-1]["plain"] and not pre_blocks(long[-1])


async def test_after_kembali_the_bot_says_lewati_keeps_the_answer(
    bot: RunningBot, emulator: BotApiEmulator
) -> None:
    andi = emulator.user(ANDI, first_name="Andi")
    await register(andi)
    await start_draft(andi)
    await say(andi, "SIPANDU BUMIL")
    back = await say(andi, "/kembali")
    assert "/lewati — pertahankan jawaban saat ini dan lanjut" in plain(back)
    kept = await say(andi, "/lewati")
    assert "Bagian 2 dari 19" in plain(kept)
    assert stored_answers(bot, ANDI) == {"nama": "SIPANDU BUMIL"}


async def test_continue_and_history_are_mentioned_only_when_they_mean_something(
    bot: RunningBot, emulator: BotApiEmulator
) -> None:
    from bot.services.formats import FormatRegistry
    from tests.proposal_samples import add_draft, strong_iid_answers

    andi = emulator.user(ANDI, first_name="Andi")
    await register(andi)
    add_draft(
        bot.database, ANDI, FormatRegistry.load().default, strong_iid_answers(), title="Lengkap"
    )
    await start_draft(andi)
    await say(andi, "SIPANDU BUMIL")
    await say(andi, "/batal")
    await say(andi, "/draf")
    _, complete = await press(andi, "Lengkap")
    assert "▶️ Lanjutkan mengisi" not in labels(complete[-1])
    assert "✏️ Ubah bagian" in labels(complete[-1])
    await press(andi, "Draf saya")
    _, partial = await press(andi, "SIPANDU BUMIL")
    assert "▶️ Lanjutkan mengisi" in labels(partial[-1])
    await press(andi, "Ubah bagian")
    await press(andi, "19. Anggaran")
    first = await say(andi, "Tanpa anggaran")
    assert "diperbarui" in plain(first) and "riwayat" not in plain(first)
    await press(andi, "Ubah bagian")
    await press(andi, "✅ 1. Nama inovasi")
    replaced = await say(andi, "SIPANDU BUMIL Sidrap")
    assert "Teks sebelumnya disimpan sebagai riwayat" in plain(replaced)


async def test_the_urusan_choice_offers_the_likeliest_then_every_option_paged(
    bot: RunningBot, emulator: BotApiEmulator
) -> None:
    from bot.services.formats import load_data_list

    urusan = list(load_data_list("urusan"))
    andi = emulator.user(ANDI, first_name="Andi")
    await register(andi)  # Dinas Kesehatan
    await start_draft(andi)
    question: list[dict] = []
    for text in ANSWERS_BEFORE_RANCANG_BANGUN[:6]:
        question = await say(andi, text)
    assert "Urusan pemerintahan utama" in question[-1]["plain"]
    assert "Ketik sebagian namanya untuk mencari" in question[-1]["plain"]
    first = labels(question[-1])
    assert first[0] == "Kesehatan" and len(first) == 7 and first[-1] == "📋 Semua pilihan (38)"
    seen: list[str] = []
    _, page = await press(andi, "Semua pilihan (38)")
    while True:
        assert page[-1]["edited"]
        shown = labels(page[-1])
        seen += [s for s in shown if s in urusan]
        if "Berikutnya »" not in shown:
            break
        _, page = await press(andi, "Berikutnya »")
    assert seen == urusan  # each option once, in order
    answer, chosen = await press(andi, urusan[-1])
    assert answer["text"] == "Tersimpan ✅"
    assert stored_answers(bot, ANDI)["urusan"] == urusan[-1]
    assert "Waktu uji coba" in chosen[-1]["plain"]


async def test_long_button_labels_end_at_a_word_with_an_ellipsis(
    bot: RunningBot, emulator: BotApiEmulator
) -> None:
    andi = emulator.user(ANDI, first_name="Andi")
    await register(andi)
    await start_draft(andi)
    title = "Sistem Informasi Pelayanan Terpadu Kesehatan Ibu dan Anak Kabupaten Sidenreng"
    await say(andi, title)
    await say(andi, "/batal")
    listing = await say(andi, "/draf")
    label = next(text for text in labels(listing[-1]) if text.startswith("Sistem"))
    assert label.endswith("…")
    kept = label.removesuffix("…")
    assert title.startswith(kept) and title[len(kept)] == " ", label
