"""One scheduler process at a time: the lock is exclusive and passes on when its holder dies."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from models.db import Database
from scheduler.leader import Leadership


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
