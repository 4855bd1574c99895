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
