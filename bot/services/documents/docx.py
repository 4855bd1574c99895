"""The proposal document as a Word file (python-docx): A4, cover, approval page, body."""

from __future__ import annotations

import io
from typing import Any

from bot.services.documents.model import (
    LIST_INDENT_CM,
    Approval,
    Heading,
    ListBlock,
    Paragraph,
    ProposalDocument,
    Table,
    load_layout,
    shorten,
)


def render_docx(document: ProposalDocument) -> bytes:
    """The document as a Word file: A4, cover and approval page without header/footer, page
    numbers, the font and language (id-ID, so Word checks Indonesian) of proposal.yaml."""
    from docx import Document
    from docx.enum.section import WD_SECTION
    from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK
    from docx.shared import Cm, Pt, RGBColor

    layout = load_layout()["docx"]
    doc = Document()
    _docx_styles(doc, layout)
    section = doc.sections[0]
    section.page_width, section.page_height = Cm(21), Cm(29.7)
    margins = layout["margins_cm"]
    section.top_margin, section.bottom_margin = Cm(margins["top"]), Cm(margins["bottom"])
    section.left_margin, section.right_margin = Cm(margins["left"]), Cm(margins["right"])
    usable = Cm(21 - margins["left"] - margins["right"])

    sizes = {"kicker": 14, "label": 14, "title": 20, "subtitle": 12, "author": 12, "year": 14}
    for line in document.cover:
        paragraph = doc.add_paragraph()
        paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
        paragraph.paragraph_format.space_before = Pt(line.space)
        paragraph.paragraph_format.space_after = Pt(2)
        run = paragraph.add_run(line.text)
        run.font.size = Pt(sizes.get(line.style, layout["size"] - 1))
        run.font.bold = line.style in ("kicker", "label", "title", "author", "year")
        run.font.italic = line.style == "note"
    doc.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
    _docx_approval(doc, document.approval, usable)
    # The body is a section of its own: the cover and the approval page have no header and
    # no page number (the body's numbers count them, as the PDF's do).
    body = doc.add_section(WD_SECTION.NEW_PAGE)
    body.header.is_linked_to_previous = False
    body.footer.is_linked_to_previous = False
    header = body.header.paragraphs[0]
    header.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    run = header.add_run(shorten(document.header, 90))
    run.font.size = Pt(8)
    run.font.color.rgb = RGBColor(0x70, 0x70, 0x70)
    footer = body.footer.paragraphs[0]
    footer.alignment = WD_ALIGN_PARAGRAPH.CENTER
    footer.add_run(document.footer_before_page)
    _docx_field(footer, "PAGE")
    footer.add_run(document.footer_between)
    _docx_field(footer, "NUMPAGES")

    justify = WD_ALIGN_PARAGRAPH.JUSTIFY if layout.get("justify") else WD_ALIGN_PARAGRAPH.LEFT
    for block in document.blocks:
        if isinstance(block, Heading):
            doc.add_heading(block.text, level=block.level)
        elif isinstance(block, Paragraph):
            paragraph = doc.add_paragraph(block.text)
            paragraph.alignment = justify if "\n" not in block.text else WD_ALIGN_PARAGRAPH.LEFT
        elif isinstance(block, ListBlock):
            _docx_list(doc, block)
        else:
            _docx_table(doc, block, usable)
    properties = doc.core_properties
    properties.title = document.title[:250]
    properties.author = document.author[:250]
    properties.subject = document.subject
    properties.language = layout["language"]
    buffer = io.BytesIO()
    doc.save(buffer)
    return buffer.getvalue()


def _docx_styles(doc: Any, layout: dict[str, Any]) -> None:
    """One font for the whole document (headings too, in black), and the document language:
    python-docx's template says en-US, which makes Word mark every Indonesian word."""
    from docx.oxml.ns import qn
    from docx.shared import Pt, RGBColor

    font, size, language = layout["font"], layout["size"], layout["language"]
    styles = doc.styles
    # The document defaults (docDefaults/rPrDefault/rPr) and every style's run properties.
    normal = styles["Normal"]
    normal.font.size = Pt(size)
    normal.paragraph_format.line_spacing = layout["line_spacing"]
    normal.paragraph_format.space_after = Pt(6)
    for name, extra in (("Heading 1", 1), ("Heading 2", 0), ("Title", 4)):
        style = styles[name]
        style.font.size = Pt(size + extra)
        style.font.bold = True
        style.font.italic = False
        style.font.color.rgb = RGBColor(0, 0, 0)
        style.paragraph_format.space_before = Pt(12 if extra else 8)
        style.paragraph_format.space_after = Pt(6)
    for run_properties in styles.element.iter(qn("w:rPr")):
        _docx_run_font(run_properties, font, language)
    theme_language = doc.settings.element.find(qn("w:themeFontLang"))
    if theme_language is not None:
        theme_language.set(qn("w:val"), language)


