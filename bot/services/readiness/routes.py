"""The buttons of the readiness check and the IID evidence checklist of a draft."""

from __future__ import annotations

from bot.services.routes import Route


class ReadinessReport(Route, prefix="q:v"):
    draft_id: int


class IndicatorChecklist(Route, prefix="q:c"):
    draft_id: int


class OpenIndicator(Route, prefix="q:i"):
    draft_id: int
    number: int


class SetIndicatorLevel(Route, prefix="q:s"):
    """The evidence level the ASN says the draft reaches on one indicator (0: none)."""

    draft_id: int
    number: int
    level: int
