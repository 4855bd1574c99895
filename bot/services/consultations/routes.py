"""The buttons of consultations that other features offer (the rest are declared beside them
as the feature moves onto routes)."""

from __future__ import annotations

from bot.services.routes import Route


class RequestAboutDraft(Route, prefix="k:nd"):
    """Ask a mentor about this draft, from the opened draft."""

    draft_id: int
