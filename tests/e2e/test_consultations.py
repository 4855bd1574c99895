"""Consultations end to end: invites, routing, the accept race, the relayed conversation,
comments, sessions and reminders, closing and rating, expiry, failures and authorization."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import select

from bot.cli import main
from bot.emulator import BotApiEmulator
from bot.runtime import runtime_of
from bot.services.consultations.routes import (
    AcceptConsultation,
    AskCancel,
    AskClose,
    AskComment,
    AskSchedule,
    CommentMenu,
    ConsultationHistory,
    DeactivateMentor,
    DeclineConsultation,
    OpenChat,
    Rate,
    TogglePause,
    ViewConsultation,
    ViewConsultedDraft,
)
from models import consultations as cq
from models.consultations import Consultation, Mentor, RelayedMessage
from models.tables import Opd, User
from tests.conftest import ADMIN_ID
from tests.e2e.chat import eventually, labels, plain, press, say
from tests.e2e.conftest import RunningBot, RunningClock

ANDI, BUDI, CITRA, DEDI, EKA = 1001, 1002, 1003, 1004, 1005
LINK = re.compile(r"https://t\.me/(\w+)\?start=(mentor-[\w-]+)")
QUESTION = "Bagaimana memperkuat bagian permasalahan dengan data kunjungan ibu hamil?"


async def invite(admin) -> str:
    """The admin's /undang_mentor: the deep-link payload of the invite."""
    text = plain(await say(admin, "/undang_mentor"))
    for _ in range(20):  # on a loaded machine the link may come after the step's idle wait
        if LINK.search(text):
            break
        text += plain(await admin.receive_all(idle=0.25))
    found = LINK.search(text)
    assert found is not None and found.group(1) == "klinik_inovasi_bot", text
    return found.group(2)


async def become_mentor(admin, user, field: str = "Kesehatan") -> None:
    confirm = await say(user, f"/start {await invite(admin)}")
    assert "Bersedia menjadi mentor?" in plain(confirm)
    answer, joined = await press(user, "Ya, saya bersedia")
    assert answer["text"] == "Selamat bergabung sebagai mentor!"
    assert "Selamat bergabung" in plain(joined)
    if field:
        await press(user, f"⬜ {field}")
        _, profile = await press(user, "Selesai")
        assert f"Bidang keahlian: {field}" in plain(profile)


async def request(asn, topic: str = "kesehatan", draft: str | None = None) -> list[dict]:
    first = await say(asn, "/konsultasi")
    if "➕ Ajukan konsultasi" in labels(first[-1]):
        _, first = await press(asn, "Ajukan konsultasi")
    if "Belum ada draf" in labels(first[-1]):
        await press(asn, draft or "Belum ada draf")
    await say(asn, topic)
    await say(asn, QUESTION)
    return await say(asn, "Senin–Rabu pagi")


def consultation_of(bot: RunningBot, asn_id: int) -> Consultation:
    with bot.database.session() as session:
        return cq.consultations_newest_first(session, asn_id=asn_id)[0]


PEOPLE = {
    ADMIN_ID: ("Admin", "Admin Klinik"),
    ANDI: ("Andi", "Andi Pratiwi"),
    BUDI: ("Budi", "Budi Santoso"),
    CITRA: ("Citra", "Citra Dewi"),
    DEDI: ("Dedi", "Dedi Lestari"),
    EKA: ("Eka", "Eka Putri"),
}


def seed(bot: RunningBot, emulator: BotApiEmulator, mentors: dict[int, str]) -> dict[int, Any]:
    """Registered people and mentors written straight to the database (registration and the
    invite flow have tests of their own), and their simulated Telegram users."""
    now = datetime.now(UTC)
    with bot.database.session() as session:
        opd = session.exec(select(Opd)).first()
        assert opd is not None
        for user_id, (_, name) in PEOPLE.items():
            session.add(
                User(id=user_id, full_name=name, opd_id=opd.id, consent_at=now, registered_at=now)
            )
        session.flush()
        for order, (user_id, field) in enumerate(mentors.items()):
            joined = now + timedelta(seconds=order)
            session.add(Mentor(user_id=user_id, expertise=[field], joined_at=joined))
    return {uid: emulator.user(uid, first_name=first) for uid, (first, _) in PEOPLE.items()}


