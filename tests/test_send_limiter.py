"""The send limiter's order (bot/send_limiter.py), on a fake clock: which request goes when.

Nothing here measures time: the plan is asked what may go at given instants, and the limiter
runs on a clock the test moves by hand.
"""

from __future__ import annotations

import asyncio
import bisect
import itertools
from collections.abc import Callable
from datetime import timedelta

from telegram.error import RetryAfter

from bot.send_limiter import BULK, INTERACTIVE, PriorityRateLimiter, Request, SendPlan


def drain(
    plan: SendPlan, until: float, step: float = 0.001, answered: bool = True
) -> list[tuple[float, Request]]:
    """Everything the plan lets go between 0 and `until`, with the instant it went; each send
    answered at once unless `answered` is False."""
    granted: list[tuple[float, Request]] = []
    ticks = round(until / step)
    for tick in range(ticks + 1):
        now = tick * step
        while (request := plan.take(now)) is not None:
            granted.append((now, request))
            if answered:
                plan.answered(request, now)
    return granted


def test_an_interactive_request_queued_behind_100_bulk_ones_goes_first() -> None:
    plan = SendPlan(messages_per_second=25)
    bulk = [Request(BULK, 10_000 + n) for n in range(100)]
    for request in bulk:
        plan.push(request)
    reply = Request(INTERACTIVE, 1)
    plan.push(reply)
    assert plan.take(0.0) is reply
    assert plan.take(0.0) is None  # the next slot is 1/25 s later
    assert plan.take(0.04) is bulk[0]


def test_a_reply_during_a_fan_out_takes_the_coming_slot_early() -> None:
    plan = SendPlan(messages_per_second=10, early_slots=1)
    for n in range(100):
        plan.push(Request(BULK, 10_000 + n))
    assert plan.take(0.0) is not None  # a bulk send; the next slot is at 0.1
    reply, second = Request(INTERACTIVE, 1), Request(INTERACTIVE, 2)
    plan.push(reply)
    plan.push(second)
    assert plan.take(0.03) is reply  # at once, not at 0.1
    assert plan.take(0.03) is None  # only one slot early: the second reply waits for 0.1
    assert plan.take(0.1) is second
    assert plan.take(0.2) is None and plan.take(0.31) is not None  # the fan-out gave two slots


def test_no_initial_burst_sends_are_evenly_spaced() -> None:
    plan = SendPlan(messages_per_second=10)
    for n in range(30):
        plan.push(Request(BULK, 10_000 + n))
    granted = drain(plan, until=0.999)
    assert len(granted) == 10  # not 10 at once plus 10 more: one every 0.1 s
    gaps = [b - a for (a, _), (b, _) in itertools.pairwise(granted)]
    assert all(abs(gap - 0.1) < 0.002 for gap in gaps), gaps


def test_an_idle_limiter_saves_up_no_slots() -> None:
    plan = SendPlan(messages_per_second=10)
    plan.take(0.0)  # nothing waits
    for n in range(5):
        plan.push(Request(BULK, 10_000 + n))
    assert plan.take(100.0) is not None
    assert plan.take(100.0) is None and plan.take(100.05) is None
    assert plan.take(100.1) is not None


def test_bulk_sends_keep_their_reserved_share_under_heavy_replies() -> None:
    plan = SendPlan(messages_per_second=20, bulk_share=0.2)
    for n in range(100):
        plan.push(Request(INTERACTIVE, 1_000 + n))
        plan.push(Request(BULK, 10_000 + n))
    granted = drain(plan, until=2.47)
    assert len(granted) == 51  # one every 0.05 s, and a reply once a slot early
    first_fifty = [request.lane for _, request in granted[:50]]
    assert first_fifty.count(BULK) == 10
    assert first_fifty[:4] == [INTERACTIVE] * 4  # replies go first; bulk earns its slot


