"""Flood control end to end: one user's flood is turned away, other users are still served,
and the flooder is told exactly once (bot/flood.py), in polling and in webhook mode."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from bot.app import FLOOD_KEY, build_application, prepare_database
from bot.emulator import BotApiEmulator
from bot.flood import FloodControl
from bot.settings import Settings
from bot.webhook import serve_webhook
from tests.e2e.chat import plain
from tests.e2e.conftest import e2e_settings, start_bot, stop_bot
from tests.e2e.test_webhook import SECRET, free_port

BURST = 5
FLOOD = 300
NOTICE = "terlalu banyak pesan"


def frozen(flood: FloodControl) -> FloodControl:
    """No token comes back during the test, so exactly BURST updates are handled."""
    flood.clock = lambda: 0.0
    return flood


async def flood_and_ask(emulator: BotApiEmulator) -> None:
    """The flooder's 300 texts are queued first; then another user writes once."""
    flooder, other = emulator.user(2001, first_name="Banjir"), emulator.user(2002)
    for number in range(FLOOD):
        await flooder.send(f"pesan nomor {number}")
    await other.send("/start")
    reply = await other.receive(timeout=20)
    assert "Persetujuan pemrosesan data pribadi" in reply["plain"]
    # Every update was taken off Telegram's queue (in polling: confirmed by the offset).
    assert await emulator.core.signal.wait_for(lambda: emulator.pending_updates == 0, 20)
    answered = await flooder.receive_all(idle=0.5, timeout=20)
    notices = [m for m in answered if NOTICE in m["plain"]]
    assert len(notices) == 1, plain(answered)
    assert "20 detik" in notices[0]["plain"]  # FLOOD_BURST / FLOOD_RATE_PER_SECOND
    handled = [m for m in answered if NOTICE not in m["plain"]]
    assert len(handled) == BURST, plain(handled)  # the excess was never handled
    assert all("belum terdaftar" in m["plain"] for m in handled)


def flood_settings(emulator: BotApiEmulator, url: str, **overrides: object) -> Settings:
    return e2e_settings(
        emulator, url, flood_burst=BURST, flood_rate_per_second=BURST / 20, **overrides
    )


async def test_polling_serves_others_while_one_user_floods(
    emulator: BotApiEmulator, tmp_path: Path
) -> None:
    running = await start_bot(flood_settings(emulator, f"sqlite:///{tmp_path / 'flood.db'}"))
    try:
        flood = frozen(running.application.bot_data[FLOOD_KEY])
        await flood_and_ask(emulator)
        assert flood.dropped == FLOOD - BURST
    finally:
        await stop_bot(running)


async def test_a_button_pressed_past_the_limit_is_still_answered(
    emulator: BotApiEmulator, tmp_path: Path
) -> None:
    """A press that flood control turns away gets a toast, so the app does not spin on it."""
    running = await start_bot(flood_settings(emulator, f"sqlite:///{tmp_path / 'flood.db'}"))
    try:
        frozen(running.application.bot_data[FLOOD_KEY])
        presser = emulator.user(2003, first_name="Tekan")
        await presser.send("/start")
        await presser.receive(timeout=10)
        answers = [await presser.press_data("bukan-tombol", timeout=10) for _ in range(BURST + 3)]
        texts = [(answer or {}).get("text") or "" for answer in answers]
        turned_away = [text for text in texts if "Terlalu banyak permintaan" in text]
        assert len(turned_away) == 4, texts  # 5 tokens: the /start and 4 presses were handled
        assert all(text and text not in turned_away for text in texts[:4]), texts
    finally:
        await stop_bot(running)


@asynccontextmanager
async def webhook_bot(emulator: BotApiEmulator, tmp_path: Path) -> AsyncIterator[FloodControl]:
    port = free_port()
    settings = flood_settings(
        emulator,
        f"sqlite:///{tmp_path / 'flood.db'}",
        webhook_url=f"http://127.0.0.1:{port}/telegram",
        webhook_secret=SECRET,
        webhook_port=port,
    ).check_webhook()
    database = prepare_database(settings)
    application = build_application(settings, database)
    flood = frozen(application.bot_data[FLOOD_KEY])
    stop = asyncio.Event()
    server = asyncio.create_task(serve_webhook(application, settings, database, stop))
    try:
        await emulator.wait_for_call("setWebhook", timeout=20)
        yield flood
    finally:
        stop.set()
        await asyncio.wait_for(server, 20)
        database.dispose()


async def test_webhook_serves_others_while_one_user_floods(
    emulator: BotApiEmulator, tmp_path: Path
) -> None:
    async with webhook_bot(emulator, tmp_path) as flood:
        await flood_and_ask(emulator)
        assert flood.dropped == FLOOD - BURST
        # Each turned-away update was answered 200 at once, so Telegram sends no copy again.
        failed = [a for a in emulator.webhook_attempts if a.status != 200]
        assert failed == []
