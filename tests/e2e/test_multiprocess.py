"""Three `klinik run --webhook` processes on one PostgreSQL database behind one webhook URL (a
round-robin load balancer), the Bot API emulator delivering updates as Telegram does. The
process running the scheduler is killed with SIGKILL while six users are drafting and a
reminder fan-out is under way: no user's flow is lost or doubled, another process takes the
scheduler over, and nobody gets a reminder twice."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import re
import signal
import socket
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import psycopg
import pytest
from aiohttp import web
from sqlalchemy import insert
from sqlmodel import select

from bot.emulator import BotApiEmulator, SimUser
from bot.emulator.webhook import queue_id as queue_of
from bot.services.formats import load_data_list
from bot.services.opd_admin import seed_default_opds
from bot.webhook import SECRET_HEADER
from models import repository as repo
from models.competitions import Competition, Follow, ReminderDelivery, Stage
from models.db import Database
from models.tables import User
from models.types import utcnow
from scheduler.reminders import CONCURRENCY
from tests.conftest import WITA, empty_tables
from tests.e2e.test_processes import START_TIMEOUT, start_process

pytestmark = pytest.mark.slow
SECRET = "multi-process-webhook-secret-0001"
PROCESSES = 3
DRAFTERS = range(1001, 1007)
FOLLOWERS = range(5000, 5200)
FAN_OUT_RATE = 10  # MESSAGES_PER_SECOND: the 200-reminder fan-out lasts ~20 s
CLAIM_SECONDS = 2  # SCHEDULER_CLAIM_SECONDS: how often a standby process asks for the lock
# (typed text, the question that must follow, what is stored), after /ide and the format.
STEPS = (
    ("SIPANDU {uid}", "Bagian 2 dari 19", "SIPANDU {uid}"),
    ("ASN", "Bagian 3 dari 19", "ASN"),
    ("Penerapan", "Bagian 4 dari 19", "Penerapan"),
    ("Digital", "Bagian 5 dari 19", "Digital (daring)"),
    ("publik", "Bagian 6 dari 19", "Inovasi pelayanan publik"),
    ("Non tematik", "Bagian 7 dari 19", "Non tematik"),
    ("Kesehatan", "Bagian 8 dari 19", "Kesehatan"),
    ("Maret 2025", "Bagian 9 dari 19", "2025-03"),
    ("Juli 2025", "Bagian 10 dari 19", "2025-07"),
)
QUESTION = re.compile(r"Bagian \d+ dari 19 —")
KEYS = (
    "nama",
    "inisiator",
    "tahapan",
    "jenis",
    "bentuk",
    "tematik",
    "urusan",
    "waktu_uji_coba",
    "waktu_penerapan",
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LoadBalancer:
    """Round-robin over the bot processes; a refused connection skips to the next one (the
    update never reached it), a connection lost mid-request answers 502 so that the sender
    (Telegram, here the emulator) delivers the update again."""

    def __init__(self, ports: list[int]) -> None:
        self.ports = ports
        self.served: list[tuple[int, int, int]] = []  # (update_id, port, status)
        self._next = itertools.cycle(range(len(ports)))
        self._runner: web.AppRunner | None = None
        self._client: aiohttp.ClientSession | None = None
        self.port = 0

    async def start(self) -> None:
        self._client = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60))
        app = web.Application()
        app.router.add_post("/telegram", self.forward)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.port = int(self._runner.addresses[0][1])

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self._client is not None:
            await self._client.close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/telegram"

    async def forward(self, request: web.Request) -> web.Response:
        assert self._client is not None
        body = await request.read()
        headers = {
            "Content-Type": "application/json",
            SECRET_HEADER: request.headers.get(SECRET_HEADER, ""),
        }
        update_id = int((await request.json())["update_id"])
        for _ in self.ports:
            port = self.ports[next(self._next)]
            try:
                async with self._client.post(
                    f"http://127.0.0.1:{port}/telegram", data=body, headers=headers
                ) as answer:
                    text = await answer.text()
                    self.served.append((update_id, port, answer.status))
                    return web.Response(status=answer.status, text=text)
            except aiohttp.ClientConnectorError:
                continue  # dead or not started: never got the update, try the next one
            except (aiohttp.ClientError, TimeoutError):
                self.served.append((update_id, port, 502))
                return web.Response(status=502, text="upstream lost")
        return web.Response(status=502, text="no upstream")


@dataclass
class BotProcess:
    port: int
    process: asyncio.subprocess.Process
    output: list[str] = field(default_factory=list)
    reader: asyncio.Task[None] | None = None

    async def drain(self) -> None:
        """Keep reading the output: a full pipe would block the process."""
        assert self.process.stdout is not None
        async for line in self.process.stdout:
            self.output.append(line.decode(errors="replace").rstrip())

    @property
    def alive(self) -> bool:
        return self.process.returncode is None


async def health(
    client: aiohttp.ClientSession, bot: BotProcess, *, database_down: bool = False
) -> dict[str, Any] | None:
    """The process's detailed report (the secret header asks for it); None while it does not
    answer, or (unless `database_down` is expected) while it reports the database unreachable."""
    try:
        async with client.get(
            f"http://127.0.0.1:{bot.port}/health", headers={SECRET_HEADER: SECRET}
        ) as answer:
            if answer.status == 200 or (database_down and answer.status == 503):
                return await answer.json()
            return None
    except (aiohttp.ClientError, TimeoutError):
        return None


async def leaders(
    client: aiohttp.ClientSession, bots: list[BotProcess], *, database_down: bool = False
) -> list[BotProcess]:
    reports = [
        await health(client, bot, database_down=database_down) if bot.alive else None
        for bot in bots
    ]
    return [bot for bot, r in zip(bots, reports, strict=True) if r and r["scheduler"] == "running"]


def seed_followers(database_url: str) -> str:
    """FOLLOWERS follow a competition whose 7-day reminder fell due 2 minutes ago."""
    database = Database(database_url)
    empty_tables(database)
    moment = utcnow().astimezone(WITA) - timedelta(minutes=2)
    deadline = (moment + timedelta(days=7)).replace(hour=23, minute=59, second=0, microsecond=0)
    now = utcnow()
    with database.session() as session:
        seed_default_opds(session, load_data_list("opd_default"))
        competition = Competition(name="IGA", organiser="Kemendagri", level="Nasional", year=2026)
        session.add(competition)
        session.flush()
        session.add(Stage(competition_id=competition.id, name="Input profil", deadline_at=deadline))
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
                for uid in FOLLOWERS
            ],
        )
        session.execute(
            insert(Follow),
            [
                {"user_id": uid, "competition_id": competition.id, "created_at": now}
                for uid in FOLLOWERS
            ],
        )
    database.dispose()
    return moment.strftime("%H:%M")


def reminders_by_user(emulator: BotApiEmulator) -> Counter[int]:
    return Counter(
        call.chat_id
        for call in emulator.calls_to("sendMessage")
        if call.ok and "Pengingat" in call.params.get("text", "")
    )


def reminder_statuses(database_url: str) -> dict[int, str]:
    database = Database(database_url)
    with database.session() as session:
        rows = session.exec(select(ReminderDelivery)).all()
    database.dispose()
    return {r.user_id: r.status for r in rows}


class ReplyLost(AssertionError):
    """No answer came to an update; `update_id` is the update that went unanswered."""

    def __init__(self, message: str, update_id: int | None) -> None:
        super().__init__(message)
        self.update_id = update_id


class Drafter:
    """A user who registers and answers nine sections, checking each next question arrives.

    A reply can be lost in one case only: the update's change was committed (with its update
    id, in one transaction) by the process that was killed before it sent the reply. The
    redelivered update is then recognised as handled. Such a user does what a person would:
    /batal, then "Lanjutkan mengisi", which asks the awaited question again."""

    def __init__(self, emulator: BotApiEmulator, user: SimUser, killed: asyncio.Event) -> None:
        self.emulator = emulator
        self.user = user
        self.killed = killed
        self.step = 0  # sections answered and confirmed by the next question
        self.lost: list[tuple[int, int | None]] = []  # (step, update id) whose reply was lost

    async def act(self, send: Any, expected: str, timeout: float = 15.0) -> dict[str, Any]:
        """Send (a text or a button press) and wait for a message containing `expected`."""
        before = self.emulator.last_update_id or 0
        await send()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            for message in await self.user.receive_all(idle=0.05, timeout=1.0):
                if expected in (message["plain"] or ""):
                    return message
        mine = [
            u["update_id"]
            for u in self.emulator.updates
            if u["update_id"] > before and queue_of(u) == self.user.id
        ]
        raise ReplyLost(
            f"user {self.user.id} never got {expected!r}\n{self.user.describe()}",
            mine[0] if mine else None,
        )

    async def run(self) -> None:
        uid = self.user.id
        await self.act(lambda: self.user.send("/start"), "Persetujuan")
        await self.act(lambda: self.user.press("Saya setuju", timeout=20), "nama lengkap")
        await self.act(lambda: self.user.send(f"Pengguna {uid}"), "Di OPD mana")
        found = await self.act(lambda: self.user.send("kesehatan"), "Pilih OPD")
        first = found["reply_markup"]["inline_keyboard"][0][0]["text"]
        await self.act(lambda: self.user.press(first, timeout=20), "Pendaftaran selesai")
        await self.act(lambda: self.user.send("/ide"), "Profil Inovasi Daerah")
        fmt = "Profil Inovasi Daerah"
        await self.act(lambda: self.user.press(fmt, timeout=20), "Bagian 1 dari 19")
        for text, question, _ in STEPS:
            try:
                await self.act(lambda t=text: self.user.send(t.format(uid=uid)), question)
            except ReplyLost as lost:
                if not self.killed.is_set():
                    raise
                self.lost.append((self.step, lost.update_id))
                await self.act(lambda: self.user.send("/batal"), "dijeda")
                resume = "Lanjutkan mengisi"
                await self.act(lambda r=resume: self.user.press(r, timeout=20), question)
            self.step += 1


async def start_bots(
    emulator: BotApiEmulator, database_url: str, tmp_path: Path, lb: LoadBalancer, env: dict
) -> list[BotProcess]:
    bots = []
    for port in lb.ports:
        process = await start_process(
            emulator,
            database_url,
            tmp_path,
            {**env, "WEBHOOK_PORT": str(port)},
            args=("--webhook",),
        )
        bot = BotProcess(port, process)
        bot.reader = asyncio.create_task(bot.drain())
        bots.append(bot)
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as client:
        for _ in range(int(START_TIMEOUT * 10)):
            reports = [await health(client, bot) for bot in bots]
            if all(reports):
                return bots
            dead = [bot for bot in bots if not bot.alive]
            if dead:
                raise AssertionError("bot process ended early:\n" + "\n".join(dead[0].output))
            await asyncio.sleep(0.1)
    raise AssertionError("bot processes did not become healthy")


async def stop_bots(bots: list[BotProcess]) -> None:
    for bot in bots:
        if bot.alive:
            bot.process.send_signal(signal.SIGTERM)
    for bot in bots:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(bot.process.wait(), 20)
        if bot.alive:
            bot.process.kill()
        if bot.reader is not None:
            bot.reader.cancel()


async def test_killing_the_leader_loses_no_flow_and_no_reminder(
    emulator: BotApiEmulator, pg_server_url: str, tmp_path: Path
) -> None:
    reminder_time = seed_followers(pg_server_url)
    for uid in FOLLOWERS:
        emulator.user(uid, first_name=f"U{uid}")
    killed = asyncio.Event()
    drafters = [
        Drafter(emulator, emulator.user(uid, first_name=f"D{uid}"), killed) for uid in DRAFTERS
    ]
    lb = LoadBalancer([free_port() for _ in range(PROCESSES)])
    await lb.start()
    env = {
        "WEBHOOK_URL": lb.url,
        "WEBHOOK_SECRET": SECRET,
        "SCHEDULER_CLAIM_SECONDS": str(CLAIM_SECONDS),
        "MESSAGES_PER_SECOND": str(FAN_OUT_RATE),
        "REMINDER_TIME": reminder_time,
        "REMINDER_OFFSETS_DAYS": "7",
    }
    bots = await start_bots(emulator, pg_server_url, tmp_path, lb, env)
    client = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5))
    try:
        polled = [c for c in emulator.calls_to("getUpdates") if c.ok]
        assert not polled and emulator.calls_to("setWebhook")[-1].params["url"] == lb.url
        leader = await leaders(client, bots)
        assert len(leader) == 1, "exactly one process runs the scheduler"
        flows = asyncio.gather(*(d.run() for d in drafters))

        # Kill the leader mid-way: every user drafting, the fan-out partly sent.
        loop = asyncio.get_running_loop()
        for _ in range(1200):
            if min(d.step for d in drafters) >= 2 and len(reminders_by_user(emulator)) >= 40:
                break
            await asyncio.sleep(0.02)
        leader[0].process.send_signal(signal.SIGKILL)
        await leader[0].process.wait()
        killed.set()
        killed_at = loop.time()
        steps_at_kill = [d.step for d in drafters]
        sent_at_kill = len(reminders_by_user(emulator))
        assert sent_at_kill < len(FOLLOWERS), "the fan-out ended before the kill"

        successor: list[BotProcess] = []
        while not successor and loop.time() - killed_at < 60:
            await asyncio.sleep(0.2)
            successor = await leaders(client, bots)
        takeover = loop.time() - killed_at
        assert len(successor) == 1 and successor[0] is not leader[0], successor
        assert takeover < 60

        await asyncio.wait_for(flows, 120)
        # The fan-out finishes; a reminder claimed but cut off on the wire at the kill stays
        # "sending" (the Bot API cannot say whether it arrived), never sent twice.
        for _ in range(600):
            counts = reminders_by_user(emulator)
            unconfirmed = {u for u, s in reminder_statuses(pg_server_url).items() if s == "sending"}
            if len(set(counts) | unconfirmed) >= len(FOLLOWERS):
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(1.0)  # anything sent twice would have arrived by now
        counts = reminders_by_user(emulator)
        assert set(counts.values()) == {1}, [u for u, n in counts.items() if n > 1]
        missing = set(FOLLOWERS) - set(counts)
        statuses = reminder_statuses(pg_server_url)
        assert all(statuses.get(u) == "sending" for u in missing), missing
        assert len(missing) <= CONCURRENCY
        assert len(await leaders(client, bots)) == 1

        # Every drafter: one registration, one draft, each answer stored once in its section,
        # each question sent exactly once.
        database = Database(pg_server_url)
        try:
            with database.session() as session:
                for drafter in drafters:
                    uid = drafter.user.id
                    drafts = repo.drafts_of(session, uid)
                    assert len(drafts) == 1, (uid, drafts)
                    expected = {k: s[2].format(uid=uid) for k, s in zip(KEYS, STEPS, strict=True)}
                    assert repo.answers_of(session, drafts[0].id) == expected
        finally:
            database.dispose()
        for drafter in drafters:
            asked = Counter(
                found.group(0)
                for event in drafter.user.state.events
                if not event["edited"] and (found := QUESTION.search(event["plain"] or ""))
            )
            assert set(asked.values()) == {1}, (drafter.user.id, asked)
        # A lost reply belongs to an update the killed process took and never answered (502),
        # and at most one per user can have been in flight there at once.
        cut_off = {u for u, port, status in lb.served if port == leader[0].port and status == 502}
        lost = [(d.user.id, step, update) for d in drafters for step, update in d.lost]
        assert all(update in cut_off for _, _, update in lost), (lost, cut_off)
        retried = [a for a in emulator.webhook_attempts if a.status != 200]
        print(
            f"\nkilled the leader with users at steps {steps_at_kill} and {sent_at_kill} "
            f"reminders sent; takeover after {takeover:.1f} s; {len(retried)} webhook "
            f"deliveries retried; {len(missing)} reminder(s) unconfirmed; replies lost at the "
            f"kill (user, step, update): {lost}"
        )
    finally:
        await client.close()
        await stop_bots(bots)
        await lb.stop()


def cut_connections(database_url: str) -> int:
    """Every session of the bots' database ends, as in a database restart: the scheduler's
    lock goes with its holder's session."""
    name = database_url.rsplit("/", 1)[1]
    with psycopg.connect(database_url, autocommit=True) as connection:
        return len(
            connection.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = %s AND pid <> pg_backend_pid()",
                (name,),
            ).fetchall()
        )


