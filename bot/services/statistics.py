"""The coordinator's numbers (/statistik): drafts per OPD and stage, readiness, consultations,
upcoming deadlines, and the OPDs without an innovation this year ("Satu Instansi Satu Inovasi").

The facts are collected once (`collect_overview`, `draft_facts`) and shared with the XLSX
export. Consultations live in another feature's tables: `consultation_stats` and
`consultation_rows` are the one place that reads them, and answer None when those tables are
not there (yet), so the statistics never fail because of them.
"""

from __future__ import annotations

import logging
import statistics as stats
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from bot.services.answers import display_value
from bot.services.context import ServiceContext
from bot.services.deadlines import days_left
from bot.services.feature import Feature
from bot.services.formats import ProposalFormat
from bot.services.language import draft_name, format_datetime_id, words
from bot.services.readiness import Readiness, assess_readiness, ticked_indicators_of_many
from bot.services.replies import Button, Chunk, LongReply, Outcome, keyboard
from bot.services.report_routes import RefreshStatistics, RequestExport
from bot.services.roles import Role
from bot.services.textutil import with_year
from models import repository as repo
from models import statistics as rq
from models.db import Database
from models.tables import Draft, Opd, User

log = logging.getLogger(__name__)

NO_STAGE: str = words("statistics")["no_stage"]
NO_OPD: str = words("statistics")["no_opd"]
DEADLINES_SHOWN = 10
CLOSED_STATES = frozenset({"closed", "cancelled", "expired"})


@dataclass(frozen=True)
class DraftFact:
    """One draft with everything the statistics and the export need."""

    draft: Draft
    fmt: ProposalFormat
    answers: dict[str, str]
    readiness: Readiness
    owner: User | None
    opd: Opd | None

    @property
    def title(self) -> str:
        return draft_name(self.draft.title, self.answers, self.draft.id, fmt=self.fmt)

    @property
    def stage(self) -> str:
        section = self.fmt.by_role("stage")
        if section is None:
            return NO_STAGE
        return display_value(section, self.answers.get(section.key)) or NO_STAGE


@dataclass(frozen=True)
class OpdRow:
    name: str
    drafts: int
    ready: int
    by_stage: dict[str, int]


@dataclass(frozen=True)
class ConsultationStats:
    total: int
    open: int
    closed: int
    answered: int
    median_to_accept: timedelta | None
    median_to_first_answer: timedelta | None


@dataclass(frozen=True)
class DeadlineRow:
    competition: str
    stage: str
    deadline_at: datetime
    days: int
    linked: int
    not_ready: int


@dataclass(frozen=True)
class Overview:
    now: datetime
    year: int
    users: int
    drafts: int
    ready: int
    stage_totals: dict[str, int]
    opd_rows: list[OpdRow]
    consultations: ConsultationStats | None
    deadlines: list[DeadlineRow]
    opds_without_innovation: list[str]
    active_opds: int
    stages: list[str] = field(default_factory=list)


# ---- collecting ----------------------------------------------------------------------------------


def draft_facts(session: Session, ctx: ServiceContext) -> list[DraftFact]:
    drafts = rq.all_drafts(session)
    ids = [d.id for d in drafts if d.id is not None]
    answers = repo.answers_of_many(session, ids)
    ticked = ticked_indicators_of_many(session, ids)
    users = {u.id: u for u in rq.all_users(session)}
    opds = {o.id: o for o in rq.all_opds(session)}
    facts = []
    for draft in drafts:
        assert draft.id is not None
        fmt = ctx.formats.get(draft.format_key) or ctx.formats.default
        owner = users.get(draft.owner_id) if draft.owner_id is not None else None
        # A draft handed to its office when the owner left keeps that office.
        opd_id = owner.opd_id if owner else getattr(draft, "opd_id", None)
        opd = opds.get(opd_id) if opd_id else None
        readiness = assess_readiness(fmt, answers[draft.id], ticked[draft.id])
        facts.append(DraftFact(draft, fmt, answers[draft.id], readiness, owner, opd))
    return facts


def stage_names(ctx: ServiceContext) -> list[str]:
    """The stage options in the default format's order, then "Belum diisi"."""
    fmt = ctx.formats.default
    stage = fmt.by_role("stage")
    options = list(stage.options) if stage else []
    return [*options, NO_STAGE]


