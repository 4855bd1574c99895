"""The buttons of the proposal documents: download an opened draft as DOCX or PDF."""

from __future__ import annotations

from bot.services.routes import Route


class DownloadDocx(Route, prefix="u:w"):
    draft_id: int


class DownloadPdf(Route, prefix="u:p"):
    draft_id: int
