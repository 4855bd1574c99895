"""`klinik shell`: try the bot in a terminal, with no Telegram account and no internet.

It starts the Bot API emulator on 127.0.0.1, runs the real bot against it over HTTP, and plays
three people, each its own Telegram user: an ASN, a mentor and an admin (`:sebagai mentor`
switches). A typed line is sent as a message, `#N` presses button N of the latest keyboard
(`#teks` the button whose label contains the text), `:tautan` opens the last `t.me` link the
bot sent (a mentor invite) as the current person. Files the bot sends (a proposal, `/dataku`)
are saved in a folder and their path printed, so they can be opened.
"""

from __future__ import annotations

import asyncio
import html
import re
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
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
SHELL_FILES = Path("klinik-shell-berkas")
_TAG = re.compile(r"<[^>]+>")
_BOLD = re.compile(r"</?(b|strong)>")
_START_LINK = re.compile(r"https://t\.me/\w+\?start=([\w-]+)")
_UNSAFE_NAME = re.compile(r"[^\w.\- ]+")

ReadLine = Callable[[str], Awaitable[str]]
Write = Callable[[str], None]


@dataclass(frozen=True)
class Persona:
    """One person the shell plays: a Telegram user of their own."""

    key: str  # what `:sebagai` takes
    label: str  # shown in the prompt
    user_id: int
    first_name: str


def personas(user_id: int, first_name: str) -> list[Persona]:
    """The ASN (`--user-id`), the mentor (the next id) and the admin (the one after)."""
    return [
        Persona("asn", "ASN", user_id, first_name),
        Persona("mentor", "Mentor", user_id + 1, "Mentor Uji"),
        Persona("admin", "Admin", user_id + 2, "Admin Uji"),
    ]


def run_shell(
    user_id: int = 1001,
    first_name: str = "Pengguna Uji",
    admin: bool = False,
    database_url: str | None = None,
    files_dir: Path = SHELL_FILES,
) -> int:
    return asyncio.run(
        shell_session(user_id, first_name, admin, database_url, files_dir, _read_terminal, print)
    )


async def shell_session(
    user_id: int,
    first_name: str,
    admin: bool,
    database_url: str | None,
    files_dir: Path,
    read_line: ReadLine,
    write: Write,
) -> int:
    """The whole session: emulator and bot up, the conversation, everything down again."""
    texts = yaml.safe_load((TEMPLATES_DIR / "labels.yaml").read_text(encoding="utf-8"))["shell"]
    people = personas(user_id, first_name)
    # The admin persona is an admin in this session; `--admin` makes the ASN one as well.
    admins = [p.user_id for p in people if p.key == "admin" or (admin and p.key == "asn")]
    emulator = BotApiEmulator()
    await emulator.start()
    settings = load_settings(
        telegram_bot_token=emulator.token,
        telegram_api_url=emulator.base_url,
        database_url=database_url or SHELL_DATABASE,
        admin_ids=",".join(str(a) for a in admins),
    ).check()
    database = prepare_database(settings)
    application = build_application(settings, database)
    await start_polling_in_loop(application, poll_timeout=1)
    write(texts["welcome"].format(database=settings.database_url, files=files_dir))
    try:
        await Shell(emulator, people, texts, files_dir, write).run(read_line)
    finally:
        await stop_polling_in_loop(application)
        await emulator.stop()
        database.dispose()
    return 0


async def _read_terminal(prompt: str) -> str:
    return await asyncio.to_thread(input, prompt)


