"""Fault injection and optional flood control.

Resilience code (retries, back-off, "user blocked the bot") can only be tested if the server
misbehaves on demand. Faults are consumed in the order they were injected; each matches a method
name (case-insensitive, ``"*"`` for any) and optionally one chat.
"""

from __future__ import annotations

import math
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Literal

from .errors import ApiError, too_many_requests

FaultKind = Literal["error", "delay", "disconnect"]

# Methods that send or change messages: the ones Telegram's flood control counts.
FLOOD_METHODS = frozenset(
    {
        "sendmessage",
        "senddocument",
        "sendphoto",
        "sendvoice",
        "sendsticker",
        "sendaudio",
        "sendvideo",
        "sendanimation",
        "copymessage",
        "forwardmessage",
        "editmessagetext",
        "editmessagecaption",
        "editmessagereplymarkup",
    }
)


@dataclass
class Fault:
    """One armed fault; ``remaining`` counts down as matching calls consume it."""

    kind: FaultKind
    method: str
    remaining: int
    chat_id: int | str | None = None
    error_code: int = 0
    description: str | None = None
    retry_after: int | None = None
    seconds: float = 0.0
    after_processing: bool = False

    def matches(self, method: str, chat_id: object) -> bool:
        if self.remaining <= 0:
            return False
        if self.method not in ("*", method.lower()):
            return False
        return self.chat_id is None or self.chat_id == chat_id

    def as_error(self) -> ApiError:
        retry_after = self.retry_after
        if self.error_code == 429 and retry_after is None:
            retry_after = 1
        return ApiError(self.error_code, self.description, retry_after=retry_after)


@dataclass
class FaultPlan:
    """All armed faults; ``take`` consumes the first one of a kind that matches a call."""

    faults: list[Fault] = field(default_factory=list)

    def add(self, fault: Fault) -> Fault:
        self.faults.append(fault)
        return fault

    def take(self, kind: FaultKind, method: str, chat_id: object) -> Fault | None:
        for fault in self.faults:
            if fault.kind == kind and fault.matches(method, chat_id):
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self.faults.remove(fault)
                return fault
        return None

    def clear(self) -> None:
        self.faults.clear()


@dataclass
class _Bucket:
    """Token bucket: ``capacity`` tokens, refilled at ``rate`` tokens per second."""

    capacity: float
    rate: float
    tokens: float = -1.0
    stamp: float = field(default_factory=time.monotonic)

    def __post_init__(self) -> None:
        if self.tokens < 0:
            self.tokens = self.capacity

    def wait_needed(self, now: float) -> float:
        """Seconds until one token is available (0 if available now)."""
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate

    def consume(self, now: float) -> None:
        self.tokens -= 1


# Telegram's ceiling for paid broadcasts (billed in Stars).
PAID_PER_SEC = 1000


@dataclass
class _Window:
    """At most ``limit`` calls in any ``period`` seconds (how "30 a second" is counted)."""

    limit: int
    period: float
    stamps: deque[float] = field(default_factory=deque)

    def wait_needed(self, now: float) -> float:
        while self.stamps and self.stamps[0] <= now - self.period:
            self.stamps.popleft()
        if len(self.stamps) < self.limit:
            return 0.0
        return self.stamps[-self.limit] + self.period - now

    def consume(self, now: float) -> None:
        self.stamps.append(now)


@dataclass
class RateLimits:
    """Telegram-like flood control: at most ``overall_per_sec`` calls in any second, per
    private chat a bucket of ``burst`` refilled at ``per_chat_per_sec``, per group at most
    ``group_per_min`` in any minute. Rejected calls consume nothing."""

    per_chat_per_sec: float = 1.0
    burst: int = 3
    overall_per_sec: float = 30.0
    group_per_min: float = 20.0
    _chats: dict[int | str, _Bucket] = field(default_factory=dict, init=False)
    _groups: dict[int | str, _Window] = field(default_factory=dict, init=False)
    _overall: _Window | None = field(default=None, init=False)
    _paid: _Window = field(default_factory=lambda: _Window(PAID_PER_SEC, 1.0), init=False)

    def check(
        self, method: str, chat_id: int | str | None, is_group: bool, paid: bool = False
    ) -> None:
        """Consume tokens for a call or raise 429 with the ``retry_after`` Telegram would give.
        A paid broadcast (``allow_paid_broadcast``) counts against 1,000 a second instead."""
        if method.lower() not in FLOOD_METHODS:
            return
        now = time.monotonic()
        if self._overall is None:
            self._overall = _Window(int(self.overall_per_sec), 1.0)
        limits: list[_Bucket | _Window] = [self._paid if paid else self._overall]
        if chat_id is not None:
            limits.append(self._chat_limit(chat_id, is_group))
        wait = max(limit.wait_needed(now) for limit in limits)
        if wait > 0:
            raise too_many_requests(math.ceil(wait))
        for limit in limits:
            limit.consume(now)

    def _chat_limit(self, chat_id: int | str, is_group: bool) -> _Bucket | _Window:
        if is_group:
            if chat_id not in self._groups:
                self._groups[chat_id] = _Window(int(self.group_per_min), 60.0)
            return self._groups[chat_id]
        if chat_id not in self._chats:
            self._chats[chat_id] = _Bucket(float(self.burst), self.per_chat_per_sec)
        return self._chats[chat_id]
