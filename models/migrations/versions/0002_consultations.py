"""consultations: mentors, invites, requests, offers, history, sessions, comments, relays

Revision ID: 0002
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import models.types

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = models.types.UTCDateTime
String = sqlmodel.sql.sqltypes.AutoString


def _consultation_fk() -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["consultation_id"], ["consultations.id"], ondelete="CASCADE")


def upgrade() -> None:
    op.create_table(
        "mentors",
        sa.Column("user_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("expertise", sa.JSON(), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("paused", sa.Boolean(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("reachable", sa.Boolean(), nullable=False),
        sa.Column("invited_by", sa.BigInteger(), nullable=True),
        sa.Column("joined_at", UTC(), nullable=False),
        sa.Column("updated_at", UTC(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id"),
    )
    op.create_table(
        "mentor_invites",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token", String(length=64), nullable=False),
        sa.Column("created_by", sa.BigInteger(), nullable=True),
        sa.Column("created_at", UTC(), nullable=False),
        sa.Column("expires_at", UTC(), nullable=False),
        sa.Column("used_by", sa.BigInteger(), nullable=True),
        sa.Column("used_at", UTC(), nullable=True),
        sa.ForeignKeyConstraint(["used_by"], ["users.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_mentor_invites_token", "mentor_invites", ["token"], unique=True)
    op.create_table(
        "consultations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("asn_id", sa.BigInteger(), nullable=False),
        sa.Column("mentor_id", sa.BigInteger(), nullable=True),
        sa.Column("draft_id", sa.Integer(), nullable=True),
        sa.Column("topic", String(length=200), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("preferred_times", String(length=300), nullable=True),
        sa.Column("status", String(length=16), nullable=False),
        sa.Column("announce_round", sa.Integer(), nullable=False),
        sa.Column("announced_at", UTC(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=True),
        sa.Column("cancel_reason", sa.Text(), nullable=True),
        sa.Column("rating", sa.Integer(), nullable=True),
        sa.Column("rating_comment", sa.Text(), nullable=True),
        sa.Column("created_at", UTC(), nullable=False),
        sa.Column("updated_at", UTC(), nullable=False),
        sa.Column("ended_at", UTC(), nullable=True),
        sa.ForeignKeyConstraint(["asn_id"], ["users.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["mentor_id"], ["users.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["draft_id"], ["drafts.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_consultations_asn_id", "consultations", ["asn_id"])
    op.create_index("ix_consultations_mentor_id", "consultations", ["mentor_id"])
    op.create_index("ix_consultations_status", "consultations", ["status"])
    op.create_table(
        "consultation_offers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("consultation_id", sa.Integer(), nullable=False),
        sa.Column("mentor_id", sa.BigInteger(), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("status", String(length=16), nullable=False),
        sa.Column("offered_at", UTC(), nullable=False),
        sa.Column("answered_at", UTC(), nullable=True),
        _consultation_fk(),
        sa.ForeignKeyConstraint(["mentor_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("consultation_id", "mentor_id"),
    )
    op.create_index(
        "ix_consultation_offers_consultation_id", "consultation_offers", ["consultation_id"]
    )
    op.create_index("ix_consultation_offers_mentor_id", "consultation_offers", ["mentor_id"])
    op.create_table(
        "consultation_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("consultation_id", sa.Integer(), nullable=False),
        sa.Column("at", UTC(), nullable=False),
        sa.Column("actor_id", sa.BigInteger(), nullable=True),
        sa.Column("action", String(length=30), nullable=False),
        sa.Column("from_status", String(length=16), nullable=True),
        sa.Column("to_status", String(length=16), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        _consultation_fk(),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_consultation_events_consultation_id", "consultation_events", ["consultation_id"]
    )
    op.create_table(
        "consultation_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("consultation_id", sa.Integer(), nullable=False),
        sa.Column("starts_at", UTC(), nullable=False),
        sa.Column("note", String(length=200), nullable=True),
        sa.Column("status", String(length=16), nullable=False),
        sa.Column("proposed_by", sa.BigInteger(), nullable=False),
        sa.Column("created_at", UTC(), nullable=False),
        sa.Column("decided_at", UTC(), nullable=True),
        _consultation_fk(),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_consultation_sessions_consultation_id", "consultation_sessions", ["consultation_id"]
    )
    op.create_index("ix_consultation_sessions_starts_at", "consultation_sessions", ["starts_at"])
    op.create_table(
        "consultation_comments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("consultation_id", sa.Integer(), nullable=False),
        sa.Column("draft_id", sa.Integer(), nullable=False),
        sa.Column("section_key", String(length=60), nullable=False),
        sa.Column("mentor_id", sa.BigInteger(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", UTC(), nullable=False),
        _consultation_fk(),
        sa.ForeignKeyConstraint(["draft_id"], ["drafts.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["mentor_id"], ["users.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_consultation_comments_consultation_id", "consultation_comments", ["consultation_id"]
    )
    op.create_index(
        "ix_consultation_comments_section", "consultation_comments", ["draft_id", "section_key"]
    )
    op.create_table(
        "relayed_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("consultation_id", sa.Integer(), nullable=False),
        sa.Column("from_chat_id", sa.BigInteger(), nullable=False),
        sa.Column("from_message_id", sa.Integer(), nullable=False),
        sa.Column("to_chat_id", sa.BigInteger(), nullable=False),
        sa.Column("to_message_id", sa.Integer(), nullable=True),
        sa.Column("header_message_id", sa.Integer(), nullable=True),
        sa.Column("status", String(length=16), nullable=False),
        sa.Column("created_at", UTC(), nullable=False),
        _consultation_fk(),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_relayed_messages_consultation_id", "relayed_messages", ["consultation_id"])
    op.create_index(
        "ix_relayed_messages_source", "relayed_messages", ["from_chat_id", "from_message_id"]
    )
    op.create_index("ix_relayed_messages_copy", "relayed_messages", ["to_chat_id", "to_message_id"])
    op.create_index(
        "ix_relayed_messages_header", "relayed_messages", ["to_chat_id", "header_message_id"]
    )
    op.create_table(
        "consultation_reminders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("offset_minutes", sa.Integer(), nullable=False),
        sa.Column("status", String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("updated_at", UTC(), nullable=False),
        sa.ForeignKeyConstraint(["session_id"], ["consultation_sessions.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("session_id", "user_id", "offset_minutes"),
    )
    op.create_index(
        "ix_consultation_reminders_session_id", "consultation_reminders", ["session_id"]
    )
    op.create_table(
        "consultation_notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("consultation_id", sa.Integer(), nullable=False),
        sa.Column("kind", String(length=20), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("status", String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", UTC(), nullable=False),
        sa.Column("updated_at", UTC(), nullable=False),
        _consultation_fk(),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("consultation_id", "kind", "round", "user_id"),
    )
    op.create_index(
        "ix_consultation_notices_consultation_id", "consultation_notices", ["consultation_id"]
    )


def downgrade() -> None:
    for table in (
        "consultation_notices",
        "consultation_reminders",
        "relayed_messages",
        "consultation_comments",
        "consultation_sessions",
        "consultation_events",
        "consultation_offers",
        "consultations",
        "mentor_invites",
        "mentors",
    ):
        op.drop_table(table)
