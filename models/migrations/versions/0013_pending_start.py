"""a deep link opened before registering waits in the conversation state

Revision ID: 0013
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Batch mode rebuilds the table on SQLite, copying every row: nobody loses their place.
    with op.batch_alter_table("conversation_states") as batch:
        batch.add_column(sa.Column("pending_start", sa.String(length=120), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("conversation_states") as batch:
        batch.drop_column("pending_start")