async def quiet(user) -> None:
    """Nothing arrives (waiting only briefly, not the full receive timeout)."""
    assert await user.receive_all(idle=0.1, timeout=0.4) == []


@pytest.mark.parametrize("e2e_database_url", ["sqlite", "postgresql"], indirect=True)
async def test_request_race_relay_comment_session_reminder_close_rating(
    bot: RunningBot, emulator: BotApiEmulator, clock: RunningClock
) -> None:
    clock.current = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # Monday 10.00 WITA
    people = seed(bot, emulator, {CITRA: "Kesehatan"})
    admin, andi, budi, citra = (people[u] for u in (ADMIN_ID, ANDI, BUDI, CITRA))
    await become_mentor(admin, budi)  # invite link → confirm → field of expertise
    admin.clear()
    # A draft, and the request from its "Konsultasi" button.
    await say(andi, "/ide")
    await press(andi, "Profil Inovasi Daerah")
    await say(andi, "SIPANDU BUMIL")
    await say(andi, "/batal")
    await say(andi, "/draf")
    await press(andi, "SIPANDU BUMIL")
    _, topic = await press(andi, "Konsultasi")
    assert "Bidang apa" in plain(topic)
    await say(andi, "kesehatan")
    await say(andi, QUESTION)
    stored = await say(andi, "Senin–Rabu pagi")
    assert "konsultasi #" in plain(stored) and "2 mentor" in plain(stored)
    offers = {}
    for mentor in (budi, citra):
        offer = (await mentor.receive_all(idle=0.15))[-1]
        assert "Permintaan konsultasi" in offer["plain"] and QUESTION in offer["plain"]
        assert "SIPANDU BUMIL" in offer["plain"]
        assert "➡️" in offer["plain"]  # the readiness check's next steps
        assert labels(offer) == ["✅ Terima", "Tolak", "📄 Lihat draf"]
        offers[mentor.id] = offer["message_id"]
    # Both press Accept at the same moment (their updates are handled concurrently): one wins.
    answers = await asyncio.gather(
        budi.press("Terima", message_id=offers[BUDI]),
        citra.press("Terima", message_id=offers[CITRA]),
    )
    assert sorted(a["text"] for a in answers) == [
        "Konsultasi diterima. Terima kasih!",
        "Konsultasi ini sudah ditangani mentor lain atau tidak lagi menunggu.",
    ]
    won = budi if answers[0]["text"].startswith("Konsultasi diterima") else citra
    lost = citra if won is budi else budi
    assert "sudah diterima mentor lain" in plain(await lost.receive_all(idle=0.15))
    await won.receive_all(idle=0.15)
    assert "sudah diterima oleh mentor" in plain(await andi.receive_all(idle=0.15))
    consultation = consultation_of(bot, ANDI)
    assert consultation.status == "assigned" and consultation.mentor_id == won.id

    # Relay both ways: text with a header, a photo as a photo.
    await andi.send("Selamat pagi, Bapak/Ibu <mentor> & tim.")
    relayed = await won.receive_all(idle=0.2)
    assert f"Andi Pratiwi (pengusul) · konsultasi #{consultation.id}" in relayed[0]["plain"]
    assert relayed[1]["plain"] == "Selamat pagi, Bapak/Ibu <mentor> & tim."
    assert relayed[1]["method"] == "copyMessage"
    photo = await won.send_photo(caption="Contoh tabel data")
    back = await andi.receive_all(idle=0.2)
    assert "(mentor)" in back[0]["plain"] and back[1]["kind"] == "photo"
    assert back[1]["plain"] == "Contoh tabel data"
    # A Telegram reply to the copy threads under the mentor's original photo.
    reply = await andi.send("Baik, akan saya lengkapi.", reply_to=back[1]["message_id"])
    threaded = await won.receive_all(idle=0.2)
    assert threaded[1]["reply_to_message_id"] == photo["message_id"]
    # An edit of a relayed text is applied to the copy.
    await andi.edit(reply["message_id"], "Baik, akan saya lengkapi minggu ini.")
    edited = await won.receive_all(idle=0.2)
    assert edited[-1]["edited"] and edited[-1]["message_id"] == threaded[1]["message_id"]
    assert edited[-1]["plain"] == "Baik, akan saya lengkapi minggu ini."

    # The mentor comments on a section; the ASN sees it when opening that section.
    await say(won, "/antrean")
    await press(won, f"#{consultation.id}")
    await press(won, "Komentari bagian")
    await press(won, "1. Nama inovasi")
    assert "tersimpan" in plain(await say(won, "Nama sebaiknya menyebut layanan & sasarannya."))
    notice = (await andi.receive_all(idle=0.2))[-1]
    assert "memberi komentar pada bagian" in notice["plain"]
    _, section = await press(andi, "Buka bagian ini")
    assert "Komentar mentor untuk bagian ini" in plain(section)
    assert "Nama sebaiknya menyebut layanan & sasarannya." in plain(section)
    await say(andi, "/batal")

    # A session: proposed, confirmed, reminded a day before (once).
    await say(won, "/antrean")
    await press(won, f"#{consultation.id}")
    await press(won, "Usulkan jadwal")
    proposed = await say(won, "25/11/2026 10.00 di Ruang Klinik Bappeda")
    assert "25 November 2026 pukul 10.00 WITA" in plain(proposed)
    proposal = (await andi.receive_all(idle=0.2))[-1]
    assert "di Ruang Klinik Bappeda" in proposal["plain"]
    answer, _ = await press(andi, "Setuju")
    assert answer["text"] == "Jadwal disetujui."
    assert "menyetujui sesi" in plain(await won.receive_all(idle=0.2))
    scheduler = runtime_of(bot.application.bot_data).scheduler
    clock.current = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)
    await scheduler.run_source("consult_reminders")
    await scheduler.run_source("consult_reminders")
    for person in (andi, won):
        reminders = await person.receive_all(idle=0.2)
        assert len(reminders) == 1 and "1 hari lagi" in reminders[0]["plain"]
        assert "25 November 2026 pukul 10.00 WITA" in reminders[0]["plain"]

    # Closed with a summary, then rated.
    await say(won, "/antrean")
    await press(won, f"#{consultation.id}")
    await press(won, "Selesaikan")
    await say(won, "Sudah dibahas data permasalahan; langkah berikutnya melengkapi bukti dukung.")
    closed = (await andi.receive_all(idle=0.2))[-1]
    assert "langkah berikutnya" in closed["plain"]
    answer, _ = await press(andi, "5 ⭐")
    assert answer["text"] == "Terima kasih atas penilaiannya."
    await say(andi, "Sangat membantu.")
    done = consultation_of(bot, ANDI)
    assert (done.status, done.rating, done.rating_comment) == ("closed", 5, "Sangat membantu.")
    # The admin sees the whole history.
    await say(admin, "/mentor")
    await press(admin, "Semua konsultasi")
    await press(admin, f"#{consultation.id}")
    _, history = await press(admin, "Riwayat")
    text = plain(history)
    for step in ("Permintaan dibuat", "Diterima mentor", "Jadwal sesi disetujui", "Diselesaikan"):
        assert step in text
    assert "(sedang berjalan → sesi terjadwal)" in text


