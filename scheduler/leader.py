"""Exactly one bot process runs scheduled jobs at a time.

On PostgreSQL that is the process holding a session-level advisory lock on a connection kept
open for the purpose: if the process dies, the server drops the connection and the lock with
it, and another process takes over at its next attempt. On SQLite (one machine) an exclusive
`flock` on a file next to the database plays the same role. Delivery claims keep reminders
exactly-once even if two processes ever overlapped; the lock avoids the wasted work.
"""

from __future__ import annotations

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

    def still_held(self) -> bool:
        if self._lock_file is not None:
            return True
        if self._connection is None:
            return False
        try:
            self._connection.execute(text("SELECT 1"))
        except SQLAlchemyError:
            log.warning("lost the scheduler lock's connection; another process may take over")
            self._drop_connection()
            return False
        return True

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

    def _drop_connection(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(SQLAlchemyError):
                self._connection.invalidate()
                self._connection.close()
            self._connection = None
