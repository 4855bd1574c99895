"""Polling that confirms an update to Telegram only once it has been handled.

Telegram forgets every update below the `offset` of a getUpdates call. python-telegram-bot asks
for the next batch (confirming the last) as soon as it has queued one, so a process killed
while updates wait behind a user's earlier message, or are half handled, loses them for good.
This request class, used for getUpdates only, keeps the offset at the oldest update still
being handled and passes on only the updates not seen before; the update processor reports
each update as finished. After a crash the unconfirmed updates come again: those already
stored are recognised by their recorded ids (see handlers/guards.py), the rest are handled.
Only an update still being handled after HOLD_SECONDS is confirmed anyway, so that one stuck
reply cannot stop everybody's updates once Telegram's batches of 100 fill up behind it; but not
one deferred because the database is away (bot/update_processor.py): it holds the offset until
it is handled, since confirmed it would be lost if the process stopped meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable
from typing import Any

from telegram.request import RequestData

from bot.http_transport import AiohttpRequest

GET_UPDATES_LIMIT = 100  # python-telegram-bot's default and Telegram's maximum
HOLD_SECONDS = 30.0
FORGET_SECONDS = 3600.0
RECENT_SECONDS = 600.0  # how long a handed-out id is remembered to drop Telegram's repeats
RECENT_LIMIT = 20_000


class UpdateTracker:
    """Update ids handed to the application and not finished yet."""

    def __init__(
        self, hold_seconds: float = HOLD_SECONDS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.in_flight: dict[int, float] = {}  # update id -> when it was handed out
        # Every id handed out lately, oldest first: an update Telegram returns again is known
        # by its id, not by being below the highest seen, since after a quiet week Telegram
        # picks the next id at random (it may be lower). Bounded in time and in size.
        self._recent: dict[int, float] = {}
        self._deferred: set[int] = set()  # in flight, failed for a passing reason, retrying
        self.hold_seconds = hold_seconds
        self._clock = clock
        self._finished = asyncio.Event()
        self._oldest_finished = asyncio.Event()

    def safe_offset(self, requested: int | None) -> int | None:
        """The offset that confirms only finished updates, except those handled for longer
        than `hold_seconds` (a reply waiting out a long 429): such a one must not hold back
        newer updates when Telegram's batches fill up behind it. An update deferred after a
        passing failure (the database away) holds it however long that lasts: confirmed, it
        would be lost if the process stopped before the retry succeeded."""
        now = self._clock()
        held = [
            i
            for i, since in self.in_flight.items()
            if now - since < self.hold_seconds or i in self._deferred
        ]
        return min(held) if held else requested

    def deferred(self, update_id: int) -> None:
        if update_id in self.in_flight:
            self._deferred.add(update_id)

    def take_new(self, updates: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The updates not handed out before, now counted as in flight."""
        fresh = [u for u in updates if not self._handed_out(u["update_id"])]
        now = self._clock()
        for update in fresh:
            self.in_flight[update["update_id"]] = now
            self._recent[update["update_id"]] = now
        while self._recent and (
            len(self._recent) > RECENT_LIMIT
            or now - next(iter(self._recent.values())) > RECENT_SECONDS
        ):
            del self._recent[next(iter(self._recent))]
        # One the application never reported back (it failed to parse, say) would stay forever.
        forgotten = [
            i
            for i, since in self.in_flight.items()
            if now - since > FORGET_SECONDS and i not in self._deferred
        ]
        for update_id in forgotten:
            del self.in_flight[update_id]
        return fresh

    def _handed_out(self, update_id: int) -> bool:
        return update_id in self.in_flight or update_id in self._recent

    def finished(self, update_id: int) -> None:
        if update_id in self.in_flight:
            holds_offset = update_id == self.safe_offset(None)
            del self.in_flight[update_id]
            self._deferred.discard(update_id)
            self._finished.set()
            if holds_offset:
                self._oldest_finished.set()

    def poll_starts(self) -> None:
        """Cleared before each getUpdates, so that an update finished while it is under way
        still ends the wait that may follow it."""
        self._finished.clear()
        self._oldest_finished.clear()

    async def wait_for_progress(self, *, oldest_only: bool, timeout: float) -> None:
        event = self._oldest_finished if oldest_only else self._finished
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), timeout)


class ConfirmingPollRequest(AiohttpRequest):
    def __init__(self, tracker: UpdateTracker, **kwargs: Any) -> None:
        super().__init__(connection_pool_size=1, **kwargs)
        self.tracker = tracker

    def fields(self, request_data: RequestData) -> dict[str, str]:
        fields = super().fields(request_data)
        requested = fields.get("offset")
        offset = self.tracker.safe_offset(int(requested) if requested else None)
        if offset is not None:
            fields["offset"] = str(offset)
        return fields

    async def do_request(
        self, url: str, method: str, *args: Any, **kwargs: Any
    ) -> tuple[int, bytes]:
        self.tracker.poll_starts()
        status, body = await super().do_request(url, method, *args, **kwargs)
        if status != 200 or not url.endswith("/getUpdates"):
            return status, body
        answer = json.loads(body)
        returned = answer.get("result") or []
        answer["result"] = self.tracker.take_new(returned)
        if returned and not answer["result"]:
            # Only updates still being handled came back: Telegram answers at once while any
            # is unconfirmed, so instead of asking again in a tight loop, pause until one is
            # finished, or briefly (new updates may be arriving meanwhile). A full batch can
            # hide newer updates until the oldest is finished: then wait for that.
            full = len(returned) >= GET_UPDATES_LIMIT
            await self.tracker.wait_for_progress(oldest_only=full, timeout=5 if full else 0.1)
        return status, json.dumps(answer).encode()
