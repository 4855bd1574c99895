"""Replies before bulk sends, end to end: a user's reply overtakes queued fan-outs, and a
reminder right after a user's own replies waits for their chat, with Telegram's flood limits
enforced by the emulator (bot/send_limiter.py)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest
from sqlalchemy import insert

from bot.emulator import BotApiEmulator
from bot.runtime import runtime_of
from bot.services.deadlines import parse_deadline
from models.competitions import Follow
from models.tables import User
from models.types import utcnow
from tests.conftest import ADMIN_ID, WITA
from tests.e2e.chat import plain, press, register, say
from tests.e2e.conftest import RunningBot, RunningClock, e2e_settings, start_bot, stop_bot
from tests.helpers import add_competition

ANDI = 1001
FOLLOWERS = range(20_000, 20_030)
RATE = 10.0  # messages a second: slow enough that two fan-outs of 30 queue for seconds


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


async def test_a_reply_overtakes_queued_reminders_and_a_broadcast(
    slow_bot: RunningBot, emulator: BotApiEmulator, clock: RunningClock
) -> None:
    clock.current = parse_deadline("20 November 2026 10.00", WITA)
    admin = emulator.user(ADMIN_ID, first_name="Admin")
    andi = emulator.user(ANDI, first_name="Andi")
    await register(admin, name="Admin Klinik", opd="brida")
    await register(andi)
    await follow_a_competition(slow_bot, emulator, [])
    clock.current = parse_deadline("23 November 2026 08.00", WITA)
    # Two fan-outs at once: a broadcast to every ASN and the day's reminders.
    await say(admin, "/siaran")
    await say(admin, "Kelas menulis proposal, Jumat 09.00 WITA.")
    await press(admin, "Semua ASN")
    emulator.enforce_rate_limits(per_chat_per_sec=1.0, burst=3, overall_per_sec=30.0)
    await press(admin, "Kirim sekarang")
    scheduler = runtime_of(slow_bot.application.bot_data).scheduler
    # The broadcast's wake-up is on the real clock, the test's is days behind: run both now.
    fan_out = asyncio.gather(scheduler.run_source("broadcasts"), run_reminders(slow_bot))
    await until(lambda: len(bulk_sends(emulator)) >= 6)

    before = len(bulk_sends(emulator))
    await andi.send("/bantuan")
    answer = await andi.receive(timeout=10)
    while "/ide" not in answer["plain"]:  # Andi's own copy of the broadcast may come first
        answer = await andi.receive(timeout=10)
    at_reply = len(bulk_sends(emulator))
    await asyncio.wait_for(fan_out, 30)
    await until(lambda: len(bulk_sends(emulator)) >= 2 * len(FOLLOWERS))

    # The reply took the next free slot: at most the bulk sends already granted went first,
    # though dozens were queued. (With one first-come-first-served limiter it waited for all
    # the sends both fan-outs had queued before it.)
    assert at_reply - before <= 2, (before, at_reply)
    assert 2 * len(FOLLOWERS) - at_reply >= 30
    assert sorted(reminders(emulator)) == list(FOLLOWERS)  # each exactly once
    assert emulator.count_429 == 0


async def until(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        assert loop.time() < deadline, "the fan-outs did not get that far"
        await asyncio.sleep(0.02)


def bulk_sends(emulator: BotApiEmulator) -> list[int]:
    """Reminders and broadcast copies to the 30 followers, in the order they went."""
    return [
        call.chat_id
        for call in emulator.calls_to("sendMessage")
        if call.ok and call.chat_id in FOLLOWERS
    ]


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


async def test_paid_broadcasts_are_opt_in_and_only_for_bulk_sends(
    emulator: BotApiEmulator, e2e_database_url: str, clock: RunningClock
) -> None:
    settings = e2e_settings(
        emulator, e2e_database_url, allow_paid_broadcast=True, paid_broadcast_per_second=200
    )
    running = await start_bot(settings, clock)
    try:
        clock.current = parse_deadline("20 November 2026 10.00", WITA)
        andi = emulator.user(ANDI, first_name="Andi")
        await register(andi)
        await follow_a_competition(running, emulator, [ANDI])
        emulator.enforce_rate_limits(per_chat_per_sec=1.0, burst=3, overall_per_sec=30.0)
        clock.current = parse_deadline("23 November 2026 08.00", WITA)
        await run_reminders(running)
        await say(andi, "/bantuan")
    finally:
        await stop_bot(running)
    sends = [c for c in emulator.calls_to("sendMessage") if c.ok]
    paid = {c.chat_id for c in sends if c.params.get("allow_paid_broadcast")}
    assert paid == {ANDI, *FOLLOWERS}  # every reminder, as a paid broadcast
    replies = [c for c in sends if "Pengingat" not in c.params.get("text", "")]
    assert replies and not any(c.params.get("allow_paid_broadcast") for c in replies)
    assert emulator.count_429 == 0


async def test_paid_broadcasts_are_off_by_default(
    slow_bot: RunningBot, emulator: BotApiEmulator, clock: RunningClock
) -> None:
    clock.current = parse_deadline("20 November 2026 10.00", WITA)
    await follow_a_competition(slow_bot, emulator, [])
    clock.current = parse_deadline("23 November 2026 08.00", WITA)
    await run_reminders(slow_bot)
    assert len(reminders(emulator)) == len(FOLLOWERS)
    assert not any(c.params.get("allow_paid_broadcast") for c in emulator.calls)
