"""The bot token never reaches a log record, whatever the logger and level (bot/logsafety.py)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from bot.emulator import BotApiEmulator
from tests.e2e.conftest import e2e_settings, start_bot, stop_bot


async def test_the_token_is_masked_in_every_record_at_debug(
    emulator: BotApiEmulator, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    running = await start_bot(e2e_settings(emulator, f"sqlite:///{tmp_path / 'log.db'}"))
    try:
        user = emulator.user(1001)
        await user.send("/start")
        assert "Persetujuan" in (await user.receive())["plain"]
        # An HTTP library's error quoting the URL it called, logged with its traceback.
        url = f"{running.application.bot.base_url}/getUpdates"
        try:
            raise ConnectionError(f"Cannot connect to {url}")
        except ConnectionError:
            logging.getLogger("aiohttp.client").exception("request to %s failed", url)
    finally:
        await stop_bot(running)
    bot_id, _, secret = emulator.token.partition(":")
    # python-telegram-bot logged its API URL at DEBUG: with the token masked.
    assert f"/bot{bot_id}:***" in caplog.text
    assert secret not in caplog.text
    loggers = {r.name.split(".")[0] for r in caplog.records}
    assert {"telegram", "aiohttp"} <= loggers
    for record in caplog.records:
        assert secret not in record.getMessage()
        assert secret not in (record.exc_text or "")
