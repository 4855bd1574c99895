"""What every domain service needs: the database, the formats and a few settings."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.services.formats import FormatRegistry
from bot.services.limits import (
    DEFAULT_MAX_DRAFTS,
    DEFAULT_MAX_OPEN_CONSULTATIONS,
    DEFAULT_MAX_REVISIONS,
)
from models.db import Database
from models.types import utcnow


@dataclass
class ServiceContext:
    db: Database
    formats: FormatRegistry
    tz: ZoneInfo
    admin_ids: frozenset[int] = frozenset()
    region_name: str = ""
    region_capital: str = ""
    continuation_window_seconds: float = 5.0
    reminder_offsets_days: tuple[int, ...] = (14, 7, 3, 1)
    reminder_time: time = time(8, 0)
    reminder_grace: timedelta = timedelta(hours=6)
    clock: Callable[[], datetime] = field(default=utcnow)
    # Per-account limits (bot/services/limits.py).
    max_drafts_per_user: int = DEFAULT_MAX_DRAFTS
    max_open_consultations: int = DEFAULT_MAX_OPEN_CONSULTATIONS
    max_revisions_per_section: int = DEFAULT_MAX_REVISIONS

    def now(self) -> datetime:
        return self.clock()

    def today(self) -> date:
        """Today in the region's time zone (a month typed on 1 Jan WITA is already the new year)."""
        return self.now().astimezone(self.tz).date()

    def is_admin(self, user_id: int) -> bool:
        return user_id in self.admin_ids
