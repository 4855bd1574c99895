"""What a newcomer region meets in its first week, end to end over the Bot API emulator: good
Indonesian around titled names and competition names, the consent's legal citation, a
readable `/dataku`, and a mentor invite opened before registering (across a restart)."""

from __future__ import annotations

import json

import pytest

from bot.emulator import BotApiEmulator
from models.consultations import Mentor
from tests.conftest import ADMIN_ID
from tests.e2e.chat import labels, plain, press, register, say
from tests.e2e.conftest import RunningBot, e2e_settings, start_bot, stop_bot
from tests.e2e.test_consultations import invite, request, seed

ANDI, DEDI = 1001, 1004
RAHMA = "dr. Rahmawati Said, M.Kes."
SYAMSUL = "Dr. Syamsul Alam, S.KM., M.Kes."


def doubled_stop(text: str) -> bool:
    return ".." in text.replace("...", "")


async def test_titled_names_are_followed_by_one_full_stop(
    bot: RunningBot, emulator: BotApiEmulator
) -> None:
    people = seed(bot, emulator, {})
    admin = people[ADMIN_ID]
    rahma, syamsul = emulator.user(2001, first_name="Rahma"), emulator.user(2002)
    consent = await say(rahma, "/start")
    assert "UU Nomor 27 Tahun 2022 tentang Pelindungan Data Pribadi" in plain(consent)
    assert "ID Telegram" in plain(consent)
    await press(rahma, "Saya setuju")
    asked = plain(await say(rahma, RAHMA))
    assert f"Terima kasih, {RAHMA} Di OPD mana" in asked
    found = await say(rahma, "kesehatan")
    await press(rahma, labels(found[-1])[0])
    await press(rahma, "Lewati")  # the optional NIP
    # A mentor with titles accepts her request: she reads his name once, with one full stop.
    await say(syamsul, f"/start {await invite(admin)}")
    await press(syamsul, "Saya setuju")
    await say(syamsul, SYAMSUL)
    found = await say(syamsul, "kesehatan")
    await press(syamsul, labels(found[-1])[0])
    _, joined = await press(syamsul, "Lewati")
    assert "Bersedia menjadi mentor?" in plain(joined)
    await press(syamsul, "Ya, saya bersedia")
    await request(rahma)
    await syamsul.receive_all(idle=0.2)
    _, accepted = await press(syamsul, "Terima")
    assert f"dari {RAHMA} (" in plain(accepted) and not doubled_stop(plain(accepted))
    told = plain(await rahma.receive_all(idle=0.2))
    assert f"oleh mentor {SYAMSUL}\n" in told and not doubled_stop(told)


async def test_a_competition_named_lomba_with_its_year_is_not_repeated(
    bot: RunningBot, emulator: BotApiEmulator
) -> None:
    admin = seed(bot, emulator, {})[ADMIN_ID]
    await say(admin, "/lomba")
    await press(admin, "Tambah lomba")
    await say(admin, "Lomba Inovasi Daerah 2027")
    await say(admin, "Bappeda Kabupaten")
    await press(admin, "Kabupaten/Kota")
    await say(admin, "2027")
    await say(admin, "Pengumpulan proposal")
    summary = plain(await say(admin, "30 Maret 2027 16.00"))
    assert "Lomba Inovasi Daerah 2027" in summary and "2027 (2027)" not in summary
    _, saved = await press(admin, "Simpan lomba")
    assert "✅ Lomba Inovasi Daerah 2027 tersimpan" in plain(saved)
    assert "Lomba Lomba" not in plain(saved)
    # The buttons naming it (built in the service) do not add the year it already has.
    menu = await say(admin, "/lomba")
    assert "Lomba Inovasi Daerah 2027" in labels(menu[-1])
    assert not [label for label in labels(menu[-1]) if "(2027)" in label]


