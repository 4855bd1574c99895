"""Fairness of the sending budget: do users drafting a proposal wait while a fan-out goes out?

The Bot API emulator enforces Telegram's flood limits (at most 30 sends in any second, a
private chat's bucket of 3 refilled at 1 a second, 20 a minute per group) and counts its 429
answers. `--users` simulated users draft proposals (an answer, the bot's next question, a pause
to think, the next answer), first alone (the baseline), then while a deadline reminder goes out
to `--followers` users. Prints the drafting users' reply time p50/p95 without and with the
fan-out, the fan-out's rate and duration against the ceiling minus the replies' own traffic,
and the number of 429 answers.

    python -m benchmarks.fairness --followers 300 --users 5
    python -m benchmarks.fairness --followers 3000 --users 50 [--database postgresql]

The bot runs in this process, on the same event loop as the emulator and the users.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert
from sqlmodel import select

from benchmarks.common import scratch_database
from benchmarks.throughput import Arrivals, Step, drafting_steps
from bot.app import build_application, prepare_database, start_polling_in_loop, stop_polling_in_loop
from bot.emulator import BotApiEmulator, SimUser
from bot.runtime import runtime_of
from bot.services.formats import load_data_list
from bot.services.opd_admin import seed_default_opds
from bot.settings import load_settings
from models.competitions import Competition, Follow, Stage
from models.db import Database
from models.tables import User

FIRST_FOLLOWER = 100_000
FIRST_DRAFTER = 10_000
TELEGRAM_OVERALL = 30.0


@dataclass
class Phase:
    """Reply times of the drafting users' steps that started in one phase."""

    latencies: list[float] = field(default_factory=list)

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        if not ordered:
            return float("nan")
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000


def seed(url: str, followers: int, drafters: int, deadline: datetime) -> None:
    """Registered followers and drafting users, and a competition with one stage; nobody
    follows it yet (the fan-out starts when the followers do)."""
    now = datetime.now(UTC)
    database = Database(url)
    ids = [FIRST_FOLLOWER + n for n in range(followers)] + [
        FIRST_DRAFTER + n for n in range(drafters)
    ]
    with database.session() as session:
        seed_default_opds(session, load_data_list("opd_default"))
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
                for uid in ids
            ],
        )
        competition = Competition(name="Lomba", organiser="Bappeda", level="Nasional", year=2026)
        session.add(competition)
        session.flush()
        session.add(Stage(competition_id=competition.id, name="Tenggat", deadline_at=deadline))
    database.dispose()


def follow(url: str, followers: int) -> None:
    now = datetime.now(UTC)
    database = Database(url)
    with database.session() as session:
        competition = session.exec(select(Competition)).one()
        session.execute(
            insert(Follow),
            [
                {"user_id": FIRST_FOLLOWER + n, "competition_id": competition.id, "created_at": now}
                for n in range(followers)
            ],
        )
    database.dispose()


class Drafters:
    """Users who draft without end: /ide, the format, 19 sections, again; each step's reply
    time goes to the phase it started in."""

    def __init__(self, emulator: BotApiEmulator, count: int, think: float) -> None:
        self.emulator = emulator
        self.arrivals = Arrivals(emulator)
        self.ids = [FIRST_DRAFTER + n for n in range(count)]
        self.think = think
        self.phase: Phase | None = None
        self.stopping = False
        self.random = random.Random(7)

    async def run(self) -> None:
        await asyncio.gather(*(self._one(uid) for uid in self.ids))

    async def _one(self, uid: int) -> None:
        user = self.emulator.user(uid, first_name=f"U{uid}")
        cursor = len(user.state.events)
        await asyncio.sleep(self.random.uniform(0, self.think))  # users do not act in step
        while not self.stopping:
            for step in drafting_steps(uid)[5:]:  # registered already: from /ide on
                if self.stopping:
                    return
                cursor = await self._step(user, step, cursor)
                await asyncio.sleep(self.think * self.random.uniform(0.5, 1.5))

    async def _step(self, user: SimUser, step: Step, cursor: int) -> int:
        phase, started = self.phase, time.perf_counter()
        await step.act(user)
        cursor = await self.arrivals.until(user, cursor, step.expected, timeout=120)
        if phase is not None and phase is self.phase:
            phase.latencies.append(time.perf_counter() - started)
        return cursor


def reminders(emulator: BotApiEmulator) -> list:
    return [
        c
        for c in emulator.calls_to("sendMessage")
        if c.ok and c.chat_id is not None and c.chat_id >= FIRST_FOLLOWER
    ]


def max_in_any_second(stamps: list[float]) -> int:
    most, start = 0, 0
    for end, stamp in enumerate(stamps):
        while stamp - stamps[start] >= 1.0:
            start += 1
        most = max(most, end - start + 1)
    return most


