"""The schema built by the Alembic migrations is exactly what the models declare."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel, select

import models.schema  # noqa: F401 - registers every table on the metadata
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


def test_0008_turns_names_into_references_and_reopens_orphans(fresh_url: str) -> None:
    """Consultations written before 0008: offer and reassignment texts naming mentors become
    references (a name nobody or two people have stays text), the proposer of a session whose
    account is gone is cleared, and a consultation left without its mentor is open again."""
    from sqlalchemy import text

    old_database = Database(fresh_url)
    old_database.migrate("0002")
    at = "'2026-01-01 00:00:00+00'"
    with old_database.engine.begin() as connection:
        for user_id, name in (
            (7, "Andi"),
            (8, "Budi Santoso"),
            (9, "Citra Dewi"),
            (10, "Kembar"),
            (11, "Kembar"),
        ):
            connection.execute(
                text(
                    "INSERT INTO users (id, full_name, reachable, created_at) "
                    f"VALUES ({user_id}, '{name}', true, {at})"
                )
            )
        for cid, status, mentor in ((1, "assigned", 8), (2, "scheduled", "NULL")):
            connection.execute(
                text(
                    "INSERT INTO consultations (id, asn_id, mentor_id, topic, question, status, "
                    "announce_round, announced_at, created_at, updated_at) VALUES "
                    f"({cid}, 7, {mentor}, '', 'Bagaimana?', '{status}', 1, {at}, {at}, {at})"
                )
            )
        events = (
            (1, "offered", "Budi Santoso, Citra Dewi"),
            (2, "reassigned", "Budi Santoso → Citra Dewi"),
            (3, "offered", "Budi Santoso, Orang Lama"),
            (4, "offered", "Kembar"),
            (5, "commented", "Nama inovasi"),
        )
        for event_id, action, detail in events:
            connection.execute(
                text(
                    "INSERT INTO consultation_events (id, consultation_id, at, action, detail) "
                    f"VALUES ({event_id}, 1, {at}, '{action}', '{detail}')"
                )
            )
        connection.execute(
            text(
                "INSERT INTO consultation_sessions (id, consultation_id, starts_at, status, "
                f"proposed_by, created_at) VALUES (1, 2, {at}, 'confirmed', 12345, {at})"
            )
        )
        if not old_database.is_sqlite:  # rows written with explicit ids, as a restore would
            connection.execute(
                text("SELECT setval(pg_get_serial_sequence('consultation_events', 'id'), 100)")
            )
    old_database.migrate()
    with old_database.engine.connect() as connection:
        people = connection.execute(
            text("SELECT event_id, role, user_id FROM consultation_event_people ORDER BY id")
        ).all()
        assert people == [(1, "offered", 8), (1, "offered", 9), (2, "from", 8), (2, "to", 9)]
        details = dict(connection.execute(text("SELECT id, detail FROM consultation_events")).all())
        by_person = connection.execute(
            text("SELECT DISTINCT by_person FROM consultation_events WHERE actor_id IS NULL")
        )
        assert [bool(b) for (b,) in by_person] == [False]  # written by the system
        assert details[1] is None and details[2] is None
        assert details[3] == "Budi Santoso, Orang Lama"  # kept: one name belongs to nobody
        assert details[4] == "Kembar" and details[5] == "Nama inovasi"
        states = dict(connection.execute(text("SELECT id, status FROM consultations")).all())
        assert states == {1: "assigned", 2: "open"}
        session = connection.execute(text("SELECT status, proposed_by FROM consultation_sessions"))
        assert session.all() == [("void", None)]
        reopened = connection.execute(
            text("SELECT action, to_status FROM consultation_events WHERE consultation_id = 2")
        ).all()
        assert reopened == [("reopened", "open")]
    old_database.dispose()
