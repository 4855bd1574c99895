"""The coordinator's XLSX export (/ekspor, `klinik ekspor FILE.xlsx`).

One workbook: "Usulan" (one row per proposal, every section a column), "Cakupan OPD" (drafts and
readiness per office, and which have no innovation this year), "Konsultasi" (one row per
consultation, when that feature is installed) and "Keterangan" (what and when).

In the chat the export is a request row (`export_requests`) that the scheduler's export source
picks up: the workbook is built in a worker thread, in steps that report progress, so a large
export never holds up anyone else's messages, and a restart finishes an interrupted one.
"""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet
from sqlmodel import Session

from bot.services.answers import display_value
from bot.services.context import ServiceContext
from bot.services.feature import Feature
from bot.services.formats import Section
from bot.services.language import words
from bot.services.replies import DocumentReply, Outcome, Reply
from bot.services.report_routes import RequestExport
from bot.services.roles import Role
from bot.services.statistics import (
    DraftFact,
    consultation_rows,
    draft_facts,
    opds_without_innovation,
)
from models import statistics as rq
from models.competitions import DraftLink
from models.exports import ExportRequest, claim_export, export_in_progress, waiting_exports
from models.tables import Opd, User

KIND = "exports"  # the scheduler source that builds requested exports
PROGRESS_EVERY = 250  # rows between two progress reports
LARGE_EXPORT = 500  # drafts from which the chat shows progress
STALE_AFTER = timedelta(minutes=15)  # a "running" export older than this died with its process
CELL_MAX = 32767  # Excel's limit on one cell's text
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

Progress = Callable[[int, int], None]  # (rows done, rows in all)
_HEADER_FONT = Font(bold=True)
_HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
_DATE_FORMAT = "dd/mm/yyyy hh:mm"


@dataclass(frozen=True)
class ExportResult:
    content: bytes
    drafts: int
    opds: int
    consultations: int | None  # None: the consultation feature is not installed
    filename: str


# ---- building the workbook ----------------------------------------------------------------------


def build_workbook(ctx: ServiceContext, progress: Progress | None = None) -> ExportResult:
    """Read everything in one transaction and write the workbook; `progress` is told how far
    the proposals sheet is, every PROGRESS_EVERY rows."""
    with ctx.db.session() as session:
        facts = draft_facts(session, ctx)
        opds = rq.all_opds(session)
        users = rq.all_users(session)
        active = [o for o in opds if o.active]
        without = {o.id for o in opds_without_innovation(ctx, active, facts)}
        links = _draft_links(session)
    consultations = consultation_rows(ctx.db)
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    _proposals(sheet, ctx, facts, links, progress)
    sheets = _workbook_words()["sheets"]
    _coverage(workbook.create_sheet(sheets["coverage"]["title"]), ctx, opds, users, facts, without)
    names = {u.id: u.full_name or str(u.id) for u in users}
    titles = {f.draft.id: f.title for f in facts}
    _consultations(
        workbook.create_sheet(sheets["consultations"]["title"]), ctx, consultations, names, titles
    )
    _about(
        workbook.create_sheet(sheets["about"]["title"]), ctx, len(facts), len(opds), consultations
    )
    buffer = io.BytesIO()
    workbook.save(buffer)
    stamp = ctx.now().astimezone(ctx.tz).strftime("%Y%m%d_%H%M")
    return ExportResult(
        content=buffer.getvalue(),
        drafts=len(facts),
        opds=len(opds),
        consultations=None if consultations is None else len(consultations),
        filename=f"klinik_inovasi_{stamp}.xlsx",
    )


def section_columns(ctx: ServiceContext) -> list[Section]:
    """Every section of every format once, the default format's first (its titles win)."""
    formats = [ctx.formats.default, *(f for f in ctx.formats if f != ctx.formats.default)]
    seen: dict[str, Section] = {}
    for fmt in formats:
        for section in fmt.sections:
            seen.setdefault(section.key, section)
    return list(seen.values())


