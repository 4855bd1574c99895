"""Telegram misbehaving: 429, 5xx, timeouts and dropped connections on the bot's sends.

The Bot API emulator injects each fault on demand; the bot must retry and lose nothing: the
user's answer is stored, the reply arrives, and no error reaches the error handler. A fault
after Telegram processed the message (the answer is lost, not the message) makes the retry
send it again: replies are delivered at least once, by design (see handlers/sending.py).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from sqlmodel import select

from bot.emulator import BotApiEmulator
from bot.runtime import runtime_of
from bot.services.deadlines import parse_deadline
from models import repository as repo
from models.competitions import ReminderDelivery
from tests.conftest import ADMIN_ID, WITA
from tests.e2e.chat import plain, register, say
from tests.e2e.conftest import (
    RunningBot,
    RunningClock,
    assert_no_refused_calls,
    e2e_settings,
    start_bot,
    stop_bot,
)
from tests.e2e.test_reminders import ANDI, BUDI, CITRA, followers_of_a_competition

# Short enough to keep the tests quick, long enough to be real timeouts and back-off.
READ_TIMEOUT = 2.0
RETRY_DELAYS = (0.1, 0.3, 0.6)
ATTEMPTS = len(RETRY_DELAYS) + 1


@dataclass(frozen=True)
class FaultCase:
    name: str
    inject: Callable[[BotApiEmulator, str, int], Any]
    # Telegram processed the message before the fault: the retry repeats it.
    repeats: bool = False
    # The answer comes late (a timeout): a repeat shows up only after the read timeout.
    late: bool = False

    @property
    def settle(self) -> float:
        """How long to keep listening for a duplicate after the expected message."""
        return READ_TIMEOUT + 0.6 if self.late else 0.6


def _error(code: int, times: int = 1, **extra: Any) -> Callable[[BotApiEmulator, str, int], Any]:
    def inject(emulator: BotApiEmulator, method: str, chat_id: int) -> Any:
        return emulator.inject_fault(method, error_code=code, chat_id=chat_id, times=times, **extra)

    return inject


def _delay(after_processing: bool) -> Callable[[BotApiEmulator, str, int], Any]:
    def inject(emulator: BotApiEmulator, method: str, chat_id: int) -> Any:
        return emulator.inject_delay(
            method, READ_TIMEOUT + 0.5, chat_id=chat_id, after_processing=after_processing
        )

    return inject


def _disconnect(after_processing: bool) -> Callable[[BotApiEmulator, str, int], Any]:
    def inject(emulator: BotApiEmulator, method: str, chat_id: int) -> Any:
        return emulator.inject_disconnect(
            method, chat_id=chat_id, after_processing=after_processing
        )

    return inject


FAULTS = [
    # More 429s than the rate limiter retries by itself: the bot's own retry must take over.
    FaultCase("429 retry_after", _error(429, retry_after=1, times=5)),
    FaultCase("500 twice", _error(500, times=2)),
    FaultCase("502", _error(502)),
    # Not processed: the cancelled call would have landed 0.5 s after the retry, within settle.
    FaultCase("timeout", _delay(after_processing=False)),
    FaultCase("timeout after processing", _delay(after_processing=True), repeats=True, late=True),
    FaultCase("dropped connection", _disconnect(after_processing=False)),
    FaultCase("dropped after processing", _disconnect(after_processing=True), repeats=True),
]


@pytest.fixture
async def bot(
    emulator: BotApiEmulator, e2e_database_url: str, clock: RunningClock
) -> AsyncIterator[RunningBot]:
    settings = e2e_settings(
        emulator,
        e2e_database_url,
        telegram_read_timeout=READ_TIMEOUT,
        send_retry_delays=RETRY_DELAYS,
    )
    running = await start_bot(settings, clock)
    yield running
    await stop_bot(running)
    # Repeating an edit whose answer was lost is refused as "not modified": harmless, expected.
    emulator.calls[:] = [c for c in emulator.calls if "not modified" not in (c.description or "")]
    assert_no_refused_calls(emulator)


@pytest.fixture
def errors_reported(caplog: pytest.LogCaptureFixture) -> Callable[[], list[str]]:
    """What reached the last-resort error handler (handlers/errors.py) or PTB's own logger.
    The rate limiter's note that its own retries are used up is not counted: the bot's retry
    policy (handlers/sending.py) takes over from there, which is what the 429 case tests."""
    caplog.set_level(logging.ERROR)

    def found() -> list[str]:
        return [
            r.getMessage()
            for r in caplog.records
            if r.levelno >= logging.ERROR and not r.name.endswith("AIORateLimiter")
        ]

    return found


async def collect_until(
    user: Any, text: str, settle: float = 0.6, timeout: float = 15.0
) -> list[dict[str, Any]]:
    """Messages (sends and edits) until one contains `text`, then whatever follows within
    `settle` seconds (where a duplicate would show up)."""
    received: list[dict[str, Any]] = []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not any(text in m["plain"] for m in received) and loop.time() < deadline:
        received.extend(await user.receive_all(idle=0.2, timeout=deadline - loop.time()))
    assert any(text in m["plain"] for m in received), (text, [m["plain"] for m in received])
    received.extend(await user.receive_all(idle=settle, timeout=settle))
    return received


def answers_of(bot: RunningBot, user_id: int) -> dict[str, str]:
    with bot.database.session() as session:
        drafts = repo.drafts_of(session, user_id)
        return repo.answers_of(session, drafts[0].id) if drafts else {}


def failed_calls(emulator: BotApiEmulator, method: str) -> int:
    return len([c for c in emulator.calls_to(method) if not c.ok])


@pytest.mark.parametrize(
    "fault",
    # Waiting out a lost answer's timeout twice, then listening for the repeat: about 10 s.
    [pytest.param(f, marks=pytest.mark.slow) if f.late else f for f in FAULTS],
    ids=[f.name for f in FAULTS],
)
async def test_a_reply_and_an_edit_survive_the_fault(
    bot: RunningBot,
    emulator: BotApiEmulator,
    fault: FaultCase,
    errors_reported: Callable[[], list[str]],
) -> None:
    andi = emulator.user(ANDI, first_name="Andi")
    await register(andi)
    await say(andi, "/ide")
    await andi.press("Profil Inovasi Daerah")
    await andi.receive_all(idle=0.2)

    # A typed answer: the reply (the next question) is a sendMessage.
    fault.inject(emulator, "sendMessage", ANDI)
    await andi.send("SIPANDU BUMIL Puskesmas Pangkajene")
    received = await collect_until(andi, "Bagian 2 dari 19", fault.settle)
    assert answers_of(bot, ANDI) == {"nama": "SIPANDU BUMIL Puskesmas Pangkajene"}
    questions = [m for m in received if "Bagian 2 dari 19" in m["plain"]]
    assert len(questions) == (2 if fault.repeats else 1), [m["plain"][:40] for m in received]
    assert failed_calls(emulator, "sendMessage") >= 1  # the fault did happen

    # A pressed choice: the pressed message is edited in place, then the next question sent.
    fault.inject(emulator, "editMessageText", ANDI)
    answer = await andi.press("ASN", timeout=10.0)
    assert answer is not None and answer["text"] == "Tersimpan ✅"
    received = await collect_until(andi, "Bagian 3 dari 19", fault.settle)
    assert answers_of(bot, ANDI)["inisiator"] == "ASN"
    edits = [m for m in received if m["edited"]]
    assert edits and all("Inisiator: ASN" in m["plain"] for m in edits)
    assert len([m for m in received if "Bagian 3 dari 19" in m["plain"]]) == 1
    assert failed_calls(emulator, "editMessageText") >= 1
    # Where the user is stays right: the next answer goes to section 3.
    await say(andi, "Penerapan")
    assert answers_of(bot, ANDI)["tahapan"] == "Penerapan"
    assert errors_reported() == []


async def test_a_pressed_button_is_answered_even_if_the_toast_fails(
    bot: RunningBot, emulator: BotApiEmulator, errors_reported: Callable[[], list[str]]
) -> None:
    andi = emulator.user(ANDI, first_name="Andi")
    await register(andi)
    await say(andi, "/ide")
    emulator.inject_fault("answerCallbackQuery", error_code=502, times=ATTEMPTS)
    await andi.press("Profil Inovasi Daerah", expect_answer=False)
    received = await collect_until(andi, "Bagian 1 dari 19")
    assert any("Bagian 1 dari 19" in m["plain"] for m in received)
    assert failed_calls(emulator, "answerCallbackQuery") == ATTEMPTS
    assert errors_reported() == []


async def test_a_reply_failing_beyond_every_retry_keeps_the_answer(
    bot: RunningBot, emulator: BotApiEmulator, errors_reported: Callable[[], list[str]]
) -> None:
    """Telegram down for longer than the retries last: the reply is given up (logged, not
    reported to admins as a bug), but the answer is stored and the conversation goes on."""
    andi = emulator.user(ANDI, first_name="Andi")
    await register(andi)
    await say(andi, "/ide")
    await andi.press("Profil Inovasi Daerah")
    await andi.receive_all(idle=0.2)
    emulator.inject_fault("sendMessage", error_code=500, chat_id=ANDI, times=ATTEMPTS)
    await andi.send("SIPANDU BUMIL")
    every_attempt_made = await emulator.core.signal.wait_for(
        lambda: failed_calls(emulator, "sendMessage") == ATTEMPTS, 5.0
    )
    assert every_attempt_made
    assert await andi.receive_all(idle=0.3, timeout=0.5) == []
    assert failed_calls(emulator, "sendMessage") == ATTEMPTS
    assert answers_of(bot, ANDI) == {"nama": "SIPANDU BUMIL"}
    # Logged as a network failure, not reported to the admins as a bug.
    assert errors_reported() and all("NetworkError" in e for e in errors_reported())
    assert emulator.sent_to(ADMIN_ID, include_failed=True) == []  # not even attempted
    assert "Bagian 3 dari 19" in plain(await say(andi, "Kepala Daerah"))
    assert answers_of(bot, ANDI)["inisiator"] == "Kepala Daerah"


async def test_a_reminder_failing_mid_fan_out_is_sent_at_the_next_run(
    bot: RunningBot, emulator: BotApiEmulator, clock: RunningClock
) -> None:
    users = await followers_of_a_competition(bot, emulator, clock)
    # Budi's send fails longer than the retries last; Citra's once (retried in the same run).
    emulator.inject_fault("sendMessage", error_code=502, chat_id=BUDI, times=ATTEMPTS)
    emulator.inject_fault("sendMessage", error_code=500, chat_id=CITRA, times=1)
    clock.current = parse_deadline("23 November 2026 08.00", WITA)
    scheduler = runtime_of(bot.application.bot_data).scheduler
    await scheduler.run_source("reminders")
    assert statuses(bot) == {ANDI: "sent", BUDI: "failed", CITRA: "sent"}
    assert await users[BUDI].receive_all(idle=0.2, timeout=0.5) == []
    # A later wake-up (the 5-minute sweep in production) retries only what failed.
    clock.advance(minutes=5)
    await scheduler.run_source("reminders")
    assert statuses(bot) == {ANDI: "sent", BUDI: "sent", CITRA: "sent"}
    for user in users.values():
        reminders = [m for m in await user.receive_all(idle=0.3) if "Pengingat" in m["plain"]]
        assert len(reminders) == 1, user.id
    emulator.calls[:] = [c for c in emulator.calls if c.ok]


def statuses(bot: RunningBot) -> dict[int, str]:
    with bot.database.session() as session:
        return {r.user_id: r.status for r in session.exec(select(ReminderDelivery))}
