"""Engine, sessions and migrations.

One `Database` per process. Sessions are short: a domain call opens one, does its work in a
single transaction and commits, so a crash never leaves half an answer behind.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import event
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import (
    ArgumentError,
    DBAPIError,
    DisconnectionError,
    IntegrityError,
    NoSuchModuleError,
    OperationalError,
    SQLAlchemyError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlmodel import Session, create_engine

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
CONNECT_TIMEOUT_SECONDS = 5


class DatabaseError(RuntimeError):
    """The database cannot be used; `str()` is one sentence for the operator."""


class AlreadyRecorded(RuntimeError):
    """The row a transaction was opened with (`Database.session(first=...)`) exists already:
    another process (or an earlier delivery) did this work; the transaction was rolled back."""


# SQLite reports a bug in a statement ("no such column") as OperationalError too; only these
# of its OperationalErrors pass by themselves.
_SQLITE_PASSING = ("locked", "busy", "unable to open", "disk i/o")


def is_passing_failure(error: BaseException | None) -> bool:
    """Whether the database is away for a moment (unreachable, restarting, a cut connection, a
    timeout, a deadlock), so the same work can succeed later; False for what would fail again
    the same way (a bug in a statement, a constraint)."""
    if isinstance(error, PoolTimeoutError | DisconnectionError | TimeoutError | ConnectionError):
        return True
    if not isinstance(error, DBAPIError):
        return False
    if error.connection_invalidated:
        return True
    if not isinstance(error, OperationalError):
        return False
    if isinstance(error.orig, sqlite3.Error):
        return any(words in str(error.orig).lower() for words in _SQLITE_PASSING)
    return True


def normalise_url(url: str) -> str:
    """Accept the URLs people copy from hosting panels and pick the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def mask_password(url: str) -> str:
    """The URL with its password replaced by ***, even when the URL cannot be parsed: it is
    shown to the operator and may end in a log."""
    head, at, host = url.rpartition("@")
    if not at:
        return url
    scheme, slashes, credentials = head.rpartition("://")
    user, colon, _ = credentials.partition(":")
    return f"{scheme}{slashes}{user}{colon}{'***' if colon else ''}@{host}"


def parse_database_url(url: str) -> URL:
    """The parsed DATABASE_URL, or a DatabaseError sentence that never shows its password."""
    try:
        return make_url(normalise_url(url))
    except (ArgumentError, ValueError, TypeError) as exc:
        hint = ", periksa nomor portnya (harus berupa angka)" if isinstance(exc, ValueError) else ""
        raise DatabaseError(
            f"DATABASE_URL '{mask_password(url)}' tidak dapat dibaca sebagai alamat basis data"
            f"{hint}; contohnya postgresql://pengguna:sandi@127.0.0.1:5432/klinik atau "
            "sqlite:///klinik.db."
        ) from None


def _without_row_values(context: Any) -> None:
    """PostgreSQL quotes the row's values in a constraint error's DETAIL ("Failing row
    contains (…)", "Key (…)=(…) already exists") and may in its CONTEXT: users' answers. They
    are cut from the error itself, so no log and no admin report can show them."""
    diag = getattr(context.original_exception, "diag", None)
    quoted = [
        t for t in (getattr(diag, "message_detail", None), getattr(diag, "context", None)) if t
    ]
    if not quoted:
        return
    for error in (context.original_exception, context.sqlalchemy_exception):
        if error is not None and error.args and isinstance(error.args[0], str):
            message = error.args[0]
            for text in quoted:
                message = message.replace(text, "(hidden: it may quote users' data)")
            error.args = (message, *error.args[1:])


def _sqlite_pragmas(dbapi_connection: Any, connection_record: Any) -> None:
    # WAL lets the scheduler read while a handler writes; foreign keys make cascades work;
    # busy_timeout waits for a writer instead of failing with "database is locked".
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def create_db_engine(url: str) -> Engine:
    """An engine whose errors never quote a statement's parameters: they hold users' answers,
    and an error's text goes to the log and to the admins' chat (UU PDP)."""
    url = normalise_url(url)
    parsed = parse_database_url(url)
    try:
        if parsed.get_backend_name() == "sqlite":
            engine = create_engine(
                url,
                connect_args={"check_same_thread": False, "timeout": 30},
                hide_parameters=True,
            )
            event.listen(engine, "connect", _sqlite_pragmas)
        else:
            # A server out of reach answers a connection attempt with silence: give up after
            # a few seconds (a passing failure; the update is handled again later).
            engine = create_engine(
                url,
                pool_pre_ping=True,
                pool_size=10,
                max_overflow=20,
                hide_parameters=True,
                connect_args={"connect_timeout": CONNECT_TIMEOUT_SECONDS},
            )
            event.listen(engine, "handle_error", _without_row_values)
    except (NoSuchModuleError, ImportError) as exc:
        raise DatabaseError(
            f"Jenis basis data '{parsed.drivername}' di DATABASE_URL tidak didukung; "
            "gunakan sqlite:/// atau postgresql://."
        ) from exc
    except (ArgumentError, ValueError, TypeError):
        raise DatabaseError(
            f"DATABASE_URL '{mask_password(url)}' berisi pilihan yang tidak dikenal; "
            "periksa bagian setelah tanda ? pada alamatnya."
        ) from None
    return engine


class Database:
    """The process's handle on the database."""

    def __init__(self, url: str) -> None:
        parse_database_url(url)  # a mistake is reported in the URL as the operator wrote it
        self.url = normalise_url(url)
        self.engine = create_db_engine(self.url)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextmanager
    def session(self, *, first: Any = None) -> Iterator[Session]:
        """A transaction: committed when the block ends, rolled back if it raises. `first` is
        a row inserted before any work (the id of the update being handled): if it exists
        already, AlreadyRecorded is raised at once, in the same round trip as the first
        statement would have cost, and the row commits or rolls back with the work."""
        with Session(self.engine, expire_on_commit=False) as session:
            try:
                if first is not None:
                    session.add(first)
                    try:
                        session.flush()  # a conflict shows here, before any work is done
                    except IntegrityError as exc:
                        raise AlreadyRecorded(str(exc.orig)) from exc
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    def ping(self) -> bool:
        """Whether the database answers now (for health checks)."""
        try:
            with self.engine.connect() as connection:
                connection.exec_driver_sql("SELECT 1")
        except SQLAlchemyError:
            return False
        return True

    def check_connection(self) -> None:
        try:
            with self.engine.connect() as connection:
                connection.exec_driver_sql("SELECT 1")
        except OperationalError as exc:
            raise DatabaseError(
                "Basis data di DATABASE_URL tidak dapat dihubungi; periksa alamat, "
                "nama pengguna, kata sandi dan apakah servernya berjalan."
            ) from exc

    def migrate(self, revision: str = "heads") -> None:
        """Bring the schema to the newest Alembic revisions (safe to call at every start)."""
        self.check_connection()
        with self.engine.connect() as connection:
            if self.is_sqlite:
                # SQLite rebuilds a table to alter it; with foreign keys on, dropping the old
                # table would cascade-delete every row that points at it (e.g. all answers).
                connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
                connection.commit()
            config = alembic_config()
            config.attributes["connection"] = connection
            # "heads": features add migrations on branches of their own from the first one.
            with connection.begin():
                command.upgrade(config, revision)
            if self.is_sqlite:
                connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                connection.commit()

    def dispose(self) -> None:
        self.engine.dispose()


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config
