"""Migration 0009: processed updates are recognised by id and content fingerprint."""

from __future__ import annotations

import pytest

from models.db import Database


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_processed_updates_keep_their_rows_and_gain_a_fingerprint(
    backend: str, tmp_path, request: pytest.FixtureRequest
) -> None:
    """Migration 0009: updates recorded before stay recorded (fingerprint ""), and an id may
    now be recorded again with another fingerprint (a new update reusing an old id)."""
    from sqlalchemy import text

    url = f"sqlite:///{tmp_path / 'old.db'}" if backend == "sqlite" else None
    database = Database(url or request.getfixturevalue("fresh_pg_url"))
    database.migrate("0001")
    with database.engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO processed_updates (update_id, processed_at) "
                "VALUES (41, '2026-01-01 00:00:00'), (42, '2026-01-02 00:00:00')"
            )
        )
    database.migrate()
    with database.engine.begin() as connection:
        rows = connection.execute(
            text("SELECT update_id, fingerprint FROM processed_updates ORDER BY update_id")
        ).all()
        assert rows == [(41, ""), (42, "")]
        connection.execute(
            text(
                "INSERT INTO processed_updates (update_id, fingerprint, processed_at) "
                "VALUES (42, 'abc', '2026-01-03 00:00:00')"
            )
        )
    database.dispose()
