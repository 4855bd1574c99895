"""End-to-end fixtures: the real Application over HTTP against the Bot API emulator."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from telegram.ext import Application

from bot.app import (
    build_application,
    prepare_database,
    start_polling_in_loop,
    stop_polling_in_loop,
)
from bot.emulator import BotApiEmulator
from bot.settings import Settings, load_settings
from models.db import Database
from tests.conftest import ADMIN_ID, empty_tables


@dataclass
class RunningBot:
    application: Application
    database: Database
    settings: Settings


@pytest.fixture
async def emulator() -> AsyncIterator[BotApiEmulator]:
    emu = BotApiEmulator()
    await emu.start()
    yield emu
    await emu.stop()


def e2e_settings(emulator: BotApiEmulator, database_url: str, **overrides: object) -> Settings:
    return load_settings(
        _env_file=None,
        telegram_bot_token=emulator.token,
        telegram_api_url=emulator.base_url,
        database_url=database_url,
        admin_ids=str(ADMIN_ID),
        **overrides,
    ).check()


async def start_bot(settings: Settings) -> RunningBot:
    database = prepare_database(settings)
    application = build_application(settings, database)
    await start_polling_in_loop(application, poll_timeout=1)
    return RunningBot(application, database, settings)


async def stop_bot(running: RunningBot) -> None:
    await stop_polling_in_loop(running.application)
    running.database.dispose()


@pytest.fixture(params=["sqlite"])
def e2e_database_url(request: pytest.FixtureRequest, tmp_path) -> str:
    """SQLite by default; a test parametrized with "postgresql" runs on the local server."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'e2e.db'}"
    url = request.getfixturevalue("pg_server_url")
    database = Database(url)
    empty_tables(database)
    database.dispose()
    return url


@pytest.fixture
async def bot(emulator: BotApiEmulator, e2e_database_url: str) -> AsyncIterator[RunningBot]:
    running = await start_bot(e2e_settings(emulator, e2e_database_url))
    yield running
    await stop_bot(running)
    assert_no_refused_calls(emulator)


def assert_no_refused_calls(emulator: BotApiEmulator) -> None:
    """Every call the bot made was accepted: no malformed HTML, no overlong text, no oversized
    callback data. The one expected refusal: the admin menu for an admin who never opened a
    chat with the bot (Telegram answers "chat not found")."""
    refused = [
        c
        for c in emulator.calls
        if not c.ok
        and c.error_code is not None  # None: the client hung up, e.g. a long poll at shutdown
        and not (c.method == "setMyCommands" and "chat not found" in (c.description or ""))
    ]
    assert not refused, [(c.method, c.description) for c in refused]
