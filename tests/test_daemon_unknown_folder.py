"""A mistyped source folder (incoming/seimens/): its files are ingested, and the daemon says once
that the folder is no source's; `status` lists it too."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from click.testing import CliRunner
from helpers import Daemon, files_under, scalar, wait_until
from test_daemon import drop, report

from energy_ingest.cli import main

ADVICE = (
    "incoming/seimens/ is not a source folder (known: siemens, alc; did you mean siemens?): "
    "its files are ingested all the same"
)


def test_files_in_a_mistyped_folder_are_ingested_with_one_warning_for_the_folder(
    daemons: Callable[..., Daemon], spool_dir: Path, database_url: str
) -> None:
    d = daemons()
    wait_until(lambda: "watching" in d.text(), what="startup")
    for i in range(3):
        drop(spool_dir, f"report{i}.csv", report(i), source="seimens")
    wait_until(
        lambda: len(files_under(spool_dir / "archive")) == 3, what="the three files archived"
    )
    assert files_under(spool_dir / "incoming") == []
    assert scalar(database_url, "SELECT count(*) FROM files WHERE status = 'ingested'") == 3
    assert all(p.is_relative_to(spool_dir / "archive" / "siemens") for p in files_under(spool_dir))
    drop(spool_dir, "later.csv", report(5), source="seimens")  # the same run: no second warning
    wait_until(lambda: "ingested incoming/seimens/later.csv:" in d.text(), what="later.csv")
    assert d.terminate() == 0
    warnings = [line for line in d.text().splitlines() if "not a source folder" in line]
    assert len(warnings) == 1, d.text()
    assert "WARNING" in warnings[0] and ADVICE in warnings[0]
    assert "drop files into incoming/siemens/ or incoming/alc/ instead" in warnings[0]


def test_a_new_run_warns_again_and_a_far_off_name_gets_no_guess(
    daemons: Callable[..., Daemon], spool_dir: Path
) -> None:
    drop(spool_dir, "a.csv", report(1), source="seimens")
    drop(spool_dir, "b.csv", report(2), source="exports")
    d = daemons()
    wait_until(lambda: len(files_under(spool_dir / "archive")) == 2, what="both files archived")
    assert d.terminate() == 0
    text = d.text()
    assert text.count(ADVICE) == 1
    assert text.count("incoming/exports/ is not a source folder (known: siemens, alc): ") == 1


def test_status_lists_unknown_folders_even_empty_ones(spool_dir: Path, database_url: str) -> None:
    drop(spool_dir, "a.csv", report(1), source="seimens")
    drop(spool_dir, "b.csv", report(2), source="seimens")
    (spool_dir / "incoming" / "Alc").mkdir()
    (spool_dir / "incoming" / ".hidden").mkdir()  # its files are stranded, said elsewhere
    (spool_dir / "incoming" / "siemens").mkdir(exist_ok=True)
    env = {"ENERGY_DATABASE_URL": database_url, "ENERGY_SPOOL_DIR": str(spool_dir)}
    human = CliRunner().invoke(main, ["status"], env=env)
    assert human.exit_code == 0, human.output
    lines = [line for line in human.output.splitlines() if line.startswith("unknown ")]
    assert len(lines) == 2, human.output
    assert lines[0].startswith("unknown   incoming/Alc/ is not a source folder (known: siemens,")
    assert "did you mean alc?" in lines[0] and lines[0].endswith("(0 files wait)")
    assert ADVICE in lines[1] and lines[1].endswith("(2 files wait)")
    assert "backlog   siemens 2, alc 0" in human.output  # parsed by content; Siemens unless not
    data = json.loads(CliRunner().invoke(main, ["status", "--json"], env=env).output)
    assert [(f["folder"], f["files"]) for f in data["unknown_folders"]] == [
        ("incoming/Alc/", 0),
        ("incoming/seimens/", 2),
    ]
    assert data["unknown_folders"][1]["why"].startswith(ADVICE)
