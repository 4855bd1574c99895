"""Personal data (UU 27/2022): `/dataku` sends a user everything stored about them, and
`/hapus_akun` deletes it after confirmation, drafts included or handed to their office.

Both read the table metadata rather than a hand-kept list, so a feature that adds a table
holding user data is covered by adding a foreign key to `users` (or a column in USER_COLUMNS).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any, Literal

from sqlalchemy import Table, delete, select, update
from sqlmodel import Session, SQLModel

import models.schema  # noqa: F401  (every table: a user's data is looked for in all of them)
from bot.services.context import ServiceContext
from bot.services.data_export import readable_export
from bot.services.feature import Feature
from bot.services.replies import Button, DocumentReply, Outcome, Reply, keyboard
from bot.services.roles import Role
from bot.services.routes import Route
from bot.services.textutil import with_year
from models import repository as repo
from models.competitions import Competition
from models.tables import Draft, Opd, User

# Columns that hold a Telegram user id without a foreign key (delivery records and the like).
USER_COLUMNS = (
    "user_id",
    "owner_id",
    "mentor_id",
    "asn_id",
    "actor_id",
    "sender_id",
    "recipient_id",
    "created_by",
    # A relayed message's two chats: the rows are the routing of that person's messages.
    "from_chat_id",
    "to_chat_id",
)
# Of those, the ones in a shared record (a line of a consultation's history): the person's id
# is cleared and the line kept, so the other side's history still reads well.
CLEARED_COLUMNS = ("actor_id",)
DELETE_FLOW = "delete_account"


class DeleteAccount(Route, prefix="x"):
    """The answer to "delete your account?": everything, keep the drafts for the office, no."""

    choice: Literal["all", "opd", "no"]


# What other features do before an account is deleted (a mentor's consultations go to others).
LeavingHook = Callable[[Session, int], Outcome]


class PersonalDataService:
    def __init__(self, ctx: ServiceContext, leaving: Sequence[LeavingHook] = ()) -> None:
        self.ctx = ctx
        self.leaving = tuple(leaving)

    def feature(self) -> Feature:
        return Feature(
            name="personal_data",
            service=self,
            commands={
                "dataku": lambda s, st, a: self.export(s, st.user_id),
                "hapus_akun": lambda s, st, a: self.confirm_deletion(s, st.user_id),
            },
            routes={DeleteAccount: self.delete_account},
            # Before the registration is complete too: one's data is one's own at any step.
            role=Role.ANYONE,
        )

    def export(self, session: Session, user_id: int) -> Outcome:
        data = collect(session, user_id)
        if not data["users"]:
            return Outcome().add(Reply("pdp/nothing_stored"))
        readable, sections = readable_export(
            data, self.ctx.tz, self.ctx.now(), self._code_names(session)
        )
        content = json.dumps(readable, ensure_ascii=False, indent=2, default=_json_value)
        return Outcome().add(
            DocumentReply(
                filename=f"data-saya-{user_id}.json",
                content=content.encode(),
                caption_template="pdp/export_caption",
                caption_context={"sections": sections},
            )
        )

    def _code_names(self, session: Session) -> dict[str, dict[Any, str]]:
        """What the codes in the export stand for: offices, formats and their sections."""
        sections = {s.key: s.title for f in reversed(list(self.ctx.formats)) for s in f.sections}
        return {
            "opd_id": {opd_id: name for opd_id, name in session.exec(select(Opd.id, Opd.name))},
            "competition_id": {
                cid: with_year(name, year)
                for cid, name, year in session.exec(
                    select(Competition.id, Competition.name, Competition.year)
                )
            },
            "format_key": {f.key: f.title for f in self.ctx.formats},
            "section_key": sections,
            "resume_section": sections,
        }

    def confirm_deletion(self, session: Session, user_id: int) -> Outcome:
        user = session.get(User, user_id)
        if user is None:
            return Outcome().add(Reply("pdp/nothing_stored"))
        drafts = repo.drafts_of(session, user_id)
        rows = [[Button(DeleteAccount("all"), label="delete_everything")]]
        if drafts and user.opd_id:
            rows.append([Button(DeleteAccount("opd"), label="delete_keep_drafts_for_opd")])
        rows.append([Button(DeleteAccount("no"), label="cancel_delete")])
        repo.set_flow(repo.get_state(session, user_id), DELETE_FLOW)
        return Outcome().add(Reply("pdp/delete_confirm", {"drafts": len(drafts)}, keyboard(*rows)))

    def delete_account(self, session: Session, user_id: int, route: DeleteAccount) -> Outcome:
        state = repo.get_state(session, user_id)
        if state.flow != DELETE_FLOW:
            return Outcome(notice="stale_button", notice_alert=True)
        if route.choice == "no":
            repo.clear_flow(state)
            return Outcome().add(Reply("pdp/delete_cancelled", edit=True))
        handed = hand_drafts_to_opd(session, user_id) if route.choice == "opd" else 0
        outcome = Outcome().add(Reply("pdp/deleted", {"handed": handed}, edit=True))
        for hook in self.leaving:
            before = hook(session, user_id)
            outcome.replies.extend(r for r in before.replies if getattr(r, "to", None) != user_id)
            outcome.rebuild += before.rebuild
            outcome.menus += before.menus
        delete_user(session, user_id)
        return outcome


def user_tables() -> list[tuple[Table, list[str]]]:
    """Tables whose rows are the user's own: a cascading foreign key to users.id, or one of
    USER_COLUMNS without a foreign key. (A SET NULL key marks a row that is someone else's,
    e.g. the mentor of another person's consultation: see referencing_columns.)"""
    found = []
    for table in SQLModel.metadata.sorted_tables:
        if table.name == "users":
            continue
        columns = [
            c.name
            for c in table.columns
            if any(_points_at_users(fk) and fk.ondelete != "SET NULL" for fk in c.foreign_keys)
            or (c.name in USER_COLUMNS and not c.foreign_keys)
        ]
        if columns:
            found.append((table, columns))
    return found


def referencing_columns() -> list[tuple[Table, str]]:
    """Columns in other people's rows that name the user: cleared, the rows kept."""
    return [
        (table, column.name)
        for table in SQLModel.metadata.sorted_tables
        for column in table.columns
        if any(_points_at_users(fk) and fk.ondelete == "SET NULL" for fk in column.foreign_keys)
    ]


def _points_at_users(foreign_key: Any) -> bool:
    return foreign_key.column.table.name == "users"


def draft_tables(cascading: bool = True) -> list[tuple[Table, str]]:
    """Columns pointing at drafts: rows that belong to a draft (cascading: answers,
    revisions, links) or, with cascading=False, rows that only mention one (SET NULL)."""
    return [
        (table, column.name)
        for table in SQLModel.metadata.sorted_tables
        for column in table.columns
        if any(
            fk.column.table.name == "drafts" and (fk.ondelete != "SET NULL") == cascading
            for fk in column.foreign_keys
        )
    ]


def collect(session: Session, user_id: int) -> dict[str, list[dict[str, Any]]]:
    data: dict[str, list[dict[str, Any]]] = {}
    users = SQLModel.metadata.tables["users"]
    data["users"] = _rows(session, select(users).where(users.c.id == user_id))
    for table, columns in user_tables():
        condition = _any_equal(table, columns, user_id)
        data.setdefault(table.name, []).extend(_rows(session, select(table).where(condition)))
    draft_ids = [row["id"] for row in data.get("drafts", [])]
    for table, column in draft_tables():
        if draft_ids and table.name != "conversation_states":
            rows = _rows(session, select(table).where(table.c[column].in_(draft_ids)))
            _add_new(data, table.name, rows)
    # Other people's records that name the user (the consultations a mentor took, the comments
    # they wrote): the record is shown, the other people in it are not.
    for table, column in referencing_columns():
        rows = _rows(session, select(table).where(table.c[column] == user_id))
        _add_new(data, table.name, [_others_withheld(table, row, user_id) for row in rows])
    return data


def _add_new(data: dict[str, list[dict[str, Any]]], name: str, rows: list[dict[str, Any]]) -> None:
    """Add the rows not already in the export's section `name`."""
    known = {json.dumps(r, sort_keys=True, default=_json_value) for r in data.get(name, [])}
    data.setdefault(name, []).extend(
        r for r in rows if json.dumps(r, sort_keys=True, default=_json_value) not in known
    )


def _others_withheld(table: Table, row: dict[str, Any], user_id: int) -> dict[str, Any]:
    """The row with every other person's id left out (None)."""
    people = {
        c.name
        for c in table.columns
        if c.name in USER_COLUMNS or any(_points_at_users(fk) for fk in c.foreign_keys)
    }
    return {k: (None if k in people and v != user_id else v) for k, v in row.items()}


def hand_drafts_to_opd(session: Session, user_id: int) -> int:
    """The user's drafts become their office's: kept for the region, no longer theirs."""
    user = session.get(User, user_id)
    if user is None or user.opd_id is None:
        return 0
    result = session.exec(
        update(Draft).where(Draft.owner_id == user_id).values(owner_id=None, opd_id=user.opd_id)
    )
    return result.rowcount


def delete_user(session: Session, user_id: int) -> None:
    """Delete the user and every row naming them; their remaining drafts go with them."""
    drafts = SQLModel.metadata.tables["drafts"]
    owned = [r[0] for r in session.exec(select(drafts.c.id).where(drafts.c.owner_id == user_id))]
    if owned:
        for table, column in draft_tables(cascading=False):
            session.exec(update(table).where(table.c[column].in_(owned)).values({column: None}))
        for table, column in draft_tables():
            session.exec(delete(table).where(table.c[column].in_(owned)))
    for table, column in referencing_columns():
        session.exec(update(table).where(table.c[column] == user_id).values({column: None}))
    for table, columns in reversed(user_tables()):
        for name in (c for c in columns if c in CLEARED_COLUMNS):
            session.exec(update(table).where(table.c[name] == user_id).values({name: None}))
        owned = [c for c in columns if c not in CLEARED_COLUMNS]
        if owned:
            session.exec(delete(table).where(_any_equal(table, owned, user_id)))
    users = SQLModel.metadata.tables["users"]
    session.exec(delete(users).where(users.c.id == user_id))


def _any_equal(table: Table, columns: list[str], user_id: int) -> Any:
    from sqlalchemy import or_

    return or_(*(table.c[name] == user_id for name in columns))


def _rows(session: Session, query: Any) -> list[dict[str, Any]]:
    return [dict(row._mapping) for row in session.exec(query)]


def _json_value(value: object) -> str:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)
