"""How the bot spends Telegram's sending budget: replies first, bulk sends evenly behind them.

Telegram stops a bot at about 30 messages a second overall, one a second to a chat (short
bursts tolerated) and 20 a minute to a group, answering 429 past them. That budget binds long
before the CPU does, so it is spent deliberately here, in python-telegram-bot's rate-limiter
extension point (`BaseRateLimiter`), through which every Bot API call passes:

- **Two lanes.** A reply to a user who just wrote or pressed a button (the *interactive* lane,
  the default) is sent before any *bulk* send (reminders, broadcasts, offers to mentors,
  notices: what the scheduler sends, marked with ``rate_limit_args="bulk"``). So that bulk sends
  still progress under heavy use, a reserved share of the slots goes to them while both wait.
- **Even spacing, no burst.** Sends are granted one slot every ``1 / rate`` seconds; an idle
  limiter does not save up slots, so a fan-out never opens with a burst of the whole rate. A
  reply may take the coming slots early (up to 2, while the ceiling plus them stays under
  Telegram's 30), so it does not wait for a busy fan-out's next slot.
- **Per chat.** A bulk send to a private chat waits for that chat's bucket (3, refilled at 1
  a second), which the replies to it also drain: a reminder right after a user's own reply
  waits its second. Replies themselves are counted but not held: each answers the user's own
  message (Telegram tolerates that burst) and holding them would add a second to every answer
  of several messages. Groups get at most 20 sends in any minute, replies included. A request
  whose chat is not ready waits without holding back the requests behind it.
- **Whatever the network does.** Telegram counts a send when it *arrives*, which can be any
  moment between its slot and its answer: a stalled connection or a busy server delivers
  several at once. So a free send keeps its place in an overall window from its slot until
  one second after its answer, and no more than Telegram's 30 a second (less one, shared
  between the processes) may hold a place: then no second of arrivals can hold more, however
  the requests bunch on the way. With a steady round trip this costs nothing (25 a second
  needs only 25 × (1 + round trip) places).
- **A 429** pauses the chat it hit for ``retry_after``, and its lane too unless that chat had
  gone over its own rate; never every request of the bot. Then the request is tried again,
  up to ``max_retries`` times (the retry policy in handlers/sending.py takes over after).
- **Paid broadcasts** (opt-in): bulk sends carry ``allow_paid_broadcast`` and are paced by their
  own ceiling (up to 1,000 a second, billed in Stars), while replies keep the free ceiling.

`SendPlan` decides (pure, given the time, tested with a fake clock); `PriorityRateLimiter`
runs it on the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Coroutine
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Literal

from telegram._utils.types import JSONDict
from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

log = logging.getLogger(__name__)

Lane = Literal["interactive", "bulk"]
INTERACTIVE: Lane = "interactive"
BULK: Lane = "bulk"
# Methods that put or change a message in a chat: the ones Telegram's flood control counts.
# Everything else (answering a button, getMe, setMyCommands...) passes straight through.
COUNTED_PREFIXES = ("send", "copyMessage", "forwardMessage", "edit")
# Telegram's overall limit, messages a second: the ceiling plus the replies' early slots stay
# under it.
TELEGRAM_PER_SECOND = 30.0
# One private chat: a bucket of 3 sends refilled at 1 a second (the short burst a reply of
# several messages needs). One group: at most 20 sends in any 60 seconds.
PRIVATE_BUCKET = (3.0, 1.0)
GROUP_WINDOW = (20, 60.0)


@dataclass(eq=False)
class Request:
    """One send waiting for its slot; `granted` is set when it may go."""

    lane: Lane
    chat_id: int | None
    paid: bool = False
    granted: asyncio.Future[None] | None = None
    # Holds a place in the overall arrival window, from its slot until its answer.
    in_window: bool = False


@dataclass
class _Pace:
    """Evenly spaced slots: the next one is due at `next_at`, never earlier than now."""

    interval: float
    next_at: float = 0.0

    def take(self, now: float) -> None:
        if now < self.next_at:  # a reply going one slot early takes the coming slot
            self.next_at += self.interval
            return
        # A slot taken a little late (the event loop was busy) keeps the schedule, so jitter
        # costs no throughput; after a pause longer than a slot the schedule starts afresh.
        start = self.next_at if now - self.next_at < self.interval else now
        self.next_at = start + self.interval


@dataclass
class _Bucket:
    """A private chat's budget: `capacity` sends, refilled at `rate` a second."""

    capacity: float
    rate: float
    now: float
    tokens: float = field(init=False)

    def __post_init__(self) -> None:
        self.tokens = self.capacity

    def _refill(self, at: float) -> float:
        return min(self.capacity, self.tokens + max(0.0, at - self.now) * self.rate)

    def ready_at(self, at: float) -> float:
        tokens = self._refill(at)
        return at if tokens >= 1.0 else at + (1.0 - tokens) / self.rate

    def take(self, at: float) -> None:
        self.tokens, self.now = self._refill(at) - 1.0, at

    def full(self, at: float) -> bool:
        return self._refill(at) >= self.capacity


