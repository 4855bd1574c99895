"""The outbox mechanism itself (models/outbox.py, scheduler/outbox.py), on SQLite and PostgreSQL:
one claim wins a race, a crash after the claim never sends twice, a failure is retried, a 403
marks the user unreachable."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from datetime import datetime

from sqlmodel import Session, select

from bot.services.replies import AnyReply, Reply
from models import outbox
from models.db import Database
from models.readiness import Broadcast, BroadcastDelivery
from models.tables import User
from models.types import utcnow
from scheduler.core import DeliveryStatus
from scheduler.outbox import Batch, OutboxSource

ADMIN, ANDI, BUDI, CITRA = 9001, 1001, 1002, 1003
MESSAGE = Reply("admin/broadcast_message", {"text": "Halo semua"})


def _setup(database: Database, recipients: tuple[int, ...] = (ANDI, BUDI, CITRA)) -> int:
    with database.session() as session:
        for user_id in (ADMIN, *recipients):
            session.add(User(id=user_id, full_name=f"U{user_id}", consent_at=utcnow()))
        session.flush()
        broadcast = Broadcast(admin_id=ADMIN, text="Halo semua", status="sending")
        session.add(broadcast)
        session.flush()
        for user_id in recipients:
            session.add(BroadcastDelivery(broadcast_id=broadcast.id, user_id=user_id))
        session.flush()
        return broadcast.id or 0


def _key(broadcast_id: int, user_id: int) -> dict[str, int]:
    return {"broadcast_id": broadcast_id, "user_id": user_id}


def _claim(session: Session, broadcast_id: int, user_id: int, open_: tuple[str, ...]) -> bool:
    values = {"status": "sending", **outbox.stamp(utcnow())}
    return outbox.claim(session, BroadcastDelivery, _key(broadcast_id, user_id), open_, values)


def _status(database: Database, broadcast_id: int, user_id: int) -> str:
    with database.session() as session:
        query = select(BroadcastDelivery).filter_by(**_key(broadcast_id, user_id))
        return session.exec(query).one().status


class Source(OutboxSource[int]):
    """A minimal feature on the outbox: one broadcast's pending deliveries."""

    kind = "test"

    def __init__(self, database: Database, broadcast_id: int) -> None:
        super().__init__()
        self.database, self.broadcast_id = database, broadcast_id

    def wake_times(self, now: datetime) -> list[datetime]:
        return [now]

    def batches(self, now: datetime) -> list[Batch[int]]:
        with self.database.session() as session:
            query = select(BroadcastDelivery).filter_by(
                broadcast_id=self.broadcast_id, status="pending"
            )
            rows = session.exec(query)
            return [Batch(sorted(r.user_id for r in rows))]

    def chat_of(self, item: int) -> int:
        return item

    def claim(self, item: int, now: datetime) -> AnyReply | None:
        with self.database.session() as session:
            return MESSAGE if _claim(session, self.broadcast_id, item, ("pending",)) else None

    def record(self, item: int, status: DeliveryStatus, now: datetime) -> None:
        with self.database.session() as session:
            key = _key(self.broadcast_id, item)
            outbox.record(session, BroadcastDelivery, key, status, item, outbox.stamp(now))


def test_two_sessions_racing_for_one_claim_exactly_one_wins(database: Database) -> None:
    broadcast_id = _setup(database)
    with database.session() as first:
        assert _claim(first, broadcast_id, ANDI, ("pending",))
    with database.session() as second:
        assert not _claim(second, broadcast_id, ANDI, ("pending",))

    start, wins, lock = threading.Barrier(4), [], threading.Lock()

    def race() -> None:
        start.wait()
        try:
            with database.session() as session:
                won = _claim(session, broadcast_id, BUDI, ("pending",))
        except Exception:  # a writer locked out by SQLite lost the race too
            won = False
        with lock:
            wins.append(won)

    threads = [threading.Thread(target=race) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(wins) == [False, False, False, True]
    assert _status(database, broadcast_id, BUDI) == "sending"


def test_a_crash_after_the_claim_never_sends_again(database: Database) -> None:
    broadcast_id = _setup(database)
    sent: list[int] = []

    async def dies_on_citra(chat_id: int, reply: AnyReply) -> DeliveryStatus:
        if chat_id == CITRA:  # the last one, so nothing else is cut off with it
            raise RuntimeError("process killed mid-send")
        sent.append(chat_id)
        return "delivered"

    source = Source(database, broadcast_id)
    source.concurrency = 1
    with contextlib.suppress(RuntimeError):
        asyncio.run(source.run_due(utcnow(), dies_on_citra))
    assert _status(database, broadcast_id, CITRA) == "sending"  # claimed, never confirmed

    async def works(chat_id: int, reply: AnyReply) -> DeliveryStatus:
        sent.append(chat_id)
        return "delivered"

    asyncio.run(Source(database, broadcast_id).run_due(utcnow(), works))
    asyncio.run(Source(database, broadcast_id).run_due(utcnow(), works))
    assert sorted(sent) == [ANDI, BUDI]
    assert _status(database, broadcast_id, BUDI) == "delivered"
    assert _status(database, broadcast_id, CITRA) == "sending"


def test_a_failed_send_is_retried_once_per_claim(database: Database) -> None:
    broadcast_id = _setup(database)
    with database.session() as session:
        assert _claim(session, broadcast_id, ANDI, ("pending",))
        outbox.record(session, BroadcastDelivery, _key(broadcast_id, ANDI), "failed", ANDI, {})
    with database.session() as session:
        assert _claim(session, broadcast_id, ANDI, ("failed",))
    with database.session() as session:
        assert not _claim(session, broadcast_id, ANDI, ("failed",))
        outbox.record(session, BroadcastDelivery, _key(broadcast_id, ANDI), "delivered", ANDI, {})
    with database.session() as session:
        assert not _claim(session, broadcast_id, ANDI, ("failed", "pending"))
    assert _status(database, broadcast_id, ANDI) == "delivered"


def test_a_403_records_blocked_and_marks_the_user_unreachable(database: Database) -> None:
    broadcast_id = _setup(database)

    async def blocked_by_andi(chat_id: int, reply: AnyReply) -> DeliveryStatus:
        return "blocked" if chat_id == ANDI else "delivered"

    asyncio.run(Source(database, broadcast_id).run_due(utcnow(), blocked_by_andi))
    assert _status(database, broadcast_id, ANDI) == "blocked"
    assert _status(database, broadcast_id, BUDI) == "delivered"
    with database.session() as session:
        assert session.get(User, ANDI).reachable is False
        assert session.get(User, BUDI).reachable is True


def test_an_unknown_outcome_is_refused(database: Database) -> None:
    broadcast_id = _setup(database)
    with database.session() as session:
        try:
            outbox.record(session, BroadcastDelivery, _key(broadcast_id, ANDI), "maybe", ANDI, {})
        except ValueError:
            return
    raise AssertionError("an unknown outcome was recorded")
