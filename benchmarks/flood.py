"""Other users' reply latency while one user floods the bot (bot/flood.py).

The bot runs as its own process against the Bot API emulator. `--others` users each send
`--rounds` messages one after another (each waits for its answer) twice: once on a quiet bot,
and once right after one user queued `--flood` messages at once. Prints the other users' reply
latency p50/p95 in both runs, how many of the flooder's messages were handled, the notices the
flooder got, and when the flooder's backlog was gone.

    python -m benchmarks.flood [--flood 1000] [--others 20] [--rounds 5] [--webhook]
                               [--database sqlite|postgresql] [--flood-burst N]

`--flood-burst 0` turns flood control off (FLOOD_BURST=0): the figures without it, to compare.
As in benchmarks.throughput the overall sending ceiling (MESSAGES_PER_SECOND) is lifted, so
that the figure is the bot's own work rather than Telegram's 30 messages a second.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from benchmarks.common import scratch_database
from benchmarks.throughput import Arrivals, free_port, start, stop
from bot.emulator import BotApiEmulator, SimUser

FLOODER = 90_000
FIRST_OTHER = 91_000
ANSWER = "Persetujuan"  # what an unregistered user's /start is answered with
NOTICE = "terlalu banyak pesan"


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000


async def others_write(
    emulator: BotApiEmulator, arrivals: Arrivals, users: list[SimUser], rounds: int
) -> list[float]:
    """Each user sends `rounds` messages, one after the other; the latency of each answer."""
    latencies: list[float] = []

    async def one(user: SimUser) -> None:
        cursor = len(user.state.events)
        for _ in range(rounds):
            started = time.perf_counter()
            await user.send("/start")
            cursor = await arrivals.until(user, cursor, ANSWER, timeout=600)
            latencies.append(time.perf_counter() - started)

    await asyncio.gather(*(one(user) for user in users))
    return latencies


async def backlog_gone(emulator: BotApiEmulator, started: float) -> float:
    """Seconds from the flood until Telegram holds none of its updates any more."""
    await emulator.core.signal.wait_for(lambda: emulator.pending_updates == 0, 600)
    return time.perf_counter() - started


async def measure(args: argparse.Namespace) -> None:
    with (
        tempfile.TemporaryDirectory() as directory,
        scratch_database(args.database, directory) as url,
    ):
        emulator = BotApiEmulator()
        await emulator.start()
        arrivals = Arrivals(emulator)
        env = {"DATABASE_URL": url, "ADMIN_IDS": ""}
        if args.flood_burst is not None:
            env["FLOOD_BURST"] = str(args.flood_burst)
        bot_args = ["--messages-per-second", "100000"]
        if args.webhook:
            port = free_port()
            bot_args.append("--webhook")
            env |= {
                "WEBHOOK_URL": f"http://127.0.0.1:{port}/telegram",
                "WEBHOOK_PORT": str(port),
                "WEBHOOK_SECRET": "benchmark-webhook-secret",
            }
        bot = await start("benchmarks.bot_process", emulator, env, bot_args, Path(directory) / "b")
        try:
            others = [emulator.user(FIRST_OTHER + n) for n in range(args.others)]
            quiet = await others_write(emulator, arrivals, others, args.rounds)
            flooder = emulator.user(FLOODER, first_name="Banjir")
            started = time.perf_counter()
            for number in range(args.flood):
                await flooder.send(f"pesan nomor {number}")
            gone = asyncio.create_task(backlog_gone(emulator, started))
            flooded = await others_write(emulator, arrivals, others, args.rounds)
            backlog = await gone
            await asyncio.sleep(1.0)  # the last answers to the flooder
        finally:
            await stop(bot)
            await emulator.stop()
    answered = [e["plain"] or "" for e in flooder.state.events]
    notices = sum(NOTICE in text for text in answered)
    burst = "default (20)" if args.flood_burst is None else str(args.flood_burst)
    print(f"database              : {args.database}")
    print(f"updates reach the bot : {'webhook' if args.webhook else 'long polling'}")
    print(f"flood control         : FLOOD_BURST={burst}")
    print(f"other users           : {args.others}, {args.rounds} messages each, one at a time")
    for name, values in (("without a flooder", quiet), (f"with {args.flood} queued", flooded)):
        print(
            f"{name:<22}: others' reply p50 {percentile(values, 50):7.0f} ms, "
            f"p95 {percentile(values, 95):7.0f} ms, mean {statistics.mean(values) * 1000:7.0f} ms"
        )
    print(
        f"flooder               : {len(answered) - notices} of {args.flood} messages answered, "
        f"{notices} notice(s); Telegram's queue empty after {backlog:.1f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--flood", type=int, default=1000)
    parser.add_argument("--others", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--webhook", action="store_true")
    parser.add_argument("--flood-burst", type=int, default=None, help="0 turns flood control off")
    asyncio.run(measure(parser.parse_args()))


if __name__ == "__main__":
    main()
