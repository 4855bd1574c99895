"""The offset polling sends to Telegram confirms only updates that were handled."""

from __future__ import annotations

from bot.polling import UpdateTracker


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
