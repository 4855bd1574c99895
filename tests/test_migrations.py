"""The schema built by the Alembic migrations is exactly what the models declare."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel, select

import models.tables  # noqa: F401 - registers every table on the metadata
from models.db import Database
from models.tables import Opd, User
from tests.conftest import PG_ADMIN_URL


def test_migrations_match_the_models(database: Database) -> None:
    with database.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": False})
        differences = compare_metadata(context, SQLModel.metadata)
    assert differences == []


def test_migrating_twice_changes_nothing_and_keeps_data(database: Database) -> None:
    with database.session() as session:
        before = len(session.exec(select(Opd)).all())
    database.migrate()
    with database.session() as session:
        assert len(session.exec(select(Opd)).all()) == before


def test_upgrading_an_old_database_keeps_every_draft_and_answer(tmp_path) -> None:
    """A database at the first revision, with data, upgraded to the newest: nothing lost."""
    from sqlalchemy import text

    database = Database(f"sqlite:///{tmp_path / 'old.db'}")
    database.migrate("0001")
    with database.engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO users (id, full_name, reachable, created_at) "
                "VALUES (7, 'Andi', 1, '2026-01-01 00:00:00')"
            )
        )
        connection.execute(
            text(
                "INSERT INTO drafts (id, owner_id, format_key, created_at, updated_at) "
                "VALUES (1, 7, 'iid', '2026-01-01 00:00:00', '2026-01-01 00:00:00')"
            )
        )
        connection.execute(
            text(
                "INSERT INTO answers (draft_id, section_key, value, updated_at) "
                "VALUES (1, 'nama', 'SIPANDU', '2026-01-01 00:00:00')"
            )
        )
    database.migrate()
    with database.engine.connect() as connection:
        assert connection.execute(text("SELECT owner_id FROM drafts")).all() == [(7,)]
        assert connection.execute(text("SELECT value FROM answers")).all() == [("SIPANDU",)]
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
    database.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:
    """An empty database (no schema at all) on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh.db'}"
        return
    request.getfixturevalue("pg_server_url")  # skips (or fails in CI) without PostgreSQL
    name = f"klinik_mig_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_0007_adds_nip_and_opd_head_keeping_users_and_offices(fresh_url: str) -> None:
    from sqlalchemy import text

    database = Database(fresh_url)
    database.migrate("0001")
    with database.engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO opd (id, name, active, created_at) VALUES (3, 'Dinas Sosial', :t, :c)"
            ),
            {"t": True, "c": "2026-01-01 00:00:00"},
        )
        connection.execute(
            text(
                "INSERT INTO users (id, full_name, opd_id, reachable, created_at) "
                "VALUES (7, 'Andi', 3, :t, '2026-01-01 00:00:00')"
            ),
            {"t": True},
        )
    database.migrate()
    with database.session() as session:
        user = session.get(User, 7)
        opd = session.get(Opd, 3)
        assert user is not None and (user.full_name, user.opd_id, user.nip) == ("Andi", 3, None)
        assert opd is not None and opd.name == "Dinas Sosial" and opd.head_name is None
        user.nip = "198001012005011001"
        opd.head_name, opd.head_nip = "dr. Hasnah", "197505052003122002"
        session.add(user)
        session.add(opd)
    with database.session() as session:
        assert session.get(User, 7).nip == "198001012005011001"
        assert session.get(Opd, 3).head_nip == "197505052003122002"
    database.dispose()


def test_0013_keeps_every_users_place_in_a_flow(fresh_url: str) -> None:
    """Upgrading a database at the first revision whose users are mid-flow adds the pending
    deep link (empty) and keeps their place."""
    from sqlalchemy import text

    database = Database(fresh_url)
    try:
        database.migrate("0001")
        with database.engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO conversation_states (user_id, flow, step, data, "
                    "last_text_length, updated_at) VALUES (7, 'register', 'name', '{}', 0, "
                    "'2026-01-01 00:00:00+00')"
                )
            )
        database.migrate()
        with database.engine.connect() as connection:
            rows = connection.execute(
                text("SELECT user_id, flow, step, pending_start FROM conversation_states")
            ).all()
        assert rows == [(7, "register", "name", None)]
    finally:
        database.dispose()
