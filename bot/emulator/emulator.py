"""``BotApiEmulator``: a local stand-in for api.telegram.org.

The real python-telegram-bot ``Application`` talks to it over HTTP unchanged
(``ApplicationBuilder().token(T).base_url(emu.base_url).base_file_url(emu.base_file_url)``), so
end-to-end tests exercise the same code paths as production, including Telegram's validation
errors, flood control and network failures, which an in-process fake would hide.
"""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from . import methods as _methods  # noqa: F401  (importing registers the API methods)
from .core import DEFAULT_BOT_NAME, DEFAULT_BOT_USERNAME, DEFAULT_TOKEN, EmulatorCore
from .errors import ApiError
from .faults import Fault, FaultPlan, RateLimits
from .params import Params
from .recording import MESSAGE_METHODS, ApiCall
from .registry import canonical_name, find_method
from .sim import SimGroup, SimUser
from .webhook import DeliveryAttempt, WebhookDelivery
from .wire import MAX_REQUEST_BYTES, DropConnection, answer, drop, error_answer, read_params

if TYPE_CHECKING:
    from telegram.ext import ApplicationBuilder

logger = logging.getLogger(__name__)


class BotApiEmulator:
    """An HTTP server on 127.0.0.1 speaking the Bot API, plus simulated users to script.

    Everything (server, bot under test, scripting calls) must run on the event loop that called
    :meth:`start`; give pytest fixtures holding an emulator the same ``loop_scope`` as the tests
    using them. Calls are appended to :attr:`calls` when answered, so a long poll appears after
    the calls made while it was waiting.
    """

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        bot_username: str = DEFAULT_BOT_USERNAME,
        bot_first_name: str = DEFAULT_BOT_NAME,
        host: str = "127.0.0.1",
        port: int = 0,
        privacy_mode: bool = True,
        webhook_retry_base: float = 2.0,
        latency: float = 0.0,
    ) -> None:
        self.core = EmulatorCore(token, bot_username, bot_first_name, privacy_mode=privacy_mode)
        # Pushes updates to a webhook on this machine once setWebhook names one (see webhook.py).
        self.webhook = WebhookDelivery(self.core, retry_base=webhook_retry_base)
        self.host = host
        self.port = port
        self.calls: list[ApiCall] = []
        self.count_429 = 0
        # Seconds every call takes before it is handled: the round trip to api.telegram.org,
        # which on loopback would otherwise be free (benchmarks use it; tests leave it at 0).
        self.latency = latency
        self._faults = FaultPlan()
        self._rate_limits: RateLimits | None = None
        self._users: dict[int, SimUser] = {}
        self._groups: dict[int, SimGroup] = {}
        self._runner: web.AppRunner | None = None

    # -- lifecycle -------------------------------------------------------------------------------

    async def start(self) -> BotApiEmulator:
        """Bind and serve; with ``port=0`` the OS picks a free port (read ``self.port``)."""
        app = web.Application(client_max_size=MAX_REQUEST_BYTES)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_route("GET", "/file/bot{token}/{path:.+}", self._handle_file)
        # handler_cancellation: a long poll whose client went away must not eat updates.
        self._runner = web.AppRunner(
            app, handler_cancellation=True, access_log=None, shutdown_timeout=1.0
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        self.core.closing = False
        self.webhook.start()
        logger.info("Bot API emulator listening on %s", self.base_url)
        return self

    async def stop(self) -> None:
        """Answer pending long polls and shut the server down."""
        self.core.closing = True
        self.core.signal.notify()
        await self.webhook.stop()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> BotApiEmulator:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """python-telegram-bot's ``base_url`` form: the token is appended to it."""
        return f"{self.url}/bot"

    @property
    def base_file_url(self) -> str:
        return f"{self.url}/file/bot"

    @property
    def token(self) -> str:
        return self.core.token

    @property
    def bot_id(self) -> int:
        return self.core.bot_id

    @property
    def bot_user(self) -> dict[str, Any]:
        return copy.deepcopy(self.core.bot_user)

    def application_builder(self) -> ApplicationBuilder:
        """A python-telegram-bot ApplicationBuilder already pointed at this emulator."""
        from telegram.ext import ApplicationBuilder

        return (
            ApplicationBuilder()
            .token(self.token)
            .base_url(self.base_url)
            .base_file_url(self.base_file_url)
        )

    # -- simulated users and groups --------------------------------------------------------------

    def user(
        self,
        user_id: int,
        first_name: str | None = None,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "id",
    ) -> SimUser:
        """The simulated user ``user_id`` (created once; later calls return the same object)."""
        if user_id in self._users:
            return self._users[user_id]
        user: dict[str, Any] = {"id": user_id, "is_bot": False}
        user["first_name"] = first_name or f"User{user_id}"
        chat: dict[str, Any] = {"id": user_id, "type": "private", "first_name": user["first_name"]}
        for key, value in (("last_name", last_name), ("username", username)):
            if value:
                user[key] = chat[key] = value
        if language_code:
            user["language_code"] = language_code
        self.core.users[user_id] = user
        sim = SimUser(self, self.core.add_chat(chat), user)
        self._users[user_id] = sim
        return sim

    def group(
        self,
        chat_id: int,
        title: str = "Group",
        *,
        username: str | None = None,
        with_bot: bool = False,
    ) -> SimGroup:
        """A simulated group (``-100…`` ids are supergroups). The bot is not a member until
        ``add_bot`` unless ``with_bot`` is set."""
        if chat_id in self._groups:
            return self._groups[chat_id]
        kind = "supergroup" if str(chat_id).startswith("-100") else "group"
        chat: dict[str, Any] = {"id": chat_id, "type": kind, "title": title}
        if username:
            chat["username"] = username
        state = self.core.add_chat(chat, bot_status="member" if with_bot else "left")
        sim = SimGroup(self, state)
        self._groups[chat_id] = sim
        return sim

    def block(self, user_id: int, *, notify: bool = True) -> None:
        """The user blocks the bot: every send to them answers 403 until ``unblock``.

        Like Telegram, the bot also gets a ``my_chat_member`` update (status "kicked").
        """
        sim = self.user(user_id)
        sim.state.blocked = True
        if notify:
            self.core.push_member_change(sim.state, sim.user, "member", "kicked")

    def unblock(self, user_id: int, *, notify: bool = True) -> None:
        sim = self.user(user_id)
        sim.state.blocked = False
        if notify:
            self.core.push_member_change(sim.state, sim.user, "kicked", "member")

    # -- updates ---------------------------------------------------------------------------------

    async def push_raw_update(self, update: dict[str, Any]) -> dict[str, Any]:
        """Queue an arbitrary update; one with an ``update_id`` keeps it (a duplicate)."""
        if "update_id" in update:
            self.core.updates.push_duplicate(copy.deepcopy(update))
            self.core.signal.notify()
            return update
        return self.core.push_update(copy.deepcopy(update))

    async def redeliver(self, update_id: int) -> dict[str, Any]:
        """Deliver an earlier update again with the same update_id (at-least-once delivery)."""
        update = self.core.updates.history.get(update_id)
        if update is None:
            raise KeyError(f"no update {update_id} was ever queued")
        return await self.push_raw_update(update)

    @property
    def updates(self) -> list[dict[str, Any]]:
        """Every update ever queued, in update_id order."""
        return [copy.deepcopy(u) for _, u in sorted(self.core.updates.history.items())]

    @property
    def last_update_id(self) -> int | None:
        """The id of the most recently queued update (None before the first)."""
        history = self.core.updates.history
        return max(history) if history else None

    @property
    def webhook_attempts(self) -> list[DeliveryAttempt]:
        """Every POST of an update to the webhook so far, failed ones included, in order."""
        return list(self.webhook.attempts)

    @property
    def pending_updates(self) -> int:
        return len(self.core.updates.pending)

    def is_handled(self, update_ids: Iterable[int]) -> bool:
        """Whether none of ``update_ids`` is pending any more: the bot confirmed it (polling
        offset past it) or answered its webhook POST with a 2xx."""
        wanted = set(update_ids)
        return not any(item.update_id in wanted for item in self.core.updates.pending)

    async def handled(self, update_ids: Iterable[int], timeout: float = 5.0) -> bool:
        """Wait until the bot has finished with every one of ``update_ids``; False on timeout."""
        wanted = set(update_ids)
        return await self.core.signal.wait_for(lambda: self.is_handled(wanted), timeout)

    async def wait_until_delivered(self, timeout: float = 5.0) -> None:
        """Wait until the bot has fetched every queued update at least once."""
        if not await self.core.signal.wait_for(lambda: self.core.updates.all_delivered, timeout):
            raise AssertionError(f"{self.pending_updates} update(s) not fetched in {timeout}s")

    # -- recorded calls --------------------------------------------------------------------------

    def calls_to(self, method: str) -> list[ApiCall]:
        wanted = method.lower()
        return [call for call in self.calls if call.method.lower() == wanted]

    def sent_to(self, chat_id: int, *, include_failed: bool = False) -> list[ApiCall]:
        """Message-producing calls (send*, edit*, copy, forward) addressed to a chat, in order."""
        return [
            call
            for call in self.calls
            if call.method in MESSAGE_METHODS
            and call.chat_id == chat_id
            and (call.ok or include_failed)
        ]

    async def wait_for_call(
        self,
        method: str,
        *,
        predicate: Callable[[ApiCall], bool] | None = None,
        since: int = 0,
        timeout: float = 5.0,
    ) -> ApiCall:
        """The first call to ``method`` at index ≥ ``since`` (matching ``predicate``)."""

        def find() -> ApiCall | None:
            for call in self.calls[since:]:
                if call.method.lower() == method.lower() and (predicate is None or predicate(call)):
                    return call
            return None

        if not await self.core.signal.wait_for(lambda: find() is not None, timeout):
            raise AssertionError(f"no {method} call within {timeout}s; calls: {self.calls[-10:]}")
        found = find()
        assert found is not None
        return found

    def commands(self, scope: dict[str, Any] | None = None, language_code: str = "") -> list[Any]:
        """The command list the bot set for a scope and language (what getMyCommands returns)."""
        key = (json.dumps(scope or {"type": "default"}, sort_keys=True), language_code)
        return copy.deepcopy(self.core.commands.get(key, []))

    def file_content(self, file_id: str) -> bytes:
        stored = self.core.files.get(file_id)
        if stored is None:
            raise KeyError(file_id)
        return stored.content

    # -- fault injection -------------------------------------------------------------------------

    def inject_fault(
        self,
        method: str,
        *,
        error_code: int,
        description: str | None = None,
        retry_after: int | None = None,
        chat_id: int | None = None,
        times: int = 1,
    ) -> Fault:
        """The next ``times`` matching calls fail with this error (``"*"`` matches any method)."""
        return self._faults.add(
            Fault(
                "error",
                method.lower(),
                times,
                chat_id=chat_id,
                error_code=error_code,
                description=description,
                retry_after=retry_after,
            )
        )

    def inject_delay(
        self,
        method: str,
        seconds: float,
        *,
        times: int = 1,
        chat_id: int | None = None,
        after_processing: bool = False,
    ) -> Fault:
        """The next ``times`` matching calls are answered ``seconds`` late. With
        ``after_processing`` the call takes effect at once and only the answer is late, as when
        Telegram has delivered a message but is slow to say so: a client that goes away while
        waiting does not undo it."""
        return self._faults.add(
            Fault(
                "delay",
                method.lower(),
                times,
                chat_id,
                seconds=seconds,
                after_processing=after_processing,
            )
        )

    def inject_disconnect(
        self,
        method: str,
        *,
        times: int = 1,
        chat_id: int | None = None,
        after_processing: bool = False,
    ) -> Fault:
        """Close the connection instead of answering. With ``after_processing`` the call takes
        effect first (the message *is* sent, only the answer is lost)."""
        return self._faults.add(
            Fault("disconnect", method.lower(), times, chat_id, after_processing=after_processing)
        )

    def clear_faults(self) -> None:
        self._faults.clear()

    def enforce_rate_limits(
        self,
        per_chat_per_sec: float = 1.0,
        burst: int = 3,
        overall_per_sec: float = 30.0,
        group_per_min: float = 20.0,
    ) -> None:
        """Answer 429 like Telegram's flood control (off by default)."""
        self._rate_limits = RateLimits(per_chat_per_sec, burst, overall_per_sec, group_per_min)

    def disable_rate_limits(self) -> None:
        self._rate_limits = None

    # -- HTTP handlers ---------------------------------------------------------------------------

    async def _handle_api(self, request: web.Request) -> web.StreamResponse:
        call = ApiCall(canonical_name(request.match_info["method"]), {}, at=time.time())
        try:
            if request.match_info["token"] != self.core.token:
                raise ApiError(401, "Unauthorized")
            call.params = await read_params(request)
            call.chat_id = self._chat_id_of(call.params)
            result = await self._execute(call)
        except ApiError as error:
            self._finish(call, error=error)
            return error_answer(error)
        except DropConnection:
            self._finish(call, description="connection dropped (injected)")
            return drop(request)
        except asyncio.CancelledError:
            self._finish(call, description="client disconnected before the answer")
            raise
        self._finish(call, result=result)
        return answer(result)

    async def _execute(self, call: ApiCall) -> Any:
        """Faults first, then flood control, then the method itself."""
        name, chat_id = call.method, call.chat_id
        if self.latency:
            await asyncio.sleep(self.latency)
        delay = self._faults.take("delay", name, chat_id)
        if delay is not None and not delay.after_processing:
            await asyncio.sleep(delay.seconds)
        disconnect = self._faults.take("disconnect", name, chat_id)
        if disconnect is not None and not disconnect.after_processing:
            raise DropConnection
        fault = self._faults.take("error", name, chat_id)
        if fault is not None:
            raise fault.as_error()
        found = find_method(name)
        if found is None:
            raise ApiError(404, "Not Found")
        if self._rate_limits is not None:
            chat = self.core.chats.get(chat_id) if chat_id is not None else None
            is_group = chat is not None and not chat.is_private
            paid = call.params.get("allow_paid_broadcast") in (True, "true")
            self._rate_limits.check(name, chat_id, is_group, paid)
        result = await found[1](self.core, Params(call.params))
        if delay is not None and delay.after_processing:
            await asyncio.sleep(delay.seconds)
        if disconnect is not None:
            raise DropConnection
        return result

    def _chat_id_of(self, params: dict[str, Any]) -> int | None:
        chat_id = params.get("chat_id")
        if isinstance(chat_id, str) and chat_id.startswith("@"):
            return self.core.usernames.get(chat_id[1:].lower())
        return chat_id if isinstance(chat_id, int) else None

    def _finish(
        self,
        call: ApiCall,
        *,
        result: Any = None,
        error: ApiError | None = None,
        description: str | None = None,
    ) -> None:
        """Record the finished call and wake anyone waiting on calls."""
        call.ok = error is None and description is None
        call.result = result
        if error is not None:
            call.error_code, call.description = error.error_code, error.description
            if error.error_code == 429:
                self.count_429 += 1
        elif description is not None:
            call.description = description
        self.calls.append(call)
        logger.debug("%r", call)
        self.core.signal.notify()

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.core.token:
            return error_answer(ApiError(401, "Unauthorized"))
        stored = self.core.files.by_path(request.match_info["path"])
        if stored is None:
            return error_answer(ApiError(404, "Not Found"))
        return web.Response(
            body=stored.content, content_type=stored.mime_type or "application/octet-stream"
        )
