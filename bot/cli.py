"""`klinik`: run the bot, or try it in a terminal (`klinik shell`)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence

from telegram import Bot
from telegram.error import InvalidToken, NetworkError, TimedOut

from bot.settings import Settings, SettingsError, load_settings
from models.db import DatabaseError


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="klinik", description="Klinik Inovasi — bot Telegram")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("run", help="jalankan bot (long polling)")
    shell = commands.add_parser("shell", help="coba bot di terminal, tanpa Telegram")
    shell.add_argument("--user-id", type=int, default=1001, help="id pengguna simulasi")
    shell.add_argument("--name", default="Pengguna Uji", help="nama depan pengguna simulasi")
    shell.add_argument("--admin", action="store_true", help="jadikan pengguna simulasi admin")
    shell.add_argument("--database", default=None, help="DATABASE_URL khusus mode coba")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.command == "run" else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)
    try:
        if args.command == "run":
            return run()
        from bot.shell import run_shell

        return run_shell(args.user_id, args.name, args.admin, args.database)
    except (SettingsError, DatabaseError) as exc:
        print(f"Gagal memulai: {exc}", file=sys.stderr)
        return 2


def run() -> int:
    from bot.app import build_application, prepare_database

    settings = load_settings().check()
    database = prepare_database(settings)
    try:
        # Checked before polling starts so a bad token or an unreachable server ends in one
        # sentence instead of the library's retry loop and traceback.
        asyncio.run(_check_api(settings))
        application = build_application(settings, database)
        application.run_polling(allowed_updates=_allowed_updates(), drop_pending_updates=False)
    except InvalidToken:
        print(
            "Gagal memulai: Telegram menolak TELEGRAM_BOT_TOKEN; periksa token dari @BotFather.",
            file=sys.stderr,
        )
        return 2
    except (NetworkError, TimedOut):
        print(
            f"Gagal memulai: server API Telegram di {settings.telegram_api_url} tidak dapat "
            "dihubungi; periksa koneksi internet atau TELEGRAM_API_URL.",
            file=sys.stderr,
        )
        return 2
    finally:
        database.dispose()
    return 0


async def _check_api(settings: Settings) -> None:
    bot = Bot(
        settings.telegram_bot_token,
        base_url=settings.telegram_api_url,
        base_file_url=settings.api_base_file_url,
    )
    async with bot:
        await bot.get_me()


def _allowed_updates() -> list[str]:
    from bot.app import ALLOWED_UPDATES

    return list(ALLOWED_UPDATES)


if __name__ == "__main__":
    sys.exit(main())
