"""The feature: "Unduh proposal" on an opened draft, as a DOCX or a PDF."""

from __future__ import annotations

from sqlmodel import Session

from bot.services.completeness import assess
from bot.services.context import ServiceContext
from bot.services.documents.docx import render_docx
from bot.services.documents.model import CoverFacts
from bot.services.documents.pdf import render_pdf
from bot.services.documents.proposal import build_proposal, untitled_draft
from bot.services.documents.routes import DownloadDocx, DownloadPdf
from bot.services.drafting.routes import OpenDraft
from bot.services.feature import Feature
from bot.services.replies import Button, DocumentReply, Outcome, Reply, keyboard
from models import repository as repo
from models.tables import Draft, Opd, User


class DocumentService:
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    def feature(self) -> Feature:
        return Feature(
            name="documents",
            service=self,
            routes={
                DownloadDocx: lambda s, u, r: self.download(s, u, r.draft_id, "docx"),
                DownloadPdf: lambda s, u, r: self.download(s, u, r.draft_id, "pdf"),
            },
            draft_actions=lambda draft_id: [
                Button(DownloadDocx(draft_id), label="download_proposal")
            ],
        )

    def download(self, session: Session, user_id: int, draft_id: int, kind: str) -> Outcome:
        """The owner's draft as a DOCX or PDF; someone else's draft is "not found"."""
        draft = repo.owned_draft(session, user_id, draft_id)
        if draft is None or draft.id is None:
            return Outcome(notice="draft_not_found", notice_alert=True).add(
                Reply("draft/not_found")
            )
        fmt = self.ctx.formats.get(draft.format_key) or self.ctx.formats.default
        answers = repo.answers_of(session, draft.id)
        back = Button(OpenDraft(draft.id), label="back_to_draft")
        title = draft.title or fmt.answer_for("title", answers) or untitled_draft(draft.id)
        if not answers:
            return Outcome().add(Reply("ready/document_empty", {"title": title}, keyboard([back])))
        document = build_proposal(fmt, answers, self.facts(session, draft, title))
        content = render_docx(document) if kind == "docx" else render_pdf(document)
        if kind == "docx":
            other = Button(DownloadPdf(draft.id), label="download_pdf")
        else:
            other = Button(DownloadDocx(draft.id), label="download_docx")
        missing = len(assess(fmt, answers).missing_required)
        caption = {"title": title, "kind": kind, "missing": missing}
        return Outcome(notice="document_sent").add(
            DocumentReply(
                filename=f"{document.filename_stem}.{kind}",
                content=content,
                caption_template="ready/document_caption",
                caption_context=caption,
                buttons=keyboard([other, back]),
            )
        )

    def facts(self, session: Session, draft: Draft, title: str) -> CoverFacts:
        owner = session.get(User, draft.owner_id)
        opd = session.get(Opd, owner.opd_id) if owner and owner.opd_id else None
        return CoverFacts(
            title=title,
            opd=opd.name if opd else "",
            region=self.ctx.region_name,
            owner=(owner.full_name or "") if owner else "",
            day=self.ctx.today(),
            owner_nip=(owner.nip or "") if owner else "",
            place=self.ctx.region_capital,
            head_name=(opd.head_name or "") if opd else "",
            head_nip=(opd.head_nip or "") if opd else "",
            head_position=(opd.head_position or "") if opd else "",
        )
