"""The objects handlers reach through `context.bot_data`: the dialog and the renderer."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from bot.rendering import Renderer
from bot.services.dialog import Dialog
from bot.settings import Settings
from scheduler.core import Scheduler

T = TypeVar("T")
BOT_DATA_KEY = "klinik"


@dataclass
class Runtime:
    settings: Settings
    dialog: Dialog
    renderer: Renderer
    # Set at start-up in the process that runs scheduled jobs.
    scheduler: Scheduler | None = None

    async def call(self, function: Callable[..., T], *args: Any) -> T:
        """Run a (blocking, database-bound) service call off the event loop."""
        return await asyncio.to_thread(function, *args)


def runtime_of(bot_data: dict[str, Any]) -> Runtime:
    return bot_data[BOT_DATA_KEY]
