"""The export source: builds each requested XLSX workbook in a worker thread and sends it.

Progress reports are sent from the worker through the event loop while the workbook is built,
and awaited before the file goes out, so they always arrive first.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import Future
from datetime import datetime

from bot.services.exports import KIND, LARGE_EXPORT, ExportService
from models.readiness import ExportRequest
from scheduler.core import DeliveryStatus, Sender

log = logging.getLogger(__name__)


class ExportSource:
    kind = KIND

    def __init__(self, service: ExportService) -> None:
        self.service = service

    def wake_times(self, now: datetime) -> list[datetime]:
        return self.service.wake_times(now)

    async def run_due(self, now: datetime, send: Sender) -> None:
        while True:
            request = await asyncio.to_thread(self.service.claim_next, self.service.ctx.now())
            if request is None:
                return
            await self._export(request, send)

    async def _export(self, request: ExportRequest, send: Sender) -> None:
        service = self.service
        assert request.id is not None
        loop = asyncio.get_running_loop()
        reports: list[Future[DeliveryStatus]] = []

        def progress(done: int, total: int) -> None:  # runs in the worker thread
            if total >= LARGE_EXPORT:
                reply = service.progress_reply(done, total)
                reports.append(
                    asyncio.run_coroutine_threadsafe(send(request.admin_id, reply), loop)
                )

        try:
            result = await asyncio.to_thread(service.build, progress)
        except Exception:
            log.exception("export %s failed", request.id)
            await asyncio.to_thread(service.finish, request.id, False, service.ctx.now())
            await send(request.admin_id, service.failed_reply())
            return
        await asyncio.gather(*(asyncio.wrap_future(f) for f in reports))
        status = await send(request.admin_id, service.document_reply(result))
        await asyncio.to_thread(
            service.finish, request.id, status == "delivered", service.ctx.now()
        )