class Shell:
    """The input loop: one line at a time, as the current persona."""

    def __init__(
        self,
        emulator: BotApiEmulator,
        people: list[Persona],
        texts: dict[str, str],
        files_dir: Path,
        write: Write = print,
    ) -> None:
        self.people = {p.key: p for p in people}
        self.users = {p.key: emulator.user(p.user_id, first_name=p.first_name) for p in people}
        self.current = people[0].key
        self.texts = texts
        self.files_dir = files_dir
        self.write = write
        self.unread: dict[str, list[dict[str, Any]]] = {p.key: [] for p in people}
        self.last_link: str | None = None

    async def run(self, read_line: ReadLine) -> None:
        while True:
            try:
                line = await read_line(self.texts["prompt"].format(who=self.persona.label))
            except (EOFError, KeyboardInterrupt):
                self.write("")
                return
            if not await self.handle(line.strip()):
                return

    @property
    def persona(self) -> Persona:
        return self.people[self.current]

    async def handle(self, line: str) -> bool:
        """One typed line; False ends the session."""
        if not line:
            return True
        if line in (":keluar", ":exit", ":q"):
            return False
        if line in (":bantuan", ":help"):
            self.write(self.texts["help"])
            return True
        if line.split()[0] in (":sebagai", ":as"):
            self.switch(line.split()[1:])
            return True
        await self._act(line)
        await self.collect()
        return True

    def switch(self, words: list[str]) -> None:
        key = words[0].casefold() if words else ""
        if key not in self.people:
            self.write(self.texts["no_such_person"].format(choices=", ".join(self.people)))
            return
        self.current = key
        persona = self.persona
        self.write(self.texts["switched"].format(who=persona.label, user_id=persona.user_id))
        for message in self.unread[key]:
            self._show(message)
        self.unread[key] = []

    async def collect(self) -> None:
        """Show what the bot answered the current person; hold the others' messages until
        the shell plays them (with a note that something arrived)."""
        user = self.users[self.current]
        for message in await user.receive_all(idle=0.4, timeout=3.0):
            self._show(message)
        for key, other in self.users.items():
            if key == self.current:
                continue
            arrived = await other.receive_all(idle=0.05, timeout=0.05)
            for message in arrived:
                self._remember_link(message)
            if arrived:
                self.unread[key].extend(arrived)
                label = self.people[key].label
                self.write(self.texts["unread"].format(count=len(arrived), who=label, key=key))

    async def _act(self, line: str) -> None:
        user = self.users[self.current]
        if line.startswith("#") and len(line) > 1:
            await self._press(user, line[1:].strip())
            return
        if line == ":foto":
            await user.send_photo()
            return
        if line == ":tautan":
            if self.last_link is None:
                self.write(self.texts["no_link"])
                return
            await user.send(f"/start {self.last_link}")
            return
        await user.send(line)

    async def _press(self, user: Any, which: str) -> None:
        buttons = [b for row in user.buttons() for b in row] if user.last_keyboard_message else []
        if which.isdigit():
            number = int(which)
            chosen = buttons[number - 1] if 1 <= number <= len(buttons) else None
        else:
            chosen = next((b for b in buttons if which.casefold() in b[0].casefold()), None)
        if chosen is None:
            self.write(self.texts["no_such_button"].format(count=len(buttons)))
            return
        answer = await user.press_data(chosen[1])
        if answer and answer.get("text"):
            self.write(f"  ({answer['text']})")

    def _show(self, message: dict[str, Any]) -> None:
        self._remember_link(message)
        prefix = "✎ " if message.get("edited") else ""
        self.write("")
        self.write(prefix + terminal_text(message.get("text") or message.get("caption") or ""))
        if message.get("file") and message.get("kind") in ("document", "photo"):
            path = self._save(message["file"], message["kind"])
            self.write(self.texts["file_saved"].format(path=path))
        buttons = [b for row in _rows(message) for b in row]
        if buttons:
            self.write("  ".join(f"[#{i}] {text}" for i, (text, _) in enumerate(buttons, 1)))
        self.write("")

    def _save(self, stored: dict[str, Any], kind: str) -> Path:
        """Write a received file under files_dir, never over an earlier one."""
        name = _UNSAFE_NAME.sub("_", Path(stored.get("file_name") or f"{kind}.bin").name)
        folder = self.files_dir / self.persona.key
        folder.mkdir(parents=True, exist_ok=True)
        path, number = folder / name, 1
        while path.exists():
            number += 1
            path = folder / f"{Path(name).stem}-{number}{Path(name).suffix}"
        path.write_bytes(stored["content"])
        return path.resolve()

    def _remember_link(self, message: dict[str, Any]) -> None:
        found = _START_LINK.findall(message.get("plain") or "")
        if found:
            self.last_link = found[-1]


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
