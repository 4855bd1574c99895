"""Small helpers for reading Outcomes in domain tests."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from bot.services.dialog import Dialog
from bot.services.replies import Button, LongReply, Outcome, Reply
from models import repository as repo
from models.competitions import Competition, Stage

# Valid answers to the nine IID sections before the rancang bangun parts.
ANSWERS_BEFORE_RANCANG_BANGUN = (
    "SIPANDU BUMIL",
    "ASN",
    "Penerapan",
    "Digital",
    "publik",
    "Non tematik",
    "Kesehatan",
    "Maret 2025",
    "Juli 2025",
)


def templates(outcome: Outcome) -> list[str]:
    return [r.template for r in outcome.replies if isinstance(r, Reply)]


def buttons(outcome: Outcome) -> list[Button]:
    found: list[Button] = []
    for reply in outcome.replies:
        rows = reply.buttons if isinstance(reply, Reply | LongReply) else ()
        found.extend(button for row in rows for button in row)
    return found


def button_data(outcome: Outcome, text: str | None = None, label: str | None = None) -> str:
    for button in buttons(outcome):
        if (text is not None and button.text == text) or (label and button.label == label):
            return button.data
    raise AssertionError(
        f"no button {text or label} in {[b.text or b.label for b in buttons(outcome)]}"
    )


def last_reply(outcome: Outcome) -> Reply:
    reply = outcome.replies[-1]
    assert isinstance(reply, Reply)
    return reply


def register(
    dialog: Dialog, user_id: int, name: str = "Andi Pratiwi", opd: str = "kesehatan"
) -> None:
    dialog.command(user_id, "start")
    dialog.callback(user_id, "r:ok")
    dialog.text(user_id, name)
    found = dialog.text(user_id, opd)
    dialog.callback(user_id, buttons(found)[0].data)
    dialog.callback(user_id, "r:s")  # the optional NIP: skipped


def new_draft(dialog: Dialog, user_id: int, format_key: str = "iid") -> int:
    """Create a draft through the flow; returns its id (the bot now asks section 1)."""
    dialog.callback(user_id, f"n:{format_key}")
    with dialog.ctx.db.session() as session:
        return repo.drafts_of(session, user_id)[0].id


def answers(dialog: Dialog, draft_id: int) -> dict[str, str]:
    with dialog.ctx.db.session() as session:
        return repo.answers_of(session, draft_id)


def state(dialog: Dialog, user_id: int) -> tuple[str, int | None, str | None]:
    with dialog.ctx.db.session() as session:
        found = repo.get_state(session, user_id)
        return found.flow, found.draft_id, found.section_key


def add_competition(
    session: Session,
    name: str,
    stages: dict[str, datetime],
    organiser: str = "Bappeda",
    level: str = "Kabupaten/Kota",
) -> Competition:
    """A competition of 2026 with its stages (name -> deadline), written straight to the
    database for tests whose subject is not the admin's /lomba conversation."""
    competition = Competition(name=name, organiser=organiser, level=level, year=2026)
    session.add(competition)
    session.flush()
    for stage, deadline in stages.items():
        session.add(Stage(competition_id=competition.id, name=stage, deadline_at=deadline))
    return competition
