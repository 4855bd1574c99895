"""The proposal as a document: a Word file (DOCX) and a PDF of the same content.

`build_proposal` turns a draft (format + answers + cover facts) into a `ProposalDocument`: cover,
numbered headings, paragraphs and tables, laid out by templates/documents/proposal.yaml. Two
renderers print that one model, `render_docx` (python-docx) and `render_pdf` (fpdf2, with the
DejaVu font shipped in templates/documents/fonts), so both files always say the same thing.
Answers are printed verbatim; only characters no document format can hold (control characters)
are dropped, and in the PDF characters the font has no glyph for (emoji).

`DocumentService` is the feature: "Unduh proposal" on an opened draft (callback prefix "u").
"""

from __future__ import annotations

import io
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any, Literal

import yaml
from jinja2 import Environment
from sqlmodel import Session

from bot.paths import TEMPLATES_DIR
from bot.services.answers import display_value
from bot.services.completeness import assess
from bot.services.context import ServiceContext
from bot.services.feature import Feature
from bot.services.formats import ProposalFormat, Section
from bot.services.readiness import split_steps
from bot.services.replies import Button, DocumentReply, Outcome, Reply, keyboard
from bot.services.textutil import format_date_id
from models import repository as repo
from models.tables import Draft, Opd, User

DOCUMENTS_DIR = TEMPLATES_DIR / "documents"
STEP_CELL_MAX = 500  # a step in the "Langkah kerja" table; the full text is printed above it
FILENAME_MAX = 60

# ---- the document model --------------------------------------------------------------------------


@dataclass(frozen=True)
class Heading:
    text: str
    level: int  # 1 or 2


@dataclass(frozen=True)
class Paragraph:
    text: str


@dataclass(frozen=True)
class Table:
    caption: str
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    widths: tuple[float, ...]  # relative column widths


Block = Heading | Paragraph | Table
CoverStyle = Literal["kicker", "label", "title", "subtitle", "meta", "year", "note"]


@dataclass(frozen=True)
class CoverLine:
    style: CoverStyle
    text: str


@dataclass(frozen=True)
class ProposalDocument:
    title: str
    cover: tuple[CoverLine, ...]
    blocks: tuple[Block, ...]
    header: str
    footer_before_page: str
    footer_between: str
    author: str
    subject: str
    filename_stem: str


@dataclass(frozen=True)
class CoverFacts:
    """What the cover says besides the answers."""

    title: str
    opd: str
    region: str
    owner: str
    day: date


# ---- layout data ---------------------------------------------------------------------------------


@cache
def load_layout(path: Path = DOCUMENTS_DIR / "proposal.yaml") -> dict[str, Any]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


_TEXT_ENV = Environment(autoescape=False, keep_trailing_newline=False)


def _render(template: str, **values: Any) -> str:
    return _TEXT_ENV.from_string(template).render(**values).strip()


# Characters XML 1.0 (DOCX) cannot hold; everything else, emoji included, is kept.
_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def clean(text: str) -> str:
    return _ILLEGAL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))


def paragraphs_of(text: str) -> list[str]:
    """Blank lines separate paragraphs; single line breaks stay inside a paragraph."""
    return [p.strip("\n") for p in re.split(r"\n[ \t]*\n", clean(text).strip()) if p.strip()]


# ---- building the model --------------------------------------------------------------------------


def build_proposal(
    fmt: ProposalFormat, answers: Mapping[str, str], facts: CoverFacts
) -> ProposalDocument:
    """The document of a draft: filled sections in the format's order, empty ones left out."""
    layout = load_layout()
    values = {
        "title": clean(facts.title),
        "format": fmt.title,
        "opd": clean(facts.opd),
        "region": clean(facts.region),
        "year": facts.day.year,
        "date": format_date_id(facts.day),
        "owner": clean(facts.owner),
        "missing": len(assess(fmt, answers).missing_required),
    }
    cover = [
        CoverLine(line["style"], text)
        for line in layout["cover"]
        if (text := _render(line["text"], **values))
    ]
    if values["missing"]:
        cover.append(CoverLine("note", _render(layout["cover_incomplete"], **values)))
    return ProposalDocument(
        title=values["title"],
        cover=tuple(cover),
        blocks=tuple(_Builder(fmt, answers, layout).blocks()),
        header=_render(layout["header"], **values),
        footer_before_page=layout["footer_before_page"],
        footer_between=layout["footer_between"],
        author=values["owner"],
        subject=fmt.title,
        filename_stem=_filename_stem(values["title"]),
    )


