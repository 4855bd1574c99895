"""python-telegram-bot's requests carried by aiohttp instead of httpx.

Profiling the throughput benchmark showed the bot spending most of its event loop's time inside
httpx/httpcore (connection-pool bookkeeping, a readability check of every pooled socket per
request): a handled update costs one to three Bot API calls, so the HTTP client bounds how many
updates a process can answer. aiohttp (already a dependency of the emulator) does the same work
with a fraction of the CPU. `BaseRequest` is python-telegram-bot's documented extension point
for this; errors map onto the same `TimedOut`/`NetworkError` the rest of the bot handles.
"""

from __future__ import annotations

from typing import Any

import aiohttp
from telegram._utils.defaultvalue import DefaultValue
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData


class AiohttpRequest(BaseRequest):
    def __init__(
        self,
        connection_pool_size: int = 8,
        read_timeout: float | None = 5.0,
        write_timeout: float | None = 5.0,
        connect_timeout: float | None = 5.0,
        media_write_timeout: float | None = 20.0,
    ) -> None:
        self._pool_size = connection_pool_size
        self._timeouts = {
            "read": read_timeout,
            "write": write_timeout,
            "connect": connect_timeout,
            "media_write": media_write_timeout,
        }
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float | None:
        return self._timeouts["read"]

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._pool_size),
                headers={"User-Agent": self.USER_AGENT},
            )

    async def shutdown(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        if self._session is None or self._session.closed:
            raise RuntimeError("AiohttpRequest is not initialized")
        files = request_data.multipart_data if request_data else None
        timeout = self._timeout(read_timeout, write_timeout, connect_timeout, bool(files))
        try:
            async with self._session.request(
                method, url, data=self._body(request_data), timeout=timeout
            ) as response:
                return response.status, await response.read()
        except TimeoutError as exc:
            raise TimedOut from exc
        except aiohttp.ClientError as exc:
            raise NetworkError(f"aiohttp.{type(exc).__name__}: {exc}") from exc

    def _timeout(
        self, read: Any, write: Any, connect: Any, has_files: bool
    ) -> aiohttp.ClientTimeout:
        read = self._timeouts["read"] if isinstance(read, DefaultValue) else read
        connect = self._timeouts["connect"] if isinstance(connect, DefaultValue) else connect
        if isinstance(write, DefaultValue):
            write = self._timeouts["media_write" if has_files else "write"]
        # aiohttp has no separate write timeout: the whole exchange may take write + read.
        total = None if read is None or write is None else read + write
        return aiohttp.ClientTimeout(total=total, sock_connect=connect, sock_read=read)

    def fields(self, request_data: RequestData) -> dict[str, str]:
        """The call's parameters as form fields (a subclass may adjust them)."""
        return request_data.json_parameters

    def _body(self, request_data: RequestData | None) -> aiohttp.FormData | dict[str, str] | None:
        if request_data is None:
            return None
        fields = self.fields(request_data)
        files = request_data.multipart_data
        if not files:
            return fields or None
        form = aiohttp.FormData()
        for name, value in fields.items():
            form.add_field(name, value)
        for name, part in files.items():
            filename, content, mime_type = _file_part(part)
            form.add_field(name, content, filename=filename, content_type=mime_type)
        return form


def _file_part(part: Any) -> tuple[str | None, Any, str | None]:
    # RequestData.multipart_data gives (file name, content, MIME type) for a file and plain
    # bytes/str for other parts sent as form data alongside it (e.g. a thumbnail's name).
    if isinstance(part, tuple):
        filename, content, *rest = part
        return filename, content, rest[0] if rest else None
    return None, part, None
