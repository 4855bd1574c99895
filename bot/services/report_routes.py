"""The buttons of the admin's reports: /statistik offers a refresh and the export of /ekspor.

One routes module for both features, because the statistics page offers the export's button
and the export reads the statistics' facts: each imports its routes from here, not from the
other (no cycle). Imports nothing but bot.services.routes.
"""

from __future__ import annotations

from bot.services.routes import Route


class RefreshStatistics(Route, prefix="s:r"):
    pass


class RequestExport(Route, prefix="e:x"):
    pass
