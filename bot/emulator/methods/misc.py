"""Bot identity, commands, chat information and the small settings methods."""

from __future__ import annotations

import copy
import json
import re
from typing import Any

from ..core import EmulatorCore, chat_member
from ..errors import bad_request
from ..params import Params
from ..registry import api_method

COMMAND_RE = re.compile(r"^[a-z0-9_]{1,32}$")
LANGUAGE_RE = re.compile(r"^[a-z]{2}$")
MAX_COMMANDS = 100
SCOPE_TYPES = frozenset(
    {
        "default",
        "all_private_chats",
        "all_group_chats",
        "all_chat_administrators",
        "chat",
        "chat_administrators",
        "chat_member",
    }
)


@api_method("getMe")
async def get_me(core: EmulatorCore, p: Params) -> dict[str, Any]:
    return {
        **core.bot_user,
        "can_join_groups": True,
        "can_read_all_group_messages": not core.privacy_mode,
        "supports_inline_queries": False,
        "can_connect_to_business": False,
        "has_main_web_app": False,
    }


@api_method("close", "logOut")
async def close(core: EmulatorCore, p: Params) -> bool:
    return True


# -- commands --------------------------------------------------------------------------------------


def _commands_key(core: EmulatorCore, p: Params) -> tuple[str, str]:
    """Commands are stored per (scope, language_code), exactly like Telegram's lookup key."""
    scope = p.get("scope") or {"type": "default"}
    if not isinstance(scope, dict) or scope.get("type") not in SCOPE_TYPES:
        raise bad_request("wrong scope specified")
    scope = dict(scope)
    if "chat_id" in scope:
        scope["chat_id"] = core.chat(scope["chat_id"]).id
    elif scope["type"].startswith("chat"):
        raise bad_request("chat_id is empty")
    language = p.get_str("language_code", "") or ""
    if language and not LANGUAGE_RE.match(language):
        raise bad_request("invalid language code specified")
    return json.dumps(scope, sort_keys=True), language


def _validated_commands(raw: Any) -> list[dict[str, str]]:
    if not isinstance(raw, list):
        raise bad_request("can't parse commands JSON object")
    if len(raw) > MAX_COMMANDS:
        raise bad_request("too many commands")
    commands = []
    for item in raw:
        command = item.get("command") if isinstance(item, dict) else None
        description = item.get("description") if isinstance(item, dict) else None
        if not isinstance(command, str) or not COMMAND_RE.match(command):
            raise bad_request("BOT_COMMAND_INVALID")
        if not isinstance(description, str) or not 1 <= len(description.strip()) <= 256:
            raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        commands.append({"command": command, "description": description})
    return commands


@api_method("setMyCommands")
async def set_my_commands(core: EmulatorCore, p: Params) -> bool:
    commands = _validated_commands(p.get("commands"))
    key = _commands_key(core, p)
    if commands:
        core.commands[key] = commands
    else:
        core.commands.pop(key, None)
    return True


@api_method("getMyCommands")
async def get_my_commands(core: EmulatorCore, p: Params) -> list[dict[str, str]]:
    return copy.deepcopy(core.commands.get(_commands_key(core, p), []))


@api_method("deleteMyCommands")
async def delete_my_commands(core: EmulatorCore, p: Params) -> bool:
    core.commands.pop(_commands_key(core, p), None)
    return True


# -- chats -----------------------------------------------------------------------------------------


@api_method("getChat")
async def get_chat(core: EmulatorCore, p: Params) -> dict[str, Any]:
    """A ChatFullInfo: the Chat plus the fields python-telegram-bot 22 requires."""
    chat = core.chat(p.require("chat_id"))
    return {
        **copy.deepcopy(chat.chat),
        "accent_color_id": 0,
        "max_reaction_count": 11,
        "accepted_gift_types": {
            "unlimited_gifts": False,
            "limited_gifts": False,
            "unique_gifts": False,
            "premium_subscription": False,
            "gifts_from_channels": False,
        },
    }


@api_method("getChatMember")
async def get_chat_member(core: EmulatorCore, p: Params) -> dict[str, Any]:
    chat = core.chat(p.require("chat_id"))
    user_id = p.require_int("user_id")
    if user_id == core.bot_id:
        return chat_member(core.bot_user, chat.bot_status)
    user = core.users.get(user_id)
    if user is None:
        raise bad_request("user not found")
    if chat.is_private:
        return chat_member(user, "member" if user_id == chat.id else "left")
    member = chat.members.get(user_id)
    return copy.deepcopy(member) if member else chat_member(user, "left")


@api_method("leaveChat")
async def leave_chat(core: EmulatorCore, p: Params) -> bool:
    chat = core.writable_chat(p.require("chat_id"))
    if chat.is_private:
        raise bad_request("chat member status can't be changed in private chats")
    core.push_member_change(chat, core.bot_user, chat.bot_status, "left")
    return True


# -- settings that are only recorded ---------------------------------------------------------------

_SETTERS = (
    "setMyDescription",
    "setMyShortDescription",
    "setMyName",
    "setChatMenuButton",
    "setMyDefaultAdministratorRights",
)
_GETTERS = {
    "getMyDescription": ("setMyDescription", "description"),
    "getMyShortDescription": ("setMyShortDescription", "short_description"),
    "getMyName": ("setMyName", "name"),
}


def _register_setter(method: str) -> None:
    async def record_setting(core: EmulatorCore, p: Params) -> bool:
        core.settings[method] = dict(p.values)
        return True

    api_method(method)(record_setting)


def _register_getter(method: str, setter: str, field: str) -> None:
    async def read_setting(core: EmulatorCore, p: Params) -> dict[str, str]:
        return {field: str(core.settings.get(setter, {}).get(field, ""))}

    api_method(method)(read_setting)


for _setter in _SETTERS:
    _register_setter(_setter)
for _getter, (_source, _field) in _GETTERS.items():
    _register_getter(_getter, _source, _field)


@api_method("getChatMenuButton")
async def get_chat_menu_button(core: EmulatorCore, p: Params) -> dict[str, Any]:
    stored = core.settings.get("setChatMenuButton", {}).get("menu_button")
    return stored if isinstance(stored, dict) else {"type": "default"}
