"""The per-user token bucket of bot/flood.py, on a clock the test moves."""

from __future__ import annotations

import asyncio
from typing import Any

from telegram import Update

from bot.flood import PRUNE_EVERY, FloodControl
from bot.settings import Settings

USER = 1001


def message(update_id: int, user_id: int = USER, chat_type: str = "private") -> Update:
    sender = {"id": user_id, "is_bot": False, "first_name": "Andi"}
    chat_id = user_id if chat_type == "private" else -500
    chat = {"id": chat_id, "type": chat_type}
    body: dict[str, Any] = {"message_id": update_id, "date": 0, "chat": chat, "from": sender}
    return Update.de_json({"update_id": update_id, "message": {**body, "text": "x"}}, None)


def member_change(update_id: int, user_id: int = USER) -> Update:
    sender = {"id": user_id, "is_bot": False, "first_name": "Andi"}
    bot = {"id": 1, "is_bot": True, "first_name": "Bot"}
    change = {
        "chat": {"id": user_id, "type": "private"},
        "from": sender,
        "date": 0,
        "old_chat_member": {"status": "member", "user": bot},
        "new_chat_member": {"status": "kicked", "user": bot, "until_date": 0},
    }
    return Update.de_json({"update_id": update_id, "my_chat_member": change}, None)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def control(burst: int = 3, rate: float = 1.0) -> tuple[FloodControl, Clock, list[int]]:
    told: list[int] = []

    async def notify(chat_id: int) -> None:
        told.append(chat_id)

    clock = Clock()
    return FloodControl(rate, burst, notify, clock), clock, told


async def test_a_burst_passes_then_the_excess_is_dropped_with_one_notice() -> None:
    flood, _clock, told = control(burst=3)
    verdicts = [flood.admit(message(n)) for n in range(10)]
    await asyncio.sleep(0)
    assert verdicts == [True] * 3 + [False] * 7
    assert told == [USER]  # one notice for the whole episode
    assert flood.dropped == 7
    # Another user is not affected by this one's flood.
    assert flood.admit(message(20, user_id=2002))


def button_press(update_id: int, user_id: int = USER) -> Update:
    sender = {"id": user_id, "is_bot": False, "first_name": "Andi"}
    shown = {"message_id": 1, "date": 0, "chat": {"id": user_id, "type": "private"}}
    query = {"id": f"q{update_id}", "from": sender, "chat_instance": "c", "data": "x"}
    return Update.de_json(
        {"update_id": update_id, "callback_query": {**query, "message": shown}}, None
    )


async def test_every_button_press_turned_away_is_answered_and_the_user_told_once() -> None:
    flood, _clock, told = control(burst=2)
    dismissed: list[str] = []

    async def dismiss(query_id: str) -> None:
        dismissed.append(query_id)

    flood.dismiss = dismiss
    verdicts = [flood.admit(button_press(n)) for n in range(5)] + [flood.admit(message(9))]
    await asyncio.sleep(0)
    assert verdicts == [True, True, False, False, False, False]
    assert dismissed == ["q2", "q3", "q4"]  # the text turned away has nothing to answer
    assert told == [USER]


async def test_tokens_come_back_at_the_rate_and_a_new_flood_gets_a_new_notice() -> None:
    flood, clock, told = control(burst=3, rate=1.0)
    for n in range(5):
        flood.admit(message(n))
    clock.now += 1.0  # one token back: one more message, the episode goes on
    assert flood.admit(message(10))
    assert not flood.admit(message(11))
    await asyncio.sleep(0)
    assert told == [USER]
    clock.now += 3.0  # whole again: the flood is over
    for n in range(20, 25):
        flood.admit(message(n))
    await asyncio.sleep(0)
    assert told == [USER, USER]


async def test_blocking_the_bot_is_never_dropped_and_groups_get_no_notice() -> None:
    flood, _clock, told = control(burst=1)
    assert flood.admit(message(1))
    assert flood.admit(member_change(2))
    assert not flood.admit(message(3, chat_type="group"))
    await asyncio.sleep(0)
    assert told == []


async def test_the_default_settings_let_a_long_paste_and_an_album_through() -> None:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    flood, _clock, told = control(settings.flood_burst, settings.flood_rate_per_second)
    # A 40,000-character paste arrives as 10 messages within a second, then an album of 10.
    assert all(flood.admit(message(n)) for n in range(20))
    await asyncio.sleep(0)
    assert told == []


def test_burst_zero_turns_flood_control_off() -> None:
    flood, _clock, _told = control(burst=0)
    assert all(flood.admit(message(n)) for n in range(100))


async def test_users_whose_bucket_is_whole_again_are_forgotten() -> None:
    flood, clock, _told = control(burst=2)
    for user_id in range(PRUNE_EVERY - 1):
        flood.admit(message(user_id, user_id=10_000 + user_id))
    clock.now += 10
    flood.admit(message(99_999))
    assert len(flood._buckets) == 1
