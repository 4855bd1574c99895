"""Building the document model of a draft: its format's sections and answers, the cover facts.

`build_proposal` walks the format's filled sections in order and lays them out as
proposal.yaml says: the short answers as an identity table, long ones as numbered headings and
paragraphs (lists kept as lists), and the derived tables (timeline, steps, budget).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from babel.dates import format_date
from babel.numbers import format_decimal
from jinja2 import Environment

from bot.services.answers import display_value
from bot.services.completeness import assess
from bot.services.documents.model import (
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
from bot.services.formats import ProposalFormat, Section
from bot.services.nip import format_nip
from bot.services.readiness import split_steps

_TEXT_ENV = Environment(autoescape=False, keep_trailing_newline=False)


def _render(template: str, **values: Any) -> str:
    return _TEXT_ENV.from_string(template).render(**values).strip()


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


def untitled_draft(draft_id: int) -> str:
    """The title of a draft that has none yet (nor a "nama" answer): "Draf #7"."""
    return _render(load_layout()["untitled"], id=draft_id)


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