async def test_unaccepted_request_is_reannounced_and_then_expires(
    bot: RunningBot, emulator: BotApiEmulator, clock: RunningClock
) -> None:
    clock.current = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
    people = seed(bot, emulator, {BUDI: "Kesehatan", CITRA: "Kesehatan", DEDI: "Pendidikan"})
    admin, andi, budi, citra, dedi = (people[u] for u in (ADMIN_ID, ANDI, BUDI, CITRA, DEDI))
    await request(andi)
    for mentor in (budi, citra):
        assert "Permintaan konsultasi" in plain(await mentor.receive_all(idle=0.15))
    await quiet(dedi)
    _, declined = await press(budi, "Tolak")
    assert "menolak konsultasi" in plain(declined)
    scheduler = runtime_of(bot.application.bot_data).scheduler
    clock.advance(hours=24, minutes=1)
    await scheduler.run_source("consult_expiry")
    # Re-announced to every active mentor who has not declined; admins and the ASN told.
    again = plain(await dedi.receive_all(idle=0.2))
    assert "Diumumkan ulang" in again and QUESTION in again
    assert "Diumumkan ulang" in plain(await citra.receive_all(idle=0.2))
    assert "diumumkan ulang kepada 2 mentor" in plain(await admin.receive_all(idle=0.2))
    assert "kami umumkan ulang" in plain(await andi.receive_all(idle=0.2))
    await quiet(budi)
    clock.advance(hours=24, minutes=1)
    await scheduler.run_source("consult_expiry")
    assert "belum ada mentor yang dapat menerima" in plain(await andi.receive_all(idle=0.2))
    assert "berakhir tanpa mentor" in plain(await admin.receive_all(idle=0.2))
    assert consultation_of(bot, ANDI).status == "expired"
    answer, _ = await press(dedi, "Terima")
    assert answer["text"].startswith("Konsultasi ini sudah ditangani")


