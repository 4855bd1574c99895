"""Whole bot processes: killed mid-draft and restarted, the terminal shell. Marked slow."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import sys
from pathlib import Path
from typing import Any

import psycopg
import pytest

from bot.emulator import BotApiEmulator
from models import repository as repo
from models.db import Database
from tests.conftest import PG_ADMIN_URL
from tests.e2e.chat import plain, press, register, say

pytestmark = pytest.mark.slow
PROJECT_ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 30.0


async def start_process(
    emulator: BotApiEmulator,
    database_url: str,
    cwd: Path,
    extra_env: dict[str, str] | None = None,
    args: tuple[str, ...] = (),
) -> asyncio.subprocess.Process:
    env = {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": emulator.token,
        "TELEGRAM_API_URL": emulator.base_url,
        "DATABASE_URL": database_url,
        "ADMIN_IDS": "",
        "FLOOD_BURST": "0",  # scripted users are faster than people (see e2e_settings)
        "PYTHONPATH": str(PROJECT_ROOT),
        **(extra_env or {}),
    }
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.cli",
        "run",
        *args,
        cwd=cwd,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )


async def wait_until_polling(emulator: BotApiEmulator, process: asyncio.subprocess.Process) -> None:
    calls_before = len(emulator.calls_to("getUpdates"))
    for _ in range(int(START_TIMEOUT * 10)):
        if len(emulator.calls_to("getUpdates")) > calls_before:
            return
        if process.returncode is not None:
            output = (await process.stdout.read()).decode()
            raise AssertionError(f"bot process ended early:\n{output}")
        await asyncio.sleep(0.1)
    raise AssertionError("bot process did not start polling")


def answers_of_first_draft(database_url: str, user_id: int) -> dict[str, str]:
    database = Database(database_url)
    try:
        with database.session() as session:
            drafts = repo.drafts_of(session, user_id)
            return repo.answers_of(session, drafts[0].id) if drafts else {}
    finally:
        database.dispose()


async def test_a_killed_process_loses_nothing_and_the_user_continues(
    emulator: BotApiEmulator, tmp_path: Path
) -> None:
    database_url = f"sqlite:///{tmp_path / 'restart.db'}"
    process = await start_process(emulator, database_url, tmp_path)
    await wait_until_polling(emulator, process)
    andi = emulator.user(1001, first_name="Andi")
    await register(andi)
    await say(andi, "/ide")
    await press(andi, "Profil Inovasi Daerah")
    await say(andi, "SIPANDU BUMIL")
    await press(andi, "ASN")

    process.send_signal(signal.SIGKILL)  # no clean shutdown: the process just dies
    await process.wait()
    # Written while the bot is down: Telegram keeps it and the new process must answer it.
    await andi.send("Penerapan")

    process = await start_process(emulator, database_url, tmp_path)
    try:
        replies = await andi.receive_all(idle=0.5, timeout=START_TIMEOUT)
        assert "Bagian 4 dari 19 — Jenis inovasi" in plain(replies)
        answers = answers_of_first_draft(database_url, 1001)
        assert answers == {"nama": "SIPANDU BUMIL", "inisiator": "ASN", "tahapan": "Penerapan"}
        await say(andi, "Digital")
        assert answers_of_first_draft(database_url, 1001)["jenis"] == "Digital (daring)"
    finally:
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 20) == 0


async def test_updates_fetched_but_not_handled_survive_a_kill_in_polling_mode(
    emulator: BotApiEmulator, tmp_path: Path
) -> None:
    """The first answer is stored but its reply hangs; the second waits behind it (one user's
    updates keep their order). Killed then, the bot must not have confirmed the second to
    Telegram: the restarted process stores it, and asks the question the user is at."""
    database_url = f"sqlite:///{tmp_path / 'polling.db'}"
    process = await start_process(emulator, database_url, tmp_path)
    await wait_until_polling(emulator, process)
    andi = emulator.user(1002, first_name="Andi")
    await register(andi)
    await say(andi, "/ide")
    await press(andi, "Profil Inovasi Daerah")

    emulator.inject_delay("sendMessage", 30, chat_id=andi.id)
    await andi.send("SIPANDU BUMIL")
    await andi.send("ASN")
    await emulator.wait_until_delivered()  # both fetched; the bot polls on meanwhile
    await asyncio.sleep(0.5)
    assert answers_of_first_draft(database_url, 1002) == {"nama": "SIPANDU BUMIL"}
    process.send_signal(signal.SIGKILL)
    await process.wait()

    process = await start_process(emulator, database_url, tmp_path)
    try:
        replies = await andi.receive_all(idle=1.0, timeout=START_TIMEOUT)
        assert answers_of_first_draft(database_url, 1002) == {
            "nama": "SIPANDU BUMIL",
            "inisiator": "ASN",
        }
        # The first answer's reply was lost with the process: its question is asked again
        # (the answer itself is not stored twice), then the second answer is taken.
        assert "Bagian 2 dari 19" in plain(replies[:1])
        assert "Bagian 3 dari 19" in plain(replies[-1:])
    finally:
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 20) == 0


async def test_klinik_shell_chats_with_the_real_bot(tmp_path: Path) -> None:
    script = (
        "\n".join(
            [
                "/start",
                "#1",
                "Andi Pratiwi",
                "kesehatan",
                "#1",
                "/ide",
                "#1",
                "SIPANDU BUMIL",
                ":keluar",
            ]
        )
        + "\n"
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.cli",
        "shell",
        "--database",
        f"sqlite:///{tmp_path / 'shell.db'}",
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(script.encode()), 60)
    text = output.decode()
    assert process.returncode == 0, text
    assert "Persetujuan pemrosesan data pribadi" in text
    assert "[#1] ✅ Saya setuju" in text
    assert "Pendaftaran selesai" in text
    assert "Bagian 2 dari 19 — Inisiator" in text
    assert "<b>" not in text  # HTML is shown as terminal text


def allow_connections(database_url: str, allowed: bool) -> None:
    """A database outage: new connections refused and every open one cut (or allowed again)."""
    name = database_url.rsplit("/", 1)[1]
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as connection:
        connection.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS {str(allowed).lower()}')
        if not allowed:
            connection.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = %s AND pid <> pg_backend_pid()",
                (name,),
            )


async def receive_until(user: Any, text: str, timeout: float = START_TIMEOUT) -> list[dict]:
    """Every message the bot sends until one contains `text` (and whatever follows at once)."""
    received: list[dict] = []
    deadline = asyncio.get_running_loop().time() + timeout
    while text not in plain(received):
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"no {text!r} within {timeout}s; got:\n{plain(received)}")
        received.append(await user.receive(timeout=timeout))
    return received + await user.receive_all(idle=0.5, timeout=0.5)


@pytest.mark.parametrize("mode", ["polling", "webhook"])
async def test_answers_sent_during_a_database_outage_are_stored_once_when_it_ends(
    emulator: BotApiEmulator, fresh_pg_url: str, tmp_path: Path, mode: str
) -> None:
    """The database goes away mid-conversation (connections cut and refused). The answers the
    user sends meanwhile are not confirmed to Telegram: the user is told once that they will
    be processed, and when the database is back they are stored exactly once, in order, and
    answered. Polling: a process killed during the outage gets them again at its restart."""
    # Short retry pauses: the outage lasts about a second, not the production minutes.
    extra: dict[str, str] = {"UPDATE_RETRY_DELAYS": "0.2,0.5"}
    args: tuple[str, ...] = ()
    if mode == "webhook":
        port = free_port()
        extra |= {
            "WEBHOOK_URL": f"http://127.0.0.1:{port}/telegram",
            "WEBHOOK_SECRET": "outage-test-webhook-secret-0001",
            "WEBHOOK_PORT": str(port),
        }
        args = ("--webhook",)
    process = await start_process(emulator, fresh_pg_url, tmp_path, extra, args)
    try:
        await wait_until_serving(emulator, process, mode)
        andi = emulator.user(1003, first_name="Andi")
        await register(andi)
        await say(andi, "/ide")
        await press(andi, "Profil Inovasi Daerah")

        allow_connections(fresh_pg_url, False)
        await andi.send("SIPANDU BUMIL")
        told = await receive_until(andi, "tidak perlu dikirim ulang")
        await andi.send("ASN")  # waits behind the first: one user's updates keep their order
        await asyncio.sleep(1.0)
        allow_connections(fresh_pg_url, True)
        replies = told + await receive_until(andi, "Bagian 3 dari 19")
        assert answers_of_first_draft(fresh_pg_url, 1003) == {
            "nama": "SIPANDU BUMIL",
            "inisiator": "ASN",
        }
        questions = re.findall(r"Bagian \d+ dari 19 —", plain(replies))
        assert questions == ["Bagian 2 dari 19 —", "Bagian 3 dari 19 —"], plain(replies)
        assert plain(replies).count("tidak perlu dikirim ulang") == 1

        if mode == "polling":
            allow_connections(fresh_pg_url, False)
            await andi.send("Penerapan")
            await receive_until(andi, "tidak perlu dikirim ulang")
            process.send_signal(signal.SIGKILL)
            await process.wait()
            allow_connections(fresh_pg_url, True)
            process = await start_process(emulator, fresh_pg_url, tmp_path, extra, args)
            await receive_until(andi, "Bagian 4 dari 19")
            assert answers_of_first_draft(fresh_pg_url, 1003)["tahapan"] == "Penerapan"
    finally:
        allow_connections(fresh_pg_url, True)
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(process.wait(), 20) == 0


async def wait_until_serving(
    emulator: BotApiEmulator, process: asyncio.subprocess.Process, mode: str
) -> None:
    if mode == "polling":
        await wait_until_polling(emulator, process)
        return
    for _ in range(int(START_TIMEOUT * 10)):
        if emulator.calls_to("setWebhook"):
            return
        if process.returncode is not None:
            output = (await process.stdout.read()).decode()
            raise AssertionError(f"bot process ended early:\n{output}")
        await asyncio.sleep(0.1)
    raise AssertionError("bot process did not set its webhook")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
