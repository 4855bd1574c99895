"""HTTP plumbing: reading Bot API requests and writing answers with aiohttp."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from .errors import ApiError, bad_request
from .params import UploadedFile, decode_params

MAX_REQUEST_BYTES = 60 * 1024 * 1024  # Telegram accepts 50 MB uploads; leave room for fields


class DropConnection(Exception):
    """Raised to close the connection without answering (injected network failure)."""


async def read_params(request: web.Request) -> dict[str, Any]:
    """Query string plus body (form, multipart or JSON), decoded to typed values."""
    raw: dict[str, Any] = dict(request.query)
    if request.can_read_body:
        if request.content_type == "application/json":
            raw.update(await _json_body(request))
        else:
            raw.update(await _form_body(request))
    return decode_params(raw)


async def _json_body(request: web.Request) -> dict[str, Any]:
    text = await request.text()
    if not text.strip():
        return {}
    try:
        body = json.loads(text)
    except ValueError as exc:
        raise bad_request("can't parse JSON object") from exc
    if not isinstance(body, dict):
        raise bad_request("JSON object expected")
    return body


async def _form_body(request: web.Request) -> dict[str, Any]:
    form = await request.post()
    values: dict[str, Any] = {}
    for name, value in form.items():
        if isinstance(value, web.FileField):
            values[name] = UploadedFile(value.filename, value.content_type, value.file.read())
        else:
            values[name] = value
    return values


def answer(result: Any) -> web.Response:
    return web.json_response({"ok": True, "result": result})


def error_answer(error: ApiError) -> web.Response:
    return web.json_response(error.body(), status=error.error_code)


def drop(request: web.Request) -> web.Response:
    """Close the socket so the client sees a connection error instead of an answer."""
    if request.transport is not None:
        request.transport.close()
    return web.Response(status=500)
