"""Competitions and reminders end to end: admin conversation, ASN buttons, fan-out over HTTP."""

from __future__ import annotations

from sqlmodel import select

from bot.emulator import BotApiEmulator, SimUser
from bot.runtime import runtime_of
from bot.services.deadlines import parse_deadline
from models.competitions import Follow, ReminderDelivery
from models.tables import User
from tests.conftest import ADMIN_ID, WITA
from tests.e2e.chat import eventually, labels, plain, press, register, say
from tests.e2e.conftest import RunningBot, RunningClock
from tests.helpers import add_competition

ANDI, BUDI, CITRA = 1001, 1002, 1003


async def run_reminders(bot: RunningBot) -> None:
    await runtime_of(bot.application.bot_data).scheduler.run_source("reminders")


async def create_competition_by_chat(admin) -> None:
    await say(admin, "/lomba")
    await press(admin, "Tambah lomba")
    await say(admin, "Innovative Government Award 2026")
    await say(admin, "Kemendagri (BSKDN)")
    await press(admin, "Nasional")
    await say(admin, "2026")
    await say(admin, "Batas input profil inovasi")
    summary = await say(admin, "30 November 2026 23.59")
    assert "Batas input profil inovasi" in plain(summary)
    _, saved = await press(admin, "Simpan lomba")
    assert "tersimpan" in plain(saved)


async def test_a_linked_draft_is_reminded_with_what_it_lacks(
    bot: RunningBot, emulator: BotApiEmulator, clock: RunningClock
) -> None:
    clock.current = parse_deadline("20 November 2026 10.00", WITA)
    admin = emulator.user(ADMIN_ID, first_name="Admin")
    andi = emulator.user(ANDI, first_name="Andi")
    await register(admin, name="Admin Klinik", opd="brida")
    await register(andi)
    await create_competition_by_chat(admin)
    await say(andi, "/ide")
    await press(andi, "Profil Inovasi Daerah")
    await say(andi, "SIPANDU BUMIL")
    await say(andi, "/draf")
    await press(andi, "SIPANDU BUMIL")
    _, links = await press(andi, "Lomba")
    assert "Innovative Government Award 2026" in plain(links)
    await press(andi, "Tautkan ke: Innovative Government Award 2026")
    deadlines = await say(andi, "/tenggat")
    assert "Batas input profil inovasi" in plain(deadlines) and "10 hari lagi" in plain(deadlines)

    clock.current = parse_deadline("23 November 2026 08.00", WITA)  # the 7-day reminder
    await run_reminders(bot)
    reminder = (await andi.receive_all(idle=0.2))[-1]
    assert "Pengingat: Batas input profil inovasi" in reminder["plain"]
    assert "7 hari lagi" in reminder["plain"] and "Belum diisi: Inisiator" in reminder["plain"]
    assert "30 November 2026 pukul 23.59 WITA" in reminder["plain"]
    assert "Langkah berikutnya:" in reminder["plain"]
    _, question = await press(andi, "Lanjutkan: SIPANDU BUMIL")
    assert "Bagian 2 dari 19 — Inisiator" in plain(question)
    await run_reminders(bot)  # again: nothing more (the run returns once its sends are done)
    assert await andi.receive_all(idle=0.2, timeout=1.0) == []
    # Muting from the reminder stops the next one.
    await press(andi, "Bisukan", message_id=reminder["message_id"])
    clock.current = parse_deadline("27 November 2026 08.00", WITA)
    await run_reminders(bot)
    assert await andi.receive_all(idle=0.2, timeout=1.0) == []


def reachable(bot: RunningBot, user_id: int) -> bool:
    with bot.database.session() as session:
        return session.get(User, user_id).reachable


async def test_fan_out_waits_out_429_and_stops_at_403(
    bot: RunningBot, emulator: BotApiEmulator, clock: RunningClock
) -> None:
    users = await followers_of_a_competition(bot, emulator, clock)
    emulator.inject_fault("sendMessage", error_code=429, retry_after=1, chat_id=BUDI)
    emulator.block(CITRA, notify=False)  # the bot learns of it from the 403
    clock.current = parse_deadline("23 November 2026 08.00", WITA)
    await run_reminders(bot)
    assert "Pengingat" in plain(await users[ANDI].receive_all(idle=0.2))
    budi = await users[BUDI].receive_all(idle=0.3, timeout=8)
    assert len(budi) == 1 and "Pengingat" in budi[0]["plain"]
    with bot.database.session() as session:
        statuses = {
            r.user_id: r.status
            for r in session.exec(select(ReminderDelivery))
            if r.offset_days == 7
        }
        assert statuses == {ANDI: "sent", BUDI: "sent", CITRA: "blocked"}
        assert session.get(User, CITRA).reachable is False
    # Blocked: no further reminder is even attempted.
    clock.current = parse_deadline("27 November 2026 08.00", WITA)
    before = len(emulator.calls_to("sendMessage"))
    await run_reminders(bot)
    to_citra = [c for c in emulator.calls_to("sendMessage")[before:] if c.chat_id == CITRA]
    assert to_citra == []
    # Unblocking (Telegram tells the bot) makes her reachable: the next reminder arrives.
    emulator.unblock(CITRA)
    assert await eventually(lambda: reachable(bot, CITRA))
    clock.current = parse_deadline("29 November 2026 08.00", WITA)
    await run_reminders(bot)
    assert "besok" in plain(await users[CITRA].receive_all(idle=0.3))


async def test_asn_cannot_use_admin_competition_buttons(
    bot: RunningBot, emulator: BotApiEmulator
) -> None:
    andi = emulator.user(ANDI, first_name="Andi")
    await register(andi)
    assert "khusus untuk admin" in plain(await say(andi, "/lomba"))
    for data in ("l:n", "l:o:1", "l:e:1", "l:xx:1", "l:done"):
        answer = await andi.press_data(data)
        assert answer["text"] == "Khusus admin.", data
        assert await andi.receive_all(idle=0.1, timeout=0.5) == []  # a toast, nothing more
    followed = await andi.press_data("t:f:999")
    assert followed["text"] == "Tidak ditemukan."
    assert labels((await say(andi, "/tenggat"))[-1]) == [
        "🏆 Ikuti lomba",
        "🔕 Bisukan semua pengingat",
    ]


async def followers_of_a_competition(
    bot: RunningBot, emulator: BotApiEmulator, clock: RunningClock
) -> dict[int, SimUser]:
    """Andi, Budi and Citra registered on 20 November and following a competition due on the
    30th (the 7-day reminder falls on the 23rd)."""
    clock.current = parse_deadline("20 November 2026 10.00", WITA)
    users = {uid: emulator.user(uid, first_name=f"U{uid}") for uid in (ANDI, BUDI, CITRA)}
    for uid, user in users.items():
        await register(user, name=f"Pengguna {uid}")
    with bot.database.session() as session:
        deadline = parse_deadline("30 November 2026", WITA)
        competition = add_competition(session, "Lomba Daerah", {"Pengumpulan": deadline})
        for uid in users:
            session.add(Follow(user_id=uid, competition_id=competition.id))
    return users