def _docx_run_font(run_properties: Any, font: str, language: str) -> None:
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    fonts = run_properties.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        run_properties.insert(0, fonts)
    for attribute in list(fonts.attrib):
        if attribute.lower().endswith("theme"):  # a theme font (Calibri) would win over ours
            del fonts.attrib[attribute]
    for script in ("ascii", "hAnsi", "cs", "eastAsia"):
        fonts.set(qn(f"w:{script}"), font)
    lang = run_properties.find(qn("w:lang"))
    if lang is None:
        lang = OxmlElement("w:lang")
        run_properties.append(lang)
    for script in ("val", "eastAsia", "bidi"):
        lang.set(qn(f"w:{script}"), language)


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


def _docx_list(doc: Any, block: ListBlock) -> None:
    """One paragraph per item, the user's marker hanging in front (its number kept as typed)."""
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Cm, Pt

    for item in block.items:
        paragraph = doc.add_paragraph(f"{item.marker}\t{item.text}" if item.marker else item.text)
        paragraph.alignment = WD_ALIGN_PARAGRAPH.LEFT
        form = paragraph.paragraph_format
        form.left_indent = Cm(LIST_INDENT_CM)
        form.first_line_indent = Cm(-LIST_INDENT_CM) if item.marker else None
        form.tab_stops.add_tab_stop(Cm(LIST_INDENT_CM))
        form.space_after = Pt(3)


def _docx_grid(doc: Any, columns: int, widths: list[int], borders: bool) -> Any:
    """A table with fixed column widths that Word and LibreOffice both respect (the grid's
    columns as well as every cell: python-docx's default grid has equal columns)."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    grid = doc.add_table(rows=0, cols=columns)
    if borders:
        grid.style = "Table Grid"
    grid.autofit = False
    properties = grid._tbl.tblPr
    fixed = OxmlElement("w:tblLayout")
    fixed.set(qn("w:type"), "fixed")
    properties.append(fixed)
    for column, width in zip(grid._tbl.tblGrid.findall(qn("w:gridCol")), widths, strict=True):
        column.set(qn("w:w"), str(int(width / 635)))  # EMU -> twentieths of a point
    return grid


def _docx_row(grid: Any, texts: tuple[str, ...], widths: list[int], bold: bool = False) -> Any:
    row = grid.add_row()
    for cell, text, width in zip(row.cells, texts, widths, strict=True):
        cell.width = width
        cell.text = ""
        paragraph = cell.paragraphs[0]
        paragraph.paragraph_format.space_after = 0
        paragraph.paragraph_format.line_spacing = 1.0
        paragraph.add_run(text).font.bold = bold
    return row


def _docx_table(doc: Any, table: Table, usable: int) -> None:
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    from docx.shared import Pt

    if table.caption:
        caption = doc.add_paragraph()
        caption.paragraph_format.space_before = Pt(6)
        caption.paragraph_format.keep_with_next = True  # never a caption alone at a page foot
        caption.add_run(table.caption).font.italic = True
    total = sum(table.widths)
    widths = [int(usable * w / total) for w in table.widths]
    grid = _docx_grid(doc, len(table.headers), widths, borders=True)
    header_row = _docx_row(grid, table.headers, widths, bold=True)
    # Repeat the header row on every page the table spans, and keep it with the first row.
    repeat = OxmlElement("w:tblHeader")
    repeat.set(qn("w:val"), "true")
    header_row._tr.get_or_add_trPr().append(repeat)
    for cell in header_row.cells:
        cell.paragraphs[0].paragraph_format.keep_with_next = True
    for number, row in enumerate(table.rows, start=1):
        last = number == len(table.rows)
        _docx_row(grid, row, widths, bold=table.total and last)
    doc.add_paragraph()


def _docx_approval(doc: Any, approval: Approval, usable: int) -> None:
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Cm, Pt

    title = doc.add_paragraph()
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    title.paragraph_format.space_after = Pt(18)
    run = title.add_run(approval.title)
    run.font.bold = True
    run.font.size = Pt(14)
    if approval.intro:
        doc.add_paragraph(approval.intro)
    label_width = int(Cm(4.5))
    widths = [label_width, int(Cm(0.5)), usable - label_width - int(Cm(0.5))]
    facts = _docx_grid(doc, 3, widths, borders=False)
    for label, value in approval.rows:
        _docx_row(facts, (label, ":", value), widths)
    doc.add_paragraph().paragraph_format.space_after = Pt(18)
    half = [usable // 2, usable - usable // 2]
    signatures = _docx_grid(doc, 2, half, borders=False)
    left, right = approval.left, approval.right
    # One row each for the titles, the names and the NIPs, so that both names stand on one
    # line whatever the length of the positions above them.
    titles = _docx_row(signatures, ("", approval.place_date), half)
    for cell, signature in zip(titles.cells, (left, right), strict=True):
        for text in (signature.above, signature.position):
            cell.add_paragraph(text).paragraph_format.space_after = 0
    names = _docx_row(signatures, (left.name, right.name), half, bold=True)
    for cell, signature in zip(names.cells, (left, right), strict=True):
        paragraph = cell.paragraphs[0]
        paragraph.paragraph_format.space_before = Pt(64)  # room to sign
        paragraph.runs[-1].font.underline = not signature.name.startswith(".")
    _docx_row(signatures, (left.nip, right.nip), half)
    for row in signatures.rows:
        for cell in row.cells:
            for paragraph in cell.paragraphs:
                paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
