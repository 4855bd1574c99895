"""A reminder fan-out to 300 users, the process killed in the middle and started again:
every user gets the reminder exactly once, and Telegram's flood limits are never hit."""

from __future__ import annotations

import asyncio
import signal
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from bot.emulator import BotApiEmulator
from bot.services.formats import load_data_list
from bot.services.opd_admin import seed_default_opds
from models.competitions import Competition, Follow, ReminderDelivery, Stage
from models.db import Database
from models.tables import User
from models.types import utcnow
from tests.conftest import WITA
from tests.e2e.test_processes import start_process, wait_until_polling

pytestmark = pytest.mark.slow
USERS = 300
FIRST_USER = 5000


def seed(database_url: str) -> tuple[str, str]:
    """300 registered followers of a competition whose 7-day reminder fell due 2 minutes ago."""
    database = Database(database_url)
    database.migrate()
    moment = utcnow().astimezone(WITA) - timedelta(minutes=2)
    deadline = (moment + timedelta(days=7)).replace(hour=23, minute=59, second=0, microsecond=0)
    with database.session() as session:
        seed_default_opds(session, load_data_list("opd_default"))
        competition = Competition(name="IGA", organiser="Kemendagri", level="Nasional", year=2026)
        session.add(competition)
        session.flush()
        session.add(Stage(competition_id=competition.id, name="Input profil", deadline_at=deadline))
        for user_id in range(FIRST_USER, FIRST_USER + USERS):
            session.add(
                User(
                    id=user_id,
                    full_name=f"Pengguna {user_id}",
                    opd_id=1,
                    consent_at=utcnow(),
                    registered_at=utcnow(),
                )
            )
            session.flush()
            session.add(Follow(user_id=user_id, competition_id=competition.id))
    database.dispose()
    return moment.strftime("%H:%M"), "7"


def delivery_statuses(database_url: str, users: set[int]) -> dict[int, str]:
    database = Database(database_url)
    with database.session() as session:
        rows = session.exec(select(ReminderDelivery)).all()
    database.dispose()
    return {r.user_id: r.status for r in rows if r.user_id in users}


def reminders_by_user(emulator: BotApiEmulator) -> Counter[int]:
    return Counter(
        call.chat_id
        for call in emulator.calls_to("sendMessage")
        if call.ok and "Pengingat" in call.params.get("text", "")
    )


async def test_killed_mid_fan_out_every_user_gets_exactly_one(
    emulator: BotApiEmulator, tmp_path: Path
) -> None:
    database_url = f"sqlite:///{tmp_path / 'fanout.db'}"
    reminder_time, offsets = seed(database_url)
    for user_id in range(FIRST_USER, FIRST_USER + USERS):
        emulator.user(user_id, first_name=f"U{user_id}")
    emulator.enforce_rate_limits(per_chat_per_sec=1.0, overall_per_sec=30.0)
    env = {"REMINDER_TIME": reminder_time, "REMINDER_OFFSETS_DAYS": offsets}

    process = await start_process(emulator, database_url, tmp_path, env)
    await wait_until_polling(emulator, process)
    while sum(reminders_by_user(emulator).values()) < USERS // 3:
        assert process.returncode is None
        await asyncio.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    await process.wait()
    sent_before_kill = sum(reminders_by_user(emulator).values())
    assert sent_before_kill < USERS

    process = await start_process(emulator, database_url, tmp_path, env)
    try:
        for _ in range(600):
            if len(reminders_by_user(emulator)) == USERS:
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(1.0)  # anything sent twice would arrive by now
        counts = reminders_by_user(emulator)
        missing = set(range(FIRST_USER, FIRST_USER + USERS)) - set(counts)
        assert not missing, (missing, delivery_statuses(database_url, missing), sent_before_kill)
        assert set(counts.values()) == {1}, [uid for uid, n in counts.items() if n > 1]
        assert emulator.count_429 == 0
        database = Database(database_url)
        with database.session() as session:
            statuses = Counter(r.status for r in session.exec(select(ReminderDelivery)))
        database.dispose()
        assert statuses["sent"] + statuses["sending"] == USERS
    finally:
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.wait(), 20)
