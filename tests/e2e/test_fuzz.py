"""Random sessions of several users at once, end to end over the Bot API emulator.

The same properties as tests/test_fuzz_dialog.py, through the real Application: Hypothesis
draws a plan per user (texts, commands, real and forged button presses, photos, stickers,
voice notes, files, edits of earlier messages); the users play their plans in rounds, one
action each at the same time. Then:

- nothing reaches the error handler (no ERROR log record; nobody sees the error message);
- every message, press and edit is answered;
- Telegram accepts everything the bot sends (the bot fixture fails on any 400);
- no user's chat ever shows another user's secret marker;
- each user's stored drafts and place in the flow equal the model's (tests/fuzz_model.py).

Plans are drawn whole before they run (button presses as indices into what the chat shows
then, forged ids as indices into the ids that exist then), so the users' concurrency never
changes what Hypothesis draws.

More examples: KLINIK_FUZZ_E2E_EXAMPLES=50 pytest tests/e2e/test_fuzz.py
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from telegram.ext import Application

from bot.emulator import BotApiEmulator
from bot.emulator.formatting import parse_html
from bot.emulator.markup import inline_buttons
from bot.runtime import runtime_of
from tests.conftest import ADMIN_ID
from tests.e2e.chat import register
from tests.e2e.conftest import (
    RunningBot,
    RunningClock,
    assert_no_refused_calls,
    e2e_settings,
    start_bot,
    stop_bot,
)
from tests.fuzz_model import (
    BYSTANDER,
    MAX_TEXT,
    MEDIA_KINDS,
    MONTHS,
    SAFE_CHARACTERS,
    WORDS,
    Command,
    DraftingModel,
    EditOwn,
    NonText,
    Text,
    UserModel,
    callback_prefixes,
    command,
    fit_callback_data,
    id_pool,
    marker_of,
    observe,
    random_text,
    seed_bystander,
)

EXAMPLES = int(os.environ.get("KLINIK_FUZZ_E2E_EXAMPLES", "3"))
USERS = 3
MAX_ROUNDS = 14
ANSWER_TIMEOUT = 10.0
KEYBOARDS_SHOWN = 4
_example_numbers = itertools.count()


# ---- plans: drawn whole, resolved against the chat when they run ---------------------------------


@dataclass(frozen=True)
class Answer:
    """A (mostly valid) answer to whatever the bot waits for, made from a seed."""

    seed: int


@dataclass(frozen=True)
class RealPress:
    """One of the buttons the chat shows (the last few keyboards), by index."""

    index: int


@dataclass(frozen=True)
class OwnPress:
    """A button of one of the user's own drafts (summary, edit menu, a choice)."""

    action: str
    draft: int
    section: int
    option: int


@dataclass(frozen=True)
class ForgedPress:
    """Data no keyboard offered: any prefix; ints are indices into the ids that exist."""

    head: str
    tokens: tuple[str | int, ...]


@dataclass(frozen=True)
class NewDraft:
    """The format chooser's button (any chooser the chat ever showed)."""

    format_index: int


Planned = (
    Answer | RealPress | OwnPress | ForgedPress | NewDraft | Text | Command | NonText | EditOwn
)


def planned_action(prefixes: list[str]) -> st.SearchStrategy[Planned]:
    token = st.one_of(st.integers(0, 1000), st.sampled_from(["o", "c", "x", "xx", "v", "a", "0"]))
    forged = st.builds(
        ForgedPress,
        st.sampled_from(prefixes) | st.text(SAFE_CHARACTERS, max_size=2),
        st.lists(token, max_size=3).map(tuple),
    )
    own = st.builds(
        OwnPress,
        st.sampled_from(["o", "c", "e", "p", "r", "x", "xx", "s", "a"]),
        st.integers(0, 5),
        st.integers(0, 19),
        st.integers(0, 6),
    )
    answer = st.builds(Answer, st.integers(0, 10_000))
    real = st.builds(RealPress, st.integers(0, 100))
    # Weighted towards walking through drafts: one_of picks each branch alike.
    return st.one_of(
        answer,
        answer,
        answer,
        answer,
        real,
        real,
        st.builds(NewDraft, st.integers(0, 1)),
        own,
        forged,
        random_text("{marker}").map(Text),
        command(),
        st.builds(NonText, st.sampled_from(MEDIA_KINDS[:4])),
        st.builds(EditOwn, st.text(SAFE_CHARACTERS, min_size=1, max_size=30)),
    )