def test_bulk_sends_take_every_slot_replies_leave() -> None:
    plan = SendPlan(messages_per_second=20, bulk_share=0.2)
    for n in range(40):
        plan.push(Request(BULK, 10_000 + n))
    assert len(drain(plan, until=0.999)) == 20


def test_bulk_to_a_private_chat_gets_a_short_burst_then_one_a_second_holding_nobody() -> None:
    plan = SendPlan(messages_per_second=100)
    andi = [Request(BULK, 1) for _ in range(5)]
    for request in andi:
        plan.push(request)
    budi = Request(BULK, 2)
    plan.push(budi)
    granted = drain(plan, until=3.0)
    order = [request for _, request in granted]
    assert order == [andi[0], andi[1], andi[2], budi, andi[3], andi[4]]
    at = {id(request): moment for moment, request in granted}
    assert at[id(budi)] < 0.05  # not held behind Andi's fourth message
    assert 0.99 <= at[id(andi[3])] < 1.01 and 1.99 <= at[id(andi[4])] < 2.01


def test_replies_are_not_held_by_their_chat() -> None:
    plan = SendPlan(messages_per_second=100)
    replies = [Request(INTERACTIVE, 1) for _ in range(5)]
    for request in replies:
        plan.push(request)
    assert [request for _, request in drain(plan, until=0.1)] == replies


def test_a_reminder_right_after_a_reply_waits_for_its_chat() -> None:
    plan = SendPlan(messages_per_second=100)
    for _ in range(3):  # a reply of three messages
        plan.push(Request(INTERACTIVE, 1))
    reminder = Request(BULK, 1)
    plan.push(reminder)
    granted = drain(plan, until=2.0)
    assert [request for _, request in granted][-1] is reminder
    assert granted[-1][0] >= 0.99


def test_a_group_gets_at_most_20_in_any_minute() -> None:
    plan = SendPlan(messages_per_second=30)
    for _ in range(25):
        plan.push(Request(BULK, -100_123))
    granted = drain(plan, until=61.0, step=0.01)
    times = [moment for moment, _ in granted]
    assert len([t for t in times if t < 60.0]) == 20
    assert len(times) == 25 and times[20] >= 60.0


def test_a_429_pauses_only_its_lane_and_chat() -> None:
    plan = SendPlan(messages_per_second=100)
    plan.pause(BULK, 7, now=0.0, until=5.0)  # a bulk send to chat 7 got 429 retry_after=5
    bulk_other = Request(BULK, 8)
    reply_same_chat = Request(INTERACTIVE, 7)
    reply_other = Request(INTERACTIVE, 9)
    for request in (bulk_other, reply_same_chat, reply_other):
        plan.push(request)
    granted = drain(plan, until=6.0)
    at = {id(request): moment for moment, request in granted}
    assert at[id(reply_other)] < 0.02  # interactive traffic carries on
    assert at[id(reply_same_chat)] >= 5.0 and at[id(bulk_other)] >= 5.0


def test_a_429_to_a_chat_past_its_own_rate_pauses_that_chat_alone() -> None:
    plan = SendPlan(messages_per_second=100)
    for _ in range(4):  # a user typing fast: four replies at once, one over the chat's burst
        plan.push(Request(INTERACTIVE, 7))
    drain(plan, until=0.05)
    plan.pause(INTERACTIVE, 7, now=0.05, until=2.0)
    other, same = Request(INTERACTIVE, 9), Request(INTERACTIVE, 7)
    plan.push(other)
    plan.push(same)
    granted = drain(plan, until=3.0)
    at = {id(request): moment for moment, request in granted}
    assert at[id(other)] < 0.1 and at[id(same)] >= 2.0


def test_paid_broadcasts_have_their_own_ceiling() -> None:
    plan = SendPlan(messages_per_second=10, paid_per_second=100)
    for n in range(200):
        plan.push(Request(BULK, 10_000 + n, paid=True))
    plan.push(Request(INTERACTIVE, 1))
    granted = drain(plan, until=0.999)
    assert len([r for _, r in granted if r.paid]) == 100
    assert granted[0][1].lane == INTERACTIVE


