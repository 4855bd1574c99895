"""Random sessions of several users against the domain Dialog, on SQLite and PostgreSQL.

Hypothesis draws texts (long, HTML-looking, emoji, pastes split into parts), commands (known,
unknown, deep links), button presses (the user's real buttons, other users' buttons, and forged
data with any prefix and other people's draft, consultation and competition ids) and non-text
messages. Whatever it draws:

- no call raises (in the bot that would reach the error handler);
- every message and press is answered, and every answer renders from the templates into a
  message Telegram accepts (valid HTML, at most 4,096 characters, callback data ≤ 64 bytes);
- no user ever receives another user's secret marker (planted in names, answers and titles);
- each user's stored drafts and place in the flow equal what tests/fuzz_model.py predicts.

More examples: KLINIK_FUZZ_EXAMPLES=500 pytest tests/test_fuzz_dialog.py
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlmodel import SQLModel

from bot.rendering import Renderer
from bot.services.dialog import Dialog
from bot.services.feature import Media
from bot.services.formats import load_data_list
from bot.services.opd_admin import seed_default_opds
from bot.services.replies import Outcome
from models.db import Database
from tests.conftest import ADMIN_ID, WITA, Clock
from tests.fuzz_model import (
    BYSTANDER,
    Action,
    Command,
    DraftingModel,
    Inboxes,
    NonText,
    Paste,
    Press,
    Text,
    UserModel,
    action_for,
    callback_prefixes,
    check_message,
    id_pool,
    keyboard_data,
    marker_of,
    observe,
    rendered_messages,
    seed_bystander,
)
from tests.helpers import register

EXAMPLES = int(os.environ.get("KLINIK_FUZZ_EXAMPLES", "25"))
USERS = 3
MAX_STEPS = 40
KEYBOARDS_KEPT = 4
# Every step comes later than the window in which a text joins the long one before it; only
# the parts of a paste come quickly one after another.
STEP_GAP_SECONDS = 6
PASTE_GAP_SECONDS = 1
OFFICES = ("kesehatan", "pendidikan")
FIRST_USER = 20_000


def reset(database: Database) -> None:
    """Empty every table and restart the ids, so that each example starts alike: what it does
    then depends on its draws alone, and Hypothesis can replay and shrink it. (DELETE rather
    than TRUNCATE: on a few rows it is many times faster.)"""
    with database.engine.begin() as connection:
        for table in reversed(SQLModel.metadata.sorted_tables):
            connection.execute(table.delete())
        if database.engine.dialect.name == "postgresql":
            sequences = connection.execute(
                text("SELECT sequence_name FROM information_schema.sequences")
            ).scalars()
            for name in list(sequences):
                connection.execute(text(f'ALTER SEQUENCE "{name}" RESTART WITH 1'))
        elif connection.execute(
            text("SELECT name FROM sqlite_master WHERE name = 'sqlite_sequence'")
        ).first():
            connection.execute(text("DELETE FROM sqlite_sequence"))
    with database.session() as session:
        seed_default_opds(session, load_data_list("opd_default"))


@dataclass
class World:
    dialog: Dialog
    clock: Clock
    start: datetime
    renderer: Renderer
    model: DraftingModel
    inboxes: Inboxes
    keyboards: dict[int, list[list[str]]] = field(default_factory=dict)

    def new_example(self) -> list[UserModel]:
        """A fresh database with the bystander and registered users."""
        reset(self.dialog.ctx.db)
        self.clock.current = self.start
        self.keyboards.clear()
        seed_bystander(self.dialog, ADMIN_ID)
        users = [UserModel(FIRST_USER + i) for i in range(USERS)]
        for number, user in enumerate(users):
            self.inboxes.markers[user.user_id] = user.marker
            register(
                self.dialog,
                user.user_id,
                name=f"Pengguna {user.marker}",
                opd=OFFICES[number % len(OFFICES)],
            )
        return users

    def act(self, user: UserModel, action: Action) -> None:
        self.clock.advance(seconds=STEP_GAP_SECONDS)
        if isinstance(action, Paste):
            for number, part in enumerate(action.parts):
                if number:
                    self.clock.advance(seconds=PASTE_GAP_SECONDS)
                self._one(user, Text(part), continuing=number > 0)
        else:
            self._one(user, action)

    def _one(self, user: UserModel, action: Action, continuing: bool = False) -> None:
        uid = user.user_id
        if isinstance(action, Text):
            outcome = self.dialog.text(uid, action.text)
            effect = self.model.text(user, action.text, continuing)
        elif isinstance(action, Command):
            outcome = self.dialog.command(uid, action.name, action.args)
            effect = self.model.command(user, action.name)
        elif isinstance(action, Press):
            outcome = self.dialog.callback(uid, action.data)
            effect = self.model.press(user, action.data)
        elif isinstance(action, NonText):
            media = Media(kind=action.kind, file_id=f"file-{uid}", chat_id=uid, message_id=1)
            outcome = self.dialog.non_text(uid, media)
            effect = self.model.non_text(user)
        else:  # pragma: no cover - the domain suite draws no other kinds
            raise AssertionError(action)
        self._check_answer(user, action, outcome)
        self.model.settle(user, effect, observe(self.dialog.ctx.db, uid))

    def _check_answer(self, user: UserModel, action: Action, outcome: Outcome) -> None:
        if isinstance(action, Press):
            assert outcome.notice or outcome.replies, f"press {action.data!r} got no answer"
        else:
            assert outcome.replies, f"{action!r} got no answer"
        for recipient, message in rendered_messages(self.renderer, outcome, user.user_id):
            self.inboxes.receive(recipient, check_message(message))
            if recipient == user.user_id and message.buttons:
                kept = self.keyboards.setdefault(recipient, [])
                kept.append(keyboard_data(message.buttons))
                del kept[:-KEYBOARDS_KEPT]

    def real_buttons(self, user: UserModel) -> list[str]:
        return sorted({d for keyboard in self.keyboards.get(user.user_id, []) for d in keyboard})

    def foreign_buttons(self, user: UserModel, users: list[UserModel]) -> list[str]:
        others = [u for u in users if u.user_id != user.user_id]
        return sorted({d for other in others for d in self.real_buttons(other)})


@pytest.fixture
def world(dialog: Dialog, clock: Clock) -> World:
    renderer = Renderer(WITA)
    renderer.env.globals["bot_username"] = "klinik_bot"
    commands = set(dialog.commands)
    model = DraftingModel(dialog.ctx.formats, dialog.ctx.today, commands)
    inboxes = Inboxes({BYSTANDER: marker_of(BYSTANDER)})
    return World(dialog, clock, clock.current, renderer, model, inboxes)


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    # The database fixture is shared by the examples on purpose: each example empties it.
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
@given(data=st.data())
def test_random_sessions_keep_every_promise(world: World, data: st.DataObject) -> None:
    users = world.new_example()
    prefixes = callback_prefixes(world.dialog)
    steps = data.draw(st.integers(1, MAX_STEPS), label="steps")
    user = users[0]
    for _ in range(steps):
        # Mostly the same user again, so that sessions go deep; sometimes another one.
        if data.draw(st.integers(0, 3), label="switch") == 0:
            user = data.draw(st.sampled_from(users), label="user")
        action = action_for(
            data,
            world.model,
            user,
            world.real_buttons(user),
            world.foreign_buttons(user, users),
            prefixes,
            lambda: id_pool(world.dialog.ctx.db),
            extra=("paste",),
        )
        world.act(user, action)
    # Nobody's actions changed anybody else's drafts or place.
    for user in users:
        world.model.settle(user, "known", observe(world.dialog.ctx.db, user.user_id))


@pytest.mark.parametrize(
    ("data", "notice"),
    [
        # A route's int field is a 32-bit id: beyond that the data is no route's value.
        ("d:o:1000000000000", "stale_button"),
        ("a:1000000000000:0:0", "stale_button"),
        ("k:v:1000000000000", "stale_button"),
        ("q:v:9999999999", "stale_button"),
        ("d:o:100000000000000000000", "stale_button"),
    ],
)
def test_an_id_beyond_the_database_integer_is_refused_as_stale(
    dialog: Dialog, data: str, notice: str
) -> None:
    """Found by the fuzz suite: forged data with an id past 2**31 - 1 made PostgreSQL raise
    "integer out of range" (and one past 2**63 overflows SQLite's driver): refused, not a
    crash. PostgreSQL refuses the out-of-range ids before looking (stale_button)."""
    register(dialog, FIRST_USER)
    outcome = dialog.callback(FIRST_USER, data)
    if dialog.ctx.db.engine.dialect.name == "postgresql":
        notice = "stale_button"
    assert outcome.notice == notice
    # The session is still usable afterwards.
    assert dialog.command(FIRST_USER, "draf", "").replies
