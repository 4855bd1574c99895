"""`klinik mentor invite`: a single-use mentor invite link, made on the command line.
`klinik mentor deactivate ID`: a mentor stops, with no admin at hand to reassign their work."""

from __future__ import annotations

import asyncio
import re
import sys

from telegram import Bot, BotCommandScopeChat
from telegram.error import InvalidToken, NetworkError, TelegramError, TimedOut

from bot.services.consultations.mentors import new_invite
from bot.services.textutil import format_datetime_id
from bot.settings import Settings, SettingsError, load_settings
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


def run_mentor_deactivate(user_id: int) -> int:
    """Deactivate a mentor: their offers and consultations go to other mentors (or the admins)
    and each ASN is told, by the running bot, from the outbox written here in the same
    transaction; their command menu goes back to everyone's."""
    from bot.app import build_runtime, prepare_database
    from bot.services.consultations import ConsultationService

    settings = load_settings()
    database = prepare_database(settings)
    try:
        runtime = build_runtime(settings, database)
        service = ConsultationService(runtime.dialog.ctx)
        with database.session() as session:
            queued = service.mentor_leaving_later(session, user_id)
    finally:
        database.dispose()
    if queued is None:
        print(f"Gagal: pengguna {user_id} bukan mentor.", file=sys.stderr)
        return 2
    print(
        f"Mentor {user_id} dinonaktifkan. {queued} pemberitahuan (pengusul, mentor lain, admin) "
        "dikirim bot dalam beberapa menit."
    )
    if not _reset_menu(settings, user_id):
        print(
            "Perhatian: menu perintah mentor itu belum dapat diperbarui (Telegram tidak dapat "
            "dihubungi); ia tetap tidak dapat bertindak sebagai mentor.",
            file=sys.stderr,
        )
    return 0


def _reset_menu(settings: Settings, user_id: int) -> bool:
    """The chat's own command list is removed: it shows everyone's commands again."""

    async def delete() -> None:
        bot = Bot(
            settings.telegram_bot_token,
            base_url=settings.telegram_api_url,
            base_file_url=settings.api_base_file_url,
        )
        async with bot:
            await bot.delete_my_commands(scope=BotCommandScopeChat(user_id))

    try:
        settings.check()
        asyncio.run(delete())
    except (SettingsError, TelegramError):
        return False
    return True


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
