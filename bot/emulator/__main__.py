"""Run the emulator standalone: ``python -m bot.emulator --port 8081``.

Point a bot at the printed base_url for manual runs; simulated users given with ``--user``
exist from the start so the bot can message them.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging

from .core import DEFAULT_BOT_USERNAME, DEFAULT_TOKEN
from .emulator import BotApiEmulator


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bot.emulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--token", default=DEFAULT_TOKEN)
    parser.add_argument("--bot-username", default=DEFAULT_BOT_USERNAME)
    parser.add_argument("--user", type=int, action="append", default=[], help="simulated user id")
    parser.add_argument("--verbose", "-v", action="store_true", help="log every API call")
    return parser.parse_args(argv)


async def serve(args: argparse.Namespace) -> None:
    emu = BotApiEmulator(args.token, bot_username=args.bot_username, host=args.host, port=args.port)
    for user_id in args.user:
        emu.user(user_id)
    async with emu:
        print(f"Bot API emulator: base_url={emu.base_url} base_file_url={emu.base_file_url}")
        print(f"token={emu.token}  (Ctrl-C to stop)", flush=True)
        await asyncio.Event().wait()


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args))


if __name__ == "__main__":
    main()