class _Builder:
    """Walks the format's sections in order and lays out the filled ones."""

    def __init__(self, fmt: ProposalFormat, answers: Mapping[str, str], layout: dict) -> None:
        self.fmt = fmt
        self.answers = answers
        self.layout = layout
        self.out: list[Block] = []
        self.top = 0  # top-level heading counter: A, B, C ...
        self.sub = 0
        self.tables = 0
        self.group: str | None = None
        self.placed: set[int] = set()

    def blocks(self) -> list[Block]:
        filled = [s for s in self.fmt.sections if self.answers.get(s.key)]
        index = 0
        while index < len(filled):
            section = filled[index]
            if self._is_short(section):
                run = [section]
                while index + 1 < len(filled) and self._is_short(filled[index + 1]):
                    index += 1
                    run.append(filled[index])
                self._identity(run)
            else:
                self._long(section)
            self._derived_after(section.key)
            index += 1
        self._derived_after(None)  # tables whose anchor section is empty go last
        return self.out

    def _is_short(self, section: Section) -> bool:
        if section.kind in ("choice", "month"):
            return True
        return section.group is None and section.max_chars <= self.layout["identity"]["max_chars"]

    def _heading(self, text: str) -> None:
        self.top += 1
        self.sub = 0
        self.out.append(Heading(f"{_letter(self.top)}. {text}", 1))

    def _identity(self, run: list[Section]) -> None:
        self.group = None
        identity = self.layout["identity"]
        self._heading(identity["title"])
        rows = tuple((s.title, self._value(s)) for s in run)
        self._table(identity["title"], tuple(identity["headers"]), rows, (1.0, 2.2), caption=False)

    def _long(self, section: Section) -> None:
        if section.group:
            if section.group != self.group:
                self.group = section.group
                title = self.layout["groups"].get(section.group) or section.title.split(" — ")[0]
                self._heading(title)
            self.sub += 1
            title = section.title.split(" — ", 1)[-1]
            self.out.append(Heading(f"{self.sub}. {title[:1].upper()}{title[1:]}", 2))
        else:
            self.group = None
            self._heading(section.title)
        self.out.extend(Paragraph(p) for p in paragraphs_of(self._value(section)))

    def _value(self, section: Section) -> str:
        return clean(display_value(section, self.answers.get(section.key)) or "")

    def _derived_after(self, key: str | None) -> None:
        for number, spec in enumerate(self.layout.get("derived_tables", [])):
            if number in self.placed:
                continue
            anchor = spec.get("after")
            anchor_filled = bool(anchor and self.answers.get(anchor))
            if key is not None and (anchor != key or not anchor_filled):
                continue
            if not self.fmt.has_section(spec.get("section") or anchor or ""):
                self.placed.add(number)
                continue
            rows = getattr(self, f"_{spec['kind']}_rows")(spec)
            self.placed.add(number)
            if rows:
                widths = {"steps": (0.12, 1.0)}.get(spec["kind"], (1.0, 2.2))
                self._table(spec["title"], tuple(spec["headers"]), rows, widths)

    def _table(
        self,
        title: str,
        headers: tuple[str, ...],
        rows: tuple[tuple[str, ...], ...],
        widths: tuple[float, ...],
        caption: bool = True,
    ) -> None:
        text = ""
        if caption:
            self.tables += 1
            text = _render(self.layout["table_caption"], number=self.tables, title=title)
        self.out.append(Table(text, headers, rows, widths))

    def _timeline_rows(self, spec: dict) -> tuple[tuple[str, ...], ...]:
        rows = []
        for row in spec["rows"]:
            key = row["section"]
            if self.fmt.has_section(key) and self.answers.get(key):
                rows.append((row["label"], self._value(self.fmt.section(key))))
        return tuple(rows)

    def _steps_rows(self, spec: dict) -> tuple[tuple[str, ...], ...]:
        steps = split_steps(clean(self.answers.get(spec["section"], "")))
        return tuple((f"{n}.", _shorten(s, STEP_CELL_MAX)) for n, s in enumerate(steps, start=1))

    def _budget_rows(self, spec: dict) -> tuple[tuple[str, ...], ...]:
        text = clean(self.answers.get(spec["section"], ""))
        amounts = _unique(m.group(0).strip() for m in _AMOUNT.finditer(text))
        sources = [s for s in spec.get("sources", []) if _mentions(text, s)]
        rows = []
        if amounts:
            rows.append((spec["amount_label"], "; ".join(amounts)))
        if sources:
            rows.append((spec["source_label"], ", ".join(sources)))
        return tuple(rows)


