"""Typed callback data: every button's data is a `Route` value, declared once by its feature.

In the spirit of aiogram's `CallbackData`: a route class (a frozen dataclass) names a prefix and
typed fields; a value packs to the string Telegram carries (at most 64 bytes, checked when the
class is declared, from the widest value each field can take) and unpacks back with its types.
Data that does not unpack (forged, truncated, from a button of an older version) raises
`StaleRoute`, which the Dialog answers as a stale button without calling any handler.

    class OpenDraft(Route, prefix="d:o"):
        draft_id: int

    Button(OpenDraft(draft_id=7), label="open")   # data "d:o:7"

A prefix may contain ":" (a family of routes under one letter, as the buttons already in users'
chats carry); the longest declared prefix wins when unpacking. Field types: `int`, `bool`, a
`BigInt`, `Literal[...]` of strings, or `Annotated[str, MaxLen(n)]`.
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Literal, Self, get_args, get_origin

CALLBACK_DATA_MAX = 64  # bytes, Telegram's limit
SEPARATOR = ":"
# A plain `int` field is a database id (32-bit, as the id columns); `BigInt` one a Telegram
# user id. A forged value beyond the range is stale before it reaches a query.
INT_RANGE = (-(2**31), 2**31 - 1)
BIG_INT_RANGE = (-(2**63), 2**63 - 1)


class StaleRoute(ValueError):
    """Callback data that is no route's value: a forged, truncated or outdated button."""


@dataclass(frozen=True)
class MaxLen:
    """The most bytes (UTF-8) a `str` field may hold: they count against the 64."""

    size: int


@dataclass(frozen=True)
class _Big:
    """Marks an `int` field as 64-bit (see `BigInt`)."""


BigInt = Annotated[int, _Big()]


@dataclass(frozen=True)
class _Field:
    name: str
    kind: str  # "int", "bool", "choice", "str"
    width: int  # the most bytes the packed value can take
    choices: tuple[str, ...] = ()
    bounds: tuple[int, int] = INT_RANGE
    has_default: bool = False


class Route:
    """Base of every route class; see the module docstring."""

    prefix: ClassVar[str]
    _fields: ClassVar[tuple[_Field, ...]]
    _registry: ClassVar[dict[str, type[Route]]] = {}

    def __init_subclass__(cls, prefix: str, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.prefix = prefix
        dataclass(frozen=True)(cls)  # in place: the class stays the one being declared
        cls._declare()

    @classmethod
    def _declare(cls) -> None:
        hints = typing.get_type_hints(cls, include_extras=True)
        fields = tuple(
            _field(f.name, hints[f.name], f.default is not dataclasses.MISSING)
            for f in dataclasses.fields(cls)  # type: ignore[arg-type]
        )
        width = len(cls.prefix.encode()) + sum(len(SEPARATOR) + f.width for f in fields)
        if width > CALLBACK_DATA_MAX:
            raise TypeError(f"route {cls.__name__} can pack to {width} bytes (limit 64)")
        if cls._registry.get(cls.prefix, cls) is not cls:
            raise TypeError(f"prefix {cls.prefix!r} of {cls.__name__} is declared twice")
        cls._fields = fields
        cls._registry[cls.prefix] = cls

    def pack(self) -> str:
        parts = [self.prefix]
        for f in self._fields:
            value = getattr(self, f.name)
            parts.append(_pack_value(f, value))
        return SEPARATOR.join(parts)

    @classmethod
    def unpack(cls, data: str) -> Self:
        """This route's value from callback data; StaleRoute if it is not one."""
        route = find_route(data)
        if route is not cls:
            raise StaleRoute(data)
        return route._from_parts(data)  # type: ignore[return-value]

    @classmethod
    def _from_parts(cls, data: str) -> Route:
        rest = data[len(cls.prefix) :]
        parts = rest.split(SEPARATOR)[1:] if rest else []
        fields = cls._fields
        if len(parts) > len(fields):
            raise StaleRoute(data)
        values: dict[str, Any] = {}
        for index, f in enumerate(fields):
            if index < len(parts):
                values[f.name] = _unpack_value(f, parts[index], data)
            elif not f.has_default:
                raise StaleRoute(data)
        return cls(**values)


def find_route(data: str) -> type[Route] | None:
    """The route class whose prefix is the longest one `data` starts with (at a separator)."""
    parts = data.split(SEPARATOR)
    for count in range(len(parts), 0, -1):
        found = Route._registry.get(SEPARATOR.join(parts[:count]))
        if found is not None:
            return found
    return None


def unpack(data: str) -> Route:
    """Any declared route's value from callback data; StaleRoute if none matches."""
    cls = find_route(data)
    if cls is None:
        raise StaleRoute(data)
    return cls._from_parts(data)


def _field(name: str, hint: Any, default: bool) -> _Field:
    if get_origin(hint) is Annotated:
        base, *extras = get_args(hint)
        limit = next((e for e in extras if isinstance(e, MaxLen)), None)
        if base is str and limit is not None:
            return _Field(name, "str", limit.size, has_default=default)
        if base is int and any(isinstance(e, _Big) for e in extras):
            return _int_field(name, BIG_INT_RANGE, default)
    if hint is int:
        return _int_field(name, INT_RANGE, default)
    if hint is bool:
        return _Field(name, "bool", 1, has_default=default)
    if get_origin(hint) is Literal:
        choices = tuple(str(c) for c in get_args(hint))
        width = max(len(c.encode()) for c in choices)
        return _Field(name, "choice", width, choices, has_default=default)
    raise TypeError(f"route field {name}: int, BigInt, bool, Literal[...], Annotated[str, MaxLen]")


def _int_field(name: str, bounds: tuple[int, int], default: bool) -> _Field:
    return _Field(name, "int", len(str(bounds[0])), bounds=bounds, has_default=default)


def _pack_value(f: _Field, value: Any) -> str:
    if f.kind == "bool":
        return "1" if value else "0"
    if f.kind == "int":
        low, high = f.bounds
        if not low <= int(value) <= high:
            raise ValueError(f"{f.name}={value} is outside {f.bounds}")
        return str(int(value))
    text = str(value)
    if SEPARATOR in text:
        raise ValueError(f"{f.name}={text!r} contains {SEPARATOR!r}")
    if f.kind == "choice" and text not in f.choices:
        raise ValueError(f"{f.name}={text!r} is not one of {f.choices}")
    if len(text.encode()) > f.width:
        raise ValueError(f"{f.name}={text!r} is longer than declared")
    return text


def _unpack_value(f: _Field, text: str, data: str) -> Any:
    if f.kind == "bool":
        if text not in ("0", "1"):
            raise StaleRoute(data)
        return text == "1"
    if f.kind == "int":
        # int() also takes " 7", "+7" and "7_0"; a packed int is only ever digits.
        if not (text.isascii() and text.lstrip("-").isdigit()) or len(text) > f.width:
            raise StaleRoute(data)
        value = int(text)
        if not f.bounds[0] <= value <= f.bounds[1]:
            raise StaleRoute(data)
        return value
    if f.kind == "choice" and text not in f.choices:
        raise StaleRoute(data)
    if len(text.encode()) > f.width:
        raise StaleRoute(data)
    return text
