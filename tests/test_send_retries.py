"""The one retry policy every send goes through (handlers/sending.py), on its own.

The end-to-end suite (tests/e2e/test_faults.py) shows it against the emulator's injected
faults; here each kind of failure is fed in directly, including a 429 that outlasts
python-telegram-bot's own rate-limiter retries.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta

import pytest
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut

from handlers.sending import attempt, with_retries

PAUSES = (0.0, 0.0, 0.0)


class Flaky:
    """Fails with the given errors in turn, then answers "ok"; counts the calls."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.calls = 0

    async def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "ok"


PASSING: list[Callable[[], Exception]] = [
    lambda: NetworkError("Internal Server Error (500)"),
    lambda: NetworkError("Bad Gateway"),
    lambda: TimedOut(),
    lambda: NetworkError("httpx.RemoteProtocolError: Server disconnected"),
    lambda: RetryAfter(timedelta(seconds=0.01)),
]


@pytest.mark.parametrize("error", PASSING, ids=["500", "502", "timeout", "dropped", "429"])
async def test_passing_failures_are_retried_until_the_pauses_run_out(
    error: Callable[[], Exception],
) -> None:
    recovers = Flaky(*(error() for _ in PAUSES))
    assert await with_retries(recovers, PAUSES) == "ok"
    assert recovers.calls == len(PAUSES) + 1
    never = Flaky(*(error() for _ in range(len(PAUSES) + 1)))
    with pytest.raises(type(error())):
        await with_retries(never, PAUSES)
    assert never.calls == len(PAUSES) + 1
    assert await attempt(Flaky(*(error() for _ in range(9))), PAUSES) == ("failed", None)


async def test_a_429_waits_as_long_as_telegram_asks() -> None:
    started = time.monotonic()
    assert await with_retries(Flaky(RetryAfter(timedelta(seconds=0.3))), (0.0,)) == "ok"
    assert time.monotonic() - started >= 0.3


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (Forbidden("Forbidden: bot was blocked by the user"), "blocked"),
        (BadRequest("Bad Request: chat not found"), "absent"),
        (BadRequest("Bad Request: can't parse entities"), "failed"),
    ],
)
async def test_final_answers_are_not_retried(error: Exception, status: str) -> None:
    send = Flaky(error)
    with pytest.raises(type(error)):
        await with_retries(send, PAUSES)
    assert send.calls == 1
    assert await attempt(Flaky(error), PAUSES) == (status, None)