def test_unanswered_sends_hold_their_place_in_the_arrival_window() -> None:
    plan = SendPlan(messages_per_second=1000, early_slots=0, arrivals_per_second=29)
    for n in range(40):
        plan.push(Request(BULK, 10_000 + n))
    granted = [request for _, request in drain(plan, until=0.5, answered=False)]
    assert len(granted) == 29  # the pace allows 500, but none of them has been answered
    for request in granted:
        plan.answered(request, 0.5)
    assert plan.take(1.499) is None  # they may still arrive until a second after the answer
    assert plan.take(1.5) is not None


def simulate_network(
    arrivals_per_second: float, stalls: list[tuple[float, float]], seconds: float = 12.0
) -> list[float]:
    """Bulk sends at 25 a second through a network that holds every request sent during a
    stall (start, end) and delivers them together when it ends, as a busy server or a
    congested link does: the moments the sends arrive."""
    plan = SendPlan(messages_per_second=25, arrivals_per_second=arrivals_per_second)
    recipients = itertools.count(10_000)
    in_flight: list[tuple[float, Request]] = []  # (answered at, request)
    arrivals: list[float] = []
    for tick in range(round(seconds / 0.001)):
        now = tick * 0.001
        for answer_at, request in [f for f in in_flight if f[0] <= now]:
            plan.answered(request, now)
            in_flight.remove((answer_at, request))
        while plan.waiting(BULK) < 3:  # a fan-out keeps a few queued, as paced_fan_out does
            plan.push(Request(BULK, next(recipients)))
        while (request := plan.take(now)) is not None:
            arrive = now + 0.01
            arrive = next((end for start, end in stalls if start <= arrive < end), arrive)
            arrivals.append(arrive)
            in_flight.append((arrive + 0.01, request))
    return arrivals


def busiest_second(arrivals: list[float]) -> int:
    arrivals = sorted(arrivals)
    return max(
        index + 1 - bisect.bisect_right(arrivals, moment - 1.0)
        for index, moment in enumerate(arrivals)
    )


def test_requests_bunched_on_the_way_never_arrive_faster_than_telegram_counts() -> None:
    stalls = [(1.0, 1.4), (3.0, 3.9), (6.0, 6.2), (6.5, 7.5)]
    assert busiest_second(simulate_network(10_000, stalls)) > 30  # pacing alone fails
    arrivals = simulate_network(29, stalls)
    assert busiest_second(arrivals) <= 29
    steady = simulate_network(29, stalls=[])
    assert len(steady) >= 25 * 12 - 1  # with a steady round trip the window costs no pace


# ---- the limiter on the event loop, driven by a fake clock ------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def run_until(done: Callable[[], bool], clock: FakeClock, step: float = 0.01) -> None:
    """Move the fake clock on in small steps, letting the limiter act at each, until done."""
    for _ in range(5_000):
        if done():
            return
        clock.now += step
        await asyncio.sleep(0.002)
    raise AssertionError("the limiter did not finish")


async def test_the_limiter_sends_a_reply_before_100_queued_bulk_sends() -> None:
    clock = FakeClock()
    limiter = PriorityRateLimiter(messages_per_second=25, clock=clock)
    await limiter.initialize()
    sent: list[int] = []

    async def send(chat_id: int) -> bool:
        sent.append(chat_id)
        return True

    def request(chat_id: int, lane: str | None) -> asyncio.Task[object]:
        return asyncio.create_task(
            limiter.process_request(send, (chat_id,), {}, "sendMessage", {"chat_id": chat_id}, lane)
        )

    bulk = [request(10_000 + n, BULK) for n in range(100)]
    await asyncio.sleep(0.01)  # all 100 wait in the limiter; the first is already out
    reply = request(1, None)
    await run_until(lambda: all(t.done() for t in [*bulk, reply]), clock)
    await limiter.shutdown()
    assert sent.index(1) <= 1, sent[:5]
    assert sorted(sent[sent.index(1) + 1 :]) == sent[sent.index(1) + 1 :]  # bulk in order


