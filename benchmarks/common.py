"""Shared set-up for benchmarks: a seeded database and the real bot against the emulator."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import psycopg
from sqlalchemy import insert

from bot.services.formats import load_data_list
from bot.services.opd_admin import seed_default_opds
from models.competitions import Competition, Follow, Stage
from models.db import Database
from models.tables import User

PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/test"


@contextmanager
def scratch_database(kind: str, directory: str) -> Iterator[str]:
    """A new, migrated database of the given kind ("sqlite" or "postgresql"), removed after."""
    if kind == "sqlite":
        url = f"sqlite:///{directory}/bench-{uuid.uuid4().hex[:8]}.db"
        Database(url).migrate()
        yield url
        return
    name = f"klinik_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        database = Database(url)
        database.migrate()
        database.dispose()
        yield url
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def seed_followers(
    database: Database, users: int, competitions: int, deadline: datetime, first_user: int = 10_000
) -> None:
    """`users` registered ASN following each of `competitions` competitions (one stage each)."""
    now = datetime.now(UTC)
    with database.session() as session:
        seed_default_opds(session, load_data_list("opd_default"))
        session.execute(
            insert(User),
            [
                {
                    "id": first_user + i,
                    "full_name": f"Pengguna {i}",
                    "opd_id": 1,
                    "consent_at": now,
                    "registered_at": now,
                    "reachable": True,
                    "created_at": now,
                }
                for i in range(users)
            ],
        )
        for number in range(competitions):
            competition = Competition(
                name=f"Lomba {number}", organiser="Bappeda", level="Nasional", year=2026
            )
            session.add(competition)
            session.flush()
            session.add(
                Stage(
                    competition_id=competition.id,
                    name="Tenggat",
                    deadline_at=deadline + timedelta(hours=number),
                )
            )
            session.execute(
                insert(Follow),
                [
                    {"user_id": first_user + i, "competition_id": competition.id, "created_at": now}
                    for i in range(users)
                ],
            )
