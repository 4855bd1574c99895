"""What must never reach a log: the bot token, and the rows PostgreSQL quotes in its errors.

python-telegram-bot logs its API URL (which holds the token) at DEBUG, and an HTTP library's
error may quote the URL it called. A log record factory masks the token in every record of
every logger (telegram, aiohttp, httpx, apscheduler, ours) at every level: in the message, its
arguments, the exception text and the stack. It is installed for the whole process, so that
handlers added later (a test's caplog, a hosting platform's) see only masked records.

PostgreSQL's constraint errors carry "DETAIL: Failing row contains (…)" or "Key (…)=(…)", the
values of the row: users' answers. The engine's error hook strips them from the exception
itself (models/db.py), so neither the log nor the admins' error report can show them; the
record factory also masks any DETAIL line, for errors raised outside SQLAlchemy.
"""

from __future__ import annotations

import logging
import re
import threading
from typing import Any

MASK = "***"
DETAIL_LINE = re.compile(r"^(\s*DETAIL:).*$", re.MULTILINE)
# A token's secret part is long; its bot id before the colon is public.
MIN_SECRET_LENGTH = 16

_secrets: set[str] = set()
_lock = threading.Lock()
_installed = False


def hide_token_in_logs(token: str) -> None:
    """Mask the token's secret part in every log record of this process from now on."""
    secret = token.partition(":")[2] or token
    if len(secret) < MIN_SECRET_LENGTH:
        return
    with _lock:
        _secrets.add(secret)
        _install()


def mask(text: str) -> str:
    """`text` without any registered secret and without PostgreSQL's DETAIL lines."""
    for secret in tuple(_secrets):
        if secret in text:
            text = text.replace(secret, MASK)
    if "DETAIL:" in text:
        text = DETAIL_LINE.sub(r"\1 (hidden: it may quote users' data)", text)
    return text


def _install() -> None:
    global _installed
    if _installed:
        return
    make_record = logging.getLogRecordFactory()

    def masked_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make_record(*args, **kwargs)
        _scrub(record)
        return record

    logging.setLogRecordFactory(masked_record)
    _installed = True


def _scrub(record: logging.LogRecord) -> None:
    """Format the message now (its arguments may be URLs or exceptions holding the token)
    and mask it; the exception and stack texts are formatted now too, masked."""
    try:
        message = record.getMessage()
    except Exception:  # a malformed call: keep what was given, masked as text
        message = f"{record.msg} {record.args}"
    record.msg, record.args = mask(message), None
    if record.exc_info and record.exc_info[0] is not None and not record.exc_text:
        record.exc_text = mask(logging.Formatter().formatException(record.exc_info))
    elif record.exc_text:
        record.exc_text = mask(record.exc_text)
    if record.stack_info:
        record.stack_info = mask(record.stack_info)
