"""The command menu: everyone's commands by default, and in the private chat of an admin or a
mentor the commands of their roles too (set at start-up and whenever a role changes)."""

from __future__ import annotations

import logging

from telegram import Bot, BotCommand, BotCommandScopeChat, BotCommandScopeDefault
from telegram.error import BadRequest, TelegramError

from bot.runtime import Runtime

log = logging.getLogger(__name__)


def commands_for(runtime: Runtime, roles: list[str]) -> list[BotCommand]:
    """The menu for someone holding `roles`: each role's commands (as the features declare
    them) in the order of templates/labels.yaml, everyone's first."""
    texts = runtime.renderer.command_texts()
    return [
        BotCommand(name, text["menu"])
        for role in roles
        for name, text in texts.items()
        if runtime.dialog.menu_role(name) == role
    ]


async def set_menus(bot: Bot, runtime: Runtime) -> None:
    await bot.set_my_commands(commands_for(runtime, ["asn"]), scope=BotCommandScopeDefault())
    for user_id in await runtime.call(runtime.dialog.people_with_roles):
        await set_chat_menu(bot, runtime, user_id)


async def set_chat_menu(bot: Bot, runtime: Runtime, user_id: int) -> None:
    """The menu of one user's private chat, from the roles they hold now."""
    roles = await runtime.call(runtime.dialog.roles_of, user_id)
    try:
        await bot.set_my_commands(commands_for(runtime, roles), scope=BotCommandScopeChat(user_id))
    except BadRequest as exc:  # they have not opened a chat with the bot yet
        log.info("command menu of %s not set: %s", user_id, exc.message)
    except TelegramError:
        log.warning("command menu of %s not set", user_id, exc_info=True)
