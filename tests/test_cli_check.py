"""`energy-ingest check`: parse-only summaries per file, JSON lines, exit status, no tracebacks."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from energy_ingest.cli import main
from energy_ingest.formats.report import MAX_REJECTS, MAX_STATES

DATA = Path(__file__).parent / "data"
GOOD = "CONSTRUCTED_siemens_insight_boliou1_11-30-18_02-00.csv"
TRUNCATED = "CONSTRUCTED_siemens_insight_truncated_no_footer.csv"
KEYS = ["file", "format", "points", "rows", "values", "missing", "rejected", "refused", "first_ts",
        "last_ts", "footer", "errors"]  # fmt: skip


def test_check_json_prints_one_object_per_file_with_the_documented_keys(tmp_path: Path) -> None:
    (tmp_path / "siemens" / "deep").mkdir(parents=True)
    shutil.copy(DATA / GOOD, tmp_path / "siemens" / "deep" / GOOD)
    shutil.copy(DATA / TRUNCATED, tmp_path / TRUNCATED)
    result = CliRunner().invoke(main, ["check", "--json", str(tmp_path)])
    assert result.exit_code == 0, result.output
    objects = [json.loads(line) for line in result.output.splitlines()]
    assert [list(o) for o in objects] == [KEYS, KEYS]
    by_name = {Path(o["file"]).name: o for o in objects}
    good = by_name[GOOD]
    assert good["format"] == "siemens-insight"
    assert (good["points"], good["rows"], good["values"], good["rejected"]) == (6, 96, 463, 0)
    assert good["missing"] == {"no_data": 98, "data_loss": 15, "blank": 0, "error": 0}
    assert good["first_ts"] == "2018-11-29T00:00:00-06:00"
    assert good["last_ts"] == "2018-11-29T23:45:00-06:00"
    assert good["footer"] is True and good["errors"] == []
    assert by_name[TRUNCATED]["footer"] is False
    assert by_name[TRUNCATED]["rejected"] == 1


def test_check_exits_1_and_names_file_and_line_when_a_file_would_not_load(tmp_path: Path) -> None:
    shutil.copy(DATA / GOOD, tmp_path / GOOD)
    (tmp_path / "notes.csv").write_text("hello,world\n")
    result = CliRunner().invoke(main, ["check", str(tmp_path)])
    assert result.exit_code == 1
    assert f"{GOOD}: siemens-insight, 6 points, 96 rows, 463 values" in result.output
    assert f"ERROR {tmp_path / 'notes.csv'} line 1: not a recognised report" in result.output
    assert "Traceback" not in result.output


def test_check_human_summary_shows_warnings_and_rejected_lines() -> None:
    result = CliRunner().invoke(main, ["check", str(DATA / TRUNCATED)])
    assert result.exit_code == 0
    assert "NO footer" in result.output
    assert "warning: no End of Report footer — file may be incomplete" in result.output
    assert (
        "rejected line 13: the file ends inside this row (no newline, no End of Report footer): "
        "the export was cut short; the row is not loaded"
    ) in result.output


def test_check_counts_every_rejected_row_and_the_refused_text_values(tmp_path: Path) -> None:
    # one text point with a new label on every row: the rows past MAX_STATES labels are
    # rejected, more of them than the report keeps
    rows = MAX_STATES + MAX_REJECTS + 200
    lines = [
        '"Key            Name:Suffix"',
        '"Point_1:","P","","15 minutes"',
        '"<>Date","Time","Point_1"',
    ]
    lines += [
        f'"1/{1 + r // 96}/2024","{r % 96 // 4:02}:{r % 4 * 15:02}:00","S{r}"' for r in range(rows)
    ]
    path = tmp_path / "states.csv"
    path.write_text("\r\n".join(lines) + "\r\n")
    result = CliRunner().invoke(main, ["check", "--json", str(path)])
    summary = json.loads(result.output)
    assert (summary["rejected"], summary["refused"]) == (MAX_REJECTS + 200, MAX_REJECTS + 200)
    assert summary["values"] == MAX_STATES
    human = CliRunner().invoke(main, ["check", str(path)]).output
    assert (
        f"{MAX_REJECTS + 200} rejected ({MAX_REJECTS + 200} text values over the state limits)"
        in human
    )
    assert f"… and {MAX_REJECTS + 195} more rejected rows" in human


def test_check_tz_option_changes_the_offsets(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["check", "--json", "--tz", "UTC", str(DATA / GOOD)])
    assert json.loads(result.output)["first_ts"] == "2018-11-29T00:00:00+00:00"
    bad = CliRunner().invoke(main, ["check", "--tz", "Mars/Olympus", str(DATA / GOOD)])
    assert bad.exit_code == 2
    assert "not an IANA time zone" in bad.output


def test_check_uses_energy_timezone_by_default() -> None:
    result = CliRunner().invoke(
        main, ["check", "--json", str(DATA / GOOD)], env={"ENERGY_TIMEZONE": "America/New_York"}
    )
    assert json.loads(result.output)["first_ts"] == "2018-11-29T00:00:00-05:00"


def test_check_runs_as_a_real_command_over_every_sample() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "energy_ingest.cli", "check", "--json", str(DATA)],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 1  # two samples are no report (an HTTP request, a SOAP dump)
    objects = [json.loads(line) for line in out.stdout.splitlines()]
    assert len(objects) == len(list(DATA.iterdir()))
    failed = sorted(Path(o["file"]).name for o in objects if o["errors"])
    assert failed == [
        "CONSTRUCTED_lucid_style_vbs_upload_request_INFERRED.http",
        "CONSTRUCTED_webctrl_soap_getTrendData_return_values.txt",
    ]
    exports = {Path(o["file"]).name: o for o in objects if "records" in o}
    assert {n: (o["format"], o["records"], o["rejected"]) for n, o in exports.items()} == {
        "REAL_siemens_point_definition_report_hulings_goodhue_excerpt.csv": (
            "siemens-point-definitions",
            (DATA / "REAL_siemens_point_definition_report_hulings_goodhue_excerpt.csv")
            .read_bytes()
            .count(b'"Point System Name:"'),
            0,
        ),
        "REAL_webctrl_points_list_report_accuweather_excerpt.csv": ("alc-points-list", 7, 0),
        "REAL_webctrl_points_list_report_hulings_excerpt.csv": ("alc-points-list", 38, 0),
    }
    assert (
        "Engineering Units"
        in exports["REAL_siemens_point_definition_report_hulings_goodhue_excerpt.csv"][
            "fields_seen"
        ]
    )
    assert "Traceback" not in out.stderr


def test_check_shows_odd_names_escaped_and_never_reads_a_fifo_or_a_link(tmp_path: Path) -> None:
    import os

    odd = os.path.join(os.fsencode(tmp_path), b"bad\xff.csv")
    shutil.copy(DATA / GOOD, odd)
    os.mkfifo(tmp_path / "pipe.csv")
    (tmp_path / "link.csv").symlink_to(DATA / GOOD)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "energy_ingest.cli",
            "check",
            str(tmp_path),
            str(tmp_path / "pipe.csv"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert f"{tmp_path}/bad\\xff.csv: siemens-insight, 6 points" in done.stdout
    assert f"ERROR {tmp_path}/pipe.csv: not a regular file" in done.stdout
    assert f"skipped {tmp_path}/link.csv: a symbolic link" in done.stderr
    assert "Traceback" not in done.stderr