def answer_from(seed: int, section: Any, marker: str, year: int) -> str:
    """A deterministic answer of the awaited section's kind (its validity is the model's
    business: some are out of bounds on purpose)."""
    if section.kind == "choice":
        option = section.options[seed % len(section.options)]
        return (option, option.upper(), option[: max(3, len(option) // 2)])[seed // 7 % 3]
    if section.kind == "month":
        return f"{MONTHS[seed % 12]} {year - (seed // 12) % 8}"
    words = " ".join(WORDS[(seed + i) % len(WORDS)] for i in range(3 + seed % 30))
    text = f"{marker} {words}"
    if seed % 9 == 0:
        text = (text + " " + " ".join(WORDS) * 30)[: 3000 + seed % 1000]
    if len(text) < section.min_chars:
        text = (text + " " + " ".join(WORDS) * 3)[: section.min_chars + seed % 40]
    return text[: min(section.max_chars, MAX_TEXT)]


# ---- running -------------------------------------------------------------------------------------


@dataclass
class Player:
    """One simulated user, their model and how they act over the emulator."""

    sim: Any
    user: UserModel
    model: DraftingModel
    bot: RunningBot

    async def act(self, planned: Planned) -> str:
        """Resolve the planned action against the chat, do it, wait for the answer; returns
        what the model expects (see DraftingModel.settle)."""
        action = self._resolve(planned)
        self.sim.clear()
        if isinstance(action, tuple):  # (message id, callback data)
            message_id, data = action
            answer = await self.sim.press_data(data, message_id=message_id, timeout=ANSWER_TIMEOUT)
            assert answer is not None, f"press {data!r} unanswered"
            await self.sim.receive_all(idle=0.05, timeout=0.2)
            return self.model.press(self.user, data)
        if isinstance(action, Text):
            await self.sim.send(action.text)
            effect = self.model.text(self.user, action.text)
        elif isinstance(action, Command):
            await self.sim.send(f"/{action.name} {action.args}".strip())
            effect = self.model.command(self.user, action.name)
        elif isinstance(action, NonText):
            await getattr(self.sim, f"send_{action.kind}")()
            effect = self.model.non_text(self.user)
        else:
            mine = [m for m, s in self.sim.state.messages.items() if not s.from_bot and s.raw_text]
            await self.sim.edit(max(mine), action.text)
            effect = "known"  # an edit changes no stored answer
        answer = await self.sim.receive(timeout=ANSWER_TIMEOUT)
        assert answer, f"{action!r} unanswered"
        await self.sim.receive_all(idle=0.05, timeout=0.2)
        return effect

    def _resolve(self, planned: Planned) -> Text | Command | NonText | EditOwn | tuple[int, str]:
        user, marker = self.user, self.user.marker
        if isinstance(planned, Answer):
            return Text(self._answer(planned.seed))
        if isinstance(planned, RealPress):
            shown = self._shown_buttons()
            if not shown:
                return Command("ide")
            return shown[planned.index % len(shown)]
        if isinstance(planned, NewDraft):
            formats = list(self.model.formats)
            return self._latest(), f"n:{formats[planned.format_index % len(formats)].key}"
        if isinstance(planned, OwnPress):
            if not user.drafts:
                return Command("draf")
            draft = sorted(user.drafts)[planned.draft % len(user.drafts)]
            data = {
                "s": f"d:s:{draft}:{planned.section}",
                "a": f"a:{draft}:{planned.section}:{planned.option}",
            }.get(planned.action, f"d:{planned.action}:{draft}")
            return self._latest(), data
        if isinstance(planned, ForgedPress):
            pool = id_pool(self.bot.database)
            parts = [str(pool[t % len(pool)]) if isinstance(t, int) else t for t in planned.tokens]
            return self._latest(), fit_callback_data(":".join([planned.head, *parts]))
        if isinstance(planned, Text):
            return Text(planned.text.replace("{marker}", marker)[:MAX_TEXT])
        if isinstance(planned, EditOwn):
            return EditOwn(f"{marker} {planned.text}")
        return planned

    def _answer(self, seed: int) -> str:
        place, marker = self.user.place, self.user.marker
        if place is None or place.flow == "rename":
            return f"{marker} {WORDS[seed % len(WORDS)]} {seed}"
        draft = self.user.drafts[place.draft_id]
        section = self.model.format_of(draft).section(place.section or "")
        return answer_from(seed, section, marker, self.model.today().year)

    def _shown_buttons(self) -> list[tuple[int, str]]:
        with_keyboards = [
            (mid, m) for mid, m in self.sim.messages.items() if inline_buttons(m["reply_markup"])
        ][-KEYBOARDS_SHOWN:]
        return [
            (mid, button["callback_data"])
            for mid, message in with_keyboards
            for row in inline_buttons(message["reply_markup"])
            for button in row
            if "callback_data" in button
        ]

    def _latest(self) -> int:
        return max(self.sim.messages)


async def quiet(application: Application, emulator: BotApiEmulator) -> None:
    """Wait until the bot has fetched every update and handles none (for 0.1 s running)."""
    processor = application.update_processor
    calm = 0
    for _ in range(200):
        busy = (
            emulator.pending_updates
            or application.update_queue.qsize()
            or processor.current_concurrent_updates
        )
        calm = 0 if busy else calm + 1
        if calm >= 4:
            return
        await asyncio.sleep(0.025)
    raise AssertionError("the bot did not become idle")


def visible(event: dict[str, Any]) -> str:
    labels = [b.get("text", "") for row in inline_buttons(event["reply_markup"]) for b in row]
    return "\n".join([event["plain"] or "", *labels])


# ---- the test ------------------------------------------------------------------------------------


@pytest.fixture
async def bot(
    emulator: BotApiEmulator, e2e_database_url: str, clock: RunningClock
) -> AsyncIterator[RunningBot]:
    # No joining of quick texts: a real-time window would make the model depend on timing.
    settings_ = e2e_settings(emulator, e2e_database_url, continuation_window_seconds=0)
    running = await start_bot(settings_, clock)
    seed_bystander(runtime_of(running.application.bot_data).dialog, ADMIN_ID)
    yield running
    await stop_bot(running)
    assert_no_refused_calls(emulator)


@pytest.fixture
def error_records(caplog: pytest.LogCaptureFixture) -> Callable[[], list[str]]:
    caplog.set_level(logging.ERROR)
    return lambda: [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


@pytest.mark.slow
@pytest.mark.parametrize("e2e_database_url", ["sqlite", "postgresql"], indirect=True)
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    # One bot for every example (starting one costs seconds); each example brings new users.
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
@given(data=st.data())
async def test_random_users_at_once_over_the_emulator(
    bot: RunningBot,
    emulator: BotApiEmulator,
    error_records: Callable[[], list[str]],
    data: st.DataObject,
) -> None:
    runtime = runtime_of(bot.application.bot_data)
    dialog = runtime.dialog
    model = DraftingModel(dialog.ctx.formats, dialog.ctx.today, set(dialog.commands))
    action = planned_action(callback_prefixes(dialog))
    plans = [
        data.draw(st.lists(action, min_size=5, max_size=MAX_ROUNDS), label=f"user {n}")
        for n in range(USERS)
    ]
    base = 30_000 + next(_example_numbers) * 10
    players = [
        Player(emulator.user(base + n, first_name=f"U{n}"), UserModel(base + n), model, bot)
        for n in range(USERS)
    ]
    await asyncio.gather(
        *(register(p.sim, name=f"Pengguna {p.user.marker}", opd="kesehatan") for p in players)
    )
    for round_ in range(max(len(plan) for plan in plans)):
        acting = [
            (p, plan[round_]) for p, plan in zip(players, plans, strict=True) if round_ < len(plan)
        ]
        effects = await asyncio.gather(*(p.act(planned) for p, planned in acting))
        await quiet(bot.application, emulator)
        for (player, _), effect in zip(acting, effects, strict=True):
            model.settle(player.user, effect, observe(bot.database, player.user.user_id))
    # Nobody's actions changed anybody else's drafts or place; nobody saw another's data.
    markers = {p.user.user_id: p.user.marker for p in players} | {BYSTANDER: marker_of(BYSTANDER)}
    error_text = parse_html(runtime.renderer.text("common/error")).plain
    for player in players:
        model.settle(player.user, "known", observe(bot.database, player.user.user_id))
        for event in player.sim.state.events:
            seen = visible(event)
            assert error_text not in seen
            leaked = [u for u, m in markers.items() if u != player.user.user_id and m in seen]
            assert not leaked, f"user {player.user.user_id} saw data of {leaked}:\n{seen[:300]}"
    assert error_records() == []
