"""The schema built by the Alembic migrations is exactly what the models declare."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel, select

import models.tables  # noqa: F401 - registers every table on the metadata
from models.db import Database
from models.tables import Opd


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