async def test_relay_failures_are_retried_reported_and_403_skips_the_mentor(
    bot: RunningBot, emulator: BotApiEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bot.settings, "send_retry_delays", (0.05, 0.05, 0.05))
    people = seed(bot, emulator, {BUDI: "Kesehatan", CITRA: "Kesehatan"})
    andi, budi, citra = (people[u] for u in (ANDI, BUDI, CITRA))
    await request(andi)
    await citra.receive_all(idle=0.15)
    await budi.receive_all(idle=0.15)
    await press(budi, "Terima")
    await andi.receive_all(idle=0.15)
    # A passing failure is retried: the message arrives, once.
    emulator.inject_fault("copyMessage", error_code=502, chat_id=BUDI, times=1)
    await andi.send("Pesan pertama")
    arrived = await budi.receive_all(idle=0.3)
    assert [m["plain"] for m in arrived][-1] == "Pesan pertama"
    assert len(arrived) == 2
    await quiet(andi)
    # Failing every time: the sender is told; nothing is dropped silently.
    emulator.inject_fault("copyMessage", error_code=502, chat_id=BUDI, times=4)
    await andi.send("Pesan kedua")
    assert "belum sampai kepada Budi Santoso" in plain(await andi.receive_all(idle=0.4))
    # The mentor blocked the bot: the ASN is told, the mentor marked and skipped in routing.
    emulator.block(BUDI, notify=False)
    await andi.send("Pesan ketiga")
    assert "tidak dapat disampaikan kepada Budi Santoso" in plain(await andi.receive_all(idle=0.3))
    with bot.database.session() as session:
        mentor = session.get(Mentor, BUDI)
        assert mentor is not None and not mentor.reachable
        statuses = [r.status for r in session.exec(select(RelayedMessage))]
    assert statuses == ["sent", "failed", "blocked"]
    await say(andi, "/batal")
    before = len(emulator.calls)
    await request(andi)
    assert "Permintaan konsultasi" in plain(await citra.receive_all(idle=0.2))
    assert not [c for c in emulator.calls[before:] if c.chat_id == BUDI]  # skipped in routing
    # Those refusals were injected or blocked on purpose: not the fixture's concern.
    emulator.calls[:] = [c for c in emulator.calls if c.ok or c.chat_id != BUDI]


async def test_forged_callbacks_and_role_checks(bot: RunningBot, emulator: BotApiEmulator) -> None:
    people = seed(bot, emulator, {BUDI: "Kesehatan", DEDI: "Pendidikan"})
    andi, budi, dedi, eka = (people[u] for u in (ANDI, BUDI, DEDI, EKA))
    await request(andi)
    cid = consultation_of(bot, ANDI).id
    await budi.receive_all(idle=0.15)
    await press(budi, "Terima")
    await say(eka, "/start")
    await say(dedi, "/antrean")
    # Another ASN, and a mentor it was never offered to, forge every kind of button.
    for stranger in (eka, dedi):
        for data in (
            ViewConsultation(cid).pack(),
            AcceptConsultation(cid).pack(),
            DeclineConsultation(cid).pack(),
            ViewConsultedDraft(cid).pack(),
            OpenChat(cid).pack(),
            CommentMenu(cid).pack(),
            AskSchedule(cid).pack(),
            AskClose(cid).pack(),
            AskCancel(cid).pack(),
            ConsultationHistory(cid).pack(),
            Rate(cid, 5).pack(),
        ):
            answer = await stranger.press_data(data)
            assert answer["text"] == "Konsultasi tidak ditemukan.", (stranger.id, data)
            shown = plain(await stranger.receive_all(idle=0.1, timeout=1))
            assert QUESTION not in shown and "Andi" not in shown, data
    # Commands and buttons of other roles.
    assert "khusus untuk admin" in plain(await say(eka, "/undang_mentor"))
    assert "khusus untuk admin" in plain(await say(budi, "/mentor"))
    assert "khusus untuk mentor" in plain(await say(eka, "/antrean"))
    assert (await eka.press_data(DeactivateMentor(BUDI).pack()))["text"] == "Khusus admin."
    assert (await eka.press_data(TogglePause().pack()))["text"] == "Khusus mentor klinik."
    assert (await eka.press_data("k:zz:1"))["text"].startswith("Tombol ini sudah tidak berlaku")
    with bot.database.session() as session:
        found = session.get(Consultation, cid)
        assert found is not None and (found.status, found.mentor_id) == ("assigned", BUDI)


