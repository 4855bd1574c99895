"""the author's NIP and the head (kepala) of each OPD, for the proposal's approval page

Revision ID: 0007
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable columns only: every existing user and office keeps its row as it was.
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("nip", sa.String(length=18), nullable=True))
    with op.batch_alter_table("opd") as batch:
        batch.add_column(sa.Column("head_name", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("head_nip", sa.String(length=18), nullable=True))
        batch.add_column(sa.Column("head_position", sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("opd") as batch:
        batch.drop_column("head_position")
        batch.drop_column("head_nip")
        batch.drop_column("head_name")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("nip")
