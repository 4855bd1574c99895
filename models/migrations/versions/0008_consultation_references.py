"""consultations name people by reference: who an event is about, who proposed a session and
who invited a mentor point at users (cleared when that person deletes their account); orphaned
consultations go back to routing

Revision ID: 0008
Revises: 0002
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from models.types import UTCDateTime

revision: str = "0008"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "consultation_event_people",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(["event_id"], ["consultation_events.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_consultation_event_people_event_id", "consultation_event_people", ["event_id"]
    )
    op.create_index(
        "ix_consultation_event_people_user_id", "consultation_event_people", ["user_id"]
    )
    with op.batch_alter_table("consultation_events") as batch:
        batch.add_column(
            sa.Column("by_person", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    connection = op.get_bind()
    connection.execute(sa.text("UPDATE consultation_events SET by_person = (actor_id IS NOT NULL)"))
    # Ids of people who deleted their account would break the new foreign keys: cleared first.
    for table, column in (("consultation_sessions", "proposed_by"), ("mentors", "invited_by")):
        if column == "proposed_by":
            with op.batch_alter_table(table) as batch:
                batch.alter_column(column, existing_type=sa.BigInteger(), nullable=True)
        connection.execute(
            sa.text(
                f"UPDATE {table} SET {column} = NULL WHERE {column} IS NOT NULL "
                f"AND {column} NOT IN (SELECT id FROM users)"
            )
        )
        with op.batch_alter_table(table) as batch:
            batch.create_foreign_key(
                f"fk_{table}_{column}_users", "users", [column], ["id"], ondelete="SET NULL"
            )
    _names_to_references(connection)
    _reopen_orphans(connection)


def _names_to_references(connection: sa.Connection) -> None:
    """Offer and reassignment events named mentors in their text ("A, B", "A → B"): each
    name that belongs to exactly one user becomes a reference; a text with a name that does
    not (a person gone, two people of one name) is kept as it was."""
    ids_by_name: dict[str, list[int]] = {}
    for user_id, name in connection.execute(sa.text("SELECT id, full_name FROM users")):
        if name:
            ids_by_name.setdefault(name, []).append(user_id)
    events = connection.execute(
        sa.text(
            "SELECT id, action, detail FROM consultation_events "
            "WHERE action IN ('offered', 'reassigned') AND detail IS NOT NULL"
        )
    ).all()
    for event_id, action, detail in events:
        if action == "offered":
            people = [("offered", name) for name in detail.split(", ")]
        else:
            parts = detail.split(" → ")
            if len(parts) != 2:
                continue
            people = [("from", parts[0]), ("to", parts[1])]
        if not all(len(ids_by_name.get(name, ())) == 1 for _, name in people):
            continue
        for role, name in people:
            connection.execute(
                sa.text(
                    "INSERT INTO consultation_event_people (event_id, role, user_id) "
                    "VALUES (:event, :role, :user)"
                ),
                {"event": event_id, "role": role, "user": ids_by_name[name][0]},
            )
        connection.execute(
            sa.text("UPDATE consultation_events SET detail = NULL WHERE id = :id"),
            {"id": event_id},
        )


def _reopen_orphans(connection: sa.Connection) -> None:
    """A consultation whose mentor deleted their account was left assigned to nobody (every
    message of the ASN then failed): it is open again, so the expiry job re-announces it."""
    now = datetime.now(UTC)
    orphans = connection.execute(
        sa.text(
            "SELECT id, status FROM consultations "
            "WHERE status IN ('assigned', 'scheduled') AND mentor_id IS NULL"
        )
    ).all()
    for cid, status in orphans:
        connection.execute(
            _timed(
                "UPDATE consultations SET status = 'open', announce_round = 1, "
                "announced_at = :now, updated_at = :now WHERE id = :id"
            ),
            {"now": now, "id": cid},
        )
        connection.execute(
            _timed(
                "INSERT INTO consultation_events "
                "(consultation_id, at, action, from_status, to_status) "
                "VALUES (:id, :now, 'reopened', :status, 'open')"
            ),
            {"id": cid, "now": now, "status": status},
        )
        connection.execute(
            _timed(
                "UPDATE consultation_sessions SET status = 'void', decided_at = :now "
                "WHERE consultation_id = :id AND status IN ('proposed', 'confirmed')"
            ),
            {"id": cid, "now": now},
        )


def _timed(statement: str) -> sa.TextClause:
    """A statement whose :now is written the way the tables' UTC columns store times."""
    return sa.text(statement).bindparams(sa.bindparam("now", type_=UTCDateTime()))


def downgrade() -> None:
    with op.batch_alter_table("consultation_events") as batch:
        batch.drop_column("by_person")
    for table, column in (("consultation_sessions", "proposed_by"), ("mentors", "invited_by")):
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(f"fk_{table}_{column}_users", type_="foreignkey")
    op.drop_index("ix_consultation_event_people_user_id", "consultation_event_people")
    op.drop_index("ix_consultation_event_people_event_id", "consultation_event_people")
    op.drop_table("consultation_event_people")
