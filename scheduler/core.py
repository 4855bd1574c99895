"""Jobs derived from the database.

APScheduler (through python-telegram-bot's JobQueue) only holds *wake-ups*: one job per distinct
time something is due, with a deterministic id, rebuilt from the database at start and whenever
a source's data changes. What is due, and whether it was already sent, is decided by the source
against the database each time it wakes, and every delivery is recorded there. So a restart, a
crash in the middle of a fan-out, a duplicated or late wake-up, or a clock change can never send
something twice or lose it: nothing depends on pickled jobs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import AbstractAsyncContextManager
from datetime import datetime, timedelta
from typing import Literal, Protocol, TypeVar

from telegram.ext import ContextTypes, JobQueue

from bot.services.replies import AnyReply

log = logging.getLogger(__name__)
T = TypeVar("T")

DeliveryStatus = Literal["delivered", "blocked", "failed"]
# Sends one reply to one private chat and says what happened; provided by the composition root
# so that sources stay free of Telegram.
Sender = Callable[[int, AnyReply], Awaitable[DeliveryStatus]]
# Waits for a bulk send's turn to one chat; the claim and the send happen inside it. Provided
# by the composition root (the bot's send limiter, bot/send_limiter.py).
Turn = Callable[[int], AbstractAsyncContextManager[None]]
# How often every source is asked anyway, to catch what a missed wake-up or a clock jump left.
SWEEP_INTERVAL = timedelta(minutes=5)
SWEEP_JOB = "sweep"


class JobSource(Protocol):
    """Something that becomes due at times the database knows (reminders, session alerts)."""

    kind: str

    def wake_times(self, now: datetime) -> list[datetime]:
        """Distinct UTC times from which something will be due (including overdue ones)."""
        ...

    async def run_due(self, now: datetime, send: Sender) -> None:
        """Do everything due at `now` that is not recorded as done; record each outcome."""
        ...


class Scheduler:
    def __init__(
        self,
        job_queue: JobQueue,
        send: Sender,
        clock: Callable[[], datetime],
        still_leader: Callable[[], Awaitable[bool]] | None = None,
    ) -> None:
        self.job_queue = job_queue
        self.send = send
        self.clock = clock
        # Asked before every run: False when this process may no longer run the jobs.
        self.still_leader = still_leader
        self.stopped = False
        self.sources: dict[str, JobSource] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._running: set[asyncio.Task[None]] = set()

    def register(self, source: JobSource) -> None:
        self.sources[source.kind] = source
        self._locks[source.kind] = asyncio.Lock()

    async def start(self) -> None:
        """Arm every source's wake-ups, run what is overdue now, and sweep periodically."""
        await self.rebuild()
        self.job_queue.run_repeating(
            self._sweep, interval=SWEEP_INTERVAL, first=SWEEP_INTERVAL, name=SWEEP_JOB
        )

    async def rebuild(self, kind: str | None = None) -> int:
        """Replace the wake-up jobs of one source (or all) with those the database implies."""
        if self.stopped:
            return 0
        kinds = [kind] if kind else list(self.sources)
        armed = 0
        for name in kinds:
            source = self.sources[name]
            for job in self.job_queue.jobs():
                if job.name and job.name.startswith(f"{name}@"):
                    job.schedule_removal()
            times = await asyncio.to_thread(source.wake_times, self.clock())
            now = self.clock()
            for when in sorted(set(times)):
                self.job_queue.run_once(
                    self._wake,
                    when=max(when, now),
                    name=f"{name}@{when.isoformat()}",
                    data=name,
                )
                armed += 1
        return armed

    async def run_source(self, kind: str) -> None:
        """Run one source now; one run at a time per source so a fan-out is never doubled."""
        async with self._locks[kind]:
            if self.stopped or (self.still_leader is not None and not await self.still_leader()):
                return
            task = asyncio.current_task()
            if task is not None:
                self._running.add(task)
            try:
                await self.sources[kind].run_due(self.clock(), self.send)
            except Exception:
                log.exception("scheduled source %s failed; the next wake-up retries", kind)
            finally:
                self._running.discard(task)

    def stop(self) -> None:
        """Another process may run the jobs now: remove every wake-up and cut short the runs
        under way (a delivery claimed but cut off stays unconfirmed, never sent twice)."""
        self.stopped = True
        prefixes = tuple(f"{kind}@" for kind in self.sources)
        for job in self.job_queue.jobs():
            if job.name == SWEEP_JOB or (job.name or "").startswith(prefixes):
                job.schedule_removal()
        for task in self._running:
            if task is not asyncio.current_task():
                task.cancel()

    async def _wake(self, context: ContextTypes.DEFAULT_TYPE) -> None:
        await self.run_source(context.job.data)

    async def _sweep(self, context: ContextTypes.DEFAULT_TYPE) -> None:
        # Re-arm too: another process (e.g. `klinik lomba import`) may have changed the data.
        await self.rebuild()
        for kind in self.sources:
            await self.run_source(kind)


@contextlib.asynccontextmanager
async def unpaced(chat_id: int) -> AsyncIterator[None]:
    """A `Turn` that never waits (domain tests; the bot passes its send limiter's)."""
    yield


async def paced_fan_out(
    items: Iterable[T],
    deliver: Callable[[T], Awaitable[None]],
    turn: Turn,
    chat_of: Callable[[T], int],
    concurrency: int = 8,
) -> None:
    """Run `deliver` for every item inside its recipient's `turn`, with bounded concurrency.

    The turn (a bulk slot of the bot's send limiter, behind any interactive reply) is taken
    *before* `deliver` runs, and `deliver` claims its item first thing: so a claim is never
    left waiting in a queue, and a process killed mid fan-out leaves at most the messages
    actually in flight unconfirmed.
    """
    slots = asyncio.Semaphore(concurrency)

    async def one(item: T) -> None:
        async with slots, turn(chat_of(item)):
            await deliver(item)

    await asyncio.gather(*(one(item) for item in items))
