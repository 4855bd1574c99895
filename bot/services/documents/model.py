"""The proposal document model: what a proposal says, independent of DOCX or PDF.

The dataclasses both renderers print (cover, approval page, headings, paragraphs, lists,
tables), the layout data of templates/documents/proposal.yaml, and the text cleaning every
part shares (control characters no document format can hold are dropped).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any, Literal

import yaml

from bot.paths import TEMPLATES_DIR

DOCUMENTS_DIR = TEMPLATES_DIR / "documents"
STEP_CELL_MAX = 1500  # longer steps are printed as a numbered list instead of a table
FILENAME_MAX = 60
LIST_INDENT_CM = 0.9  # the hanging indent of a list item, in both renderers

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


# Characters XML 1.0 (DOCX) cannot hold; everything else, emoji included, is kept.
_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def clean(text: str) -> str:
    return _ILLEGAL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))


def paragraphs_of(text: str) -> list[str]:
    """Blank lines separate paragraphs; single line breaks stay inside a paragraph."""
    return [p.strip("\n") for p in re.split(r"\n[ \t]*\n", clean(text).strip()) if p.strip()]


def shorten(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
