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
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any, Literal

import yaml
from babel.dates import format_date
from babel.numbers import format_decimal
from jinja2 import Environment
from sqlmodel import Session

from bot.paths import TEMPLATES_DIR
from bot.services.answers import display_value
from bot.services.completeness import assess
from bot.services.context import ServiceContext
from bot.services.documents.routes import DownloadDocx
from bot.services.feature import Feature
from bot.services.formats import ProposalFormat, Section
from bot.services.nip import format_nip
from bot.services.readiness import split_steps
from bot.services.replies import Button, DocumentReply, Outcome, Reply, keyboard
from models import repository as repo
from models.tables import Draft, Opd, User

DOCUMENTS_DIR = TEMPLATES_DIR / "documents"
STEP_CELL_MAX = 1500  # longer steps are printed as a numbered list instead of a table
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
class ListItem:
    marker: str  # as the user typed it ("1.", "a.", "-"), or "" for a plain line
    text: str


@dataclass(frozen=True)
class ListBlock:
    """Lines the user wrote one under the other (a legal basis, a numbered list): one item
    each, with a hanging indent, never run together into one justified paragraph."""

    items: tuple[ListItem, ...]


@dataclass(frozen=True)
class Table:
    caption: str
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    widths: tuple[float, ...]  # relative column widths
    total: bool = False  # the last row is a total (printed bold)


Block = Heading | Paragraph | ListBlock | Table
CoverStyle = Literal["kicker", "label", "title", "subtitle", "meta", "author", "year", "note"]


@dataclass(frozen=True)
class CoverLine:
    style: CoverStyle
    text: str
    space: float = 0  # points of space before the line


@dataclass(frozen=True)
class Signature:
    above: str  # "Mengetahui," / "Pengusul,"
    position: str
    name: str
    nip: str  # "NIP. 19800101 200501 1 001", a dotted line to fill by hand, or ""


@dataclass(frozen=True)
class Approval:
    """The lembar pengesahan: what is approved, place and date, two signatures."""

    title: str
    intro: str
    rows: tuple[tuple[str, str], ...]
    place_date: str
    left: Signature
    right: Signature


@dataclass(frozen=True)
class ProposalDocument:
    title: str
    cover: tuple[CoverLine, ...]
    approval: Approval
    blocks: tuple[Block, ...]
    header: str
    footer_before_page: str
    footer_between: str
    author: str
    subject: str
    filename_stem: str


@dataclass(frozen=True)
class CoverFacts:
    """What the cover and the approval page say besides the answers."""

    title: str
    opd: str
    region: str
    owner: str
    day: date
    owner_nip: str = ""
    place: str = ""  # before the date on the approval page; "" = from the region's name
    head_name: str = ""  # the head (kepala) of the OPD; "" = a dotted line to fill by hand
    head_nip: str = ""
    head_position: str = ""  # "" = "Kepala <OPD>"


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
    region = clean(facts.region)
    values = {
        "title": clean(facts.title),
        "format": fmt.title,
        "opd": clean(facts.opd),
        "region": region,
        "government": government_of(region),
        "place": clean(facts.place) or region_without_kind(region),
        "year": facts.day.year,
        "date": format_date(facts.day, format="d MMMM y", locale="id"),
        "owner": clean(facts.owner),
        "owner_nip": format_nip(facts.owner_nip) if facts.owner_nip else "",
        "head_name": clean(facts.head_name),
        "head_nip": format_nip(facts.head_nip) if facts.head_nip else "",
        "head_position": clean(facts.head_position),
        "missing": len(assess(fmt, answers).missing_required),
    }
    cover = [
        CoverLine(line["style"], text, float(line.get("space", 0)))
        for line in layout["cover"]
        if (text := _render(line["text"], **values))
    ]
    if values["missing"]:
        cover.append(CoverLine("note", _render(layout["cover_incomplete"], **values), 12))
    return ProposalDocument(
        title=values["title"],
        cover=tuple(cover),
        approval=_approval(layout["approval"], values),
        blocks=tuple(_Builder(fmt, answers, layout).blocks()),
        header=_render(layout["header"], **values),
        footer_before_page=layout["footer_before_page"],
        footer_between=layout["footer_between"],
        author=values["owner"],
        subject=fmt.title,
        filename_stem=_filename_stem(values["title"]),
    )


def _approval(spec: dict[str, Any], values: dict[str, Any]) -> Approval:
    rows = tuple(
        (row["label"], text) for row in spec["rows"] if (text := _render(row["text"], **values))
    )

    def signature(side: dict[str, Any]) -> Signature:
        name = _render(side["name"], **values)
        nip = _render(side["nip"], **values)
        if not nip and side.get("blank_nip"):
            nip = spec["blank_nip"]
        return Signature(
            above=_render(side["above"], **values),
            position=_render(side["position"], **values),
            name=name or spec["blank_name"],
            nip=f"{spec['nip_prefix']}{nip}" if nip and nip != spec["blank_nip"] else nip,
        )

    return Approval(
        title=_render(spec["title"], **values),
        intro=_render(spec["intro"], **values),
        rows=rows,
        place_date=_render(spec["place_date"], **values),
        left=signature(spec["left"]),
        right=signature(spec["right"]),
    )


