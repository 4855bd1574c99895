"""an update is recognised by its id and a fingerprint of its content; pruned by age

Revision ID: 0009
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.types

revision: str = "0009"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A new table copied from the old one: changing a primary key in place differs between
    # SQLite and PostgreSQL. Rows recorded before have no fingerprint ("").
    op.create_table(
        "processed_updates_new",
        sa.Column("update_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("fingerprint", sa.String(length=32), server_default="", nullable=False),
        sa.Column("processed_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("update_id", "fingerprint", name="pk_processed_updates"),
    )
    op.execute(
        "INSERT INTO processed_updates_new (update_id, fingerprint, processed_at) "
        "SELECT update_id, '', processed_at FROM processed_updates"
    )
    op.drop_table("processed_updates")
    op.rename_table("processed_updates_new", "processed_updates")
    op.create_index("ix_processed_updates_processed_at", "processed_updates", ["processed_at"])


def downgrade() -> None:
    op.create_table(
        "processed_updates_old",
        sa.Column("update_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("processed_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("update_id", name="pk_processed_updates_old"),
    )
    op.execute(
        "INSERT INTO processed_updates_old (update_id, processed_at) "
        "SELECT update_id, MAX(processed_at) FROM processed_updates GROUP BY update_id"
    )
    op.drop_index("ix_processed_updates_processed_at", "processed_updates")
    op.drop_table("processed_updates")
    op.rename_table("processed_updates_old", "processed_updates")
