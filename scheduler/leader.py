"""Exactly one bot process runs scheduled jobs at a time.

On PostgreSQL that is the process holding a session-level advisory lock on a connection kept
open for the purpose: if the process dies, the server drops the connection and the lock with
it, and another process takes over at its next attempt. The holder checks the lock's session
on a timer and before every wake-up, and stops its jobs when the session is gone (a cut
connection, a database restart) or does not answer; a process taking over waits one check
interval first, so the old holder has stopped before the new one starts. On SQLite (one
machine) an exclusive `flock` on a file next to the database plays the same role. Delivery
claims keep reminders exactly-once even if two processes ever overlapped.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
from pathlib import Path
from typing import IO

from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError

from models.db import Database

log = logging.getLogger(__name__)
ADVISORY_LOCK_KEY = 0x4B4C494E  # "KLIN"
CHECK_TIMEOUT_SECONDS = 5.0
# A one-bigint advisory lock shows in pg_locks as classid = high half, objid = low half.
HOLDS_LOCK = text(
    "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted"
    " AND pid = pg_backend_pid() AND classid = 0 AND objid = :key AND objsubid = 1)"
)


class Leadership:
    def __init__(self, database: Database) -> None:
        self.database = database
        self._connection: Connection | None = None
        self._lock_file: IO[bytes] | None = None

    @property
    def held(self) -> bool:
        return self._connection is not None or self._lock_file is not None

    def try_acquire(self) -> bool:
        """Take the lock if free; True while this process holds it."""
        if self.held:
            return self.still_held()
        if self.database.is_sqlite:
            return self._acquire_file_lock()
        return self._acquire_advisory_lock()

    @property
    def can_be_lost(self) -> bool:
        """A file lock lasts as long as the process; a PostgreSQL session can be cut."""
        return not self.database.is_sqlite

    def still_held(self) -> bool:
        """Whether the lock's session is alive and still holds the lock (the server ends a
        session when its connection is cut, a restart or `pg_terminate_backend`)."""
        if self._lock_file is not None:
            return True
        connection = self._connection
        if connection is None:
            return False
        try:
            held = bool(connection.execute(HOLDS_LOCK, {"key": ADVISORY_LOCK_KEY}).scalar())
        except SQLAlchemyError:
            held = False
        if not held or self._connection is not connection:
            log.warning("lost the scheduler lock; another process may take over")
            self._drop_connection(connection)
            return False
        return True

    async def confirm(self, timeout: float = CHECK_TIMEOUT_SECONDS) -> bool:
        """`still_held`, off the event loop; no answer within `timeout` counts as lost: in
        doubt, stop rather than risk running jobs beside another process."""
        try:
            return await asyncio.wait_for(asyncio.to_thread(self.still_held), timeout)
        except TimeoutError:
            log.warning("the scheduler lock's session did not answer; giving the lock up")
            # The check's thread still uses the connection: it closes it when it returns.
            self._connection = None
            return False

    def release(self) -> None:
        if self._lock_file is not None:
            fcntl.flock(self._lock_file, fcntl.LOCK_UN)
            self._lock_file.close()
            self._lock_file = None
        if self._connection is not None:
            with contextlib.suppress(SQLAlchemyError):
                self._connection.execute(
                    text("SELECT pg_advisory_unlock(:key)"), {"key": ADVISORY_LOCK_KEY}
                )
            self._drop_connection()

    def _acquire_advisory_lock(self) -> bool:
        connection = self.database.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            acquired = connection.execute(
                text("SELECT pg_try_advisory_lock(:key)"), {"key": ADVISORY_LOCK_KEY}
            ).scalar()
        except SQLAlchemyError:
            connection.close()
            return False
        if not acquired:
            connection.close()
            return False
        self._connection = connection
        return True

    def _acquire_file_lock(self) -> bool:
        path = Path(str(self.database.engine.url.database) + ".scheduler.lock")
        handle = path.open("ab")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        self._lock_file = handle
        return True

    def _drop_connection(self, connection: Connection | None = None) -> None:
        connection = connection or self._connection
        if connection is self._connection:
            self._connection = None
        if connection is not None:
            with contextlib.suppress(SQLAlchemyError):
                connection.invalidate()
                connection.close()