async def test_a_cut_database_connection_never_leaves_two_processes_running_the_jobs(
    emulator: BotApiEmulator, fresh_pg_url: str, tmp_path: Path
) -> None:
    database = Database(fresh_pg_url)
    database.migrate()
    with database.session() as session:
        seed_default_opds(session, load_data_list("opd_default"))
    database.dispose()
    lb = LoadBalancer([free_port() for _ in range(2)])
    await lb.start()
    env = {
        "WEBHOOK_URL": lb.url,
        "WEBHOOK_SECRET": SECRET,
        "SCHEDULER_CLAIM_SECONDS": str(CLAIM_SECONDS),
    }
    bots = await start_bots(emulator, fresh_pg_url, tmp_path, lb, env)
    client = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5))
    try:
        assert len(await leaders(client, bots, database_down=True)) == 1
        assert cut_connections(fresh_pg_url) >= 2
        loop = asyncio.get_running_loop()
        cut_at = loop.time()
        most, now_leading, taken_over_at = 0, [], None
        # Until a leader runs the jobs again, and a few check intervals beyond.
        while loop.time() - cut_at < 60:
            now_leading = await leaders(client, bots, database_down=True)
            most = max(most, len(now_leading))
            if now_leading and taken_over_at is None and loop.time() - cut_at > CLAIM_SECONDS:
                taken_over_at = loop.time()
            if taken_over_at is not None and loop.time() - taken_over_at > 4 * CLAIM_SECONDS:
                break
            await asyncio.sleep(0.1)
        assert most == 1, "two processes ran the scheduled jobs at once"
        assert len(now_leading) == 1, "nobody runs the scheduled jobs after the cut"
        lost = [line for bot in bots for line in bot.output if "lost the scheduler lock" in line]
        assert lost, "the holder never noticed that its lock was gone"
    finally:
        await client.close()
        await stop_bots(bots)
        await lb.stop()
