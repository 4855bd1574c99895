"""The features this deployment runs, in the order the Dialog plugs them in."""

from __future__ import annotations

from bot.services.broadcast import BroadcastService
from bot.services.competitions import CompetitionService
from bot.services.consultations import ConsultationService, MentorService
from bot.services.context import ServiceContext
from bot.services.dialog import Dialog
from bot.services.documents import DocumentService
from bot.services.drafting import DraftingService
from bot.services.exports import ExportService
from bot.services.opd_admin import OpdAdminService
from bot.services.personal_data import PersonalDataService
from bot.services.readiness.service import ReadinessService
from bot.services.registration import RegistrationService
from bot.services.statistics import StatisticsService


def build_dialog(ctx: ServiceContext) -> Dialog:
    consulting = ConsultationService(ctx)
    consultations = [consulting.feature(), MentorService(ctx, consulting).feature()]
    documents = DocumentService(ctx).feature()
    readiness = ReadinessService(ctx).feature()
    competitions = CompetitionService(ctx).feature()
    # Offered on an opened draft, in this order, below drafting's own buttons.
    draft_actions = [f.draft_actions for f in (documents, readiness, competitions, *consultations)]
    drafting = DraftingService(
        ctx,
        # A question typed instead of an answer can go to a mentor, pre-filled in a request.
        ask_mentor=consulting.ask_about_draft,
        draft_actions=[actions for actions in draft_actions if actions is not None],
    )
    features = [
        RegistrationService(ctx).feature(),
        drafting.feature(),
        OpdAdminService(ctx).feature(),
        competitions,
        documents,
        readiness,
        StatisticsService(ctx).feature(),
        ExportService(ctx).feature(),
        BroadcastService(ctx).feature(),
        *consultations,
        PersonalDataService(ctx, leaving=[consulting.mentor_leaving]).feature(),
    ]
    return Dialog(ctx, features)
