"""The Telegram-free domain."""
