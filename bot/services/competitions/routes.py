"""The buttons of competitions and deadlines that other features offer (the rest are declared
beside them as the feature moves onto routes)."""

from __future__ import annotations

from bot.services.routes import Route


class CompetitionsOfDraft(Route, prefix="t:d"):
    """The competitions a draft is entered in, from the opened draft."""

    draft_id: int