def _proposals(
    sheet: Worksheet,
    ctx: ServiceContext,
    facts: list[DraftFact],
    links: dict[int, list[tuple[DraftLink, str]]],
    progress: Progress | None,
) -> None:
    layout = _workbook_words()["sheets"]["proposals"]
    cells = _workbook_words()["cells"]
    sheet.title = layout["title"]
    columns = section_columns(ctx)
    fixed = _headers(layout)
    _header(sheet, [*fixed, *(s.title for s in columns)])
    for number, fact in enumerate(facts, start=1):
        readiness = fact.readiness
        row = [
            number,
            fact.draft.id,
            fact.title,
            fact.fmt.short_title,
            fact.owner.full_name if fact.owner else "",
            fact.opd.name if fact.opd else "",
            fact.stage,
            readiness.completeness.percent,
            "; ".join(s.title for s in readiness.missing_sections),
            cells["ready"] if readiness.is_ready else cells["not_ready"],
            # Numbers, so the coordinator can sort and sum them.
            readiness.score if readiness.has_checklist else None,
            readiness.max_score if readiness.has_checklist else None,
            *_competition_cells(ctx, links.get(fact.draft.id, [])),
            _local(ctx, fact.draft.created_at),
            _local(ctx, fact.draft.updated_at),
        ]
        for section in columns:
            own = fact.fmt.section(section.key) if fact.fmt.has_section(section.key) else None
            row.append(display_value(own, fact.answers.get(section.key)) if own else "")
        _append(sheet, row)
        if progress and number % PROGRESS_EVERY == 0:
            progress(number, len(facts))
    _widths(sheet, _column_widths(layout) + [layout["section_width"]] * len(columns))


def _competition_cells(ctx: ServiceContext, links: list[tuple[DraftLink, str]]) -> list[Any]:
    """The competitions a draft is entered in, whether it was submitted, and when (latest)."""
    if not links:
        return ["", "", None]
    words = _workbook_words()["submitted"]
    done = [link.submitted_at for link, _ in links if link.submitted_at]
    if len(done) == len(links):
        submitted = words["all"]
    elif not done:
        submitted = words["none"]
    else:
        submitted = words["some"].format(done=len(done), total=len(links))
    names = "; ".join(name for _, name in links)
    return [names, submitted, _local(ctx, max(done)) if done else None]


def _draft_links(session: Session) -> dict[int, list[tuple[DraftLink, str]]]:
    rows = rq.links_with_competitions(session)
    links: dict[int, list[tuple[DraftLink, str]]] = {}
    for link, competition in rows:
        links.setdefault(link.draft_id, []).append((link, f"{competition.name} {competition.year}"))
    return links


def _workbook_words() -> dict[str, Any]:
    return words("workbook")


def _coverage(
    sheet: Worksheet,
    ctx: ServiceContext,
    opds: list[Opd],
    users: list[User],
    facts: list[DraftFact],
    without: set[int | None],
) -> None:
    year = ctx.today().year
    people = Counter(u.opd_id for u in users if u.opd_id and u.full_name and u.consent_at)
    drafts = Counter(f.opd.id for f in facts if f.opd)
    this_year = Counter(
        f.opd.id for f in facts if f.opd and f.draft.created_at.astimezone(ctx.tz).year == year
    )
    ready = Counter(f.opd.id for f in facts if f.opd and f.readiness.is_ready)
    layout = _workbook_words()["sheets"]["coverage"]
    cells = _workbook_words()["cells"]
    _header(sheet, _headers(layout, year=year))
    for opd in opds:
        if not opd.active:
            coverage = cells["unknown"]
        elif opd.id in without:
            coverage = cells["not_covered"].format(year=year)
        else:
            coverage = cells["covered"]
        _append(
            sheet,
            [
                opd.name,
                cells["active"] if opd.active else cells["inactive"],
                people[opd.id],
                drafts[opd.id],
                this_year[opd.id],
                ready[opd.id],
                coverage,
            ],
        )
    _widths(sheet, _column_widths(layout))


def _consultations(
    sheet: Worksheet,
    ctx: ServiceContext,
    rows: list[dict[str, Any]] | None,
    names: dict[int, str],
    titles: dict[int | None, str],
) -> None:
    layout = _workbook_words()["sheets"]["consultations"]
    _header(sheet, _headers(layout))
    if rows is None:
        note, width = layout["unavailable"]
        _append(sheet, [note])
        _widths(sheet, [width])
        return
    for row in rows:
        _append(
            sheet,
            [
                row["id"],
                _workbook_words()["consultation_status"].get(row["status"], row["status"]),
                row["topic"] or _workbook_words()["cells"]["general_topic"],
                names.get(row["asn_id"], ""),
                names.get(row["mentor_id"], "") if row["mentor_id"] else "",
                titles.get(row["draft_id"], "") if row["draft_id"] else "",
                _local(ctx, row["created_at"]),
                _local(ctx, row["accepted_at"]),
                _local(ctx, row["first_answer_at"]),
                _local(ctx, row["ended_at"]),
                row["rating"],
            ],
        )
    _widths(sheet, _column_widths(layout))


