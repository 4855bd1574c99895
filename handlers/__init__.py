"""Telegram handlers: they translate updates into Dialog calls and Outcomes into messages."""

from telegram import Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from handlers import consultations, conversation, guards
from handlers.errors import on_error

GUARD_GROUP = -2
# Between the guards and the feature handlers: replies and edits in relayed conversations.
RELAY_GROUP = GUARD_GROUP + 1


def register(application: Application) -> None:
    application.add_handler(TypeHandler(Update, guards.private_chats_only), group=GUARD_GROUP)
    for handler in consultations.handlers():
        application.add_handler(handler, group=RELAY_GROUP)
    application.add_handler(
        MessageHandler(filters.UpdateType.EDITED_MESSAGE, conversation.on_edited)
    )
    application.add_handler(MessageHandler(filters.COMMAND, conversation.on_command))
    application.add_handler(MessageHandler(filters.TEXT, conversation.on_text))
    application.add_handler(CallbackQueryHandler(conversation.on_button))
    application.add_handler(
        MessageHandler(filters.ALL & ~filters.StatusUpdate.ALL, conversation.on_non_text)
    )
    application.add_error_handler(on_error)