async def test_dataku_is_readable_and_complete(bot: RunningBot, emulator: BotApiEmulator) -> None:
    andi = emulator.user(ANDI, first_name="Andi")
    await register(andi, name=RAHMA)
    await say(andi, "/ide")
    await press(andi, "Profil Inovasi Daerah")
    await say(andi, "SIPANDU BUMIL")
    await say(andi, "/batal")
    sent = await say(andi, "/dataku")
    document = next(m for m in sent if m["kind"] == "document")
    data = json.loads(document["file"]["content"])
    assert data["Profil"][0]["Nama lengkap"] == RAHMA
    assert data["Draf usulan"][0]["Judul"] is None
    assert [a["Isi jawaban"] for a in data["Jawaban pada draf"]] == ["SIPANDU BUMIL"]
    assert "WITA" in data["Profil"][0]["Waktu pendaftaran selesai"]
    caption = document["plain"]
    assert "Draf usulan" in caption and "Jawaban pada draf" in caption
    for technical in ("users", "answers", "conversation_states", "drafts"):
        assert technical not in caption and technical not in data


@pytest.mark.parametrize("e2e_database_url", ["sqlite", "postgresql"], indirect=True)
async def test_an_invite_opened_before_registering_survives_a_restart(
    bot: RunningBot, emulator: BotApiEmulator, e2e_database_url: str
) -> None:
    admin = seed(bot, emulator, {})[ADMIN_ID]
    payload = await invite(admin)
    newcomer = emulator.user(3001, first_name="Syamsul")
    opened = plain(await say(newcomer, f"/start {payload}"))
    assert "langsung masuk ke langkah mentor" in opened
    assert "Persetujuan pemrosesan data pribadi" in opened  # the registration starts at once
    await press(newcomer, "Saya setuju")
    await say(newcomer, SYAMSUL)
    # The bot restarts in the middle of the registration (the fixture stops the new one).
    await stop_bot(bot)
    restarted = await start_bot(e2e_settings(emulator, e2e_database_url))
    bot.application, bot.database = restarted.application, restarted.database
    found = await say(newcomer, "kesehatan")
    _, chosen = await press(newcomer, labels(found[-1])[0])
    assert "Pendaftaran selesai" in plain(chosen)
    _, finished = await press(newcomer, "Lewati")  # the optional NIP, then the link
    assert "undangan mentor yang Bapak/Ibu buka sebelum mendaftar" in plain(finished)
    assert labels(finished[-1]) == ["✅ Ya, saya bersedia", "Tidak"]
    answer, _ = await press(newcomer, "Ya, saya bersedia")
    assert answer["text"] == "Selamat bergabung sebagai mentor!"
    with bot.database.session() as session:
        assert session.get(Mentor, 3001).active
    # The same link, opened by someone else before registering, is answered at once.
    late = emulator.user(3002)
    assert "sudah digunakan" in plain(await say(late, f"/start {payload}"))


async def test_an_invite_used_while_registering_is_answered_politely(
    bot: RunningBot, emulator: BotApiEmulator
) -> None:
    people = seed(bot, emulator, {})
    admin, dedi = people[ADMIN_ID], people[DEDI]
    payload = await invite(admin)
    newcomer = emulator.user(3001, first_name="Syamsul")
    await say(newcomer, f"/start {payload}")
    await say(dedi, f"/start {payload}")  # registered: confirms straight away
    await press(dedi, "Ya, saya bersedia")
    await press(newcomer, "Saya setuju")
    await say(newcomer, SYAMSUL)
    found = await say(newcomer, "kesehatan")
    _, chosen = await press(newcomer, labels(found[-1])[0])
    assert "Pendaftaran selesai" in plain(chosen)
    _, finished = await press(newcomer, "Lewati")
    text = plain(finished)
    assert "tautan undangan mentor yang Bapak/Ibu buka sebelumnya sudah digunakan" in text
    assert "mohon minta tautan baru kepada admin klinik" in text
