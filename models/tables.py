"""SQLModel tables.

Telegram ids are 64-bit, so every column holding one is BigInteger. Every table that a user's
data lives in cascades from `users` or `drafts`, so deleting a draft or an account removes all of
it in one statement.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlmodel import Field, SQLModel

from models.types import UTCDateTime, created_at_field, utcnow


def _telegram_id_pk() -> Any:
    return Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))


class Opd(SQLModel, table=True):
    """An office (Organisasi Perangkat Daerah) of the region."""

    __tablename__ = "opd"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200, unique=True, index=True)
    active: bool = Field(default=True)
    # The head of the office, signing the proposal's approval page (set by admins in /opd).
    head_name: str | None = Field(default=None, max_length=200)
    head_nip: str | None = Field(default=None, max_length=18)
    head_position: str | None = Field(default=None, max_length=200)
    created_at: datetime = created_at_field()


class User(SQLModel, table=True):
    """A Telegram user. Only the id is stored until they consent (UU PDP 27/2022)."""

    __tablename__ = "users"

    id: int = _telegram_id_pk()
    full_name: str | None = Field(default=None, max_length=200)
    opd_id: int | None = Field(default=None, foreign_key="opd.id", ondelete="SET NULL")
    # Nomor Induk Pegawai: 18 digits without spaces, optional (printed on the approval page).
    nip: str | None = Field(default=None, max_length=18)
    consent_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    registered_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    # False once Telegram answers 403: the user blocked the bot.
    reachable: bool = Field(default=True)
    created_at: datetime = created_at_field()


class Draft(SQLModel, table=True):
    """A proposal being written by its owner, in one of the declared formats."""

    __tablename__ = "drafts"

    id: int | None = Field(default=None, primary_key=True)
    # None once the owner deleted their account and handed the draft to their office.
    owner_id: int | None = Field(
        default=None,
        sa_column=Column(
            BigInteger, ForeignKey("users.id", ondelete="CASCADE"), nullable=True, index=True
        ),
    )
    # The office a handed-over draft belongs to.
    opd_id: int | None = Field(default=None, foreign_key="opd.id", ondelete="SET NULL")
    format_key: str = Field(max_length=40)
    # Set by "Ganti nama"; when empty the draft is known by its `nama` answer.
    title: str | None = Field(default=None, max_length=150)
    # The section the owner reaches next when they continue drafting.
    resume_section: str | None = Field(default=None, max_length=60)
    created_at: datetime = created_at_field()
    updated_at: datetime = created_at_field()


class Answer(SQLModel, table=True):
    """The current text of one section of a draft (choice answers store the option text)."""

    __tablename__ = "answers"
    __table_args__ = (UniqueConstraint("draft_id", "section_key"),)

    id: int | None = Field(default=None, primary_key=True)
    draft_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("drafts.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    section_key: str = Field(max_length=60)
    value: str = Field(sa_column=Column(Text, nullable=False))
    updated_at: datetime = created_at_field()


class AnswerRevision(SQLModel, table=True):
    """A previous text of a section, kept whenever an answer is replaced."""

    __tablename__ = "answer_revisions"

    id: int | None = Field(default=None, primary_key=True)
    draft_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("drafts.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    section_key: str = Field(max_length=60)
    value: str = Field(sa_column=Column(Text, nullable=False))
    replaced_at: datetime = created_at_field()


class ConversationState(SQLModel, table=True):
    """Where a user is in a flow: what the bot waits for next.

    Read and written in the same transaction as the answer it concerns, so any process can
    continue any user's conversation after a restart.
    """

    __tablename__ = "conversation_states"

    user_id: int = _telegram_id_pk()
    flow: str = Field(max_length=40)
    step: str | None = Field(default=None, max_length=60)
    draft_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("drafts.id", ondelete="SET NULL"), nullable=True),
    )
    section_key: str | None = Field(default=None, max_length=60)
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # The last free-text answer, so that the rest of a long text the client split into several
    # messages is joined to it instead of answering the next question.
    last_text_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    last_text_target: str | None = Field(default=None, max_length=120)
    last_text_length: int = Field(default=0)
    # A deep link (`/start mentor-<token>`) opened before registering: kept through every flow
    # of the registration, and opened once it is complete, so the user need not find it again.
    pending_start: str | None = Field(default=None, max_length=120)
    updated_at: datetime = created_at_field()


class ErrorReport(SQLModel, table=True):
    """When the admins were last told of each kind of error: shared by every process, so a
    kind is reported once per interval however many processes meet it."""

    __tablename__ = "error_reports"

    kind: str = Field(primary_key=True, max_length=200)
    reported_at: datetime = created_at_field()


class ProcessedUpdate(SQLModel, table=True):
    """Telegram delivers updates at least once; an update seen here is not handled again.

    An update is recognised by its id *and* a fingerprint of its content: ids are not unique
    over time (after a quiet week Telegram picks the next one at random; an emulator restarted
    numbers from 1 again), and a new update that happens to reuse an id must still be handled.
    Rows are kept only as long as Telegram can redeliver (see Dialog.prune_processed_updates).
    """

    __tablename__ = "processed_updates"

    update_id: int = _telegram_id_pk()
    fingerprint: str = Field(
        default="", sa_column=Column(String(32), primary_key=True, server_default="")
    )
    processed_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False, index=True)
    )