_AMOUNT = re.compile(r"Rp\.?\s*\d[\d.,]*(?:\s*(?:juta|miliar|milyar|ribu|jt|rb)\b)?", re.IGNORECASE)


def _mentions(text: str, word: str) -> bool:
    return re.search(rf"(?<!\w){re.escape(word)}(?!\w)", text, re.IGNORECASE) is not None


def _unique(items: Any) -> list[str]:
    seen: list[str] = []
    for item in items:
        if item not in seen:
            seen.append(item)
    return seen


def _shorten(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _letter(number: int) -> str:
    letters = ""
    while number:
        number, rest = divmod(number - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def _filename_stem(title: str) -> str:
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    words = re.findall(r"[A-Za-z0-9]+", ascii_title)
    stem = "_".join(words)[:FILENAME_MAX].strip("_")
    return f"Proposal_{stem}" if stem else "Proposal"


# ---- DOCX ----------------------------------------------------------------------------------------


def render_docx(document: ProposalDocument) -> bytes:
    """The document as a Word file (A4, cover page without header/footer, page numbers)."""
    from docx import Document
    from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK
    from docx.shared import Cm, Pt, RGBColor

    layout = load_layout()["docx"]
    doc = Document()
    normal = doc.styles["Normal"]
    normal.font.name = layout["font"]
    normal.font.size = Pt(layout["size"])
    section = doc.sections[0]
    section.page_width, section.page_height = Cm(21), Cm(29.7)
    margins = layout["margins_cm"]
    section.top_margin, section.bottom_margin = Cm(margins["top"]), Cm(margins["bottom"])
    section.left_margin, section.right_margin = Cm(margins["left"]), Cm(margins["right"])
    section.different_first_page_header_footer = True
    usable = Cm(21 - margins["left"] - margins["right"])

    header = section.header.paragraphs[0]
    header.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    run = header.add_run(_shorten(document.header, 90))
    run.font.size = Pt(8)
    run.font.color.rgb = RGBColor(0x70, 0x70, 0x70)
    footer = section.footer.paragraphs[0]
    footer.alignment = WD_ALIGN_PARAGRAPH.CENTER
    footer.add_run(document.footer_before_page)
    _docx_field(footer, "PAGE")
    footer.add_run(document.footer_between)
    _docx_field(footer, "NUMPAGES")

    sizes = {"kicker": 12, "label": 14, "title": 22, "subtitle": 12, "meta": 11, "year": 14}
    for number, line in enumerate(document.cover):
        paragraph = doc.add_paragraph()
        paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
        before = {"label": 90, "title": 12, "meta": 24 if number and line.style == "meta" else 0}
        paragraph.paragraph_format.space_before = Pt(before.get(line.style, 0))
        run = paragraph.add_run(line.text)
        run.font.size = Pt(sizes.get(line.style, 10))
        run.font.bold = line.style in ("kicker", "label", "title", "year")
        run.font.italic = line.style == "note"
    doc.add_paragraph().add_run().add_break(WD_BREAK.PAGE)

    for block in document.blocks:
        if isinstance(block, Heading):
            doc.add_heading(block.text, level=block.level)
        elif isinstance(block, Paragraph):
            doc.add_paragraph(block.text)
        else:
            _docx_table(doc, block, usable)
    properties = doc.core_properties
    properties.title = document.title[:250]
    properties.author = document.author[:250]
    properties.subject = document.subject
    properties.language = "id-ID"
    buffer = io.BytesIO()
    doc.save(buffer)
    return buffer.getvalue()


def _docx_field(paragraph: Any, instruction: str) -> None:
    """A Word field (PAGE, NUMPAGES) that Word fills in when it lays out the pages."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    field = OxmlElement("w:fldSimple")
    field.set(qn("w:instr"), instruction)
    run = OxmlElement("w:r")
    text = OxmlElement("w:t")
    text.text = "1"
    run.append(text)
    field.append(run)
    paragraph._p.append(field)


def _docx_table(doc: Any, table: Table, usable: int) -> None:
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    from docx.shared import Pt

    if table.caption:
        caption = doc.add_paragraph()
        caption.paragraph_format.space_before = Pt(6)
        caption.add_run(table.caption).font.italic = True
    grid = doc.add_table(rows=1, cols=len(table.headers))
    grid.style = "Table Grid"
    grid.autofit = False
    total = sum(table.widths)
    widths = [int(usable * w / total) for w in table.widths]
    header_row = grid.rows[0]
    # Repeat the header row on every page the table spans.
    repeat = OxmlElement("w:tblHeader")
    repeat.set(qn("w:val"), "true")
    header_row._tr.get_or_add_trPr().append(repeat)
    for cell, text in zip(header_row.cells, table.headers, strict=True):
        cell.text = ""
        cell.paragraphs[0].add_run(text).font.bold = True
    for row in table.rows:
        cells = grid.add_row().cells
        for cell, text in zip(cells, row, strict=True):
            cell.text = text
    for row in grid.rows:
        for cell, width in zip(row.cells, widths, strict=True):
            cell.width = width
    doc.add_paragraph()


# ---- PDF -----------------------------------------------------------------------------------------


@cache
def _pdf_font(path: str) -> tuple[Path, frozenset[int]] | None:
    """The shipped TTF and the characters it can draw; None if the file is missing."""
    font = DOCUMENTS_DIR / path
    if not font.is_file():
        return None
    from fontTools.ttLib import TTFont

    with TTFont(str(font), lazy=True) as ttf:
        return font, frozenset(ttf.getBestCmap())


_LATIN1 = str.maketrans({"—": "-", "–": "-", "‘": "'", "’": "'", "“": '"', "”": '"', "…": "..."})


class _Printable:
    """Keeps the characters the PDF font can draw (emoji and the like are dropped)."""

    def __init__(self, cmap: frozenset[int] | None) -> None:
        self.cmap = cmap

    def __call__(self, text: str) -> str:
        text = clean(text)
        if self.cmap is None:  # core font: Latin-1 only
            text = text.translate(_LATIN1)
            return "".join(ch for ch in text if ch in "\n\t" or 32 <= ord(ch) <= 255)
        return "".join(ch for ch in text if ch in "\n\t" or ord(ch) in self.cmap)


def render_pdf(document: ProposalDocument) -> bytes:
    """The same document as a PDF (A4, cover page, page numbers from page 2)."""
    from fpdf import FPDF
    from fpdf.enums import XPos, YPos
    from fpdf.fonts import FontFace

    layout = load_layout()["pdf"]
    regular, bold = _pdf_font(layout["regular"]), _pdf_font(layout["bold"])
    printable = _Printable(regular[1] if regular and bold else None)
    size = float(layout["size"])
    margins = layout["margins_mm"]

    class Pdf(FPDF):
        def header(self) -> None:
            if self.page_no() > 1:
                self.set_font(family, "", 7.5)
                self.set_text_color(112)
                self.cell(0, 5, printable(_shorten(document.header, 110)), align="R")
                self.set_text_color(0)
                self.ln(8)

        def footer(self) -> None:
            if self.page_no() > 1:
                self.set_y(-15)
                self.set_font(family, "", 8)
                text = document.footer_before_page + str(self.page_no())
                self.cell(0, 8, printable(text + document.footer_between + "{nb}"), align="C")

    pdf = Pdf(format="A4", unit="mm")
    pdf.set_margins(margins["left"], margins["top"], margins["right"])
    pdf.set_auto_page_break(True, margin=margins["bottom"])
    if regular and bold:
        family = "DejaVu"
        pdf.add_font(family, "", str(regular[0]))
        pdf.add_font(family, "B", str(bold[0]))
    else:
        family = "helvetica"
    pdf.set_title(printable(document.title))
    pdf.set_author(printable(document.author))
    pdf.set_subject(printable(document.subject))
    pdf.set_lang("id")
    pdf.add_page()

    sizes = {"kicker": 12, "label": 14, "title": 20, "subtitle": 11, "meta": 10.5, "year": 14}
    for number, line in enumerate(document.cover):
        meta_gap = 10 if number and line.style == "meta" else 2
        pdf.ln({"label": 45, "title": 6}.get(line.style, meta_gap))
        style = "B" if line.style in ("kicker", "label", "title", "year") else ""
        pdf.set_font(family, style, sizes.get(line.style, 9.5))
        pdf.multi_cell(0, 8 if line.style == "title" else 6, printable(line.text), align="C")
    pdf.add_page()

    def write(text: str, style: str = "", font_size: float = size, gap: float = 2.5) -> None:
        pdf.set_font(family, style, font_size)
        pdf.multi_cell(0, font_size * 0.5, printable(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.ln(gap)

    for block in document.blocks:
        if isinstance(block, Heading):
            pdf.ln(3 if block.level == 1 else 1)
            write(block.text, "B", size + (3 if block.level == 1 else 1), 2)
        elif isinstance(block, Paragraph):
            write(block.text)
        else:
            if block.caption:
                write(block.caption, "", size - 1, 1)
            pdf.set_font(family, "", size - 0.5)
            with pdf.table(
                col_widths=block.widths,
                text_align="LEFT",
                line_height=(size - 0.5) * 0.5,
                padding=(0.8, 1.5),
                headings_style=FontFace(emphasis="BOLD", fill_color=(235, 235, 235)),
            ) as grid:
                for row in (block.headers, *block.rows):
                    cells = grid.row()
                    for text in row:
                        cells.cell(printable(text))
            pdf.ln(4)
    return bytes(pdf.output())


# ---- the feature: "Unduh proposal" ---------------------------------------------------------------


class DocumentService:
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    def feature(self) -> Feature:
        return Feature(name="documents", service=self, callbacks={"u": self._callback})

    def _callback(self, session: Session, user_id: int, parts: list[str]) -> Outcome:
        kind, draft_id = parts[0], int(parts[1])
        if kind not in ("w", "p"):
            raise ValueError(kind)
        return self.download(session, user_id, draft_id, "docx" if kind == "w" else "pdf")

    def download(self, session: Session, user_id: int, draft_id: int, kind: str) -> Outcome:
        """The owner's draft as a DOCX or PDF; someone else's draft is "not found"."""
        draft = repo.owned_draft(session, user_id, draft_id)
        if draft is None or draft.id is None:
            return Outcome(notice="draft_not_found", notice_alert=True).add(
                Reply("draft/not_found")
            )
        fmt = self.ctx.formats.get(draft.format_key) or self.ctx.formats.default
        answers = repo.answers_of(session, draft.id)
        back = Button(data=f"d:o:{draft.id}", label="back_to_draft")
        title = draft.title or answers.get("nama") or f"Draf #{draft.id}"
        if not answers:
            return Outcome().add(Reply("ready/document_empty", {"title": title}, keyboard([back])))
        document = build_proposal(fmt, answers, self.facts(session, draft, title))
        content = render_docx(document) if kind == "docx" else render_pdf(document)
        other = Button(
            data=f"u:{'p' if kind == 'docx' else 'w'}:{draft.id}",
            label="download_pdf" if kind == "docx" else "download_docx",
        )
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
        )
