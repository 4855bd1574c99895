"""End-to-end fixtures: the real Application over HTTP against the Bot API emulator."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

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
from models.types import utcnow
from tests.conftest import ADMIN_ID, Clock, copy_migrated_sqlite, empty_tables


@dataclass
class RunningBot:
    application: Application
    database: Database
    settings: Settings


class RunningClock(Clock):
    """Real time shifted by an offset: tests jump to a moment, and time then runs on as usual
    (so windows measured in seconds, like joining a split paste, behave as in production)."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return utcnow() + self.offset

    @property
    def current(self) -> datetime:
        return self()

    @current.setter
    def current(self, moment: datetime) -> None:
        self.offset = moment - utcnow()

    def advance(self, **delta: float) -> None:
        self.offset += timedelta(**delta)


@pytest.fixture
def clock() -> RunningClock:
    return RunningClock()


@pytest.fixture
async def emulator() -> AsyncIterator[BotApiEmulator]:
    emu = BotApiEmulator()
    await emu.start()
    yield emu
    await emu.stop()


def e2e_settings(emulator: BotApiEmulator, database_url: str, **overrides: object) -> Settings:
    # Scripted users answer within milliseconds, far faster than people: flood control
    # (bot/flood.py) stays off unless a test turns it on (tests/e2e/test_flood.py).
    overrides.setdefault("flood_burst", 0)
    return load_settings(
        _env_file=None,
        telegram_bot_token=emulator.token,
        telegram_api_url=emulator.base_url,
        database_url=database_url,
        admin_ids=str(ADMIN_ID),
        **overrides,
    ).check()


async def start_bot(settings: Settings, clock: Callable[[], datetime] = utcnow) -> RunningBot:
    database = prepare_database(settings)
    application = build_application(settings, database, clock)
    await start_polling_in_loop(application, poll_timeout=1)
    return RunningBot(application, database, settings)


async def stop_bot(running: RunningBot) -> None:
    await stop_polling_in_loop(running.application)
    running.database.dispose()


@pytest.fixture(params=["sqlite"])
def e2e_database_url(request: pytest.FixtureRequest, tmp_path) -> str:
    """SQLite by default; a test parametrized with "postgresql" runs on the local server."""
    if request.param == "sqlite":
        template = request.getfixturevalue("migrated_sqlite")
        return copy_migrated_sqlite(template, tmp_path / "e2e.db")
    url = request.getfixturevalue("pg_server_url")
    database = Database(url)
    empty_tables(database)
    database.dispose()
    return url


@pytest.fixture
async def bot(
    emulator: BotApiEmulator, e2e_database_url: str, clock: Clock
) -> AsyncIterator[RunningBot]:
    """The bot with the test's clock: scheduled work runs when a test calls it, at the time
    the test set (the real clock still paces HTTP and rate limits)."""
    running = await start_bot(e2e_settings(emulator, e2e_database_url), clock)
    yield running
    await stop_bot(running)
    assert_no_refused_calls(emulator)


def assert_no_refused_calls(emulator: BotApiEmulator) -> None:
    """No call the bot made was refused as malformed (400): no broken HTML, no overlong text,
    no oversized callback data. 429 and 403 are flow control and user choices that tests inject;
    the one expected 400 is the admin menu for an admin who never opened a chat with the bot."""
    refused = [
        c
        for c in emulator.calls
        if c.error_code == 400
        and not (c.method == "setMyCommands" and "chat not found" in (c.description or ""))
    ]
    assert not refused, [(c.method, c.description) for c in refused]
