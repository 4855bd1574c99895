"""Loading a year of competitions from a YAML file (`klinik lomba import FILE`).

The file is checked whole before anything is written, and every problem names its line, so a
coordinator fixes the file and runs it again; nothing is ever half-imported. Importing the same
file twice changes nothing: competitions are matched by name and year, stages by name.

    - name: Innovative Government Award 2027
      organiser: Kemendagri (BSKDN)
      level: nasional            # kabupaten/kota, provinsi or nasional
      year: 2027
      stages:
        - name: Batas input profil inovasi
          deadline: 23 Agustus 2027 23.59   # local time (TIMEZONE); a date alone means 23.59
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

import yaml
from sqlmodel import Session

from bot.services.competitions.stages import level_aliases, move_deadline
from bot.services.deadlines import DeadlineError, parse_deadline
from bot.services.language import phrase
from models.competitions import Competition, Stage, competitions_of_year, stages_of
from models.db import Database

LEVEL_NAMES = level_aliases()  # "kabupaten" -> "Kabupaten/Kota", ...
COMPETITION_KEYS = {"name", "organiser", "level", "year", "stages"}
STAGE_KEYS = {"name", "deadline"}


class ImportProblem(ValueError):
    """A fault of the file: `problem` is its phrase in the language file (import_<problem>)."""

    def __init__(self, line: int | None, problem: str, **params: object) -> None:
        message = phrase(f"import_{problem}", **params)
        super().__init__(phrase("import_at_line", line=line, problem=message) if line else message)
        self.line = line


@dataclass
class PlannedStage:
    name: str
    deadline: datetime


@dataclass
class PlannedCompetition:
    name: str
    organiser: str
    level: str
    year: int
    stages: list[PlannedStage] = field(default_factory=list)


@dataclass
class ImportSummary:
    created: int = 0
    updated: int = 0
    stages_added: int = 0
    deadlines_moved: int = 0

    @property
    def changed(self) -> bool:
        return any((self.created, self.updated, self.stages_added, self.deadlines_moved))


def parse_file(text: str, tz: ZoneInfo) -> list[PlannedCompetition]:
    """Check the whole file; raise ImportProblem at the first fault, naming its line."""
    try:
        root = yaml.compose(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ImportProblem(mark.line + 1 if mark else None, "bad_yaml") from exc
    if isinstance(root, yaml.MappingNode):
        root = _mapping(root, {"lomba"}, required={"lomba"})["lomba"]
    if not isinstance(root, yaml.SequenceNode) or not root.value:
        raise ImportProblem(_line(root), "not_a_list")
    planned = [_competition(node, tz) for node in root.value]
    seen: set[tuple[str, int]] = set()
    for node, competition in zip(root.value, planned, strict=True):
        key = (competition.name.casefold(), competition.year)
        if key in seen:
            raise ImportProblem(_line(node), "competition_twice", name=competition.name)
        seen.add(key)
    return planned


def import_competitions(
    database: Database, text: str, tz: ZoneInfo, now: datetime
) -> ImportSummary:
    planned = parse_file(text, tz)
    summary = ImportSummary()
    with database.session() as session:  # one transaction: all or nothing
        for competition in planned:
            _upsert(session, competition, now, summary)
    return summary


def _upsert(
    session: Session, planned: PlannedCompetition, now: datetime, summary: ImportSummary
) -> None:
    existing = next(
        (
            c
            for c in competitions_of_year(session, planned.year)
            if c.name.casefold() == planned.name.casefold()
        ),
        None,
    )
    if existing is None:
        existing = Competition(
            name=planned.name, organiser=planned.organiser, level=planned.level, year=planned.year
        )
        session.add(existing)
        session.flush()
        summary.created += 1
    elif (existing.organiser, existing.level) != (planned.organiser, planned.level):
        # Only a real change counts: importing the same file again reports nothing changed.
        existing.organiser, existing.level = planned.organiser, planned.level
        session.add(existing)
        summary.updated += 1
    stages = {s.name.casefold(): s for s in stages_of(session, existing.id)}
    for stage in planned.stages:
        current = stages.get(stage.name.casefold())
        if current is None:
            session.add(
                Stage(
                    competition_id=existing.id,
                    name=stage.name,
                    deadline_at=stage.deadline,
                    updated_at=now,
                )
            )
            summary.stages_added += 1
        elif current.deadline_at != stage.deadline:
            move_deadline(session, current, stage.deadline, now)
            summary.deadlines_moved += 1


def _competition(node: yaml.Node, tz: ZoneInfo) -> PlannedCompetition:
    fields = _mapping(node, COMPETITION_KEYS, required=COMPETITION_KEYS)
    level_text = _text(fields["level"]).casefold()
    if level_text not in LEVEL_NAMES:
        raise ImportProblem(_line(fields["level"]), "bad_level")
    year_text = _text(fields["year"])
    if not year_text.isdigit() or not 2000 <= int(year_text) <= 2100:
        raise ImportProblem(_line(fields["year"]), "bad_year")
    stages_node = fields["stages"]
    if not isinstance(stages_node, yaml.SequenceNode) or not stages_node.value:
        raise ImportProblem(_line(stages_node), "no_stages")
    competition = PlannedCompetition(
        name=_bounded(fields["name"]),
        organiser=_bounded(fields["organiser"]),
        level=LEVEL_NAMES[level_text],
        year=int(year_text),
    )
    names: set[str] = set()
    for stage_node in stages_node.value:
        stage_fields = _mapping(stage_node, STAGE_KEYS, required=STAGE_KEYS)
        name = _bounded(stage_fields["name"])
        if name.casefold() in names:
            raise ImportProblem(_line(stage_node), "stage_twice", name=name)
        names.add(name.casefold())
        try:
            deadline = parse_deadline(_text(stage_fields["deadline"]), tz)
        except DeadlineError as exc:
            raise ImportProblem(_line(stage_fields["deadline"]), "bad_deadline") from exc
        competition.stages.append(PlannedStage(name, deadline))
    return competition


def _mapping(node: yaml.Node, allowed: set[str], required: set[str]) -> dict[str, yaml.Node]:
    if not isinstance(node, yaml.MappingNode):
        raise ImportProblem(_line(node), "not_a_mapping")
    fields: dict[str, yaml.Node] = {}
    for key_node, value_node in node.value:
        key = str(key_node.value)
        if key not in allowed:
            raise ImportProblem(_line(key_node), "unknown_key", name=key)
        fields[key] = value_node
    missing = sorted(required - set(fields))
    if missing:
        raise ImportProblem(_line(node), "missing_keys", keys=", ".join(missing))
    return fields


def _text(node: yaml.Node) -> str:
    if not isinstance(node, yaml.ScalarNode):
        raise ImportProblem(_line(node), "not_a_text")
    return str(node.value).strip()


def _bounded(node: yaml.Node) -> str:
    value = " ".join(_text(node).split())
    if not 3 <= len(value) <= 200:
        raise ImportProblem(_line(node), "bad_length")
    return value


def _line(node: yaml.Node | None) -> int | None:
    return node.start_mark.line + 1 if node is not None else None
