"""`klinik lomba import FILE`: whole files or nothing, with the line at fault."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlmodel import select

from bot.cli import main
from bot.services.competitions.year_file import ImportProblem, import_competitions, parse_file
from models.competitions import Competition, Stage
from models.db import Database
from tests.conftest import WITA

NOW = datetime(2026, 11, 23, tzinfo=UTC)
YEAR_FILE = """\
- name: Innovative Government Award 2027
  organiser: Kemendagri (BSKDN)
  level: nasional
  year: 2027
  stages:
    - name: Batas input profil inovasi
      deadline: 23 Agustus 2027 23.59
    - name: Batas unggah video
      deadline: 2027-08-30
- name: Lomba Inovasi Daerah Kabupaten 2027
  organiser: Bappeda Kabupaten
  level: kabupaten/kota
  year: 2027
  stages:
    - name: Pengumpulan proposal
      deadline: 15/03/2027 16:00
"""


def stored(database: Database) -> list[tuple[str, str, datetime]]:
    with database.session() as session:
        rows = session.exec(select(Competition, Stage).join(Stage)).all()
        return sorted((c.name, s.name, s.deadline_at) for c, s in rows)


def test_a_year_is_imported_and_reimporting_changes_nothing(database: Database) -> None:
    summary = import_competitions(database, YEAR_FILE, WITA, NOW)
    assert (summary.created, summary.stages_added) == (2, 3)
    first = stored(database)
    assert first[0] == (
        "Innovative Government Award 2027",
        "Batas input profil inovasi",
        datetime(2027, 8, 23, 15, 59, tzinfo=UTC),
    )
    again = import_competitions(database, YEAR_FILE, WITA, NOW)
    assert (again.created, again.updated, again.stages_added, again.deadlines_moved) == (0, 0, 0, 0)
    assert not again.changed
    assert stored(database) == first
    renamed = import_competitions(
        database, YEAR_FILE.replace("organiser: Bappeda Kabupaten", "organiser: BRIDA"), WITA, NOW
    )
    assert (renamed.updated, renamed.changed) == (1, True)
    moved = import_competitions(database, YEAR_FILE.replace("2027-08-30", "2027-09-06"), WITA, NOW)
    assert moved.deadlines_moved == 1


@pytest.mark.parametrize(
    ("broken", "line", "words"),
    [
        (YEAR_FILE.replace("level: nasional", "level: dunia"), 3, "level"),
        (YEAR_FILE.replace("deadline: 15/03/2027 16:00", "deadline: besok"), 16, "deadline"),
        (
            YEAR_FILE.replace(
                "  year: 2027\n  stages:\n    - name: Peng",
                "  year: 27\n  stages:\n    - name: Peng",
            ),
            13,
            "year",
        ),
        (YEAR_FILE.replace("organiser: Bappeda Kabupaten", "organizer: Bappeda"), 11, "organizer"),
        (YEAR_FILE + "  - oops: [\n", 17, "YAML"),
        ("nama: salah\n", 1, "nama"),
    ],
)
def test_a_faulty_file_is_rejected_whole_naming_the_line(
    database: Database, broken: str, line: int, words: str
) -> None:
    with pytest.raises(ImportProblem) as problem:
        import_competitions(database, broken, WITA, NOW)
    assert problem.value.line == line, str(problem.value)
    assert words in str(problem.value)
    assert stored(database) == []  # nothing half-imported


def test_duplicates_in_one_file_are_refused() -> None:
    doubled = YEAR_FILE + YEAR_FILE[YEAR_FILE.index("- name: Lomba") :]
    with pytest.raises(ImportProblem, match="dua kali"):
        parse_file(doubled, WITA)


def test_command_line_import(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    good = tmp_path / "lomba.yaml"
    good.write_text(YEAR_FILE, encoding="utf-8")
    assert main(["lomba", "import", str(good)]) == 0
    assert "2 lomba baru" in capsys.readouterr().out
    assert main(["lomba", "import", str(good)]) == 0  # the same file again
    out = capsys.readouterr().out
    assert "tidak ada yang berubah" in out and "diperbarui" not in out
    bad = tmp_path / "salah.yaml"
    bad.write_text(YEAR_FILE.replace("level: nasional", "level: dunia"), encoding="utf-8")
    assert main(["lomba", "import", str(bad)]) == 1
    assert "baris 3" in capsys.readouterr().err
    assert main(["lomba", "import", str(tmp_path / "tidak-ada.yaml")]) == 2
