"""Scripted users for end-to-end tests: type, press, read what the bot answered."""

from __future__ import annotations

from typing import Any

IDLE = 0.25


async def say(user: Any, text: str) -> list[dict[str, Any]]:
    """Send a text and return every message the bot sent or edited in answer."""
    await user.send(text)
    return await user.receive_all(idle=IDLE, timeout=5.0)


async def press(
    user: Any, label: str, **kwargs: Any
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Press a button by its label; returns the toast answer and the messages that followed."""
    answer = await user.press(label, **kwargs)
    return answer, await user.receive_all(idle=IDLE, timeout=5.0)


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
