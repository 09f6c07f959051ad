"""A file cut short (a copy that stopped, `head -c`): its last line cannot be trusted when nothing
says the file ended there — no line end after it and no end marker (Siemens' End of Report footer;
ALC exports have none). That row is rejected, never loaded: `"65` may be the start of "65.3"."""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd
import pytest
from formats_gen import Variant, insight

from energy_ingest.formats import parse
from energy_ingest.formats.report import Reject

CUT = (
    "the file ends inside this row (no newline, no End of Report footer): the export was cut "
    "short; the row is not loaded"
)
ALC_CUT = (
    "the file ends inside this row (no newline): the export was cut short; the row is not loaded"
)
ALC_OPEN_QUOTE = (
    "the file ends inside a quoted field of this row: the export was cut short; the row is not "
    "loaded"
)
T0 = datetime(2025, 7, 1, 2, 0)
TIMES = [T0 + timedelta(minutes=15 * i) for i in range(3)]
CELLS = [["64.1", "70.0"], ["64.6", "70.5"], ["65.4", "65.3"]]
LAST_LINE = 11  # the line of the third row in the reports `insight` writes for two points


def cut_after_65(data: bytes) -> bytes:
    """The report up to the "65" of its last value, "65.3" (the footer, if any, is gone)."""
    return data[: data.rindex(b"65.3") + 2]


@pytest.mark.parametrize("newline", ["\r\n", "\n", "\r"])
@pytest.mark.parametrize("quoted", [True, False])
def test_a_siemens_report_cut_inside_the_last_value_rejects_that_row(
    quoted: bool, newline: str
) -> None:
    data = cut_after_65(insight(["A", "B"], TIMES, CELLS, Variant(quoted=quoted, newline=newline)))
    report = parse(data, tz="UTC")
    table = report.table()
    assert sorted(set(table["ts"])) == [pd.Timestamp(t, tz="UTC") for t in TIMES[:2]]
    assert 65.0 not in table["value"].tolist()
    assert report.rejects == [Reject(LAST_LINE, CUT)]
    assert report.rejected == 1
    assert report.footer is False
    assert "no End of Report footer — file may be incomplete" in report.warnings


def test_a_siemens_report_cut_inside_a_short_last_row_gives_the_same_reason() -> None:
    data = insight(["A", "B"], TIMES, CELLS, Variant())
    data = data[: data.rindex(b'"65.4"') + 3]
    report = parse(data, tz="UTC")
    assert len(report.table()) == 4
    assert report.rejects == [Reject(LAST_LINE, CUT)]


def test_the_last_appended_report_cut_short_rejects_only_its_last_row() -> None:
    data = cut_after_65(insight(["A", "B"], TIMES, CELLS, Variant(reports=2)))
    report = parse(data, tz="UTC")
    assert report.reports == 2
    assert len(set(report.table()["ts"])) == 2
    assert [r.reason for r in report.rejects] == [CUT]


def test_a_complete_siemens_report_without_a_final_newline_loads_its_last_row() -> None:
    data = insight(["A", "B"], TIMES, CELLS, Variant()).rstrip(b"\r\n")
    report = parse(data, tz="UTC")
    assert report.footer is True
    assert report.rejects == []
    assert len(report.table()) == 6


@pytest.mark.parametrize("newline", ["\r\n", "\n", "\r"])
def test_a_siemens_report_without_footer_whose_last_row_ends_with_a_newline_loads_it(
    newline: str,
) -> None:
    data = insight(["A", "B"], TIMES, CELLS, Variant(footer=False, newline=newline))
    assert data.endswith(newline.encode())
    report = parse(data, tz="UTC")
    assert report.table()["value"].tolist()[-1] == 65.3
    assert report.rejects == []
    assert "no End of Report footer — file may be incomplete" in report.warnings


# ALC WebCTRL: no end marker, so a last line without a line end is never trusted --------------

WIDE = '"Time","A","B"\r\n"7/1/2025 02:00:00","64.1","70.0"\r\n"7/1/2025 02:15:00","65.4","65.3"'
LONG = (
    '"Trend","Time","Value"\r\n"A","7/1/2025 02:00:00","64.1"\r\n"B","7/1/2025 02:00:00","70.0"\r\n'
    '"A","7/1/2025 02:15:00","65.4"\r\n"B","7/1/2025 02:15:00","65.3"'
)


@pytest.mark.parametrize(("text", "line"), [(WIDE, 3), (LONG, 5)], ids=["wide", "long"])
@pytest.mark.parametrize("quoted", [True, False])
def test_an_alc_export_cut_inside_its_last_line_rejects_that_row(
    text: str, line: int, quoted: bool
) -> None:
    if not quoted:
        text = text.replace('"', "")
    data = cut_after_65(text.encode())
    report = parse(data, tz="UTC")
    assert sorted(report.table()["value"]) == ([64.1, 65.4, 70.0] if line == 5 else [64.1, 70.0])
    assert report.rejects == [Reject(line, ALC_CUT)]
    assert report.rejected == 1


def test_an_alc_export_whose_last_line_ends_with_a_newline_loads_it() -> None:
    report = parse((WIDE + "\r\n").encode(), tz="UTC")
    assert sorted(report.table()["value"]) == [64.1, 65.3, 65.4, 70.0]
    assert report.rejects == []


def test_an_alc_export_ending_inside_a_quoted_field_rejects_that_row() -> None:
    # the quote of "65 never closes: with or without a final newline the row is incomplete
    for data in (WIDE[:-2] + "\r\n", WIDE[:-2] + "\r\n\r\n"):
        report = parse(data.encode(), tz="UTC")
        assert 65.0 not in report.table()["value"].tolist()
        assert report.rejects == [Reject(3, ALC_OPEN_QUOTE)]
