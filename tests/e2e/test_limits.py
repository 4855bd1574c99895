"""What a user at a per-account limit reads, over the emulator (bot/services/limits.py)."""

from __future__ import annotations

from pathlib import Path

from bot.emulator import BotApiEmulator
from tests.e2e.chat import labels, plain, press, register, say
from tests.e2e.conftest import e2e_settings, start_bot, stop_bot
from tests.e2e.test_consultations import request


async def test_limits_on_drafts_and_consultation_requests_are_explained(
    emulator: BotApiEmulator, tmp_path: Path
) -> None:
    settings = e2e_settings(
        emulator,
        f"sqlite:///{tmp_path / 'limits.db'}",
        max_drafts_per_user=1,
        max_open_consultations=1,
    )
    running = await start_bot(settings)
    try:
        andi = emulator.user(1101, first_name="Andi")
        await register(andi)
        await say(andi, "/ide")
        await press(andi, "Profil Inovasi Daerah")
        await say(andi, "/batal")
        refused = await say(andi, "/ide")
        assert "sudah memiliki 1 draf usulan, jumlah terbanyak" in plain(refused)
        assert "hapus dulu draf yang tidak dipakai lagi" in plain(refused)
        assert labels(refused[-1]) == ["📂 Draf saya"]

        assert "Permintaan konsultasi" in plain(await request(andi, draft="Draf #1"))
        await say(andi, "/konsultasi")
        _, refused = await press(andi, "Ajukan konsultasi")
        assert "masih memiliki 1 permintaan konsultasi yang belum selesai" in plain(refused)
        assert labels(refused[-1]) == ["📋 Konsultasi saya"]
    finally:
        await stop_bot(running)
