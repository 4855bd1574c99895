"""Reminder fan-out against the Bot API emulator with Telegram's flood limits enforced.

Prints the achieved rate against the configured ceiling and the number of 429 answers.

    python -m benchmarks.fanout --users 600 --database sqlite
    python -m benchmarks.fanout --users 600 --database postgresql
    python -m benchmarks.fanout --users 300 --api-latency-ms 300

`--api-latency-ms` gives every Bot API call that round trip: a send keeps its place in the
limiter's arrival window until a second after its answer, so a long round trip lowers the
rate the window allows (29 / (1 s + round trip)).
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from datetime import UTC, datetime, timedelta

from benchmarks.common import scratch_database, seed_followers
from bot.app import build_application, prepare_database, start_polling_in_loop, stop_polling_in_loop
from bot.emulator import BotApiEmulator
from bot.settings import load_settings
from models.db import Database


async def measure(users: int, kind: str, rate: float, latency_ms: float) -> None:
    tz = load_settings(_env_file=None).tz
    with tempfile.TemporaryDirectory() as directory, scratch_database(kind, directory) as url:
        # A reminder that fell due a minute ago: the bot sends it as soon as it starts.
        moment = datetime.now(UTC).astimezone(tz) - timedelta(minutes=1)
        deadline = (moment + timedelta(days=7)).replace(hour=23, minute=59, second=0)
        database = Database(url)
        seed_followers(database, users, competitions=1, deadline=deadline)
        database.dispose()
        emulator = BotApiEmulator(latency=latency_ms / 1000)
        await emulator.start()
        for offset in range(users):
            emulator.user(10_000 + offset, first_name=f"U{offset}")
        emulator.enforce_rate_limits(per_chat_per_sec=1.0, overall_per_sec=30.0)
        settings = load_settings(
            _env_file=None,
            telegram_bot_token=emulator.token,
            telegram_api_url=emulator.base_url,
            database_url=url,
            messages_per_second=rate,
            reminder_offsets_days="7",
            reminder_time=moment.time().replace(second=0, microsecond=0),
        ).check()
        application = build_application(settings, prepare_database(settings))
        await start_polling_in_loop(application, poll_timeout=1)
        deadline_to_finish = time.monotonic() + users / rate * 3 + 30
        while len(_reminders(emulator)) < users and time.monotonic() < deadline_to_finish:
            await asyncio.sleep(0.2)
        sends = _reminders(emulator)
        await stop_polling_in_loop(application)
        await emulator.stop()
    elapsed = (sends[-1].at - sends[0].at) if len(sends) > 1 else float("nan")
    print(f"database            : {kind}")
    print(f"recipients          : {users}")
    print(f"delivered           : {len(sends)} (each chat once: {len({c.chat_id for c in sends})})")
    print(f"first to last send  : {elapsed:.2f} s")
    print(f"achieved rate       : {(len(sends) - 1) / elapsed:.1f} msg/s")
    print(f"configured ceiling  : {rate:.1f} msg/s (Telegram: ~30 msg/s, 1 msg/s per chat)")
    print(f"Bot API round trip  : {latency_ms:g} ms")
    print(f"429 answers         : {emulator.count_429}")


def _reminders(emulator: BotApiEmulator) -> list:
    return [c for c in emulator.calls_to("sendMessage") if c.ok]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=600)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--rate", type=float, default=25.0, help="MESSAGES_PER_SECOND")
    parser.add_argument("--api-latency-ms", type=float, default=0.0)
    args = parser.parse_args()
    asyncio.run(measure(args.users, args.database, args.rate, args.api_latency_ms))


if __name__ == "__main__":
    main()