@dataclass
class _ArrivalWindow:
    """Sends that may arrive at Telegram within one second of now: those still unanswered and
    those answered less than a second ago. While fewer than `limit` hold a place, one more
    cannot make any second of arrivals exceed `limit`: every send that arrives in the same
    second as it is still unanswered, or was answered less than a second before it starts."""

    limit: float
    unanswered: int = 0
    answered: deque[float] = field(default_factory=deque)

    def ready_at(self, at: float) -> float | None:
        """When, from `at` on, a send may take a place (None: not before an answer)."""
        held = [moment for moment in self.answered if moment > at - 1.0]
        leaving = self.unanswered + len(held) + 1 - int(self.limit)
        if leaving <= 0:
            return at
        if leaving > len(held):
            return None
        return held[leaving - 1] + 1.0

    def forget(self, now: float) -> None:
        while self.answered and self.answered[0] <= now - 1.0:
            self.answered.popleft()

    def enter(self, request: Request) -> None:
        request.in_window = True
        self.unanswered += 1

    def leave(self, request: Request, now: float) -> None:
        if request.in_window:
            request.in_window = False
            self.unanswered -= 1
            self.answered.append(now)


@dataclass
class SendPlan:
    """Which waiting request goes next, and when; no I/O and no clock of its own."""

    messages_per_second: float
    bulk_share: float = 0.2
    paid_per_second: float | None = None
    # Slots a reply may go ahead of the schedule (each pushes the bulk sends back one slot).
    early_slots: int = 1
    # Free sends that may arrive in any one second, whatever the network's delays.
    arrivals_per_second: float = TELEGRAM_PER_SECOND - 1
    _queues: dict[Lane, deque[Request]] = field(init=False)
    _free: _Pace = field(init=False)
    _paid: _Pace | None = field(init=False)
    _buckets: dict[int, _Bucket] = field(default_factory=dict, init=False)
    _sent: dict[int, deque[float]] = field(default_factory=dict, init=False)
    _chat_paused: dict[int, float] = field(default_factory=dict, init=False)
    _lane_paused: dict[Lane, float] = field(default_factory=dict, init=False)
    _bulk_credit: float = field(default=0.0, init=False)
    _arrivals: _ArrivalWindow = field(init=False)

    def __post_init__(self) -> None:
        self._queues = {INTERACTIVE: deque(), BULK: deque()}
        self._arrivals = _ArrivalWindow(self.arrivals_per_second)
        self._free = _Pace(1.0 / self.messages_per_second)
        self._paid = _Pace(1.0 / self.paid_per_second) if self.paid_per_second else None

    def push(self, request: Request) -> None:
        self._queues[request.lane].append(request)

    def discard(self, request: Request) -> None:
        with contextlib.suppress(ValueError):
            self._queues[request.lane].remove(request)

    def waiting(self, lane: Lane) -> int:
        return len(self._queues[lane])

    def pause(self, lane: Lane, chat_id: int | None, now: float, until: float) -> None:
        """A 429: nothing more to this chat before `until`, nor in this lane unless the chat
        had gone over its own rate (then the 429 is about that chat alone)."""
        if chat_id is not None:
            self._chat_paused[chat_id] = max(self._chat_paused.get(chat_id, 0.0), until)
            if self.over_chat_limit(chat_id, now):
                return
        self._lane_paused[lane] = max(self._lane_paused.get(lane, 0.0), until)

    def answered(self, request: Request, now: float) -> None:
        """A granted request is done (answered, failed or never sent): it leaves the arrival
        window a second from now. Once per request; later calls change nothing."""
        self._arrivals.leave(request, now)

    def take(self, now: float) -> Request | None:
        """The request that may be sent now (removed from its queue), or None."""
        self._arrivals.forget(now)
        order = self._lane_order()
        # A reply may go a slot early only while the bulk lane has not earned that slot.
        early = order[0] == INTERACTIVE
        for lane in order:
            request = self._first_ready(lane, now, early)
            if request is None:
                continue
            self._queues[lane].remove(request)
            self._grant(request, now)
            return request
        return None

    def wake_at(self, now: float) -> float | None:
        """When `take` may next succeed (None: nothing waits, or nothing can go before an
        answer comes back); a lower bound, asked again then."""
        early = self._lane_order()[0] == INTERACTIVE  # as `take` will judge it
        times = [
            at
            for queue in self._queues.values()
            for request in queue
            if (at := self._ready_at(request, early)) is not None
        ]
        return max(now, min(times)) if times else None

    # -- internals -----------------------------------------------------------------------------

    def _lane_order(self) -> tuple[Lane, Lane]:
        # The bulk lane's reserved share: it earns credit for each slot it waits through, and
        # goes first once it has a whole slot's worth.
        if self._queues[BULK] and self._bulk_credit >= 1.0:
            return BULK, INTERACTIVE
        return INTERACTIVE, BULK

    def _grant(self, request: Request, now: float) -> None:
        self._pace_of(request).take(now)
        chat_id = request.chat_id
        if chat_id is not None and chat_id < 0:
            sent = self._sent.setdefault(chat_id, deque())
            sent.append(now)
            while len(sent) > GROUP_WINDOW[0]:
                sent.popleft()
        elif chat_id is not None:
            self._buckets.setdefault(chat_id, _Bucket(*PRIVATE_BUCKET, now=now)).take(now)
        if request.paid:
            return
        self._arrivals.enter(request)
        if request.lane == BULK:
            self._bulk_credit = max(0.0, self._bulk_credit - 1.0)
        elif self._queues[BULK]:
            self._bulk_credit = min(
                1.0, self._bulk_credit + self.bulk_share / (1 - self.bulk_share)
            )

    def _first_ready(self, lane: Lane, now: float, early: bool) -> Request | None:
        if self._lane_paused.get(lane, 0.0) > now:
            return None
        for request in self._queues[lane]:
            at = self._ready_at(request, early)
            if at is not None and at <= now:
                return request
        return None

    def _ready_at(self, request: Request, early_reply: bool) -> float | None:
        """The earliest time this request's lane, chat, pace and the arrival window all allow
        it (None: not before an answer comes back)."""
        pace = self._pace_of(request)
        # A reply may go `early_slots` ahead of the schedule (the bulk sends after it then
        # wait as many slots more): it need not wait for the next slot of a busy fan-out, and
        # any second holds at most that many sends over the ceiling (kept under Telegram's).
        replying = early_reply and request.lane == INTERACTIVE and not request.paid
        early = pace.interval * self.early_slots if replying else 0.0
        at = max(pace.next_at - early, self._lane_paused.get(request.lane, 0.0))
        if not request.paid:
            at = self._arrivals.ready_at(at)
            if at is None:
                return None
        chat_id = request.chat_id
        if chat_id is None:
            return at
        at = max(at, self._chat_paused.get(chat_id, 0.0))
        if chat_id < 0:
            sent = self._sent.get(chat_id)
            limit, period = GROUP_WINDOW
            if sent and len(sent) >= limit:
                at = max(at, sent[-limit] + period)
            return at
        bucket = self._buckets.get(chat_id)
        if bucket is None or request.lane == INTERACTIVE:
            return at  # a reply is counted against its chat, never held by it (see above)
        return max(at, bucket.ready_at(at))

    def over_chat_limit(self, chat_id: int, now: float) -> bool:
        """Whether `chat_id` has had more than its own rate: a 429 then is about the chat."""
        if chat_id < 0:
            sent = self._sent.get(chat_id)
            return bool(sent) and len(sent) >= GROUP_WINDOW[0] and sent[0] > now - GROUP_WINDOW[1]
        bucket = self._buckets.get(chat_id)
        return bucket is not None and bucket.ready_at(now) > now

    def _pace_of(self, request: Request) -> _Pace:
        return self._paid if request.paid and self._paid is not None else self._free

    def forget_idle_chats(self, now: float) -> None:
        """Drop send records older than any window, so memory follows only active chats."""
        horizon = now - GROUP_WINDOW[1]
        for chat_id in [c for c, sent in self._sent.items() if not sent or sent[-1] < horizon]:
            del self._sent[chat_id]
        for chat_id in [c for c, bucket in self._buckets.items() if bucket.full(now)]:
            del self._buckets[chat_id]
        for chat_id in [c for c, until in self._chat_paused.items() if until < now]:
            del self._chat_paused[chat_id]