_KINDS = (("kabupaten", "Kabupaten"), ("kab.", "Kabupaten"), ("kota", "Kota"))
_KINDS += (("provinsi", "Provinsi"), ("prov.", "Provinsi"))


def _split_region(region: str) -> tuple[str, str]:
    """("Kabupaten", "Sidenreng Rappang") from "Kabupaten Sidenreng Rappang" (also "Kab.",
    "Kota", "Provinsi", "Prov." and a leading "Pemerintah"); ("", name) when no kind is named."""
    words = region.split()
    if words and words[0].casefold() == "pemerintah":
        words = words[1:]
    if words:
        for prefix, kind in _KINDS:
            if words[0].casefold() == prefix:
                return kind, " ".join(words[1:])
    return "", " ".join(words)


def government_of(region: str) -> str:
    """The heading of the regional government: "PEMERINTAH KABUPATEN SIDENRENG RAPPANG"."""
    kind, name = _split_region(region)
    if not name:
        return ""
    return f"PEMERINTAH {kind.upper() or 'DAERAH'} {name.upper()}".replace("  ", " ")


def region_without_kind(region: str) -> str:
    return _split_region(region)[1]


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
        self.steps_as_list: set[str] = set()
        self.steps: dict[str, list[str]] = {}  # a section's steps, for its table
        self.epilogue: dict[str, list[Block]] = {}  # printed after the section's tables

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
            self.out.extend(self.epilogue.get(section.key, []))
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
        value = self._value(section)
        steps = split_steps(value) if section.key in self._steps_sections() else []
        as_list = section.key in self.layout.get("list_sections", [])
        if steps:
            # The steps are printed once, in their table (or as a list when a step is too long
            # for a table row); what the user wrote before the first step stays a paragraph
            # above it, paragraphs after the last step's own follow the table.
            last, _, rest = steps[-1].partition("\n\n")
            steps[-1] = last.strip()
            self.steps[section.key] = steps
            self.epilogue[section.key] = [_block_of(p, as_list) for p in paragraphs_of(rest)]
            value = _before_first_step(value, steps[0])
            if max(len(step) for step in steps) > STEP_CELL_MAX:
                self.steps_as_list.add(section.key)
        self.out.extend(_block_of(p, as_list) for p in paragraphs_of(value))
        if section.key in self.steps_as_list:
            items = (ListItem(f"{n}.", step) for n, step in enumerate(steps, start=1))
            self.out.append(ListBlock(tuple(items)))

    def _steps_sections(self) -> set[str]:
        specs = self.layout.get("derived_tables", [])
        return {spec["section"] for spec in specs if spec["kind"] == "steps"}

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
                widths = tuple(spec.get("widths") or (1.0, 2.2))
                total = spec["kind"] == "budget"
                self._table(spec["title"], tuple(spec["headers"]), rows, widths, total=total)

    def _table(
        self,
        title: str,
        headers: tuple[str, ...],
        rows: tuple[tuple[str, ...], ...],
        widths: tuple[float, ...],
        caption: bool = True,
        total: bool = False,
    ) -> None:
        text = ""
        if caption:
            self.tables += 1
            text = _render(self.layout["table_caption"], number=self.tables, title=title)
        self.out.append(Table(text, headers, rows, widths, total))

    def _timeline_rows(self, spec: dict) -> tuple[tuple[str, ...], ...]:
        rows = []
        for row in spec["rows"]:
            key = row["section"]
            if self.fmt.has_section(key) and self.answers.get(key):
                rows.append((row["label"], self._value(self.fmt.section(key))))
        return tuple(rows)

    def _steps_rows(self, spec: dict) -> tuple[tuple[str, ...], ...]:
        if spec["section"] in self.steps_as_list:
            return ()
        steps = self.steps.get(spec["section"], [])
        return tuple((f"{n}.", " ".join(s.split())) for n, s in enumerate(steps, start=1))

    def _budget_rows(self, spec: dict) -> tuple[tuple[str, ...], ...]:
        """Year, amount and source of each amount the user wrote, and their total. "Rp 15 juta
        per tahun … 2025 dan 2026" is one row per year; without an amount, no table."""
        text = clean(self.answers.get(spec["section"], ""))
        everywhere = [s for s in spec.get("sources", []) if _mentions(text, s)]
        rows: list[tuple[str, ...]] = []
        total = Decimal(0)
        known = True
        for clause in re.split(r"[;\n]+", text):
            amounts = [(m.group(0), _amount_value(m.group(0))) for m in _AMOUNT.finditer(clause)]
            if not amounts:
                continue
            years = _unique(_YEAR.findall(_AMOUNT.sub(" ", clause)))
            sources = [s for s in spec.get("sources", []) if _mentions(clause, s)] or everywhere
            source = ", ".join(sources) or "—"
            if len(amounts) == 1 and len(years) > 1 and _PER_YEAR.search(clause):
                pairs = [(year, amounts[0]) for year in years]
            elif len(amounts) == len(years):
                pairs = list(zip(years, amounts, strict=True))
            else:
                pairs = [(", ".join(years) or "—", amount) for amount in amounts]
            for year, (raw, value) in pairs:
                rows.append((year, _rupiah(value) if value is not None else raw.strip(), source))
                known = known and value is not None
                total += value or 0
        if rows and known:
            rows.append((spec["total_label"], _rupiah(total), ""))
        return tuple(rows)


