"""Scripted users for end-to-end tests: type, press, read what the bot answered."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

IDLE = 0.25  # the longest quiet after a message; see SimChat.receive_answer
GRACE = 0.03  # quiet after the bot has finished with the update


async def _answer(user: Any, mark: int) -> list[dict[str, Any]]:
    return await user.receive_answer(user.updates_since(mark), idle=IDLE, timeout=5.0, grace=GRACE)


async def say(user: Any, text: str) -> list[dict[str, Any]]:
    """Send a text and return every message the bot sent or edited in answer."""
    mark = user.update_mark()
    await user.send(text)
    return await _answer(user, mark)


async def press(
    user: Any, label: str, **kwargs: Any
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Press a button by its label; returns the toast answer and the messages that followed."""
    mark = user.update_mark()
    answer = await user.press(label, **kwargs)
    return answer, await _answer(user, mark)


def plain(messages: list[dict[str, Any]]) -> str:
    return "\n---\n".join(m["plain"] for m in messages)


def labels(message: dict[str, Any]) -> list[str]:
    markup = message.get("reply_markup") or {}
    return [b["text"] for row in markup.get("inline_keyboard", []) for b in row]


async def register(user: Any, name: str = "Andi Pratiwi", opd: str = "kesehatan") -> None:
    await say(user, "/start")
    await press(user, "Saya setuju")
    await say(user, name)
    found = await say(user, opd)
    _, welcome = await press(user, labels(found[-1])[0])
    assert "Pendaftaran selesai" in plain(welcome), plain(welcome)
    _, menu = await press(user, "Lewati")  # the optional NIP
    assert "Menu utama" in plain(menu), plain(menu)


async def eventually(condition: Callable[[], bool], timeout: float = 5.0) -> bool:
    """Whether `condition` comes true within `timeout` seconds (asked every 50 ms): for what
    the bot does beside its messages (a stored flag, a command menu)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            return False
        await asyncio.sleep(0.05)
    return True