@dataclass
class _Prepaid:
    """A bulk slot already granted for one chat by `bulk_turn`; its first send uses it."""

    request: Request
    used: bool = False


_PREPAID: ContextVar[_Prepaid | None] = ContextVar("klinik_prepaid_send", default=None)


class PriorityRateLimiter(BaseRateLimiter[str]):
    """The bot's rate limiter: `SendPlan` run on the event loop (see the module's docstring).

    ``rate_limit_args="bulk"`` marks a bulk send; anything else is interactive.
    """

    @staticmethod
    def early_slots_for(messages_per_second: float, processes: int = 1) -> int:
        """Early slots for replies that keep every process together under Telegram's limit:
        one process's sends in any second are at most its share of the ceiling, plus its
        early slots, plus one (a second can begin and end on a slot)."""
        headroom = (TELEGRAM_PER_SECOND - messages_per_second) / processes - 1
        return max(0, min(2, int(headroom)))

    def __init__(
        self,
        messages_per_second: float,
        bulk_share: float = 0.2,
        *,
        paid_per_second: float | None = None,
        early_slots: int = 1,
        arrivals_per_second: float = TELEGRAM_PER_SECOND - 1,
        max_retries: int = 3,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.plan = SendPlan(
            messages_per_second, bulk_share, paid_per_second, early_slots, arrivals_per_second
        )
        self.max_retries = max_retries
        self.clock = clock
        self._changed = asyncio.Event()
        self._dispatcher: asyncio.Task[None] | None = None

    async def initialize(self) -> None:
        self._ensure_dispatcher()

    async def shutdown(self) -> None:
        if self._dispatcher is not None:
            self._dispatcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._dispatcher
            self._dispatcher = None

    @contextlib.asynccontextmanager
    async def bulk_turn(self, chat_id: int) -> AsyncIterator[None]:
        """Wait for a bulk slot to `chat_id`, then run the block: its first bulk send to that
        chat goes out at once. A fan-out claims its item inside the block, so nothing claimed
        ever waits in a queue (a process killed mid fan-out leaves only what was in flight)."""
        request = Request(BULK, chat_id, paid=self.plan.paid_per_second is not None)
        await self._turn(request)
        token = _PREPAID.set(_Prepaid(request))
        try:
            yield
        finally:
            _PREPAID.reset(token)
            self._answered(request)  # if its send never went (the item was taken elsewhere)

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | JSONDict | list[JSONDict]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: str | None,
    ) -> bool | JSONDict | list[JSONDict]:
        if not endpoint.startswith(COUNTED_PREFIXES):
            return await callback(*args, **kwargs)
        lane: Lane = BULK if rate_limit_args == BULK else INTERACTIVE
        chat_id = _chat_of(data)
        paid = bool(data.get("allow_paid_broadcast"))
        for attempt in range(self.max_retries + 1):
            request = self._prepaid(chat_id) if attempt == 0 and lane == BULK else None
            if request is None:
                request = Request(lane, chat_id, paid)
                await self._turn(request)
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as exc:
                wait, now = _seconds(exc.retry_after), self.clock()
                self.plan.pause(lane, chat_id, now, now + wait)
                self._changed.set()
                if attempt == self.max_retries:
                    log.warning("429 on %s to %s after %d retries", endpoint, chat_id, attempt)
                    raise
                log.info("429 on %s to %s: %s lane paused %.1f s", endpoint, chat_id, lane, wait)
            finally:
                self._answered(request)
        raise AssertionError("unreachable")  # pragma: no cover

    # -- internals -----------------------------------------------------------------------------

    def _prepaid(self, chat_id: int | None) -> Request | None:
        prepaid = _PREPAID.get()
        if prepaid is None or prepaid.used or prepaid.request.chat_id != chat_id:
            return None
        prepaid.used = True
        return prepaid.request

    def _answered(self, request: Request) -> None:
        if request.in_window:
            self.plan.answered(request, self.clock())
            self._changed.set()  # a send waiting for an answer now knows when it may go

    async def _turn(self, request: Request) -> None:
        self._ensure_dispatcher()
        request.granted = asyncio.get_running_loop().create_future()
        self.plan.push(request)
        self._changed.set()
        try:
            await request.granted
        except asyncio.CancelledError:
            self.plan.discard(request)
            self._answered(request)  # granted just as it was cancelled: it will not go
            raise

    def _ensure_dispatcher(self) -> None:
        if self._dispatcher is None or self._dispatcher.done():
            self._dispatcher = asyncio.get_running_loop().create_task(self._dispatch())

    async def _dispatch(self) -> None:
        swept = self.clock()
        while True:
            now = self.clock()
            request = self.plan.take(now)
            if request is not None:
                if request.granted is not None and not request.granted.done():
                    request.granted.set_result(None)
                else:  # its sender gave up waiting
                    self._answered(request)
                continue
            if now - swept > GROUP_WINDOW[1]:
                self.plan.forget_idle_chats(now)
                swept = now
            wake = self.plan.wake_at(now)
            self._changed.clear()
            timeout = None if wake is None else max(wake - now, 0.001)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), timeout)


def _chat_of(data: dict[str, Any]) -> int | None:
    chat_id = data.get("chat_id")
    with contextlib.suppress(ValueError, TypeError):
        return int(chat_id)  # type: ignore[arg-type]
    return None  # an @username: only the overall pace applies


def _seconds(retry_after: int | float | timedelta) -> float:
    if isinstance(retry_after, timedelta):
        return retry_after.total_seconds()
    return float(retry_after)
