"""Masking in log records: arguments, exception texts, stacks and PostgreSQL's DETAIL lines."""

from __future__ import annotations

import logging

import pytest

from bot.logsafety import hide_token_in_logs, mask

TOKEN = "424242:AAMaskedTokenOfTheLogSafetyTests-x1"
SECRET = TOKEN.partition(":")[2]


class Url:
    """An argument whose text holds the token only once formatted (like yarl.URL)."""

    def __str__(self) -> str:
        return f"https://api.telegram.org/bot{TOKEN}/sendMessage"


def test_the_token_is_masked_in_arguments_exceptions_and_stacks(
    caplog: pytest.LogCaptureFixture,
) -> None:
    hide_token_in_logs(TOKEN)
    caplog.set_level(logging.DEBUG)
    log = logging.getLogger("apscheduler.executors")
    log.debug("calling %s", Url())
    log.info("encoded %s", TOKEN.replace(":", "%3A"))
    try:
        raise RuntimeError(f"failed: {Url()}")
    except RuntimeError:
        log.exception("job failed", stack_info=True)
    assert SECRET not in caplog.text
    assert "bot424242:***/sendMessage" in caplog.text
    assert "RuntimeError: failed: https://api.telegram.org/bot424242:***" in caplog.text


def test_postgresql_detail_lines_are_masked() -> None:
    text = 'violates check constraint "c"\nDETAIL:  Failing row contains (7, Rahasia Andi).\n[SQL:'
    masked = mask(text)
    assert "Rahasia Andi" not in masked
    assert masked.startswith('violates check constraint "c"\nDETAIL:')
    assert masked.endswith("\n[SQL:")
