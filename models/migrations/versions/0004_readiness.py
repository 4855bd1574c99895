"""readiness checklist, broadcasts and their deliveries, export requests

Revision ID: 0004
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import models.types

revision: str = "0004"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "draft_indicators",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("draft_id", sa.Integer(), nullable=False),
        sa.Column("indicator_key", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("updated_at", models.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["draft_id"], ["drafts.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("draft_id", "indicator_key"),
    )
    op.create_index("ix_draft_indicators_draft_id", "draft_indicators", ["draft_id"])
    op.create_table(
        "broadcasts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("admin_id", sa.BigInteger(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("audience", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
        sa.Column("audience_id", sa.Integer(), nullable=True),
        sa.Column("audience_label", sqlmodel.sql.sqltypes.AutoString(length=250), nullable=True),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("created_at", models.types.UTCDateTime(), nullable=False),
        sa.Column("confirmed_at", models.types.UTCDateTime(), nullable=True),
        sa.Column("finished_at", models.types.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["admin_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_broadcasts_admin_id", "broadcasts", ["admin_id"])
    op.create_table(
        "broadcast_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("broadcast_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("updated_at", models.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["broadcast_id"], ["broadcasts.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("broadcast_id", "user_id"),
    )
    op.create_index(
        "ix_broadcast_deliveries_broadcast_id", "broadcast_deliveries", ["broadcast_id"]
    )
    op.create_index("ix_broadcast_deliveries_user_id", "broadcast_deliveries", ["user_id"])
    op.create_table(
        "export_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("admin_id", sa.BigInteger(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("requested_at", models.types.UTCDateTime(), nullable=False),
        sa.Column("started_at", models.types.UTCDateTime(), nullable=True),
        sa.Column("finished_at", models.types.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["admin_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_export_requests_admin_id", "export_requests", ["admin_id"])


def downgrade() -> None:
    for table in ("export_requests", "broadcast_deliveries", "broadcasts", "draft_indicators"):
        op.drop_table(table)
