"""Media messages (sendDocument, sendPhoto, ...) and getFile.

Uploaded bytes are kept so a test can assert on what the bot sent, and so the bot can download
them back through ``/file/bot<token>/<file_path>`` like a real file.
"""

from __future__ import annotations

import copy
import mimetypes
from dataclasses import dataclass
from typing import Any

from ..core import EmulatorCore
from ..errors import bad_request
from ..markup import validate_reply_markup
from ..params import Params, UploadedFile
from ..registry import api_method
from ..state import StoredFile
from .messages import parsed_caption, remember_keyboard, reply_fields, text_fields

MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024


@dataclass(frozen=True)
class MediaKind:
    """How one send method names its file parameter and describes the file in a Message."""

    method: str
    field: str
    default_mime: str | None
    captioned: bool = True


MEDIA_KINDS = (
    MediaKind("sendDocument", "document", "application/octet-stream"),
    MediaKind("sendPhoto", "photo", "image/jpeg"),
    MediaKind("sendVoice", "voice", "audio/ogg"),
    MediaKind("sendAudio", "audio", "audio/mpeg"),
    MediaKind("sendVideo", "video", "video/mp4"),
    MediaKind("sendAnimation", "animation", "video/mp4"),
    MediaKind("sendSticker", "sticker", "image/webp", captioned=False),
)


def media_object(kind: str, stored: StoredFile, p: Params | None = None) -> Any:
    """The Message field describing a file (``document``, ``photo`` sizes, ``voice``, ...)."""
    base = {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id}
    sized = {**base, "file_size": stored.size}
    duration = (p.get_int("duration") if p else None) or 1
    if kind == "photo":
        return [{**sized, "width": 90, "height": 90}, {**sized, "width": 800, "height": 600}]
    if kind == "sticker":
        return {
            **sized,
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "type": "regular",
            "emoji": (p.get_str("emoji") if p else None) or "🙂",
        }
    if kind == "voice":
        return {**sized, "duration": duration, "mime_type": stored.mime_type}
    named = {**sized, "file_name": stored.file_name, "mime_type": stored.mime_type}
    if kind == "audio":
        return {**named, "duration": duration}
    if kind in ("video", "animation"):
        return {**named, "width": 640, "height": 360, "duration": duration}
    return {key: value for key, value in named.items() if value is not None}


def resolve_input_file(core: EmulatorCore, p: Params, kind: MediaKind) -> StoredFile:
    """An upload, an ``attach://`` reference, a known file_id or an HTTP URL."""
    value = p.get(kind.field)
    if isinstance(value, str) and value.startswith("attach://"):
        value = p.get(value.removeprefix("attach://"))
    if value is None or value == "":
        raise bad_request(f"there is no {kind.field} in the request")
    if isinstance(value, UploadedFile):
        return _store_upload(core, value, kind, p.get_str("filename"))
    if not isinstance(value, str):
        raise bad_request("wrong file identifier/HTTP URL specified")
    known = core.files.get(value)
    if known is not None:
        return known
    if value.startswith(("http://", "https://")):
        name = value.rstrip("/").rsplit("/", 1)[-1] or None
        return core.files.add(kind.field, b"", name, _mime(name, kind))
    raise bad_request("wrong file identifier/HTTP URL specified")


def _store_upload(
    core: EmulatorCore, upload: UploadedFile, kind: MediaKind, fallback_name: str | None
) -> StoredFile:
    if not upload.content:
        raise bad_request("file must be non-empty")
    name = upload.filename or fallback_name
    mime = upload.content_type
    if not mime or mime == "application/octet-stream":
        mime = _mime(name, kind)
    return core.files.add(kind.field, upload.content, name, mime)


def _mime(name: str | None, kind: MediaKind) -> str | None:
    guessed = mimetypes.guess_type(name)[0] if name else None
    return guessed or kind.default_mime


async def send_media(core: EmulatorCore, p: Params, kind: MediaKind) -> dict[str, Any]:
    """The shared body of every send<Media> method."""
    chat = core.writable_chat(p.require("chat_id"))
    stored_file = resolve_input_file(core, p, kind)
    caption = parsed_caption(p) if kind.captioned else None
    markup = validate_reply_markup(p.get("reply_markup"))
    content: dict[str, Any] = {kind.field: media_object(kind.field, stored_file, p)}
    if caption is not None:
        content.update(text_fields(caption, caption=True))
    content.update(reply_fields(chat, p))
    stored = core.store_bot_message(
        chat,
        content,
        method=kind.method,
        raw_text=p.get_str("caption") if caption is not None else None,
        parse_mode=p.get_str("parse_mode"),
        reply_markup=markup,
        files=[stored_file],
    )
    remember_keyboard(chat, markup)
    return copy.deepcopy(stored.api)


def _register(kind: MediaKind) -> None:
    async def handler(core: EmulatorCore, p: Params) -> dict[str, Any]:
        return await send_media(core, p, kind)

    handler.__doc__ = f"{kind.method}: send a {kind.field}."
    api_method(kind.method)(handler)


for _kind in MEDIA_KINDS:
    _register(_kind)


@api_method("getFile")
async def get_file(core: EmulatorCore, p: Params) -> dict[str, Any]:
    stored = core.files.get(str(p.require("file_id")))
    if stored is None:
        raise bad_request("invalid file_id")
    if stored.size > MAX_DOWNLOAD_BYTES:
        raise bad_request("file is too big")
    return stored.as_file()
