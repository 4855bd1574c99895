"""The features this deployment runs, in the order the Dialog plugs them in."""

from __future__ import annotations

from bot.services.competitions import CompetitionService
from bot.services.context import ServiceContext
from bot.services.dialog import Dialog
from bot.services.drafting import DraftingService
from bot.services.opd_admin import OpdAdminService
from bot.services.registration import RegistrationService


def build_dialog(ctx: ServiceContext) -> Dialog:
    features = [
        RegistrationService(ctx).feature(),
        DraftingService(ctx).feature(),
        OpdAdminService(ctx).feature(),
        CompetitionService(ctx).feature(),
    ]
    return Dialog(ctx, features)
