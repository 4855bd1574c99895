"""Klinik Inovasi: the application (settings, wiring, CLI, emulator) and its domain."""

import os

# python-telegram-bot 22 gives RetryAfter.retry_after as a timedelta with this switch (the int
# form is deprecated); our code reads both.
os.environ.setdefault("PTB_TIMEDELTA", "1")
