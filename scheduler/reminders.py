"""The reminder source: wakes at each reminder time and sends what is due through the outbox."""

from __future__ import annotations

from datetime import datetime

from bot.services.reminders import DueReminder, ReminderService
from bot.services.replies import AnyReply
from scheduler.core import DeliveryStatus, Turn, unpaced
from scheduler.outbox import CONCURRENCY, Batch, OutboxSource

KIND = "reminders"


class ReminderSource(OutboxSource[DueReminder]):
    kind = KIND

    def __init__(
        self, service: ReminderService, turn: Turn = unpaced, concurrency: int = CONCURRENCY
    ) -> None:
        super().__init__(turn, concurrency)
        self.service = service

    def wake_times(self, now: datetime) -> list[datetime]:
        return self.service.wake_times(now)

    def batches(self, now: datetime) -> list[Batch[DueReminder]]:
        return [Batch(self.service.collect_due(now))]

    def chat_of(self, item: DueReminder) -> int:
        return item.user_id

    def claim(self, item: DueReminder, now: datetime) -> AnyReply | None:
        return self.service.claim(item, now)

    def record(self, item: DueReminder, status: DeliveryStatus, now: datetime) -> None:
        self.service.record(item, status, now)