def _about(
    sheet: Worksheet,
    ctx: ServiceContext,
    drafts: int,
    opds: int,
    consultations: list[dict[str, Any]] | None,
) -> None:
    layout = _workbook_words()["sheets"]["about"]
    label = layout["rows"]
    _header(sheet, _headers(layout))
    unknown = _workbook_words()["cells"]["unknown"]
    rows: list[list[Any]] = [
        [label["region"], ctx.region_name],
        [label["made_at"], _local(ctx, ctx.now())],
        [label["time_zone"], ctx.tz.key],
        [label["proposals"], drafts],
        [label["opds"], opds],
        [label["consultations"], unknown if consultations is None else len(consultations)],
    ]
    for row in rows:
        _append(sheet, row)
    _widths(sheet, _column_widths(layout))


def _headers(layout: dict[str, Any], **params: object) -> list[str]:
    return [header.format(**params) for header, _ in layout["columns"]]


def _column_widths(layout: dict[str, Any]) -> list[int]:
    return [width for _, width in layout["columns"]]


def _header(sheet: Worksheet, names: list[str]) -> None:
    sheet.append(names)
    for cell in sheet[1]:
        cell.font = _HEADER_FONT
        cell.fill = _HEADER_FILL
        cell.alignment = Alignment(vertical="top", wrap_text=True)
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(names))}1"


def _append(sheet: Worksheet, values: list[Any]) -> None:
    sheet.append([_safe(v) for v in values])
    for cell in sheet[sheet.max_row]:
        if isinstance(cell.value, str):
            # Text stays text: "=…" typed by a user must never become a formula.
            cell.data_type = "s"
        elif isinstance(cell.value, datetime):
            cell.number_format = _DATE_FORMAT


def _safe(value: Any) -> Any:
    if isinstance(value, str):
        return ILLEGAL_CHARACTERS_RE.sub("", value)[:CELL_MAX]
    return value


def _widths(sheet: Worksheet, widths: list[int]) -> None:
    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width


def _local(ctx: ServiceContext, value: datetime | None) -> datetime | None:
    """Excel has no time zones: the region's wall-clock time, without the zone."""
    return value.astimezone(ctx.tz).replace(tzinfo=None) if value else None


# ---- the feature: /ekspor ------------------------------------------------------------------------


class ExportService:
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    def feature(self) -> Feature:
        return Feature(
            name="exports",
            service=self,
            role=Role.ADMIN,
            commands={"ekspor": lambda s, st, a: self.request(s, st.user_id)},
            routes={RequestExport: lambda s, u, r: self.request(s, u)},
        )

    def request(self, session: Session, user_id: int) -> Outcome:
        """Queue an export for this admin; the export source builds and sends it."""
        now = self.ctx.now()
        busy = export_in_progress(session, user_id)
        if busy is not None and not self._stale(busy, now):
            return Outcome().add(Reply("admin/export_busy"))
        session.add(ExportRequest(admin_id=user_id, requested_at=now))
        drafts = rq.count_drafts(session)
        context = {"drafts": drafts, "large": drafts >= LARGE_EXPORT}
        return Outcome(notice="export_queued", rebuild=(KIND,)).add(
            Reply("admin/export_started", context)
        )

    # ---- used by the scheduler's export source --------------------------------------------------

    def wake_times(self, now: datetime) -> list[datetime]:
        with self.ctx.db.session() as session:
            waiting = waiting_exports(session)
        due = [r for r in waiting if r.status == "pending" or self._stale(r, now)]
        return [now] if due else []

    def claim_next(self, now: datetime) -> ExportRequest | None:
        """Take the oldest waiting export (or one whose process died); None when none is left.
        A conditional update: of two processes only one gets a given export."""
        with self.ctx.db.session() as session:
            return claim_export(session, now, STALE_AFTER)

    def finish(self, request_id: int, ok: bool, now: datetime) -> None:
        with self.ctx.db.session() as session:
            request = session.get(ExportRequest, request_id)
            if request is not None:
                request.status = "done" if ok else "failed"
                request.finished_at = now
                session.add(request)

    def build(self, progress: Progress | None = None) -> ExportResult:
        return build_workbook(self.ctx, progress)

    def progress_reply(self, done: int, total: int) -> Reply:
        percent = round(100 * done / total) if total else 100
        return Reply("admin/export_progress", {"done": done, "total": total, "percent": percent})

    def document_reply(self, result: ExportResult) -> DocumentReply:
        context = {
            "drafts": result.drafts,
            "opds": result.opds,
            "consultations": result.consultations,
            "now": self.ctx.now(),
        }
        return DocumentReply(
            filename=result.filename,
            content=result.content,
            caption_template="admin/export_ready",
            caption_context=context,
        )

    def failed_reply(self) -> Reply:
        return Reply("admin/export_failed")

    def _stale(self, request: ExportRequest, now: datetime) -> bool:
        return (
            request.status == "running"
            and request.started_at is not None
            and now - request.started_at > STALE_AFTER
        )
