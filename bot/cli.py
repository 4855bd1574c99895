"""`klinik`: run the bot, or try it in a terminal (`klinik shell`)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from telegram import Bot
from telegram.error import InvalidToken, NetworkError, TimedOut

from bot.logsafety import hide_token_in_logs
from bot.settings import Settings, SettingsError, load_settings
from models.db import DatabaseError
from models.types import utcnow


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="klinik", description="Klinik Inovasi — bot Telegram")
    commands = parser.add_subparsers(dest="command", required=True)
    run_parser = commands.add_parser("run", help="jalankan bot (long polling, atau --webhook)")
    run_parser.add_argument("--webhook", action="store_true", help="terima pembaruan lewat webhook")
    shell = commands.add_parser("shell", help="coba bot di terminal, tanpa Telegram")
    shell.add_argument("--user-id", type=int, default=1001, help="id pengguna simulasi")
    shell.add_argument("--name", default="Pengguna Uji", help="nama depan pengguna simulasi")
    shell.add_argument("--admin", action="store_true", help="jadikan pengguna simulasi admin")
    shell.add_argument("--database", default=None, help="DATABASE_URL khusus mode coba")
    shell.add_argument(
        "--berkas", default="klinik-shell-berkas", help="folder untuk berkas yang dikirim bot"
    )
    export = commands.add_parser("ekspor", help="ekspor data usulan, OPD dan konsultasi ke XLSX")
    export.add_argument("file", help="berkas tujuan, mis. rekap.xlsx")
    lomba = commands.add_parser("lomba", help="lomba dan tenggat")
    lomba_commands = lomba.add_subparsers(dest="lomba_command", required=True)
    lomba_import = lomba_commands.add_parser("import", help="impor lomba dari berkas YAML")
    lomba_import.add_argument("file", help="berkas YAML berisi daftar lomba")
    mentor = commands.add_parser("mentor", help="mentor klinik")
    mentor_commands = mentor.add_subparsers(dest="mentor_command", required=True)
    invite = mentor_commands.add_parser("invite", help="buat tautan undangan mentor sekali pakai")
    invite.add_argument("--bot-username", default=None, help="nama bot, tanpa bertanya ke Telegram")
    deactivate = mentor_commands.add_parser(
        "deactivate", help="nonaktifkan mentor; konsultasinya dialihkan ke mentor lain"
    )
    deactivate.add_argument("user_id", type=int, help="id Telegram mentor")
    backup = commands.add_parser("backup", help="salin basis data SQLite saat bot berjalan")
    backup.add_argument("file", help="berkas tujuan salinan")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.command == "run" else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)
    try:
        if args.command == "run":
            return run(webhook=args.webhook)
        if args.command == "backup":
            return backup_database(args.file)
        if args.command == "mentor":
            from bot.mentor_cli import run_mentor_deactivate, run_mentor_invite

            if args.mentor_command == "deactivate":
                return run_mentor_deactivate(args.user_id)
            return run_mentor_invite(args.bot_username)
        if args.command == "lomba":
            return import_competition_file(args.file)
        if args.command == "ekspor":
            from bot.export_cli import run_export

            return run_export(args.file)
        from bot.shell import run_shell

        return run_shell(args.user_id, args.name, args.admin, args.database, Path(args.berkas))
    except (SettingsError, DatabaseError) as exc:
        print(f"Gagal memulai: {exc}", file=sys.stderr)
        return 2


def run(webhook: bool = False) -> int:
    from bot.app import build_application, prepare_database

    settings = load_settings().check()
    hide_token_in_logs(settings.telegram_bot_token)
    if webhook:
        settings.check_webhook()
    database = prepare_database(settings)
    try:
        # Checked before polling starts so a bad token or an unreachable server ends in one
        # sentence instead of the library's retry loop and traceback.
        asyncio.run(_check_api(settings))
        application = build_application(settings, database)
        if webhook:
            from bot.webhook import serve_webhook

            asyncio.run(serve_webhook(application, settings, database))
        else:
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


def backup_database(path: str) -> int:
    from bot.backup import BackupError, backup_sqlite

    try:
        size = backup_sqlite(load_settings().database_url, Path(path))
    except (BackupError, DatabaseError, OSError) as exc:
        print(f"Gagal: {exc}", file=sys.stderr)
        return 2
    print(f"Salinan basis data tersimpan di {path} ({size:,} bita).")
    return 0


def import_competition_file(path: str) -> int:
    from bot.app import prepare_database
    from bot.services.competitions.year_file import ImportProblem, import_competitions

    settings = load_settings()
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        print(
            f"Gagal: berkas {path} tidak dapat dibaca ({exc.__class__.__name__}).", file=sys.stderr
        )
        return 2
    database = prepare_database(settings)
    try:
        summary = import_competitions(database, text, settings.tz, utcnow())
    except ImportProblem as problem:
        print(f"Berkas ditolak, tidak ada yang diimpor — {path}, {problem}.", file=sys.stderr)
        return 1
    finally:
        database.dispose()
    if not summary.changed:
        print("Impor selesai: tidak ada yang berubah; isi berkas sama dengan yang tersimpan.")
        return 0
    print(
        f"Impor selesai: {summary.created} lomba baru, {summary.updated} diperbarui, "
        f"{summary.stages_added} tahap baru, {summary.deadlines_moved} tenggat diubah. "
        "Bot yang sedang berjalan menjadwalkan pengingatnya dalam 5 menit."
    )
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