async def test_admin_manages_mentors_and_reassigns(
    bot: RunningBot, emulator: BotApiEmulator
) -> None:
    people = seed(bot, emulator, {BUDI: "Kesehatan", CITRA: "Pendidikan"})
    admin, andi, budi, citra = (people[u] for u in (ADMIN_ID, ANDI, BUDI, CITRA))
    await request(andi)
    await press(budi, "Terima")
    await andi.receive_all(idle=0.15)
    listing = await say(admin, "/mentor")
    assert "Budi Santoso — aktif · menangani 1/3" in plain(listing)
    _, detail = await press(admin, "Budi Santoso")
    assert "Kesehatan" in plain(detail)
    _, off = await press(admin, "Nonaktifkan mentor")
    assert "dinonaktifkan" in plain(off)
    assert "dinonaktifkan oleh admin" in plain(await budi.receive_all(idle=0.2))
    await press(admin, "Alihkan konsultasinya")
    _, moved = await press(admin, "Ke Citra Dewi")
    assert "1 konsultasi dari Budi Santoso dialihkan kepada Citra Dewi" in plain(moved)
    assert "mengalihkan" in plain(await citra.receive_all(idle=0.2))
    assert "kini didampingi mentor" in plain(await andi.receive_all(idle=0.2))
    assert consultation_of(bot, ANDI).mentor_id == CITRA


def menu_of(emulator: BotApiEmulator, chat_id: int) -> set[str]:
    """The commands last set for one private chat's menu."""
    calls = [
        c
        for c in emulator.calls_to("setMyCommands")
        if c.ok and (c.params.get("scope") or {}).get("chat_id") == chat_id
    ]
    assert calls, f"no command menu was set for chat {chat_id}"
    return {command["command"] for command in calls[-1].params["commands"]}


async def test_a_mentors_command_menu_follows_the_role(
    bot: RunningBot, emulator: BotApiEmulator
) -> None:
    people = seed(bot, emulator, {})
    admin, eka = people[ADMIN_ID], people[EKA]
    await become_mentor(admin, eka)
    menu = menu_of(emulator, EKA)
    # The standard spelling (KBBI) in the menu; the old one still answers (below).
    assert {"antrean", "ide", "konsultasi"} <= menu and "opd" not in menu
    assert "antrian" not in menu
    await say(admin, "/mentor")
    await press(admin, "Eka Putri")
    await press(admin, "Nonaktifkan mentor")
    assert await eventually(lambda: "antrean" not in menu_of(emulator, EKA)), menu_of(emulator, EKA)
    assert "ide" in menu_of(emulator, EKA)


async def test_the_menu_follows_the_role_even_when_the_admins_answer_cannot_be_sent(
    bot: RunningBot, emulator: BotApiEmulator
) -> None:
    """The deactivation is stored; Telegram failing the admin's answer every time must not
    leave the former mentor with the mentor's menu."""
    people = seed(bot, emulator, {})
    admin, eka = people[ADMIN_ID], people[EKA]
    await become_mentor(admin, eka)
    await say(admin, "/mentor")
    await press(admin, "Eka Putri")
    emulator.inject_fault("editMessageText", error_code=500, chat_id=ADMIN_ID, times=50)
    emulator.inject_fault("sendMessage", error_code=500, chat_id=ADMIN_ID, times=50)
    await admin.press("Nonaktifkan mentor")
    assert await eventually(lambda: "antrean" not in menu_of(emulator, EKA), timeout=15)
    assert "ide" in menu_of(emulator, EKA)


