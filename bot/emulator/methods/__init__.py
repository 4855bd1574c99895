"""Bot API method implementations; importing this package registers all of them."""

from . import media, messages, misc, updates

__all__ = ["media", "messages", "misc", "updates"]
