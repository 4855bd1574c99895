"""`klinik run` (polling, or `--webhook` with the WEBHOOK_* settings) for benchmarks, with the
overall sending ceiling set from the command line: MESSAGES_PER_SECOND stops at Telegram's 30,
which would measure Telegram's flood limit rather than the bot. Everything else is the
production start-up.

    python -m benchmarks.bot_process --messages-per-second 100000 [--webhook]
"""

from __future__ import annotations

import argparse
import asyncio
import logging

from bot.app import ALLOWED_UPDATES, build_application, prepare_database
from bot.settings import load_settings
from bot.webhook import serve_webhook


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages-per-second", type=float, default=None)
    parser.add_argument("--webhook", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    settings = load_settings().check()
    if args.webhook:
        settings.check_webhook()
    if args.messages_per_second is not None:
        settings.messages_per_second = args.messages_per_second
    database = prepare_database(settings)
    try:
        application = build_application(settings, database)
        if args.webhook:
            asyncio.run(serve_webhook(application, settings, database))
        else:
            application.run_polling(
                allowed_updates=list(ALLOWED_UPDATES), drop_pending_updates=False
            )
    finally:
        database.dispose()


if __name__ == "__main__":
    main()