def _before_first_step(text: str, first_step: str) -> str:
    """What the user wrote before the first numbered step or bullet (an introduction)."""
    start = text.find(first_step)
    before = text[:start] if start > 0 else ""
    return _STEP_MARKER_AT_END.sub("", before).strip()


_STEP_MARKER_AT_END = re.compile(r"(?:\d{1,3}[.)]|[-•*–])\s*$")
_LIST_MARKER = re.compile(r"^((?:\d{1,3}|[a-zA-Z])[.)]|[-•*–])\s+(\S.*)$")


def _block_of(paragraph: str, as_list: bool) -> Paragraph | ListBlock:
    """A paragraph, or a list when its lines are list items (two or more start with "1.",
    "a.", "-" …) or the section is a list (the legal basis): one item a line, as typed."""
    lines = [line.strip() for line in paragraph.split("\n") if line.strip()]
    matches = [_LIST_MARKER.match(line) for line in lines]
    if len(lines) < 2 or not (as_list or sum(1 for m in matches if m) >= 2):
        return Paragraph(paragraph)
    items = (
        ListItem(m.group(1), m.group(2)) if m else ListItem("", line)
        for line, m in zip(lines, matches, strict=True)
    )
    return ListBlock(tuple(items))


_YEAR = re.compile(r"(?<!\d)(?:19|20)\d{2}(?!\d)")
_PER_YEAR = re.compile(r"\b(?:per|setiap|tiap)\s+tahun\b|/\s*tahun\b", re.IGNORECASE)
_MULTIPLIERS = {"ribu": 1000, "rb": 1000, "juta": 10**6, "jt": 10**6, "miliar": 10**9}
_MULTIPLIERS["milyar"] = 10**9


def _amount_value(text: str) -> Decimal | None:
    """The number of rupiah in "Rp 15.000.000", "Rp15 juta", "Rp 1,5 miliar"; None if unclear."""
    match = re.match(r"Rp\.?\s*(\d[\d.,]*)\s*([a-z]*)", text.strip(), re.IGNORECASE)
    if match is None:
        return None
    number, word = match.group(1).rstrip(".,"), match.group(2).casefold()
    if re.fullmatch(r"\d{1,3}(?:\.\d{3})+(?:,\d+)?|\d+(?:,\d+)?", number):
        digits = number.replace(".", "").replace(",", ".")  # Indonesian: 15.000.000,50
    elif re.fullmatch(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+\.\d{1,2}", number):
        digits = number.replace(",", "")  # 15,000,000.50 or 1.5 (juta)
    else:
        return None
    return Decimal(digits) * _MULTIPLIERS.get(word, 1)


def _rupiah(value: Decimal) -> str:
    return f"Rp {format_decimal(value, locale='id')}"


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
    """ "Proposal_" and the title's words, as many whole words as fit in FILENAME_MAX."""
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    words = re.findall(r"[A-Za-z0-9]+", ascii_title)
    stem = ""
    for word in words:
        longer = f"{stem}_{word}" if stem else word
        if len(longer) > FILENAME_MAX:
            break
        stem = longer
    if not stem and words:  # a first word longer than the limit: cut that one word
        stem = words[0][:FILENAME_MAX]
    return f"Proposal_{stem}" if stem else "Proposal"


# ---- DOCX ----------------------------------------------------------------------------------------


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
    run = header.add_run(_shorten(document.header, 90))
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


LIST_INDENT_CM = 0.9


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
                self.cell(0, 5, printable(_shorten(document.header, 110)), align="R")
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


# ---- the feature: "Unduh proposal" ---------------------------------------------------------------


class DocumentService:
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    def feature(self) -> Feature:
        return Feature(
            name="documents",
            service=self,
            callbacks={"u": self._callback},
            draft_actions=lambda draft_id: [
                Button(DownloadDocx(draft_id), label="download_proposal")
            ],
        )

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
            owner_nip=(owner.nip or "") if owner else "",
            place=self.ctx.region_capital,
            head_name=(opd.head_name or "") if opd else "",
            head_nip=(opd.head_nip or "") if opd else "",
            head_position=(opd.head_position or "") if opd else "",
        )
