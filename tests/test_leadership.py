"""One scheduler process at a time: the lock is exclusive and passes on when its holder dies."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import psycopg
import pytest

from bot.emulator import BotApiEmulator
from bot.runtime import runtime_of
from models.db import Database
from scheduler.leader import ADVISORY_LOCK_KEY, Leadership
from tests.conftest import empty_tables
from tests.e2e.conftest import e2e_settings, start_bot, stop_bot


def test_only_one_holder_and_takeover_after_release(database: Database) -> None:
    first, second = Leadership(Database(database.url)), Leadership(Database(database.url))
    try:
        assert first.try_acquire()
        assert first.try_acquire()  # holding it again is fine
        assert not second.try_acquire()
        first.release()
        assert second.try_acquire()
    finally:
        first.release()
        second.release()


def test_a_dead_holder_frees_the_lock(database: Database) -> None:
    script = textwrap.dedent(f"""
        import os, sys
        from models.db import Database
        from scheduler.leader import Leadership
        leadership = Leadership(Database({database.url!r}))
        assert leadership.try_acquire()
        print("held", flush=True)
        sys.stdin.readline()
        os._exit(0)  # dies without releasing anything
    """)
    holder = subprocess.Popen(
        [sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        waiting = Leadership(Database(database.url))
        assert not waiting.try_acquire()
        holder.stdin.write("\n")
        holder.stdin.flush()
        holder.wait(timeout=10)
        assert waiting.try_acquire()
        waiting.release()
    finally:
        holder.kill()


def cut_lock_session(database_url: str) -> None:
    """What a database restart or a network cut does to the holder: its session ends."""
    with psycopg.connect(database_url, autocommit=True) as connection:
        pids = connection.execute(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND objid = %s AND database"
            " = (SELECT oid FROM pg_database WHERE datname = current_database())",
            (ADVISORY_LOCK_KEY,),
        ).fetchall()
        assert len(pids) == 1
        connection.execute("SELECT pg_terminate_backend(%s)", pids[0])


@pytest.mark.parametrize("noticed_by", ["timer", "wake-up"])
async def test_a_holder_whose_lock_session_is_cut_stops_its_jobs(
    pg_server_url: str, noticed_by: str
) -> None:
    empty_tables(Database(pg_server_url))
    async with BotApiEmulator() as emulator:
        running = await start_bot(e2e_settings(emulator, pg_server_url))
        successor = Leadership(Database(pg_server_url))
        try:
            runtime = runtime_of(running.application.bot_data)
            scheduler = runtime.scheduler
            assert scheduler is not None
            cut_lock_session(pg_server_url)
            assert successor.try_acquire()  # another process takes the lock over
            if noticed_by == "timer":
                jobs = running.application.job_queue.get_jobs_by_name("leadership")
                await jobs[0].run(running.application)
            else:
                await scheduler.run_source("reminders")  # a wake-up checks before acting
            assert runtime.scheduler is None and scheduler.stopped
            names = [job.name for job in running.application.job_queue.jobs()]
            assert not [n for n in names if n == "sweep" or "@" in n], names
        finally:
            successor.release()
            await stop_bot(running)
