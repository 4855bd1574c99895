"""What /lomba and the year import share: the levels of a competition, moving a deadline and
deleting a competition (each change asks the reminder schedule to be rebuilt)."""

from __future__ import annotations

from datetime import datetime
from functools import cache

import yaml
from sqlmodel import Session

from bot.paths import DATA_DIR
from models.competitions import (
    Competition,
    Stage,
    delete_competition_rows,
    delete_reminder_deliveries,
)

SCHEDULE = "reminders"  # the scheduler source to rebuild after a change
LEVELS_FILE = DATA_DIR / "competition_levels.yaml"


@cache
def _levels() -> list[dict]:
    return yaml.safe_load(LEVELS_FILE.read_text(encoding="utf-8"))


def level_names() -> tuple[str, ...]:
    """The levels a competition can have, lowest first ("Kabupaten/Kota", ...)."""
    return tuple(level["name"] for level in _levels())


def level_aliases() -> dict[str, str]:
    """Each way an import file may write a level (casefolded) -> the level's name."""
    return {alias.casefold(): level["name"] for level in _levels() for alias in level["aliases"]}


LEVELS = level_names()


def move_deadline(session: Session, stage: Stage, deadline: datetime, now: datetime) -> None:
    """A new deadline: reminders already sent stay sent, the others are planned afresh."""
    stage.deadline_at = deadline
    stage.updated_at = now
    session.add(stage)
    if stage.id is not None:
        delete_reminder_deliveries(session, [stage.id], statuses=("skipped", "failed"))


def delete_competition(session: Session, competition: Competition) -> None:
    delete_competition_rows(session, competition)
