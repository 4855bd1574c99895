"""Shared fixtures: databases on SQLite and PostgreSQL, a controllable clock, services."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import psycopg
import pytest
from sqlalchemy import text
from sqlmodel import SQLModel

from bot.services.context import ServiceContext
from bot.services.dialog import Dialog
from bot.services.features import build_dialog
from bot.services.formats import FormatRegistry, load_data_list
from bot.services.opd_admin import seed_default_opds
from models.db import Database

PG_ADMIN_URL = os.environ.get("KLINIK_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
ADMIN_ID = 900
WITA = ZoneInfo("Asia/Makassar")


class Clock:
    """A clock tests move by hand: no sleeping, no flakiness."""

    def __init__(self, start: datetime) -> None:
        self.current = start

    def __call__(self) -> datetime:
        return self.current

    def advance(self, **delta: float) -> None:
        self.current += timedelta(**delta)


def _pg_reachable() -> str | None:
    try:
        with psycopg.connect(PG_ADMIN_URL, connect_timeout=3):
            return None
    except psycopg.Error as exc:
        return f"PostgreSQL at {PG_ADMIN_URL} is not reachable ({exc.__class__.__name__})"


@pytest.fixture(scope="session")
def pg_server_url() -> Iterator[str]:
    """A database of this test run's own on the local server, dropped afterwards."""
    reason = _pg_reachable()
    if reason:
        if IN_CI:
            pytest.fail(f"{reason}; CI must test PostgreSQL")
        pytest.skip(reason)
    name = f"klinik_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    database = Database(url)
    database.migrate()
    database.dispose()
    yield url
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def fresh_pg_url(pg_server_url: str) -> Iterator[str]:
    """An empty PostgreSQL database (not migrated) of this test's own: for migrations from an
    old revision, and for cutting a database's connections without disturbing other tests."""
    name = f"klinik_fresh_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as connection:
        connection.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def empty_tables(database: Database) -> None:
    names = ", ".join(f'"{t.name}"' for t in SQLModel.metadata.sorted_tables)
    with database.engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated to the newest revision, once per session: tests get copies."""
    path = tmp_path_factory.mktemp("sqlite_template") / "migrated.db"
    db = Database(f"sqlite:///{path}")
    db.migrate()
    db.dispose()
    return path


def copy_migrated_sqlite(template: Path, target: Path) -> str:
    """A private copy of the migrated template at ``target``; its SQLAlchemy URL."""
    shutil.copyfile(template, target)
    return f"sqlite:///{target}"


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path) -> Iterator[Database]:
    """A migrated, empty database with the default OPD list, on each backend."""
    if request.param == "sqlite":
        template = request.getfixturevalue("migrated_sqlite")
        db = Database(copy_migrated_sqlite(template, tmp_path / "klinik.db"))
    else:
        db = Database(request.getfixturevalue("pg_server_url"))
        empty_tables(db)
    with db.session() as session:
        seed_default_opds(session, load_data_list("opd_default"))
    yield db
    db.dispose()


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 11, 23, 2, 0, tzinfo=UTC))


@pytest.fixture(scope="session")
def formats() -> FormatRegistry:
    return FormatRegistry.load()


@pytest.fixture
def ctx(database: Database, formats: FormatRegistry, clock: Clock) -> ServiceContext:
    return ServiceContext(
        db=database,
        formats=formats,
        tz=WITA,
        admin_ids=frozenset({ADMIN_ID}),
        region_name="Kabupaten Uji",
        clock=clock,
    )


@pytest.fixture
def dialog(ctx: ServiceContext) -> Dialog:
    return build_dialog(ctx)
