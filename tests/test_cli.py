"""The `energy-ingest` command line: import, status, retry, and help for every command."""

from __future__ import annotations

import json
import os
import re
from datetime import datetime
from pathlib import Path

import click
import psycopg
import pytest
from click.testing import CliRunner
from helpers import insight_report

from energy_ingest.cli import main

DATA = Path(__file__).parent / "data"


@pytest.fixture
def run(database_url: str, spool_dir: Path):  # type: ignore[no-untyped-def]
    def invoke(*args: str, url: str = database_url) -> click.testing.Result:
        env = {"ENERGY_DATABASE_URL": url, "ENERGY_SPOOL_DIR": str(spool_dir)}
        return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)

    return invoke


def _all_commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    out = []
    for name, command in group.commands.items():
        out.append((*prefix, name))
        if isinstance(command, click.Group):
            out += _all_commands(command, (*prefix, name))
    return out


@pytest.mark.parametrize("command", _all_commands(main), ids=" ".join)
def test_every_command_has_help(command: tuple[str, ...]) -> None:
    result = CliRunner().invoke(main, [*command, "--help"])
    assert result.exit_code == 0
    assert "Usage:" in result.output
    assert len(result.output.split("\n\n")[1].strip()) > 10  # a real description


def test_import_loads_files_and_folders_and_leaves_them_in_place(
    run, tmp_path: Path, database_url: str
) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "backfill" / "2024"
    folder.mkdir(parents=True)
    (folder / "a.csv").write_bytes(insight_report(["X.P1", "X.P2"], datetime(2024, 1, 1), 10))
    (folder / "b.csv").write_bytes(insight_report(["X.P1", "X.P2"], datetime(2024, 1, 2), 10))
    (folder / ".hidden.csv").write_bytes(b"ignored")
    sample = tmp_path / "boliou.csv"
    sample.write_bytes(
        (DATA / "CONSTRUCTED_siemens_insight_boliou1_11-30-18_02-00.csv").read_bytes()
    )
    result = run("import", str(tmp_path / "backfill"), str(sample))
    assert result.exit_code == 0, result.output
    assert "imported 3 files: 3 ingested, 0 duplicate, 0 failed" in result.output
    assert (folder / "a.csv").exists() and sample.exists()
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT count(*) FROM files WHERE status = 'ingested'").fetchone() == (
            3,
        )
    again = run("import", str(folder / "a.csv"))
    assert "0 ingested, 1 duplicate" in again.output


