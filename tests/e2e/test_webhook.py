"""Webhook mode: the secret token is required, updates are served, /health reports status."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import httpx
from aiohttp.test_utils import TestClient, TestServer

from bot.app import build_application, prepare_database
from bot.emulator import BotApiEmulator
from bot.webhook import SECRET_HEADER, HealthProbe, build_webhook_app, serve_webhook
from tests.e2e.chat import plain
from tests.e2e.conftest import e2e_settings

SECRET = "s3cret-token-for-the-webhook-0001"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_webhook_requires_the_secret_and_serves_updates(
    emulator: BotApiEmulator, tmp_path: Path
) -> None:
    port = free_port()
    settings = e2e_settings(
        emulator,
        f"sqlite:///{tmp_path / 'webhook.db'}",
        webhook_url="https://klinik.example/telegram",
        webhook_secret=SECRET,
        webhook_port=port,
    ).check_webhook()
    database = prepare_database(settings)
    application = build_application(settings, database)
    stop = asyncio.Event()
    server = asyncio.create_task(serve_webhook(application, settings, database, stop))
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient() as client:
            for _ in range(100):
                try:
                    health = await client.get(f"{base}/health")
                    break
                except httpx.ConnectError:
                    await asyncio.sleep(0.05)
            assert health.status_code == 200
            assert health.json() == {"status": "ok"}  # nothing else for anyone who asks
            detailed = await client.get(f"{base}/health", headers={SECRET_HEADER: SECRET})
            assert detailed.json()["database"] == "ok"
            assert detailed.json()["scheduler"] in ("running", "standby")
            webhook = emulator.calls_to("setWebhook")[-1].params
            assert webhook["url"] == "https://klinik.example/telegram"
            assert webhook["secret_token"] == SECRET

            andi = emulator.user(1001, first_name="Andi")
            await andi.send("/start")
            update = emulator.updates[-1]
            refused = await client.post(f"{base}/telegram", json=update)
            wrong = await client.post(
                f"{base}/telegram", json=update, headers={SECRET_HEADER: "wrong"}
            )
            assert (refused.status_code, wrong.status_code) == (403, 403)
            accepted = await client.post(
                f"{base}/telegram", json=update, headers={SECRET_HEADER: SECRET}
            )
            assert accepted.status_code == 200
            replies = await andi.receive_all(idle=0.3)
            assert "Persetujuan pemrosesan data pribadi" in plain(replies)
            assert len(replies) == 1  # the refused deliveries did nothing
            # Telegram sending it again (its answer was lost): recognised, not answered twice.
            again = await client.post(
                f"{base}/telegram", json=update, headers={SECRET_HEADER: SECRET}
            )
            assert again.status_code == 200
            assert await andi.receive_all(idle=0.3, timeout=1.5) == []
    finally:
        stop.set()
        await asyncio.wait_for(server, 10)
        database.dispose()


async def test_health_is_a_cached_probe_that_tells_only_the_status(
    emulator: BotApiEmulator, tmp_path: Path
) -> None:
    settings = e2e_settings(
        emulator,
        f"sqlite:///{tmp_path / 'health.db'}",
        webhook_url="https://klinik.example/telegram",
        webhook_secret=SECRET,
    ).check_webhook()
    database = prepare_database(settings)
    application = build_application(settings, database)
    now = [0.0]
    answers = [True]
    checks: list[float] = []

    def check() -> bool:
        checks.append(now[0])
        return answers[0]

    probe = HealthProbe(check, ttl=5, clock=lambda: now[0])
    server = TestServer(build_webhook_app(application, settings, database, probe))
    try:
        async with TestClient(server) as client:
            for _ in range(20):
                answer = await client.get("/health")
                assert answer.status == 200 and await answer.json() == {"status": "ok"}
            assert checks == [0.0]  # twenty requests, one database check
            answers[0] = False
            now[0] = 4.0
            assert (await client.get("/health")).status == 200  # still the cached result
            now[0] = 6.0
            down = await client.get("/health")
            assert down.status == 503 and await down.json() == {"status": "unavailable"}
            detailed = await client.get("/health", headers={SECRET_HEADER: SECRET})
            assert (await detailed.json())["database"] == "unreachable"
            assert checks == [0.0, 6.0]
    finally:
        database.dispose()