async def test_a_429_retries_after_its_pause_while_replies_carry_on() -> None:
    clock = FakeClock()
    limiter = PriorityRateLimiter(messages_per_second=100, clock=clock)
    await limiter.initialize()
    sent: list[tuple[int, float]] = []
    refused = [True]

    async def send(chat_id: int) -> bool:
        if chat_id == 8 and refused:
            refused.clear()
            raise RetryAfter(timedelta(seconds=5))
        sent.append((chat_id, clock.now))
        return True

    reminder = asyncio.create_task(
        limiter.process_request(send, (8,), {}, "sendMessage", {"chat_id": 8}, BULK)
    )
    await asyncio.sleep(0.01)
    replies = [
        asyncio.create_task(
            limiter.process_request(send, (n,), {}, "sendMessage", {"chat_id": n}, None)
        )
        for n in (1, 2, 3)
    ]
    await run_until(lambda: reminder.done() and all(t.done() for t in replies), clock)
    await limiter.shutdown()
    at = dict(sent)
    assert all(at[n] < 1.0 for n in (1, 2, 3))  # not held by the bulk lane's 429
    assert at[8] >= 5.0


async def test_a_fan_out_turn_is_the_slot_of_its_first_send() -> None:
    clock = FakeClock()
    limiter = PriorityRateLimiter(messages_per_second=10, clock=clock)
    await limiter.initialize()
    calls: list[int] = []

    async def send(chat_id: int) -> bool:
        calls.append(chat_id)
        return True

    async with limiter.bulk_turn(5):
        # The clock stands still: a send that queued again would never be granted.
        await asyncio.wait_for(
            limiter.process_request(send, (5,), {}, "sendMessage", {"chat_id": 5}, BULK), 2
        )
    await limiter.shutdown()
    assert calls == [5]


async def test_a_fan_out_turn_whose_item_was_taken_elsewhere_gives_its_place_back() -> None:
    clock = FakeClock()
    limiter = PriorityRateLimiter(messages_per_second=1000, arrivals_per_second=29, clock=clock)
    await limiter.initialize()

    async def turns() -> None:
        for chat_id in range(100):
            async with limiter.bulk_turn(chat_id):
                pass  # the claim found the item already handled: nothing is sent

    fan_out = asyncio.create_task(turns())
    await run_until(fan_out.done, clock)  # 29 places kept for good would stop it at the 30th
    await limiter.shutdown()
    assert not limiter.plan._arrivals.unanswered


def test_each_process_takes_its_share_and_paid_broadcasts_need_opting_in() -> None:
    from bot.app import build_send_limiter
    from bot.settings import load_settings

    base = {"_env_file": None, "telegram_bot_token": "1:a", "messages_per_second": 24}
    alone = build_send_limiter(load_settings(**base))
    assert alone.plan.messages_per_second == 24 and alone.plan.paid_per_second is None
    shared = build_send_limiter(load_settings(**base, bot_processes=3))
    assert shared.plan.messages_per_second == 8
    assert alone.plan.arrivals_per_second == 29 and shared.plan.arrivals_per_second < 10
    paid = build_send_limiter(load_settings(**base, allow_paid_broadcast=True))
    assert paid.plan.paid_per_second == 100 and paid.plan.messages_per_second == 24


def test_replies_go_early_only_as_far_as_telegrams_limit_allows() -> None:
    assert PriorityRateLimiter.early_slots_for(25) == 2  # at most 28 in a second
    assert PriorityRateLimiter.early_slots_for(28) == 1
    assert PriorityRateLimiter.early_slots_for(30) == 0
    assert PriorityRateLimiter.early_slots_for(25, processes=2) == 1  # 2 x (12.5 + 1 + 1)
    assert PriorityRateLimiter.early_slots_for(25, processes=3) == 0