async def test_invite_from_the_command_line_works_once(
    bot: RunningBot, emulator: BotApiEmulator, monkeypatch: pytest.MonkeyPatch, tmp_path, capsys
) -> None:
    people = seed(bot, emulator, {})
    dedi, eka = people[DEDI], people[EKA]
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", emulator.token)
    monkeypatch.setenv("TELEGRAM_API_URL", emulator.base_url)
    monkeypatch.setenv("DATABASE_URL", bot.settings.database_url)
    assert await asyncio.to_thread(main, ["mentor", "invite"]) == 0  # asks getMe for the name
    found = LINK.search(capsys.readouterr().out)
    assert found is not None and found.group(1) == "klinik_inovasi_bot"
    await say(dedi, f"/start {found.group(2)}")
    answer, _ = await press(dedi, "Ya, saya bersedia")
    assert answer["text"] == "Selamat bergabung sebagai mentor!"
    assert "sudah digunakan" in plain(await say(eka, f"/start {found.group(2)}"))
    assert "tidak dikenal" in plain(await say(eka, "/start mentor-salah"))
    assert "khusus untuk mentor" not in plain(await say(dedi, "/antrian"))  # the old spelling
    assert "khusus untuk mentor" not in plain(await say(dedi, "/antrean"))


# ---- no request is stuck; a mentor who leaves; the draft after the end ---------------------------


async def test_a_request_before_any_mentor_reaches_the_one_who_joins_or_an_admins_choice(
    bot: RunningBot, emulator: BotApiEmulator
) -> None:
    people = seed(bot, emulator, {})
    admin, andi, dedi, eka = (people[u] for u in (ADMIN_ID, ANDI, DEDI, EKA))
    stored = plain(await request(andi))
    assert "Admin klinik sudah kami beri tahu dan dapat langsung menugaskan" in stored
    assert "begitu ada mentor yang bergabung" in stored
    unrouted = await admin.receive_all(idle=0.2)
    assert "Tugaskan mentor" in plain(unrouted)
    # A mentor who joins afterwards is offered it at once, and sees it in /antrian.
    await say(eka, f"/start {await invite(admin)}")
    _, joined = await press(eka, "Ya, saya bersedia")
    joined += await eka.receive_all(idle=0.2, timeout=1.0)
    offer = next(m for m in joined if "Permintaan konsultasi" in m["plain"])
    assert QUESTION in offer["plain"]
    cid = consultation_of(bot, ANDI).id
    assert f"#{cid}" in " ".join(labels((await say(eka, "/antrian"))[-1]))
    # The admin assigns it to another mentor instead, from the message they were sent.
    await become_mentor(admin, dedi, field="Pendidikan")
    await eka.receive_all(idle=0.1, timeout=1.0)
    admin.clear()
    await press(admin, "Buka konsultasi", message_id=unrouted[-1]["message_id"])
    _, choices = await press(admin, "Tugaskan mentor")
    assert "Ke Dedi Lestari (0/3)" in labels(choices[-1])
    _, done = await press(admin, "Ke Dedi Lestari")
    assert "kini didampingi mentor Dedi Lestari" in plain(done)
    assert "menugaskan Bapak/Ibu mendampingi" in plain(await dedi.receive_all(idle=0.2))
    assert "sudah diterima oleh mentor" in plain(await andi.receive_all(idle=0.2))
    answer, _ = await press(eka, "Terima", message_id=offer["message_id"])
    assert answer["text"].startswith("Konsultasi ini sudah ditangani")
    await andi.send("Selamat siang, Pak Dedi.")
    assert "Selamat siang, Pak Dedi." in plain(await dedi.receive_all(idle=0.2))


@pytest.mark.parametrize("e2e_database_url", ["sqlite", "postgresql"], indirect=True)
async def test_a_mentor_who_deletes_their_account_leaves_no_asn_stuck(
    bot: RunningBot, emulator: BotApiEmulator
) -> None:
    people = seed(bot, emulator, {BUDI: "Kesehatan", CITRA: "Pendidikan"})
    admin, andi, budi, citra = (people[u] for u in (ADMIN_ID, ANDI, BUDI, CITRA))
    await request(andi)
    await press(budi, "Terima")
    await andi.receive_all(idle=0.15)
    await citra.receive_all(idle=0.1, timeout=1.0)
    admin.clear()
    await say(budi, "/hapus_akun")
    _, deleted = await press(budi, "Hapus akun dan semua draf")
    assert "sudah dihapus" in plain(deleted)
    told = plain(await andi.receive_all(idle=0.2))
    assert "tidak lagi dapat mendampingi" in told and "1 mentor lain" in told
    assert "Permintaan konsultasi" in plain(await citra.receive_all(idle=0.2))
    assert "antrean" not in menu_of(emulator, BUDI)
    # Every later message of the ASN gets a calm answer; nobody is told of an error.
    answer = plain(await say(andi, "Pak Budi, apakah masih di sana?"))
    assert "belum diterima mentor" in answer
    answer = plain(await say(andi, "Halo?"))
    assert "tidak sedang menunggu jawaban" in answer
    await quiet(admin)
    await press(citra, "Terima")
    await andi.receive_all(idle=0.2)
    await andi.send("Selamat pagi, Bu Citra.")
    assert "Selamat pagi, Bu Citra." in plain(await citra.receive_all(idle=0.2))


