"""The offset polling sends to Telegram confirms only updates that were handled; one that
failed for a passing reason is handled again, in order, and only then confirmed."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from telegram import Update

from bot.polling import UpdateTracker
from bot.update_processor import PerUserUpdateProcessor, defer_current_update
from models.db import Database, is_passing_failure


def batch(*ids: int) -> list[dict[str, int]]:
    return [{"update_id": i} for i in ids]


def test_the_offset_stays_at_the_oldest_update_still_being_handled() -> None:
    tracker = UpdateTracker()
    assert tracker.safe_offset(None) is None
    assert [u["update_id"] for u in tracker.take_new(batch(5, 6, 7))] == [5, 6, 7]
    assert tracker.safe_offset(8) == 5
    tracker.finished(5)
    tracker.finished(7)
    assert tracker.safe_offset(8) == 6  # 7 is done but 6 is not: confirm neither yet
    tracker.finished(6)
    assert tracker.safe_offset(8) == 8


def test_updates_returned_again_while_unconfirmed_are_not_handed_out_twice() -> None:
    tracker = UpdateTracker()
    tracker.take_new(batch(5, 6))
    tracker.finished(5)
    assert [u["update_id"] for u in tracker.take_new(batch(6, 7))] == [7]
    assert tracker.take_new(batch(6, 7)) == []
    tracker.finished(99)  # not ours (a webhook update): ignored
    assert set(tracker.in_flight) == {6, 7}


def test_an_update_handled_for_too_long_stops_holding_the_offset() -> None:
    now = [100.0]
    tracker = UpdateTracker(hold_seconds=30, clock=lambda: now[0])
    tracker.take_new(batch(5))
    now[0] += 10
    tracker.take_new(batch(6))
    assert tracker.safe_offset(7) == 5
    now[0] += 25  # 5 has been waiting 35 s (a long 429, say): newer updates go first
    assert tracker.safe_offset(7) == 6
    now[0] += 10
    assert tracker.safe_offset(7) == 7
    assert set(tracker.in_flight) == {5, 6}  # still filtered if Telegram sends them again


def test_the_update_holding_the_offset_wakes_a_waiting_poll() -> None:
    now = [100.0]
    tracker = UpdateTracker(hold_seconds=30, clock=lambda: now[0])
    tracker.take_new(batch(5))
    now[0] += 40
    tracker.take_new(batch(6, 7))  # 5 no longer holds the offset: 6 does
    tracker.poll_starts()
    tracker.finished(7)
    assert not tracker._oldest_finished.is_set()
    tracker.finished(6)
    assert tracker._oldest_finished.is_set()
    now[0] += 4000
    tracker.take_new(batch(8))
    assert set(tracker.in_flight) == {8}  # 5 was never reported back: forgotten after an hour


def test_a_lower_id_after_a_quiet_spell_is_a_new_update() -> None:
    """After a week without updates Telegram picks the next id at random: it may be lower
    than every id seen before, and it must still be handled."""
    now = [100.0]
    tracker = UpdateTracker(clock=lambda: now[0])
    tracker.take_new(batch(900, 901))
    tracker.finished(900)
    tracker.finished(901)
    assert tracker.take_new(batch(901)) == []  # a repeat of a recent one is still dropped
    now[0] += 7 * 24 * 3600
    assert [u["update_id"] for u in tracker.take_new(batch(17))] == [17]
    assert [u["update_id"] for u in tracker.take_new(batch(901))] == [901]  # forgotten by now


def test_an_update_deferred_after_a_passing_failure_holds_the_offset_until_handled() -> None:
    now = [100.0]
    tracker = UpdateTracker(hold_seconds=30, clock=lambda: now[0])
    tracker.take_new(batch(5, 6))
    tracker.deferred(5)  # the database was away: 5 is retried, and must not be confirmed
    tracker.finished(6)
    now[0] += 5000  # however long the outage lasts (past hold_seconds, past FORGET_SECONDS)
    tracker.take_new(batch(7))
    assert tracker.safe_offset(8) == 5
    tracker.finished(5)
    tracker.finished(7)
    assert tracker.safe_offset(8) == 8


def update(update_id: int, user_id: int = 1) -> Update:
    return Update.de_json(
        {
            "update_id": update_id,
            "message": {
                "message_id": update_id,
                "date": 0,
                "chat": {"id": user_id, "type": "private"},
                "from": {"id": user_id, "is_bot": False, "first_name": "A"},
                "text": "x",
            },
        },
        None,
    )


async def test_a_deferred_update_is_handled_again_in_order_and_finished_once() -> None:
    finished: list[int] = []
    deferred: list[int] = []
    handled: list[tuple[int, int | None]] = []
    failing = {5: 2}  # update 5 fails twice for a passing reason, then succeeds

    async def handle(item: Update) -> None:
        attempt = None
        if failing.get(item.update_id, 0) > 0:
            failing[item.update_id] -= 1
            attempt = defer_current_update()
        handled.append((item.update_id, attempt))

    processor = PerUserUpdateProcessor(
        4, on_finished=finished.append, on_deferred=deferred.append, retry_delays=(0.01,)
    )
    processor.handle_again = handle
    first, second = update(5), update(6)
    await asyncio.gather(
        processor.process_update(first, handle(first)),
        processor.process_update(second, handle(second)),
    )
    # Attempts 1 and 2 failed (the error handler tells the user at the first), the third
    # succeeded; the same user's next update waited behind it.
    assert handled == [(5, 1), (5, 2), (5, None), (6, None)]
    assert deferred == [5, 5] and finished == [5, 6]


async def test_webhook_attempts_say_whether_the_update_was_deferred() -> None:
    processor = PerUserUpdateProcessor(4)

    async def fail() -> None:
        assert defer_current_update() == 1

    async def succeed() -> None:
        pass

    assert await processor.process_once(update(9), fail()) is False  # answered 503
    assert await processor.process_once(update(9), succeed()) is True


def test_only_failures_that_pass_by_themselves_are_retried(tmp_path) -> None:
    refused = Database("postgresql://nobody@127.0.0.1:1/none")
    with pytest.raises(OperationalError) as unreachable:
        refused.engine.connect()
    assert is_passing_failure(unreachable.value)
    sqlite = Database(f"sqlite:///{tmp_path / 'x.db'}")
    with pytest.raises(OperationalError) as bug, sqlite.engine.connect() as connection:
        connection.execute(text("SELECT * FROM no_such_table"))
    assert not is_passing_failure(bug.value)  # a bug: reported and acknowledged
    assert not is_passing_failure(ValueError("a bug"))
    assert not is_passing_failure(None)
    assert is_passing_failure(TimeoutError())
