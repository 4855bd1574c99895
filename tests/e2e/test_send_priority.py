"""Replies before bulk sends, end to end: a user's reply overtakes a queued fan-out, and a
reminder right after a user's own replies waits for their chat, with Telegram's flood limits
enforced by the emulator (bot/send_limiter.py)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import insert

from bot.emulator import BotApiEmulator
from bot.runtime import runtime_of
from bot.services.deadlines import parse_deadline
from models.competitions import Follow
from models.tables import User
from models.types import utcnow
from tests.conftest import WITA
from tests.e2e.chat import plain, register
from tests.e2e.conftest import RunningBot, RunningClock, e2e_settings, start_bot, stop_bot
from tests.helpers import add_competition

ANDI = 1001
FOLLOWERS = range(20_000, 20_030)
RATE = 5.0  # messages a second: slow enough that a fan-out of 30 queues for seconds


@pytest.fixture
async def slow_bot(
    emulator: BotApiEmulator, e2e_database_url: str, clock: RunningClock
) -> AsyncIterator[RunningBot]:
    running = await start_bot(
        e2e_settings(emulator, e2e_database_url, messages_per_second=RATE), clock
    )
    yield running
    await stop_bot(running)


async def follow_a_competition(bot: RunningBot, emulator: BotApiEmulator, users: list[int]) -> None:
    """`users` (already in the database) and 30 more follow a competition due on the 30th."""
    now = utcnow()
    for user_id in FOLLOWERS:
        emulator.user(user_id, first_name=f"U{user_id}")
    with bot.database.session() as session:
        session.execute(
            insert(User),
            [
                {
                    "id": uid,
                    "full_name": f"Pengguna {uid}",
                    "opd_id": 1,
                    "consent_at": now,
                    "registered_at": now,
                    "reachable": True,
                    "created_at": now,
                }
                for uid in FOLLOWERS
            ],
        )
        deadline = parse_deadline("30 November 2026", WITA)
        competition = add_competition(session, "Lomba Daerah", {"Pengumpulan": deadline})
        for uid in [*users, *FOLLOWERS]:
            session.add(Follow(user_id=uid, competition_id=competition.id))


def reminders(emulator: BotApiEmulator) -> list[int]:
    return [
        call.chat_id
        for call in emulator.calls_to("sendMessage")
        if call.ok and "Pengingat" in call.params.get("text", "")
    ]


async def run_reminders(bot: RunningBot) -> None:
    await runtime_of(bot.application.bot_data).scheduler.run_source("reminders")


async def test_a_reply_overtakes_a_queued_fan_out(
    slow_bot: RunningBot, emulator: BotApiEmulator, clock: RunningClock
) -> None:
    clock.current = parse_deadline("20 November 2026 10.00", WITA)
    andi = emulator.user(ANDI, first_name="Andi")
    await register(andi)
    await follow_a_competition(slow_bot, emulator, [])
    emulator.enforce_rate_limits(per_chat_per_sec=1.0, burst=3, overall_per_sec=30.0)
    clock.current = parse_deadline("23 November 2026 08.00", WITA)

    fan_out = asyncio.create_task(run_reminders(slow_bot))
    while len(reminders(emulator)) < 3:
        await asyncio.sleep(0.02)
    before = len(reminders(emulator))
    await andi.send("/bantuan")
    answer = await andi.receive(timeout=5)
    overtaken = len(FOLLOWERS) - len(reminders(emulator))
    await asyncio.wait_for(fan_out, 30)

    assert "/ide" in answer["plain"]
    # The reply took the next free slot: at most the one bulk send already granted went first,
    # and the rest of the fan-out (over 20 sends queued) came after it.
    assert len(reminders(emulator)) - before - overtaken <= 2
    assert overtaken >= 20
    assert sorted(reminders(emulator)) == list(FOLLOWERS)  # each exactly once
    assert emulator.count_429 == 0


async def test_a_reminder_right_after_a_users_replies_waits_for_their_chat(
    slow_bot: RunningBot, emulator: BotApiEmulator, clock: RunningClock
) -> None:
    clock.current = parse_deadline("20 November 2026 10.00", WITA)
    andi = emulator.user(ANDI, first_name="Andi")
    await register(andi)
    await follow_a_competition(slow_bot, emulator, [ANDI])
    emulator.enforce_rate_limits(per_chat_per_sec=1.0, burst=3, overall_per_sec=30.0)
    await asyncio.sleep(3.0)  # Andi's chat has its whole burst again after registering
    clock.current = parse_deadline("23 November 2026 08.00", WITA)

    for _ in range(3):  # three messages at once: three replies use up the chat's burst
        await andi.send("/bantuan")
    replies = [await andi.receive(timeout=5) for _ in range(3)]
    await run_reminders(slow_bot)  # Andi is the first recipient

    assert all("/ide" in reply["plain"] for reply in replies)
    reminder = await andi.receive(timeout=5)
    assert "Pengingat" in plain([reminder])
    assert sorted(reminders(emulator)) == [ANDI, *FOLLOWERS]
    assert emulator.count_429 == 0  # without per-chat pacing, Andi's reminder gets a 429
