"""The features this deployment runs, in the order the Dialog plugs them in."""

from __future__ import annotations

from bot.services.broadcast import BroadcastService
from bot.services.competitions import CompetitionService
from bot.services.consultations import consultation_features
from bot.services.context import ServiceContext
from bot.services.dialog import Dialog
from bot.services.documents import DocumentService
from bot.services.drafting import DraftingService
from bot.services.exports import ExportService
from bot.services.opd_admin import OpdAdminService
from bot.services.personal_data import PersonalDataService
from bot.services.readiness import ReadinessService
from bot.services.registration import RegistrationService
from bot.services.statistics import StatisticsService


def build_dialog(ctx: ServiceContext) -> Dialog:
    consultations = consultation_features(ctx)
    # A question typed instead of an answer can go to a mentor, pre-filled in a request.
    drafting = DraftingService(ctx, ask_mentor=consultations[0].service.ask_about_draft)
    features = [
        RegistrationService(ctx).feature(),
        drafting.feature(),
        OpdAdminService(ctx).feature(),
        CompetitionService(ctx).feature(),
        DocumentService(ctx).feature(),
        ReadinessService(ctx).feature(),
        StatisticsService(ctx).feature(),
        ExportService(ctx).feature(),
        BroadcastService(ctx).feature(),
        *consultations,
        PersonalDataService(ctx, leaving=[consultations[0].service.mentor_leaving]).feature(),
    ]
    return Dialog(ctx, features)