async def test_a_mentor_deactivated_from_the_command_line_hands_their_work_on(
    bot: RunningBot, emulator: BotApiEmulator, monkeypatch: pytest.MonkeyPatch, tmp_path, capsys
) -> None:
    people = seed(bot, emulator, {BUDI: "Kesehatan", CITRA: "Pendidikan"})
    admin, andi, budi, citra = (people[u] for u in (ADMIN_ID, ANDI, BUDI, CITRA))
    await request(andi)
    await press(budi, "Terima")
    await andi.receive_all(idle=0.15)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", emulator.token)
    monkeypatch.setenv("TELEGRAM_API_URL", emulator.base_url)
    monkeypatch.setenv("DATABASE_URL", bot.settings.database_url)
    assert await asyncio.to_thread(main, ["mentor", "deactivate", str(BUDI)]) == 0
    assert "dinonaktifkan" in capsys.readouterr().out
    assert await asyncio.to_thread(main, ["mentor", "deactivate", str(EKA)]) == 2
    reset = [c for c in emulator.calls_to("deleteMyCommands") if c.ok]
    assert [(c.params.get("scope") or {}).get("chat_id") for c in reset] == [BUDI]
    # The running bot delivers what the command line queued.
    await runtime_of(bot.application.bot_data).scheduler.run_source("consult_expiry")
    assert "tidak lagi dapat mendampingi" in plain(await andi.receive_all(idle=0.2))
    assert "Permintaan konsultasi" in plain(await citra.receive_all(idle=0.2))
    assert "khusus untuk mentor" in plain(await say(budi, "/antrian"))
    assert consultation_of(bot, ANDI).status == "open"
    await quiet(admin)


async def test_after_the_end_a_mentor_cannot_open_the_draft_with_old_or_forged_buttons(
    bot: RunningBot, emulator: BotApiEmulator
) -> None:
    people = seed(bot, emulator, {BUDI: "Kesehatan"})
    andi, budi = people[ANDI], people[BUDI]
    await say(andi, "/ide")
    await press(andi, "Profil Inovasi Daerah")
    await say(andi, "SIPANDU RAHASIA")
    await say(andi, "/batal")
    await request(andi, draft="SIPANDU RAHASIA")
    offer = (await budi.receive_all(idle=0.2))[-1]
    await press(budi, "Terima", message_id=offer["message_id"])
    await andi.receive_all(idle=0.15)
    cid = consultation_of(bot, ANDI).id
    await say(budi, "/antrian")
    await press(budi, f"#{cid}")
    await press(budi, "Selesaikan")
    await say(budi, "Sudah dibahas; lanjutkan melengkapi bukti dukung.")
    await andi.receive_all(idle=0.15)
    # The old offer's "Lihat draf", and forged presses of every draft path.
    answer, shown = await press(budi, "Lihat draf", message_id=offer["message_id"])
    assert answer["text"] == "Konsultasi tidak ditemukan."
    assert "SIPANDU" not in plain(shown)
    for data in (
        ViewConsultedDraft(cid).pack(),
        CommentMenu(cid).pack(),
        AskComment(cid, 0).pack(),
        AskComment(cid, 3).pack(),
    ):
        answer = await budi.press_data(data)
        assert answer["text"] == "Konsultasi tidak ditemukan.", data
        assert "SIPANDU" not in plain(await budi.receive_all(idle=0.1, timeout=1)), data
    # The record of the consultation stays visible to them, without the draft.
    await say(budi, "/antrian")
    _, detail = await press(budi, f"#{cid}")
    assert "Ringkasan mentor" in plain(detail) and "SIPANDU" not in plain(detail)
    assert "📄 Lihat draf" not in labels(detail[-1])
