"""drafts can be handed to their office when the owner deletes their account

Revision ID: 0005
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Batch mode rebuilds the table on SQLite, copying every row: no draft is lost.
    with op.batch_alter_table("drafts") as batch:
        batch.alter_column("owner_id", existing_type=sa.BigInteger(), nullable=True)
        batch.add_column(sa.Column("opd_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            "fk_drafts_opd_id_opd", "opd", ["opd_id"], ["id"], ondelete="SET NULL"
        )


def downgrade() -> None:
    with op.batch_alter_table("drafts") as batch:
        batch.drop_constraint("fk_drafts_opd_id_opd", type_="foreignkey")
        batch.drop_column("opd_id")
        batch.alter_column("owner_id", existing_type=sa.BigInteger(), nullable=False)
