"""The proposal document as a PDF (fpdf2, with the DejaVu font of templates/documents/fonts).

Characters the font has no glyph for (emoji) are dropped; without the shipped font the PDF
falls back to a core font and Latin-1.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from bot.services.documents.model import (
    DOCUMENTS_DIR,
    LIST_INDENT_CM,
    Approval,
    Block,
    CoverLine,
    Heading,
    ListBlock,
    Paragraph,
    ProposalDocument,
    Table,
    clean,
    load_layout,
    shorten,
)


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
    """The same document as a PDF (A4, cover and approval page, page numbers from page 3)."""
    from fpdf import FPDF

    layout = load_layout()["pdf"]
    regular, bold = _pdf_font(layout["regular"]), _pdf_font(layout["bold"])
    printable = _Printable(regular[1] if regular and bold else None)
    margins = layout["margins_mm"]
    first_numbered = 3  # the cover and the approval page carry no header and no number

    class Pdf(FPDF):
        def header(self) -> None:
            if self.page_no() >= first_numbered:
                self.set_font(family, "", 7.5)
                self.set_text_color(112)
                self.cell(0, 5, printable(shorten(document.header, 110)), align="R")
                self.set_text_color(0)
                self.ln(8)

        def footer(self) -> None:
            if self.page_no() >= first_numbered:
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
    writer = _PdfWriter(pdf, family, float(layout["size"]), printable)
    pdf.add_page()
    writer.cover(document.cover)
    pdf.add_page()
    writer.approval(document.approval)
    pdf.add_page()
    for block in document.blocks:
        writer.block(block)
    return bytes(pdf.output())


PT_TO_MM = 0.3528


class _PdfWriter:
    """Prints the document model on an fpdf2 page, keeping what belongs together together."""

    def __init__(self, pdf: Any, family: str, size: float, printable: _Printable) -> None:
        self.pdf, self.family, self.size, self.printable = pdf, family, size, printable

    def write(
        self, text: str, style: str = "", size: float | None = None, gap: float = 2.5, **kw: Any
    ) -> None:
        from fpdf.enums import XPos, YPos

        size = size or self.size
        self.pdf.set_font(self.family, style, size)
        self.pdf.multi_cell(
            0, size * 0.5, self.printable(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT, **kw
        )
        self.pdf.ln(gap)

    def cover(self, lines: tuple[CoverLine, ...]) -> None:
        sizes = {"kicker": 13, "label": 14, "title": 20, "subtitle": 11, "author": 12, "year": 14}
        pdf = self.pdf
        for line in lines:
            if line.style == "year":  # at the foot of the cover
                pdf.set_y(pdf.h - pdf.b_margin - 20)
            else:
                pdf.ln(line.space * PT_TO_MM)
            style = "B" if line.style in ("kicker", "label", "title", "author", "year") else ""
            size = sizes.get(line.style, self.size - 1)
            self.write(line.text, style, size, 1, align="C")

    def approval(self, approval: Approval) -> None:
        pdf = self.pdf
        self.write(approval.title, "B", self.size + 3, 8, align="C")
        if approval.intro:
            self.write(approval.intro, gap=4)
        label_w = 45.0
        for label, value in approval.rows:
            pdf.set_font(self.family, "", self.size)
            y = pdf.get_y()
            pdf.multi_cell(label_w, self.size * 0.5, self.printable(label))
            pdf.set_xy(pdf.l_margin + label_w, y)
            pdf.cell(5, self.size * 0.5, ":")
            pdf.multi_cell(0, self.size * 0.5, self.printable(value), align="L")
            pdf.set_x(pdf.l_margin)
            pdf.ln(1.5)
        pdf.ln(12)
        half = pdf.epw / 2
        left, right = approval.left, approval.right
        line = self.size * 0.55

        def column(index: int, texts: tuple[str, ...], top: float, style: str = "") -> float:
            pdf.set_xy(pdf.l_margin + index * half, top)
            pdf.set_font(self.family, style, self.size)
            for text in texts:
                pdf.set_x(pdf.l_margin + index * half)
                pdf.multi_cell(half, line, self.printable(text) or " ", align="C")
            return pdf.get_y()

        # Titles, names and NIPs each on one line across both columns (as the DOCX rows).
        top = pdf.get_y()
        below = max(
            column(0, ("", left.above, left.position), top),
            column(1, (approval.place_date, right.above, right.position), top),
        )
        names_top = below + 24  # room to sign
        for index, signature in enumerate((left, right)):
            bottom = column(index, (signature.name,), names_top, "B")
            if not signature.name.startswith("."):
                width = min(pdf.get_string_width(self.printable(signature.name)), half - 4)
                x = pdf.l_margin + index * half + (half - width) / 2
                pdf.line(x, bottom - 0.6, x + width, bottom - 0.6)
            column(index, (signature.nip,), bottom)
        pdf.set_x(pdf.l_margin)

    def block(self, block: Block) -> None:
        if isinstance(block, Heading):
            size = self.size + (3 if block.level == 1 else 1)
            # A heading never ends a page: it needs room for itself and three lines after it.
            if self.pdf.will_page_break(size * 0.5 + 5 + 3 * self.size * 0.5):
                self.pdf.add_page()
            else:
                self.pdf.ln(3 if block.level == 1 else 1)
            self.write(block.text, "B", size, 2, align="L")
        elif isinstance(block, Paragraph):
            self.write(block.text, align="L" if "\n" in block.text else "J")
        elif isinstance(block, ListBlock):
            self.list(block)
        else:
            self.table(block)

    def list(self, block: ListBlock) -> None:
        from fpdf.enums import XPos, YPos

        pdf, indent = self.pdf, LIST_INDENT_CM * 10
        pdf.set_font(self.family, "", self.size)
        for item in block.items:
            if pdf.will_page_break(self.size * 0.5):
                pdf.add_page()
            pdf.set_x(pdf.l_margin)
            pdf.cell(indent, self.size * 0.5, self.printable(item.marker))
            pdf.multi_cell(
                pdf.epw - indent,
                self.size * 0.5,
                self.printable(item.text),
                align="L",
                new_x=XPos.LMARGIN,
                new_y=YPos.NEXT,
            )
            pdf.ln(1.2)
        pdf.ln(1.5)

    def table(self, table: Table) -> None:
        """Caption and table; the caption always on the page of the table's first row."""
        pdf = self.pdf
        with pdf.offset_rendering() as trial:
            self._table(trial, table, table.rows)
        if trial.page_break_triggered:
            with pdf.offset_rendering() as trial:
                self._table(trial, table, table.rows[:1])
            if trial.page_break_triggered:
                pdf.add_page()
        self._table(pdf, table, table.rows)
        pdf.ln(4)

    def _table(self, pdf: Any, table: Table, rows: tuple[tuple[str, ...], ...]) -> None:
        from fpdf.fonts import FontFace

        if table.caption:
            pdf.set_font(self.family, "", self.size - 1)
            pdf.multi_cell(0, (self.size - 1) * 0.5, self.printable(table.caption), align="L")
            pdf.ln(1)
        size = self.size - 0.5
        pdf.set_font(self.family, "", size)
        with pdf.table(
            align="LEFT",  # from the left margin, as the text (centred on the page by default)
            col_widths=table.widths,
            text_align="LEFT",
            line_height=size * 0.5,
            padding=(0.8, 1.5),
            headings_style=FontFace(emphasis="BOLD", fill_color=(235, 235, 235)),
        ) as grid:
            for number, row in enumerate((table.headers, *rows)):
                last = table.total and number == len(table.rows) and rows is table.rows
                cells = grid.row(style=FontFace(emphasis="BOLD") if last else None)
                for text in row:
                    cells.cell(self.printable(text))
