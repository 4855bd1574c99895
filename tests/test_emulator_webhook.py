"""The emulator's webhook delivery behaves like Telegram's: secret header, per-chat order,
retries until a 2xx, 409 for getUpdates while a webhook is set, deleteWebhook stops it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from aiohttp import web

from bot.emulator import BotApiEmulator
from bot.emulator.webhook import SECRET_HEADER

SECRET = "secret-0123456789abcdef"


class Receiver:
    """A webhook endpoint on 127.0.0.1 that records updates and fails on demand."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.headers: list[str | None] = []
        self.fail_next: list[int] = []  # statuses to answer before accepting again
        self.delay = 0.0
        self.runner: web.AppRunner | None = None
        self.port = 0

    async def handle(self, request: web.Request) -> web.Response:
        update = await request.json()
        self.headers.append(request.headers.get(SECRET_HEADER))
        if self.fail_next:
            return web.Response(status=self.fail_next.pop(0))
        await asyncio.sleep(self.delay)
        self.received.append(update)
        return web.Response(text="ok")

    async def start(self, port: int = 0) -> None:
        app = web.Application()
        app.router.add_post("/hook", self.handle)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", port)
        await site.start()
        self.port = int(self.runner.addresses[0][1])

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def texts(self) -> list[str]:
        return [u["message"]["text"] for u in self.received if "message" in u]


@pytest.fixture
async def emulator() -> AsyncIterator[BotApiEmulator]:
    emu = BotApiEmulator(webhook_retry_base=0.05)
    await emu.start()
    yield emu
    await emu.stop()


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    hook = Receiver()
    await hook.start()
    yield hook
    await hook.stop()


async def api(emu: BotApiEmulator, method: str, **params: Any) -> httpx.Response:
    async with httpx.AsyncClient() as client:
        return await client.post(f"{emu.base_url}{emu.token}/{method}", json=params)


async def until(condition: Any, timeout: float = 5.0) -> None:
    for _ in range(int(timeout / 0.02)):
        if condition():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition not met in time")


async def test_updates_are_posted_in_order_with_the_secret(
    emulator: BotApiEmulator, receiver: Receiver
) -> None:
    answer = await api(emulator, "setWebhook", url=receiver.url, secret_token=SECRET)
    assert answer.json() == {"ok": True, "result": True}
    receiver.delay = 0.02  # slow enough that a second update of the chat would overtake
    andi, budi = emulator.user(1001), emulator.user(1002)
    for number in range(5):
        await andi.send(f"andi {number}")
        await budi.send(f"budi {number}")
    await until(lambda: len(receiver.received) == 10)
    texts = receiver.texts()
    assert [t for t in texts if t.startswith("andi")] == [f"andi {n}" for n in range(5)]
    assert [t for t in texts if t.startswith("budi")] == [f"budi {n}" for n in range(5)]
    assert set(receiver.headers) == {SECRET}
    await until(lambda: emulator.pending_updates == 0)  # each done once its answer is back
    polled = await api(emulator, "getUpdates")
    assert polled.status_code == 409 and "webhook is active" in polled.json()["description"]


async def test_failures_are_retried_until_accepted_and_order_is_kept(
    emulator: BotApiEmulator, receiver: Receiver
) -> None:
    await api(emulator, "setWebhook", url=receiver.url)
    receiver.fail_next = [500, 502, 429]
    andi = emulator.user(1001)
    await andi.send("first")
    await andi.send("second")
    await until(lambda: len(receiver.received) == 2)
    assert receiver.texts() == ["first", "second"]
    first_id = receiver.received[0]["update_id"]
    tries = [a for a in emulator.webhook_attempts if a.update_id == first_id]
    assert [a.status for a in tries] == [500, 502, 429, 200]
    assert receiver.headers[0] is None  # no secret_token set, no header


async def test_an_unreachable_webhook_keeps_the_update_until_it_comes_back(
    emulator: BotApiEmulator, receiver: Receiver
) -> None:
    port = receiver.port
    await receiver.stop()
    await api(emulator, "setWebhook", url=f"http://127.0.0.1:{port}/hook")
    await emulator.user(1001).send("while down")
    await until(lambda: len(emulator.webhook_attempts) >= 2)
    assert all(a.status is None and a.error for a in emulator.webhook_attempts)
    assert emulator.pending_updates == 1
    await receiver.start(port)
    await until(lambda: receiver.texts() == ["while down"], timeout=10)


async def test_delete_webhook_stops_delivery_and_polling_takes_over(
    emulator: BotApiEmulator, receiver: Receiver
) -> None:
    await api(emulator, "setWebhook", url=receiver.url)
    await api(emulator, "deleteWebhook")
    await emulator.user(1001).send("for polling")
    await asyncio.sleep(0.2)
    assert receiver.received == []
    polled = (await api(emulator, "getUpdates")).json()["result"]
    assert [u["message"]["text"] for u in polled] == ["for polling"]


async def test_only_webhooks_on_this_machine_are_called(emulator: BotApiEmulator) -> None:
    refused = await api(emulator, "setWebhook", url="http://klinik.example/hook")
    assert refused.status_code == 400
    assert (await api(emulator, "setWebhook", url="https://klinik.example/hook")).json()["ok"]
    await emulator.user(1001).send("stays queued")
    await asyncio.sleep(0.2)
    assert emulator.webhook_attempts == [] and emulator.pending_updates == 1