def test_import_names_a_bad_file_and_exits_1(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "photo.csv"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00binary")
    good = tmp_path / "good.csv"
    good.write_bytes(insight_report(["X.P1"], datetime(2024, 1, 1), 4))
    result = run("import", str(bad), str(good))
    assert result.exit_code == 1
    assert "1 ingested, 0 duplicate, 1 failed" in result.output
    assert f"failed: {bad}" in result.output
    assert "Traceback" not in result.output


def test_import_into_an_unmigrated_database_says_to_migrate(
    run, tmp_path: Path, empty_database_url: str
) -> None:  # type: ignore[no-untyped-def]
    good = tmp_path / "good.csv"
    good.write_bytes(insight_report(["X.P1"], datetime(2024, 1, 1), 4))
    result = run("import", str(good), url=empty_database_url)
    assert result.exit_code == 1
    assert "run `energy-ingest migrate` first" in result.output and "Traceback" not in result.output


def test_status_on_an_unmigrated_database_says_to_migrate(run, empty_database_url: str) -> None:  # type: ignore[no-untyped-def]
    result = run("status", url=empty_database_url)
    assert result.exit_code == 1
    assert "run `energy-ingest migrate`" in result.output


def test_import_with_the_database_down_says_so_without_a_traceback(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    good = tmp_path / "good.csv"
    good.write_bytes(insight_report(["X.P1"], datetime(2024, 1, 1), 4))
    result = run("import", str(good), url="postgresql://postgres@127.0.0.1:1/nowhere")
    assert result.exit_code == 1
    assert "Error: cannot connect to PostgreSQL" in result.output


def test_status_shows_backlog_failures_and_last_files(run, spool_dir: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    good = tmp_path / "good.csv"
    good.write_bytes(insight_report(["X.P1"], datetime(2024, 1, 1), 4))
    run("import", str(good))
    (spool_dir / "incoming" / "siemens").mkdir(parents=True)
    (spool_dir / "incoming" / "siemens" / "waiting.csv").write_text("x")
    (spool_dir / "failed" / "alc").mkdir(parents=True)
    (spool_dir / "failed" / "alc" / "bad.csv").write_text("x")
    (spool_dir / "failed" / "alc" / "bad.csv.error").write_text("why")
    human = run("status")
    assert human.exit_code == 0, human.output
    assert "database  reachable" in human.output
    assert "backlog   siemens 1, alc 0" in human.output
    assert "failed    siemens 0, alc 1" in human.output
    assert "good.csv" in human.output and "4 readings (4 new, 0 changed)" in human.output
    data = json.loads(run("status", "--json").output)
    assert data["backlog"] == {"siemens": 1, "alc": 0}
    assert data["failed"] == {"siemens": 0, "alc": 1}
    assert data["database"]["reachable"] is True
    assert data["last_files"][0]["name"] == "good.csv"


def test_status_reports_an_unreachable_database_and_exits_1(run) -> None:  # type: ignore[no-untyped-def]
    result = run("status", url="postgresql://postgres@127.0.0.1:1/nowhere")
    assert result.exit_code == 1
    assert "database  UNREACHABLE" in result.output


def test_retry_moves_failed_files_back_to_incoming(run, spool_dir: Path) -> None:  # type: ignore[no-untyped-def]
    failed = spool_dir / "failed" / "siemens"
    failed.mkdir(parents=True)
    for name in ("a.csv", "b.csv"):
        (failed / name).write_text(name)
        (failed / f"{name}.error").write_text("why")
    one = run("retry", "a.csv")
    assert one.exit_code == 0
    assert (spool_dir / "incoming" / "siemens" / "a.csv").read_text() == "a.csv"
    assert not (failed / "a.csv.error").exists()
    unknown = run("retry", "nope.csv")
    assert (
        unknown.exit_code == 1
        and "not in failed/: nope.csv (failed files: siemens/b.csv)" in unknown.output
    )
    rest = run("retry", "--all")
    assert "retrying siemens/b.csv" in rest.output
    assert list(failed.iterdir()) == []
    assert run("retry").exit_code == 2


def test_retry_tells_apart_same_named_files_of_two_sources(run, spool_dir: Path) -> None:  # type: ignore[no-untyped-def]
    for source in ("siemens", "alc"):
        (spool_dir / "failed" / source).mkdir(parents=True)
        (spool_dir / "failed" / source / "x.csv").write_text(source)
    ambiguous = run("retry", "x.csv")
    assert ambiguous.exit_code == 1 and "x.csv failed in several sources" in ambiguous.output
    assert run("retry", "alc/x.csv").exit_code == 0
    assert (spool_dir / "incoming" / "alc" / "x.csv").read_text() == "alc"
    assert (spool_dir / "failed" / "siemens" / "x.csv").exists()
    assert run("retry", "x.csv").exit_code == 0  # now only one is left
    assert (spool_dir / "incoming" / "siemens" / "x.csv").read_text() == "siemens"


def test_import_goes_on_after_a_name_that_is_not_utf8_and_a_link(
    run, tmp_path: Path, database_url: str
) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "backfill"
    folder.mkdir()
    odd = Path(os.fsdecode(os.path.join(os.fsencode(folder), b"a-bad\xff\xfename.csv")))
    odd.write_bytes(insight_report(["X.P1"], datetime(2024, 1, 1), 4))
    (folder / "b-broken\nname.csv").write_bytes(b"not a report\n")
    (folder / "c-link.csv").symlink_to(
        DATA / "CONSTRUCTED_siemens_insight_boliou1_11-30-18_02-00.csv"
    )
    (folder / "d-good.csv").write_bytes(insight_report(["X.P1"], datetime(2024, 1, 2), 4))
    result = run("import", str(folder))
    assert result.exit_code == 1, result.output
    assert "imported 3 files: 2 ingested, 0 duplicate, 1 failed" in result.output
    assert "b-broken\\nname.csv" in result.output and "Traceback" not in result.output
    assert "skipped " in result.output and "c-link.csv: a symbolic link" in result.output
    with psycopg.connect(database_url) as conn:
        names = [r[0] for r in conn.execute("SELECT name FROM files ORDER BY name")]
    assert names == ["a-bad\\xff\\xfename.csv", "d-good.csv"]


def test_import_never_blocks_on_a_fifo_named_explicitly(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    good = tmp_path / "good.csv"
    good.write_bytes(insight_report(["X.P1"], datetime(2024, 1, 1), 4))
    result = run("import", str(fifo), str(good))
    assert result.exit_code == 1
    assert f"failed: {fifo}: not a regular file" in result.output
    assert "1 ingested, 0 duplicate, 1 failed" in result.output


# --- import says what the daemon says (issue 26) -------------------------------------------


def _spring_forward_backfill(folder: Path) -> Path:
    """A report across the spring-forward gap (4 rows at times that do not exist) with 4 rows
    repeated at the end (duplicates of earlier timestamps)."""
    text = insight_report(["X.P1", "X.P2"], datetime(2024, 3, 10), 16).decode()
    lines = text.split("\r\n")
    rows = [i for i, line in enumerate(lines) if line.startswith('"3/10/2024"')]
    lines[rows[-1] + 1 : rows[-1] + 1] = [lines[i] for i in rows[:4]]
    path = folder / "spring.csv"
    path.write_text("\r\n".join(lines))
    return path


def test_import_shows_each_files_rejected_rows_and_warnings_and_counts_them(
    run, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    spring = _spring_forward_backfill(tmp_path)
    truncated = tmp_path / "truncated.csv"
    truncated.write_bytes(
        (DATA / "CONSTRUCTED_siemens_insight_truncated_no_footer.csv").read_bytes()
    )
    result = run("import", str(spring), str(truncated))
    assert result.exit_code == 0, result.output
    out = result.output
    assert (
        f"{spring}: 4 rows rejected — line 17: nonexistent local time 2024-03-10 02:00:00 in"
        " America/Chicago; line 18: nonexistent local time 2024-03-10 02:15:00 in"
        " America/Chicago; line 19: nonexistent local time 2024-03-10 02:30:00 in"
        " America/Chicago (and 1 more)"
    ) in out
    assert f"{spring}: 4 duplicate timestamp row(s): the later row wins for each point" in out
    assert f"{truncated}: no End of Report footer — file may be incomplete" in out
    assert f"{truncated}: 1 rows rejected — line 13:" in out
    assert out.splitlines()[-1] == (
        "imported 2 files: 2 ingested, 0 duplicate, 0 failed, 0 skipped;"
        " 33 readings (33 new, 0 changed), 5 rejected rows, 2 warnings"
    )


def test_import_of_a_folder_skips_what_is_no_report_with_a_line_each(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "drop"
    folder.mkdir()
    (folder / "site.toml").write_text('[[buildings]]\ncode = "X"\n')
    (folder / "README").write_text("Reports from the BAS, exported every night.\n")
    (folder / "old.csv.error").write_text("old.csv could not be ingested\n")
    (folder / "good.csv").write_bytes(insight_report(["X.P1"], datetime(2024, 1, 1), 4))
    result = run("import", str(folder))
    assert result.exit_code == 0, result.output
    for name in ("site.toml", "README"):
        line = f"skipped {folder / name}: not a trend report or point export"
        assert result.output.count(line) == 1, result.output
    assert result.output.count(f"skipped {folder / 'old.csv.error'}: a failure note") == 1
    assert "failed" not in result.output.replace("0 failed", "")
    assert "1 ingested, 0 duplicate, 0 failed, 3 skipped" in result.output


def test_import_of_the_examples_folder_succeeds(run) -> None:  # type: ignore[no-untyped-def]
    result = run("import", str(Path(__file__).parent.parent / "examples"))
    assert result.exit_code == 0, result.output
    assert "skipped" in result.output and "site.toml: not a trend report" in result.output
    assert "2 ingested, 0 duplicate, 0 failed, 1 skipped" in result.output
    assert "points (" in result.output.splitlines()[-1]


def test_status_shows_an_exports_points_rejected_rows_and_local_committed_times(
    run, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    examples = Path(__file__).parent.parent / "examples"
    assert run("import", str(examples / "evans_point_definitions.csv")).exit_code == 0
    assert run("import", str(_spring_forward_backfill(tmp_path))).exit_code == 0
    human = run("status")
    assert human.exit_code == 0, human.output
    lines = human.output.splitlines()
    export = next(line for line in lines if "evans_point_definitions.csv" in line)
    assert re.search(r"\d+ points \(\d+ new, 0 changed\)", export), export
    assert not re.search(r"\b0 points\b", export), export
    spring = next(line for line in lines if "spring.csv" in line)
    assert "24 readings (24 new, 0 changed), 4 rejected rows" in spring, spring
    stamp = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d[+-]\d\d:\d\d"
    assert re.match(rf"^  {stamp}  ingested", spring), spring
    data = json.loads(run("status", "--json").output)
    first = data["last_files"][0]
    for key in ("ingested_at", "committed_at"):  # when its transaction began, and committed
        assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.?\d*[+-]\d\d:\d\d$", first[key])
    assert first["ingested_at"] <= first["committed_at"]
    export_row = data["last_files"][1]
    assert export_row["points"] > 0 and export_row["points_new"] == export_row["points"]


def test_status_wait_times_out_clearly_when_no_daemon_takes_the_backlog(
    run, spool_dir: Path
) -> None:  # type: ignore[no-untyped-def]
    (spool_dir / "incoming" / "siemens").mkdir(parents=True)
    (spool_dir / "incoming" / "siemens" / "waiting.csv").write_bytes(
        insight_report(["X.P1"], datetime(2024, 1, 1), 4)
    )
    result = run("status", "--wait", "1")
    assert result.exit_code == 1, result.output
    assert (
        "timed out after 1 s: 1 file still waits in incoming/ (is the daemon running?"
        in result.output
    )


def test_import_of_a_report_cut_inside_its_last_value_changes_no_stored_value(
    run, tmp_path: Path, database_url: str
) -> None:  # type: ignore[no-untyped-def]
    full = insight_report(["X.OAT"], datetime(2025, 7, 1), 4, value=lambda r, c: f"6{r}.3")
    (tmp_path / "full.csv").write_bytes(full)
    assert run("import", str(tmp_path / "full.csv")).exit_code == 0
    cut = tmp_path / "cut.csv"
    cut.write_bytes(full[: full.rindex(b"63.3") + 2])  # ends `"63`: the footer is gone too
    result = run("import", str(cut))
    assert result.exit_code == 0, result.output
    assert (
        f"{cut}: 1 rows rejected — line 11: the file ends inside this row (no newline, no End of "
        "Report footer): the export was cut short; the row is not loaded"
    ) in result.output
    assert "3 readings (0 new, 0 changed)" in result.output
    assert "stored values changed" not in result.output
    with psycopg.connect(database_url) as conn:
        values = conn.execute("SELECT value FROM readings ORDER BY ts").fetchall()
    assert values == [(60.3,), (61.3,), (62.3,), (63.3,)]
