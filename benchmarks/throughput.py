"""Update throughput and latency: N simulated users go through the whole drafting flow at once
(registration, a new proposal, all 19 sections: 26 updates each) against the bot running as
its own process over the Bot API emulator; then as many users send the same number of texts to
a bare python-telegram-bot echo bot on the same emulator. Prints updates per second and
p50/p95/p99 time from update to the reply that completes it, for both, with the ratio.

    python -m benchmarks.throughput [--users 200] [--database sqlite|postgresql]
                                    [--api-latency-ms 0] [--webhook [--processes 1]]

`--webhook` has the bot take updates over a webhook instead of long polling; with
`--processes N`, N bot processes share the webhook port (SO_REUSEPORT).

On loopback a Bot API call costs no time, so both bots are bound by CPU alone and the figure
compares the work each does per update. `--api-latency-ms` makes every call take that long
first, as the round trip to api.telegram.org does in production (100-250 ms from Indonesia):
then the echo bot, one update at a time, waits on every call, while the bot serves other users
meanwhile. Use fewer users with it (e.g. 50): the echo bot needs users x 26 round trips.

The bot's overall sending ceiling (MESSAGES_PER_SECOND, Telegram's ~30 messages a second) is
lifted by default so that the figure is the bot's own capacity; `--production-ceiling` keeps it.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.common import scratch_database
from bot.emulator import BotApiEmulator, SimUser

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SECTION_TEXT = (
    "Kader posyandu mencatat kunjungan ibu hamil setiap minggu dan melaporkannya kepada bidan "
    "desa melalui aplikasi, sehingga risiko tinggi terdeteksi lebih awal dan ditangani segera. "
) * 3
FIRST_NINE = (
    "Inovasi nomor {uid}",
    "ASN",
    "Penerapan",
    "Digital",
    "publik",
    "Non tematik",
    "Kesehatan",
    "Maret 2025",
    "Juli 2025",
)
STEPS_PER_USER = 26


@dataclass
class Step:
    act: Callable[[SimUser], Awaitable[Any]]
    expected: str


def drafting_steps(uid: int) -> list[Step]:
    """Registration, /ide, the IID format, then the 19 sections, each with the text that
    shows the step is complete (the next question)."""

    def send(text: str) -> Callable[[SimUser], Awaitable[Any]]:
        return lambda user: user.send(text)

    def press(label: str | None) -> Callable[[SimUser], Awaitable[Any]]:
        async def act(user: SimUser) -> None:
            chosen = label or user.buttons()[0][0][0]  # the first search result
            await user.press(chosen, expect_answer=False)

        return act

    steps = [
        Step(send("/start"), "Persetujuan"),
        Step(press("Saya setuju"), "nama lengkap"),
        Step(send(f"Pengguna Nomor {uid}"), "Di OPD mana"),
        Step(send("kesehatan"), "Pilih OPD"),
        Step(press(None), "Pendaftaran selesai"),
        Step(send("/ide"), "Pilih format"),
        Step(press("Profil Inovasi Daerah"), "Bagian 1 dari 19"),
    ]
    answers = [t.format(uid=uid) for t in FIRST_NINE] + [SECTION_TEXT] * 10
    for number, answer in enumerate(answers, start=1):
        expected = f"Bagian {number + 1} dari 19" if number < 19 else "Semua bagian sudah dilalui"
        steps.append(Step(send(answer), expected))
    assert len(steps) == STEPS_PER_USER
    return steps


def echo_steps(uid: int) -> list[Step]:
    texts = [f"pesan {n} dari {uid}" for n in range(STEPS_PER_USER)]
    return [Step(lambda user, t=t: user.send(t), t) for t in texts]


@dataclass
class Result:
    name: str
    updates: int
    seconds: float
    latencies: list[float] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.updates / self.seconds

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000

    def line(self) -> str:
        return (
            f"{self.name:<22}: {self.updates:>6} updates in {self.seconds:6.1f} s = "
            f"{self.rate:7.1f} updates/s; latency p50 {self.percentile(50):6.0f} ms, "
            f"p95 {self.percentile(95):6.0f} ms, p99 {self.percentile(99):6.0f} ms"
        )


class Arrivals:
    """Wakes the one user whose chat got a message (waiting on the emulator's shared signal
    would wake all N users for every message and make the benchmark measure itself)."""

    def __init__(self, emulator: BotApiEmulator) -> None:
        self.events: dict[int, asyncio.Event] = {}
        original = emulator.core.record_event

        def record_event(chat: Any, stored: Any, *, edited: bool) -> None:
            original(chat, stored, edited=edited)
            waiter = self.events.get(chat.id)
            if waiter is not None:
                waiter.set()

        emulator.core.record_event = record_event  # type: ignore[method-assign]

    async def until(self, user: SimUser, cursor: int, expected: str, timeout: float) -> int:
        """Wait for a message containing `expected` after event index `cursor`; returns the
        index after it."""
        event = self.events.setdefault(user.id, asyncio.Event())
        deadline = time.perf_counter() + timeout
        while True:
            events = user.state.events
            for index in range(cursor, len(events)):
                if expected in (events[index]["plain"] or ""):
                    return index + 1
            cursor = len(events)
            event.clear()
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                raise TimeoutError(f"user {user.id} never got {expected!r}\n{user.describe()}")
            await asyncio.wait_for(event.wait(), remaining)


async def drive(
    name: str,
    emulator: BotApiEmulator,
    arrivals: Arrivals,
    user_ids: list[int],
    steps_of: Callable[[int], list[Step]],
) -> Result:
    latencies: list[float] = []

    async def one_user(uid: int) -> None:
        user = emulator.user(uid, first_name=f"U{uid}")
        cursor = len(user.state.events)
        for step in steps_of(uid):
            started = time.perf_counter()
            await step.act(user)
            cursor = await arrivals.until(user, cursor, step.expected, timeout=300)
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(one_user(uid) for uid in user_ids))
    return Result(name, len(latencies), time.perf_counter() - started, latencies)


async def start(
    module: str, emulator: BotApiEmulator, env: dict[str, str], args: list[str], log: Path
) -> asyncio.subprocess.Process:
    """Start a bot process; returns once it polls (or has set its webhook)."""
    ready_call = "setWebhook" if "--webhook" in args else "getUpdates"
    calls_before = len(emulator.calls_to(ready_call))
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        module,
        *args,
        cwd=log.parent,
        env={
            **os.environ,
            "PYTHONPATH": str(PROJECT_ROOT),
            "TELEGRAM_BOT_TOKEN": emulator.token,
            "TELEGRAM_API_URL": emulator.base_url,
            **env,
        },
        stdout=log.open("wb"),
        stderr=asyncio.subprocess.STDOUT,
    )
    for _ in range(600):
        if len(emulator.calls_to(ready_call)) > calls_before:
            return process
        if process.returncode is not None:
            raise RuntimeError(f"{module} ended early:\n{log.read_text()}")
        await asyncio.sleep(0.1)
    raise RuntimeError(f"{module} did not start")


async def stop(process: asyncio.subprocess.Process) -> None:
    process.terminate()
    try:
        await asyncio.wait_for(process.wait(), 20)
    except TimeoutError:
        process.kill()


async def measure(
    users: int,
    kind: str,
    production_ceiling: bool,
    latency_ms: float,
    webhook: bool,
    processes: int,
) -> None:
    with tempfile.TemporaryDirectory() as directory, scratch_database(kind, directory) as url:
        emulator = BotApiEmulator(latency=latency_ms / 1000)
        await emulator.start()
        arrivals = Arrivals(emulator)
        args = [] if production_ceiling else ["--messages-per-second", "100000"]
        # Simulated users answer within milliseconds, far faster than people: flood control
        # would turn them away (benchmarks.flood measures it).
        env = {"DATABASE_URL": url, "ADMIN_IDS": "", "FLOOD_BURST": "0"}
        if webhook:
            args.append("--webhook")
            port = free_port()
            env |= {
                "WEBHOOK_URL": f"http://127.0.0.1:{port}/telegram",
                "WEBHOOK_PORT": str(port),
                "WEBHOOK_SECRET": "benchmark-webhook-secret",
            }
        log = Path(directory) / "bot.log"
        bots = [
            await start("benchmarks.bot_process", emulator, env, args, log.with_suffix(f".{n}"))
            for n in range(processes)
        ]
        try:
            ours = await drive(
                "klinik bot",
                emulator,
                arrivals,
                list(range(10_000, 10_000 + users)),
                drafting_steps,
            )
        finally:
            for bot in bots:
                await stop(bot)
        echo = await start("benchmarks.echo_bot", emulator, {}, [], Path(directory) / "echo.log")
        try:
            bare = await drive(
                "echo bot (bare PTB)",
                emulator,
                arrivals,
                list(range(20_000, 20_000 + users)),
                echo_steps,
            )
        finally:
            await stop(echo)
        await emulator.stop()
    print(f"database              : {kind}")
    print(f"users                 : {users} at once, {STEPS_PER_USER} updates each")
    ceiling = "MESSAGES_PER_SECOND=25 (production)" if production_ceiling else "lifted"
    print(f"sending ceiling       : {ceiling}")
    print(f"Bot API round trip    : {latency_ms:g} ms")
    print(f"updates reach the bot : {'webhook' if webhook else 'long polling'}")
    print(f"bot processes         : {processes}")
    print(ours.line())
    print(bare.line())
    print(f"ratio (klinik / echo) : {ours.rate / bare.rate:.0%} of the echo bot's throughput")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--production-ceiling", action="store_true")
    parser.add_argument("--api-latency-ms", type=float, default=0.0)
    parser.add_argument("--webhook", action="store_true", help="the bot takes a webhook")
    parser.add_argument(
        "--processes", type=int, default=1, help="webhook processes sharing the port"
    )
    args = parser.parse_args()
    if args.processes > 1 and not args.webhook:
        parser.error("several processes need --webhook (one webhook port, shared)")
    asyncio.run(
        measure(
            args.users,
            args.database,
            args.production_ceiling,
            args.api_latency_ms,
            args.webhook,
            args.processes,
        )
    )


if __name__ == "__main__":
    main()