def collect_overview(session: Session, ctx: ServiceContext) -> Overview:
    facts = draft_facts(session, ctx)
    now = ctx.now()
    year = ctx.today().year
    names = stage_names(ctx)
    per_opd: dict[str, list[DraftFact]] = defaultdict(list)
    for fact in facts:
        per_opd[fact.opd.name if fact.opd else NO_OPD].append(fact)
    opd_rows = [
        OpdRow(
            name=name,
            drafts=len(items),
            ready=sum(1 for f in items if f.readiness.is_ready),
            by_stage=dict(Counter(f.stage for f in items)),
        )
        for name, items in sorted(per_opd.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    ]
    active = repo.active_opds(session)
    registered = [u for u in rq.all_users(session) if repo.registered(u)]
    return Overview(
        now=now,
        year=year,
        users=len(registered),
        drafts=len(facts),
        ready=sum(1 for f in facts if f.readiness.is_ready),
        stage_totals=dict(Counter(f.stage for f in facts)),
        opd_rows=opd_rows,
        consultations=consultation_stats(ctx.db),
        deadlines=upcoming_deadlines(session, ctx, facts),
        opds_without_innovation=[o.name for o in opds_without_innovation(ctx, active, facts)],
        active_opds=len(active),
        stages=names,
    )


def opds_without_innovation(
    ctx: ServiceContext, active: list[Opd], facts: list[DraftFact]
) -> list[Opd]:
    """Active OPDs none of whose people started a draft this calendar year (region's zone)."""
    year = ctx.today().year
    with_innovation = {
        f.opd.id for f in facts if f.opd and f.draft.created_at.astimezone(ctx.tz).year == year
    }
    return [o for o in active if o.id not in with_innovation]


def upcoming_deadlines(
    session: Session, ctx: ServiceContext, facts: list[DraftFact]
) -> list[DeadlineRow]:
    """The next deadlines, with how many drafts entered in that competition are not ready."""
    now = ctx.now()
    stages = rq.next_stages(session, now, DEADLINES_SHOWN)
    ready = {f.draft.id: f.readiness.is_ready for f in facts}
    links: dict[int, list[int]] = defaultdict(list)
    for link in rq.unsubmitted_links(session):
        links[link.competition_id].append(link.draft_id)
    rows = []
    for stage, competition in stages:
        linked = links.get(competition.id or 0, [])
        rows.append(
            DeadlineRow(
                competition=with_year(competition.name, competition.year),
                stage=stage.name,
                deadline_at=stage.deadline_at,
                days=days_left(stage.deadline_at, now, ctx.tz),
                linked=len(linked),
                not_ready=sum(1 for d in linked if not ready.get(d, False)),
            )
        )
    return rows


# ---- consultations (another feature's tables) ----------------------------------------------------


def _consultation_models() -> Any | None:
    try:
        from models import consultations
    except ImportError:
        return None
    needed = ("Consultation", "ConsultationOffer", "RelayedMessage")
    return consultations if all(hasattr(consultations, n) for n in needed) else None


def consultation_stats(db: Database) -> ConsultationStats | None:
    """Open/closed consultations and the median times to a mentor's acceptance and first
    message; None when the consultation tables are not available."""
    rows = consultation_rows(db)
    if rows is None:
        return None
    to_accept = [r["accepted_at"] - r["created_at"] for r in rows if r["accepted_at"]]
    to_answer = [r["first_answer_at"] - r["created_at"] for r in rows if r["first_answer_at"]]
    closed = sum(1 for r in rows if r["status"] in CLOSED_STATES)
    return ConsultationStats(
        total=len(rows),
        open=len(rows) - closed,
        closed=closed,
        answered=len(to_answer),
        median_to_accept=_median(to_accept),
        median_to_first_answer=_median(to_answer),
    )


def consultation_rows(db: Database) -> list[dict[str, Any]] | None:
    """Every consultation as a plain row (id, status, times, ASN, mentor, topic, draft), or None
    when the consultation feature's tables are missing or not readable. Read in a transaction
    of its own, so a failure here cannot spoil the caller's."""
    models = _consultation_models()
    if models is None:
        return None
    try:
        with db.session() as session:
            return _read_consultations(session, models)
    except (SQLAlchemyError, AttributeError) as exc:
        log.warning("consultation statistics not available: %s", exc)
        return None


def _read_consultations(session: Session, models: Any) -> list[dict[str, Any]]:
    offers, items, messages = rq.consultation_times(session, models)
    accepted: dict[int, datetime] = {}
    for row in offers:
        if row.answered_at is not None:
            current = accepted.get(row.consultation_id)
            accepted[row.consultation_id] = min(filter(None, (current, row.answered_at)))
    mentors = {c.id: c.mentor_id for c in items}
    first_answer: dict[int, datetime] = {}
    for message in messages:
        if message.from_chat_id != mentors.get(message.consultation_id):
            continue
        current = first_answer.get(message.consultation_id)
        if current is None or message.created_at < current:
            first_answer[message.consultation_id] = message.created_at
    return [
        {
            "id": c.id,
            "status": c.status,
            "topic": c.topic,
            "asn_id": c.asn_id,
            "mentor_id": c.mentor_id,
            "draft_id": c.draft_id,
            "created_at": c.created_at,
            "accepted_at": accepted.get(c.id),
            "first_answer_at": first_answer.get(c.id),
            "ended_at": c.ended_at,
            "rating": c.rating,
        }
        for c in items
    ]


def _median(values: list[timedelta]) -> timedelta | None:
    if not values:
        return None
    return timedelta(seconds=stats.median(v.total_seconds() for v in values))


def format_duration(value: timedelta | None) -> str:
    """ "2 hari 3 jam", "5 jam 10 menit", "12 menit"; "—" when unknown."""
    text = words("statistics")["duration"]
    if value is None:
        return text["unknown"]
    minutes = max(0, round(value.total_seconds() / 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return text["days_hours" if hours else "days"].format(days=days, hours=hours)
    if hours:
        return text["hours_minutes" if minutes else "hours"].format(hours=hours, minutes=minutes)
    return text["minutes"].format(minutes=minutes)


# ---- the feature: /statistik ---------------------------------------------------------------------


class StatisticsService:
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    def feature(self) -> Feature:
        return Feature(
            name="statistics",
            service=self,
            role=Role.ADMIN,
            commands={"statistik": lambda s, st, a: self.overview(s, st.user_id)},
            routes={RefreshStatistics: lambda s, u, r: self.overview(s, u)},
        )

    def overview(self, session: Session, user_id: int) -> Outcome:
        overview = collect_overview(session, self.ctx)
        consultations = overview.consultations
        context = {
            "o": overview,
            "region": self.ctx.region_name,
            "to_accept": format_duration(consultations and consultations.median_to_accept),
            "to_answer": format_duration(consultations and consultations.median_to_first_answer),
        }
        chunks = [Chunk("admin/stats_head", context)]
        chunks.append(Chunk("admin/stats_opd", context, self._opd_lines(overview)))
        chunks.append(Chunk("admin/stats_consultations", context))
        chunks.append(Chunk("admin/stats_deadlines", context, self._deadline_lines(overview)))
        line = words("statistics")["no_innovation_line"]
        names = "\n".join(line.format(name=name) for name in overview.opds_without_innovation)
        chunks.append(Chunk("admin/stats_no_innovation", context, names))
        buttons = keyboard(
            [
                Button(RefreshStatistics(), label="stats_refresh"),
                Button(RequestExport(), label="stats_export"),
            ]
        )
        return Outcome().add(LongReply(tuple(chunks), buttons))

    def _opd_lines(self, overview: Overview) -> str:
        text = words("statistics")
        lines = []
        for row in overview.opd_rows:
            stages = ", ".join(
                text["opd_stage"].format(name=name, count=row.by_stage[name])
                for name in overview.stages
                if row.by_stage.get(name)
            )
            lines.append(
                text["opd_line"].format(
                    name=row.name, drafts=row.drafts, stages=stages, ready=row.ready
                )
            )
        return "\n".join(lines)

    def _deadline_lines(self, overview: Overview) -> str:
        text = words("statistics")
        lines = []
        for row in overview.deadlines:
            days = (
                text["deadline_today"]
                if row.days <= 0
                else text["deadline_days_left"].format(days=row.days)
            )
            lines.append(
                text["deadline_line"].format(
                    competition=row.competition,
                    stage=row.stage,
                    when=format_datetime_id(row.deadline_at, self.ctx.tz),
                    days=days,
                    linked=row.linked,
                    not_ready=row.not_ready,
                )
            )
        return "\n".join(lines)
