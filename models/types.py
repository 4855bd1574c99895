"""Column types and column declarations shared by the tables."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, Column, DateTime, ForeignKey
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field


class UTCDateTime(TypeDecorator[datetime]):
    """Stores timezone-aware datetimes as UTC and always returns them aware in UTC.

    SQLite has no time zone type and returns naive values; PostgreSQL returns `timestamptz`
    in the session's zone. Normalising here means no caller ever compares naive with aware.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column; use an aware datetime")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


# ---- column declarations every model file shares ---------------------------------------------


def created_at_field() -> Any:
    """A row's creation time, UTC, set when the row is made."""
    return Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


def optional_time_field() -> Any:
    """A UTC time that is set later (finished, confirmed), None until then."""
    return Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))


def user_fk_field(ondelete: str = "CASCADE", nullable: bool = False, index: bool = True) -> Any:
    """A user's Telegram id; by default their rows go when their account is deleted (UU PDP)."""
    return Field(
        default=None if nullable else ...,
        sa_column=Column(
            BigInteger, ForeignKey("users.id", ondelete=ondelete), nullable=nullable, index=index
        ),
    )
