"""Who may use what: the roles a feature declares for its commands and routes.

The Dialog checks the declared role on every call, before the feature's handler runs, so a
handler never repeats `is_admin`: a forged button or a command typed by the wrong person is
refused in one place. A feature that defines who holds a role (mentors: the active mentors)
declares that check on its `Feature` (`role_checks`).
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    ANYONE = "anyone"  # before registration too: /start, the registration buttons, /bantuan
    ASN = "asn"  # every registered user
    MENTOR = "mentor"
    ADMIN = "admin"


# The command menus shown per role, in the order they are added to a user's menu.
MENU_ROLES = (Role.ASN, Role.MENTOR, Role.ADMIN)
