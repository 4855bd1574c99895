"""The outbox mechanism every delivery table shares: claim, record, the 403.

Each feature keeps its own delivery rows (`reminder_deliveries`, `broadcast_deliveries`, ...)
because what identifies a delivery differs (user × deadline × offset, broadcast × user); what
is the same is written once here:

- `claim`: ONE conditional UPDATE from an open status to the claimed one, won by exactly one
  session (rowcount 1); a second process, a duplicated wake-up or a restart loses it. The
  claim is committed before the send, so a crash after it never sends the message again.
- `record`: the outcome of the send; a "blocked" (Telegram's 403) also marks the user
  unreachable, so no feature sends to them again.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, SQLModel, col

from models.tables import User

# What the sender reports (scheduler.core.DeliveryStatus).
OUTCOMES = ("delivered", "blocked", "failed")


def _matching(table: type[SQLModel], key: Mapping[str, Any]) -> list[Any]:
    return [col(getattr(table, name)) == value for name, value in key.items()]


def claim(
    session: Session,
    table: type[SQLModel],
    key: Mapping[str, Any],
    open_statuses: Iterable[str],
    values: Mapping[str, Any],
) -> bool:
    """Take the delivery matching `key` if its status is still open; True for the one winner."""
    result = session.execute(
        update(table)
        .where(*_matching(table, key), col(table.status).in_(tuple(open_statuses)))  # type: ignore[attr-defined]
        .values(**values)
    )
    return result.rowcount == 1  # type: ignore[attr-defined]


def record(
    session: Session,
    table: type[SQLModel],
    key: Mapping[str, Any],
    outcome: str,
    user_id: int,
    values: Mapping[str, Any],
    status_of: Mapping[str, str] | None = None,
) -> None:
    """Store the outcome of a send (`status_of` renames it for the table); 403 → unreachable."""
    if outcome not in OUTCOMES:
        raise ValueError(outcome)
    status = (status_of or {}).get(outcome, outcome)
    session.execute(update(table).where(*_matching(table, key)).values(status=status, **values))
    if outcome == "blocked":
        mark_unreachable(session, user_id)


def mark_unreachable(session: Session, user_id: int) -> None:
    """The user blocked the bot: nothing is sent to them until they write again."""
    user = session.get(User, user_id)
    if user is not None and user.reachable:
        user.reachable = False
        session.add(user)


def stamp(now: datetime) -> dict[str, datetime]:
    return {"updated_at": now}