async def measure(args: argparse.Namespace) -> None:
    tz = load_settings(_env_file=None).tz
    with (
        tempfile.TemporaryDirectory() as directory,
        scratch_database(args.database, directory) as url,
    ):
        moment = datetime.now(UTC).astimezone(tz) - timedelta(minutes=1)
        deadline = (moment + timedelta(days=7)).replace(hour=23, minute=59, second=0)
        seed(url, args.followers, args.users, deadline)
        emulator = BotApiEmulator(latency=args.api_latency_ms / 1000)
        await emulator.start()
        for n in range(args.followers):
            emulator.user(FIRST_FOLLOWER + n, first_name=f"F{n}")
        emulator.enforce_rate_limits(
            per_chat_per_sec=1.0, burst=3, overall_per_sec=TELEGRAM_OVERALL, group_per_min=20
        )
        settings = load_settings(
            _env_file=None,
            telegram_bot_token=emulator.token,
            telegram_api_url=emulator.base_url,
            database_url=url,
            messages_per_second=args.rate,
            reminder_offsets_days="7",
            reminder_time=moment.time().replace(second=0, microsecond=0),
        ).check()
        application = build_application(settings, prepare_database(settings))
        await start_polling_in_loop(application, poll_timeout=1)
        drafters = Drafters(emulator, args.users, args.think_ms / 1000)
        users = asyncio.create_task(drafters.run())

        await asyncio.sleep(args.think_ms / 1000 * 2)  # everyone has started a draft
        baseline = Phase()
        drafters.phase = baseline
        await asyncio.sleep(args.baseline_seconds)

        during = Phase()
        drafters.phase = during
        sends_before = len([c for c in emulator.calls if c.ok and c.method == "sendMessage"])
        calls_before = len(emulator.calls)
        await asyncio.to_thread(follow, url, args.followers)
        started = time.time()
        await runtime_of(application.bot_data).scheduler.run_source("reminders")
        finished = time.time()
        drafters.phase = None
        drafters.stopping = True
        sent = reminders(emulator)
        window = [c for c in emulator.calls[calls_before:] if started <= c.at <= finished]
        await asyncio.wait_for(users, 120)
        await stop_polling_in_loop(application)
        await emulator.stop()

    report(args, baseline, during, sent, window, sends_before, emulator.count_429)


def report(
    args: argparse.Namespace,
    baseline: Phase,
    during: Phase,
    sent: list,
    window: list,
    sends_before: int,
    count_429: int,
) -> None:
    counts = Counter(c.chat_id for c in sent)
    duration = sent[-1].at - sent[0].at if len(sent) > 1 else float("nan")
    fan_out_rate = (len(sent) - 1) / duration
    flood = [c for c in window if c.ok and c.method.lower() in FLOOD]
    interactive = [c for c in flood if c.chat_id is None or c.chat_id < FIRST_FOLLOWER]
    interactive_rate = len(interactive) / duration
    target = 0.9 * (args.rate - interactive_rate)
    ratio = during.percentile(95) / baseline.percentile(95)
    busiest = max_in_any_second(sorted(c.at for c in flood))
    print(f"database                     : {args.database}")
    print(f"followers / drafting users   : {args.followers} / {args.users}")
    print(
        f"ceiling                      : {args.rate:.1f} msg/s (Telegram: {TELEGRAM_OVERALL:.0f})"
    )
    print(
        f"replies without fan-out      : p50 {baseline.percentile(50):5.0f} ms, "
        f"p95 {baseline.percentile(95):5.0f} ms ({len(baseline.latencies)} steps)"
    )
    print(
        f"replies during fan-out       : p50 {during.percentile(50):5.0f} ms, "
        f"p95 {during.percentile(95):5.0f} ms ({len(during.latencies)} steps); "
        f"p95 {ratio:.2f}x baseline (target <= 1.5x)"
    )
    print(
        f"fan-out                      : {len(sent)} of {args.followers} delivered, "
        f"{sum(1 for n in counts.values() if n == 1)} exactly once, in {duration:.1f} s"
    )
    print(
        f"fan-out rate                 : {fan_out_rate:.1f} msg/s; replies meanwhile "
        f"{interactive_rate:.1f} msg/s; target >= 90% of ceiling - replies = {target:.1f}"
    )
    print(f"most sends in any 1 s        : {busiest} (Telegram allows {TELEGRAM_OVERALL:.0f})")
    print(f"429 answers                  : {count_429}")
    print(f"(sends before the fan-out    : {sends_before})")


FLOOD = {"sendmessage", "senddocument", "copymessage", "editmessagetext", "editmessagereplymarkup"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--followers", type=int, default=300)
    parser.add_argument("--users", type=int, default=5, help="users drafting at the same time")
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--rate", type=float, default=25.0, help="MESSAGES_PER_SECOND")
    parser.add_argument(
        "--think-ms", type=float, default=1500, help="a user's mean pause between two steps"
    )
    parser.add_argument("--baseline-seconds", type=float, default=30.0)
    parser.add_argument("--api-latency-ms", type=float, default=0.0)
    asyncio.run(measure(parser.parse_args()))


if __name__ == "__main__":
    main()
