"""`klinik shell`: try the bot in a terminal, with no Telegram account and no internet.

It starts the Bot API emulator on 127.0.0.1, runs the real bot against it over HTTP, and plays
one user: a typed line is sent as a message, `#N` presses button N of the latest keyboard.
"""

from __future__ import annotations

import asyncio
import html
import re
import sys
from typing import Any

import yaml

from bot.app import (
    build_application,
    prepare_database,
    start_polling_in_loop,
    stop_polling_in_loop,
)
from bot.emulator import BotApiEmulator
from bot.paths import TEMPLATES_DIR
from bot.settings import load_settings

SHELL_DATABASE = "sqlite:///klinik-shell.db"
_TAG = re.compile(r"<[^>]+>")
_BOLD = re.compile(r"</?(b|strong)>")


def run_shell(
    user_id: int = 1001,
    first_name: str = "Pengguna Uji",
    admin: bool = False,
    database_url: str | None = None,
) -> int:
    return asyncio.run(_shell(user_id, first_name, admin, database_url))


async def _shell(user_id: int, first_name: str, admin: bool, database_url: str | None) -> int:
    texts = yaml.safe_load((TEMPLATES_DIR / "labels.yaml").read_text(encoding="utf-8"))["shell"]
    emulator = BotApiEmulator()
    await emulator.start()
    settings = load_settings(
        telegram_bot_token=emulator.token,
        telegram_api_url=emulator.base_url,
        database_url=database_url or SHELL_DATABASE,
        admin_ids=",".join([str(user_id)] if admin else []),
    ).check()
    database = prepare_database(settings)
    application = build_application(settings, database)
    user = emulator.user(user_id, first_name=first_name)
    await start_polling_in_loop(application, poll_timeout=1)
    print(texts["welcome"].format(database=settings.database_url))
    try:
        await _conversation(user, texts)
    finally:
        await stop_polling_in_loop(application)
        await emulator.stop()
        database.dispose()
    return 0


async def _conversation(user: Any, texts: dict[str, str]) -> None:
    while True:
        try:
            line = await asyncio.to_thread(input, texts["prompt"])
        except (EOFError, KeyboardInterrupt):
            print()
            return
        line = line.strip()
        if not line:
            continue
        if line in (":keluar", ":exit", ":q"):
            return
        if line in (":bantuan", ":help"):
            print(texts["help"])
            continue
        await _act(user, line, texts)
        for message in await user.receive_all(idle=0.4, timeout=3.0):
            _print_message(message)


async def _act(user: Any, line: str, texts: dict[str, str]) -> None:
    if line.startswith("#") and line[1:].isdigit():
        buttons = [b for row in user.buttons() for b in row] if user.last_keyboard_message else []
        number = int(line[1:])
        if not 1 <= number <= len(buttons):
            print(texts["no_such_button"].format(count=len(buttons)))
            return
        answer = await user.press_data(buttons[number - 1][1])
        if answer and answer.get("text"):
            print(f"  ({answer['text']})")
        return
    if line == ":foto":
        await user.send_photo()
        return
    await user.send(line)


def _print_message(message: dict[str, Any]) -> None:
    print()
    prefix = "✎ " if message.get("edited") else ""
    print(prefix + terminal_text(message.get("text") or message.get("caption") or ""))
    buttons = [b for row in _rows(message) for b in row]
    if buttons:
        numbered = "  ".join(f"[#{i}] {text}" for i, (text, _) in enumerate(buttons, start=1))
        print(numbered)
    print()


def _rows(message: dict[str, Any]) -> list[list[tuple[str, str]]]:
    markup = message.get("reply_markup") or {}
    return [
        [(b["text"], b.get("callback_data", "")) for b in row]
        for row in markup.get("inline_keyboard", [])
    ]


def terminal_text(text: str) -> str:
    """Telegram HTML as terminal text: bold kept as ANSI bold on a terminal, tags dropped."""
    bold_on, bold_off = ("\033[1m", "\033[0m") if sys.stdout.isatty() else ("", "")
    text = _BOLD.sub(lambda m: bold_off if m.group(0).startswith("</") else bold_on, text)
    return html.unescape(_TAG.sub("", text))
