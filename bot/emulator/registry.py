"""The table of Bot API methods the emulator answers.

Method implementations register themselves with :func:`api_method`; the HTTP layer looks names up
case-insensitively, as api.telegram.org does.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .core import EmulatorCore
    from .params import Params

Handler = Callable[["EmulatorCore", "Params"], Awaitable[Any]]

_METHODS: dict[str, tuple[str, Handler]] = {}


def api_method(*names: str) -> Callable[[Handler], Handler]:
    """Register a coroutine ``(core, params) -> result`` under one or more method names."""

    def register(handler: Handler) -> Handler:
        for name in names:
            _METHODS[name.lower()] = (name, handler)
        return handler

    return register


def find_method(name: str) -> tuple[str, Handler] | None:
    """``(canonical name, handler)`` for a requested method name, or None if unknown."""
    return _METHODS.get(name.lower())


def canonical_name(name: str) -> str:
    """The documented spelling of a method name (the request's spelling if unknown)."""
    found = _METHODS.get(name.lower())
    return found[0] if found else name


def method_names() -> list[str]:
    return sorted(canonical for canonical, _ in _METHODS.values())
