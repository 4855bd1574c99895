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
from scheduler.reminders import CONCURRENCY
from tests.conftest import WITA
from tests.e2e.test_processes import start_process

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


def delivery_statuses(
    database_url: str, users: set[int], only: str | None = None
) -> dict[int, str]:
    database = Database(database_url)
    with database.session() as session:
        rows = session.exec(select(ReminderDelivery)).all()
    database.dispose()
    return {
        r.user_id: r.status
        for r in rows
        if r.user_id in users and (only is None or r.status == only)
    }


def reminders_by_user(emulator: BotApiEmulator) -> Counter[int]:
    return Counter(
        call.chat_id
        for call in emulator.calls_to("sendMessage")
        if call.ok and "Pengingat" in call.params.get("text", "")
    )


def flood_report(emulator: BotApiEmulator) -> list[str]:
    """Each 429 with how many sends had arrived in the second before it."""
    sends = [call for call in emulator.calls if call.method.startswith("send")]
    return [
        f"{call.method} to {call.chat_id}: "
        f"{sum(1 for o in sends if o.ok and call.at - 1.0 < o.at <= call.at)} in the second before"
        for call in sends
        if call.error_code == 429
    ]


async def test_killed_mid_fan_out_no_reminder_is_sent_twice_or_silently_lost(
    emulator: BotApiEmulator, tmp_path: Path
) -> None:
    """Kill -9 at a random moment of a 300-user fan-out, then restart.

    Guaranteed: nobody gets a reminder twice; everybody else gets theirs after the restart.
    The only reminders not delivered are the few whose request was in flight at the instant
    of the kill (claimed, cut off on the wire): the Bot API cannot tell whether those arrived,
    so they are left as "sending" rather than risk a duplicate. Pacing before the claim keeps
    them to at most the fan-out's concurrency.
    """
    database_url = f"sqlite:///{tmp_path / 'fanout.db'}"
    reminder_time, offsets = seed(database_url)
    for user_id in range(FIRST_USER, FIRST_USER + USERS):
        emulator.user(user_id, first_name=f"U{user_id}")
    emulator.enforce_rate_limits(per_chat_per_sec=1.0, overall_per_sec=30.0)
    env = {"REMINDER_TIME": reminder_time, "REMINDER_OFFSETS_DAYS": offsets}

    process = await start_process(emulator, database_url, tmp_path, env)
    for _ in range(600):  # the bot starts, then sends ~22 a second
        if (
            sum(reminders_by_user(emulator).values()) >= USERS // 3
            or process.returncode is not None
        ):
            break
        await asyncio.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    await process.wait()
    sent_before_kill = sum(reminders_by_user(emulator).values())
    assert USERS // 3 <= sent_before_kill < USERS

    process = await start_process(emulator, database_url, tmp_path, env)
    try:
        for _ in range(600):
            counts = reminders_by_user(emulator)
            unconfirmed = set(
                delivery_statuses(
                    database_url, set(range(FIRST_USER, FIRST_USER + USERS)), "sending"
                )
            )
            if len(counts) + len(unconfirmed - set(counts)) >= USERS:
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(1.0)  # anything sent twice would arrive by now
        counts = reminders_by_user(emulator)
        assert set(counts.values()) == {1}, [uid for uid, n in counts.items() if n > 1]
        missing = set(range(FIRST_USER, FIRST_USER + USERS)) - set(counts)
        statuses = delivery_statuses(database_url, missing)
        assert all(status == "sending" for status in statuses.values()), statuses
        assert set(statuses) == missing
        assert len(missing) <= CONCURRENCY, missing
        assert emulator.count_429 == 0, flood_report(emulator)
    finally:
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.wait(), 20)
