"""Limits that keep one account from filling the database or the mentors' queues.

Far above what one civil servant needs, they stop a script or a stuck client: at most
`max_drafts_per_user` drafts of one's own, `max_open_consultations` consultation requests not
yet finished (each is offered to up to five mentors), and `max_revisions_per_section` earlier
texts kept per section (the oldest beyond it are dropped: revisions are a safety net nobody
sees, and refusing to save a new answer would lose work). The numbers are settings.
"""

from __future__ import annotations

# The answer when a limit is reached belongs to the feature whose limit it is
# (drafting/starting.py, consultations/requests.py); the counts are queries in models/.
DEFAULT_MAX_DRAFTS = 20
DEFAULT_MAX_OPEN_CONSULTATIONS = 3
DEFAULT_MAX_REVISIONS = 20
