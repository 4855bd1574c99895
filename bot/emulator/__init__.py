"""A Telegram Bot API emulator for end-to-end tests and ``klinik shell``.

Usage::

    async with BotApiEmulator() as emu:
        app = emu.application_builder().build()   # the real python-telegram-bot Application
        user = emu.user(1001, first_name="Andi")
        await user.send("/start")
        reply = await user.receive()

See :class:`BotApiEmulator`, :class:`SimUser` and :class:`SimGroup`.
"""

from .core import DEFAULT_BOT_NAME, DEFAULT_BOT_USERNAME, DEFAULT_TOKEN
from .emulator import BotApiEmulator
from .errors import ApiError
from .formatting import EntityParseError, ParsedText, parse_html
from .params import UploadedFile
from .recording import ApiCall
from .sim import SimChat, SimGroup, SimUser

__all__ = [
    "DEFAULT_BOT_NAME",
    "DEFAULT_BOT_USERNAME",
    "DEFAULT_TOKEN",
    "ApiCall",
    "ApiError",
    "BotApiEmulator",
    "EntityParseError",
    "ParsedText",
    "SimChat",
    "SimGroup",
    "SimUser",
    "UploadedFile",
    "parse_html",
]
