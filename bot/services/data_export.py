"""How `/dataku` presents what is stored about a person: sections and fields named in
Indonesian (templates/data/personal_data.yaml), times in the region's zone, in a JSON file.

`personal_data.collect` decides *what* is exported (every table holding the user's data);
this module only names it, so a table without a label still appears, under its own name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

import yaml

from bot.paths import DATA_DIR
from bot.services.language import format_date_id, format_datetime_id

LABELS_FILE = DATA_DIR / "personal_data.yaml"


@dataclass(frozen=True)
class Section:
    """One part of the export: its Indonesian title and how many records it holds."""

    title: str
    count: int


@cache
def labels() -> dict[str, Any]:
    return yaml.safe_load(LABELS_FILE.read_text(encoding="utf-8"))


def readable_export(
    data: dict[str, list[dict[str, Any]]],
    tz: ZoneInfo,
    now: datetime,
    names: Mapping[str, Mapping[Any, str]] | None = None,
) -> tuple[dict[str, Any], list[Section]]:
    """The export as a person reads it, and its sections (for the message that goes with it).
    Every non-empty table of `data` becomes a section; none is left out. `names` gives, per
    column, what a stored code stands for (an OPD's number → its name, a section key → its
    title); a code without a name is shown as it is."""
    names = names or {}
    known = labels()["sections"]
    ordered = [name for name in known if data.get(name)]
    ordered += sorted(name for name, rows in data.items() if rows and name not in known)
    export: dict[str, Any] = {labels()["about"]: format_datetime_id(now, tz)}
    sections = []
    for name in ordered:
        section = known.get(name, {})
        title = section.get("title", name)
        columns = section.get("columns", {})
        export[title] = [
            {
                columns.get(key, key): _readable(_named(names, key, value), tz)
                for key, value in row.items()
            }
            for row in data[name]
        ]
        sections.append(Section(title, len(data[name])))
    return export, sections


def _named(names: Mapping[str, Mapping[Any, str]], column: str, value: object) -> object:
    if column not in names or isinstance(value, dict | list):
        return value
    return names[column].get(value, value)


def _readable(value: object, tz: ZoneInfo) -> object:
    if isinstance(value, datetime):
        return format_datetime_id(value, tz)
    if isinstance(value, date):
        return format_date_id(value)
    if isinstance(value, bool):
        return "ya" if value else "tidak"
    if value is None or isinstance(value, int | float | str | list | dict):
        return value
    return str(value)
