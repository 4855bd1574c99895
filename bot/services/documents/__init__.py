"""The proposal as a document: a Word file (DOCX) and a PDF of the same content.

`build_proposal` (proposal.py) turns a draft (format + answers + cover facts) into a
`ProposalDocument` (model.py): cover, numbered headings, paragraphs and tables, laid out by
templates/documents/proposal.yaml. Two renderers print that one model, `render_docx` (docx.py,
python-docx) and `render_pdf` (pdf.py, fpdf2), so both files always say the same thing.
Answers are printed verbatim; only characters no document format can hold (control characters)
are dropped, and in the PDF characters the font has no glyph for (emoji).

`DocumentService` (download.py) is the feature: "Unduh proposal" on an opened draft; its
buttons are declared in routes.py.
"""

from bot.services.documents.docx import render_docx
from bot.services.documents.download import DocumentService
from bot.services.documents.model import (
    DOCUMENTS_DIR,
    FILENAME_MAX,
    STEP_CELL_MAX,
    Approval,
    Block,
    CoverFacts,
    CoverLine,
    Heading,
    ListBlock,
    ListItem,
    Paragraph,
    ProposalDocument,
    Signature,
    Table,
    clean,
    load_layout,
    paragraphs_of,
)
from bot.services.documents.pdf import render_pdf
from bot.services.documents.proposal import build_proposal, government_of, region_without_kind

__all__ = [
    "DOCUMENTS_DIR",
    "FILENAME_MAX",
    "STEP_CELL_MAX",
    "Approval",
    "Block",
    "CoverFacts",
    "CoverLine",
    "DocumentService",
    "Heading",
    "ListBlock",
    "ListItem",
    "Paragraph",
    "ProposalDocument",
    "Signature",
    "Table",
    "build_proposal",
    "clean",
    "government_of",
    "load_layout",
    "paragraphs_of",
    "region_without_kind",
    "render_docx",
    "render_pdf",
]
