"""A NUL anywhere in a report or export, not only in the start the content sniffing looks at, is
refused by the parser, naming its line: PostgreSQL text cannot hold one (issue 21, item 13)."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import click
import psycopg
import pytest
from click.testing import CliRunner
from helpers import Daemon, files_under, insight_report, wait_until

from energy_ingest.cli import main
from energy_ingest.formats.source import BLOCK, HEAD_BYTES

START = datetime(2024, 3, 1)
NUL = "\x00"


def _nul_line(data: bytes) -> int:
    """The 1-based line of the first NUL, checking that it is past what is sniffed."""
    at = data.index(b"\x00")
    assert at > HEAD_BYTES, "the NUL must lie beyond the sniffed start of the file"
    return data.count(b"\n", 0, at) + 1


def _crlf(lines: list[str]) -> bytes:
    return ("\r\n".join(lines) + "\r\n").encode()


def siemens_point_name() -> bytes:
    names = [f"HUL.AHU{i:04}.SUPPLY.AIR.TEMPERATURE.SETPOINT" for i in range(1500)]
    names[-1] = "HUL.AHU1499.SUP" + NUL + "PLY.AIR"
    return insight_report(names, START, 2)


def siemens_enum_label() -> bytes:
    def value(r: int, c: int) -> str:
        if c == 1:
            return f"{55 + r % 10}.5"
        return ("ON" + NUL if r == 2501 else "ON") if r % 2 else "OFF"

    return insight_report(["HUL.AHU1.FAN", "HUL.AHU1.SAT"], START, 3000, value=value)


def _alc_time(r: int) -> str:
    return f"{START + timedelta(minutes=15 * r):%Y-%m-%d %H:%M:%S}"


def alc_wide_value() -> bytes:
    lines = ['"Time","#ahu-1/sa_temp","#ahu-1/fan"']
    lines += [
        f'"{_alc_time(r)}","{55 + r % 10}.2{NUL if r == 2500 else ""}","On"' for r in range(3000)
    ]
    return _crlf(lines)


def alc_long_name() -> bytes:
    lines = ['"Trend","Time","Value"']
    for r in range(3000):
        trend = "#ahu-1/sa" + NUL + "_temp" if r == 2500 else "#ahu-1/sa_temp"
        lines.append(f'"{trend}","{_alc_time(r)}","{55 + r % 10}.2"')
    return _crlf(lines)


def point_definitions() -> bytes:
    lines = ['""']
    for i in range(400):
        descriptor = "SUPPLY" + NUL + " AIR" if i == 350 else "SUPPLY AIR"
        lines += [
            f'"Point System Name:","HUL.AHU{i}.SAT"',
            f'"Point Name:","HUL.AHU{i}.SAT"',
            '"Point Type:","LAI"',
            f'"Descriptor:","{descriptor}"',
            '"Panel Name:","MBC12"," (HULINGS)"',
            '"Engineering Units:","DEG F"',
            '"Informational Text:","<< No Text Defined >>"',
            '""',
            '" ' + "*" * 80 + '"',
            '""',
        ]
    lines.append('" ' + "*" * 32 + " End of Report " + "*" * 33 + '"')
    return _crlf(lines)


def points_list() -> bytes:
    lines = ['"Location","Control Program","Name","Type","Offset / Polarity","Exp:Num","I/O Type"']
    for r in range(1000):
        name = "Setpoint / Cool" + NUL + "ing" if r == 800 else f"Setpoint {r}"
        lines.append(
            f'"/Carleton College/Hulings Hall/Facility Summary/Basement","HUL-FCU2-RM B{r}",'
            f'"{name}","BAV","" ,"" ,"" '
        )
    return _crlf(lines)


# (file name, spool source folder, content)
CASES: dict[str, tuple[str, Callable[[], bytes]]] = {
    "siemens-point-name": ("siemens", siemens_point_name),
    "siemens-enum-label": ("siemens", siemens_enum_label),
    "alc-wide-value-cell": ("alc", alc_wide_value),
    "alc-long-trend-name": ("alc", alc_long_name),
    "siemens-point-definition-record": ("siemens", point_definitions),
    "alc-points-list-row": ("alc", points_list),
}


@pytest.fixture
def run(database_url: str, spool_dir: Path):  # type: ignore[no-untyped-def]
    def invoke(*args: str) -> click.testing.Result:
        env = {"ENERGY_DATABASE_URL": database_url, "ENERGY_SPOOL_DIR": str(spool_dir)}
        return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)

    return invoke


def _counts(url: str) -> tuple[int, int, int]:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT (SELECT count(*) FROM files), (SELECT count(*) FROM readings),"
            " (SELECT count(*) FROM points)"
        ).fetchone()
    assert row is not None
    return row


@pytest.mark.parametrize("case", CASES)
def test_check_refuses_a_nul_past_the_sniffed_start_and_names_its_line(
    case: str, tmp_path: Path
) -> None:
    data = CASES[case][1]()
    path = tmp_path / f"{case}.csv"
    path.write_bytes(data)
    result = CliRunner().invoke(main, ["check", str(path)])
    assert result.exit_code == 1, result.output
    assert f"ERROR {path} line {_nul_line(data)}: " in result.output
    assert "NUL (0x00)" in result.output and "export" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("where", ["in a later block", "on a line across two blocks"])
def test_the_line_and_column_of_a_nul_are_right_past_the_first_block_read(
    where: str, tmp_path: Path
) -> None:
    data = bytearray(insight_report(["HUL.AHU1.SAT", "HUL.AHU1.RAT"], START, 60_000))
    assert len(data) > 2 * BLOCK
    # The first byte of the second block read, inside a line the first block began; or well
    # inside the second block, so that the lines of the first are counted.
    at = BLOCK if where == "on a line across two blocks" else BLOCK + 1000
    while data[at] in b"\r\n" or data[at - 1] in b"\r\n":
        at += 1
    data[at] = 0
    start = data.rfind(b"\n", 0, at) + 1
    column = at - start + 1
    path = tmp_path / "long.csv"
    path.write_bytes(bytes(data))
    result = CliRunner().invoke(main, ["check", str(path)])
    assert result.exit_code == 1
    line = data.count(b"\n", 0, start) + 1
    assert f"ERROR {path} line {line}: a NUL (0x00) character in column {column}, " in result.output


@pytest.mark.parametrize("case", CASES)
def test_import_refuses_a_nul_past_the_sniffed_start_and_stores_nothing(
    case: str, run, tmp_path: Path, database_url: str
) -> None:  # type: ignore[no-untyped-def]
    data = CASES[case][1]()
    path = tmp_path / f"{case}.csv"
    path.write_bytes(data)
    before = _counts(database_url)
    result = run("import", str(path))
    assert result.exit_code == 1, result.output
    assert f"failed: {path} line {_nul_line(data)}: " in result.output
    assert "NUL (0x00)" in result.output
    assert "the database refused it" not in result.output
    assert _counts(database_url) == before


def test_the_daemon_sets_files_with_a_nul_aside_with_their_line_and_stores_nothing(
    daemons: Callable[..., Daemon], spool_dir: Path, database_url: str
) -> None:
    lines = {}
    for case, (source, make) in CASES.items():
        data = make()
        lines[case] = _nul_line(data)
        target = spool_dir / "incoming" / source / f"{case}.csv"
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = spool_dir / ".tmp" / f"{case}.part"
        tmp.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_bytes(data)
        os.rename(tmp, target)
    d = daemons()
    notes = lambda: [p for p in files_under(spool_dir / "failed") if p.suffix == ".error"]  # noqa: E731
    wait_until(lambda: len(notes()) == len(CASES), what="every file set aside in failed/")
    with psycopg.connect(database_url) as conn:
        ledger = dict(conn.execute("SELECT name, status || ': ' || error FROM files").fetchall())
        readings = conn.execute("SELECT count(*) FROM readings").fetchone()
    assert readings == (0,)
    for case in CASES:
        row = ledger[f"{case}.csv"]
        assert row.startswith("failed: ") and f" line {lines[case]}: a NUL (0x00) character" in row
        note = (spool_dir / "failed" / CASES[case][0] / f"{case}.csv.error").read_text()
        assert f" line {lines[case]}: a NUL (0x00) character" in note
    assert files_under(spool_dir / "archive") == []
    assert d.terminate() == 0
