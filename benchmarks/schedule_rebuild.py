"""Time to rebuild the reminder schedule from the database, and to work out one wake-up's
recipients, with 100,000 pending reminders (users × competitions × offsets).

    python -m benchmarks.schedule_rebuild --database sqlite
    python -m benchmarks.schedule_rebuild --database postgresql
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, datetime, timedelta

from benchmarks.common import scratch_database, seed_followers
from bot.services.context import ServiceContext
from bot.services.formats import FormatRegistry
from bot.services.reminders import ReminderService
from bot.settings import load_settings
from models.db import Database

OFFSETS = (14, 7, 3, 1)


def measure(kind: str, users: int, competitions: int) -> None:
    pending = users * competitions * len(OFFSETS)
    with tempfile.TemporaryDirectory() as directory, scratch_database(kind, directory) as url:
        database = Database(url)
        now = datetime.now(UTC)
        seeded = time.perf_counter()
        seed_followers(database, users, competitions, deadline=now + timedelta(days=30))
        seeded = time.perf_counter() - seeded
        ctx = ServiceContext(
            db=database,
            formats=FormatRegistry.load(),
            tz=load_settings(_env_file=None).tz,
            reminder_offsets_days=OFFSETS,
        )
        service = ReminderService(ctx)
        started = time.perf_counter()
        wake_times = service.wake_times(now)
        rebuild = time.perf_counter() - started
        # The first wake-up: every competition's 14-day reminder for every follower is due.
        first_wake = min(wake_times)
        started = time.perf_counter()
        due = service.collect_due(first_wake + timedelta(minutes=competitions * 60))
        collect = time.perf_counter() - started
        database.dispose()
    print(f"database                 : {kind}")
    print(
        f"pending reminders        : {pending:,} ({users:,} users × {competitions} "
        f"competitions × {len(OFFSETS)} offsets; seeded in {seeded:.1f} s)"
    )
    print(f"schedule rebuild         : {rebuild * 1000:.1f} ms → {len(wake_times)} wake-up jobs")
    print(f"one wake-up's due list   : {collect:.2f} s → {len(due):,} reminders to send")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--users", type=int, default=5_000)
    parser.add_argument("--competitions", type=int, default=5)
    args = parser.parse_args()
    measure(args.database, args.users, args.competitions)


if __name__ == "__main__":
    main()
