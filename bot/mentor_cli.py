"""`klinik mentor invite`: a single-use mentor invite link, made on the command line."""

from __future__ import annotations

import asyncio
import re
import sys

from telegram import Bot
from telegram.error import InvalidToken, NetworkError, TimedOut

from bot.services.mentors import new_invite
from bot.services.textutil import format_datetime_id
from bot.settings import Settings, load_settings
from models.types import utcnow

USERNAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{3,31}$")


def run_mentor_invite(bot_username: str | None) -> int:
    from bot.app import prepare_database

    settings = load_settings()
    username = (bot_username or "").lstrip("@")
    if bot_username is not None and not USERNAME.match(username):
        print("Gagal: --bot-username bukan nama pengguna bot yang sah.", file=sys.stderr)
        return 2
    if not username:
        found = _ask_telegram(settings.check())
        if found is None:
            return 2
        username = found
    database = prepare_database(settings)
    try:
        with database.session() as session:
            invite = new_invite(session, None, utcnow())
            token, expires = invite.token, invite.expires_at
    finally:
        database.dispose()
    print(
        "Tautan undangan mentor (sekali pakai, berlaku sampai "
        f"{format_datetime_id(expires, settings.tz)}):"
    )
    print(f"https://t.me/{username}?start=mentor-{token}")
    return 0


def _ask_telegram(settings: Settings) -> str | None:
    """The bot's username from getMe; None (after one sentence on stderr) if unreachable."""

    async def get_me() -> str:
        bot = Bot(
            settings.telegram_bot_token,
            base_url=settings.telegram_api_url,
            base_file_url=settings.api_base_file_url,
        )
        async with bot:
            return (await bot.get_me()).username

    try:
        return asyncio.run(get_me())
    except InvalidToken:
        print("Gagal: Telegram menolak TELEGRAM_BOT_TOKEN; periksa token.", file=sys.stderr)
    except (NetworkError, TimedOut):
        print(
            "Gagal: server API Telegram tidak dapat dihubungi untuk membaca nama bot; "
            "coba lagi, atau berikan --bot-username.",
            file=sys.stderr,
        )
    return None
