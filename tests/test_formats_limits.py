"""Limits that keep parsing bounded: text states per point and file, kept rejects, line length."""

from __future__ import annotations

import io
import tracemalloc
from datetime import datetime, timedelta

import pytest
from formats_gen import KEY, Variant, insight

from energy_ingest.errors import ParseError
from energy_ingest.formats import parse
from energy_ingest.formats.report import (
    MAX_FILE_STATES,
    MAX_POINTS,
    MAX_REJECTS,
    MAX_STATE_CHARS,
    MAX_STATES,
    Reject,
)
from energy_ingest.formats.source import MAX_LINE_BYTES, Lines

T0 = datetime(2024, 1, 8)
LONG = MAX_LINE_BYTES + 10


def times(n: int) -> list[datetime]:
    return [T0 + timedelta(minutes=15 * i) for i in range(n)]


def first_data_line(points: int) -> int:
    """Key, point lines, 3 meta lines, a blank line and the header come first."""
    return points + 7


def replace_line(data: bytes, number: int, text: bytes, newline: bytes = b"\r\n") -> bytes:
    lines = data.split(newline)
    lines[number - 1] = text
    return newline.join(lines)


def alc_long(rows: list[tuple[str, str, str]]) -> bytes:
    lines = ['"Trend","Time","Value"'] + [f'"{p}","{t}","{v}"' for p, t, v in rows]
    return ("\r\n".join(lines) + "\r\n").encode()


def iso(i: int) -> str:
    return f"{T0 + timedelta(minutes=15 * i):%Y-%m-%d %H:%M:%S}"


# Text states ----------------------------------------------------------------------------------


def test_a_point_keeps_its_first_max_states_labels_and_later_new_ones_become_rejected_rows() -> (
    None
):
    n = MAX_STATES + 40
    labels = [f"S{i}" for i in range(n)]
    cells = [[labels[i], f"{i}.5"] for i in range(n)] + [[labels[3], "1.0"]]
    report = parse(insight(["P.TEXT", "P.NUM"], times(n + 1), cells, Variant()), chunk_rows=64)
    table = report.table()
    assert report.points["P.TEXT"].states == labels[:MAX_STATES]
    text = table[table["point"] == "P.TEXT"]
    # a label the point already has still loads after the limit was reached
    assert text["state"].tolist() == [*labels[:MAX_STATES], labels[3]]
    assert (table["point"] == "P.NUM").sum() == n + 1  # the lines' other cells still load
    first = first_data_line(2)
    assert [r.line for r in report.rejects] == [first + i for i in range(MAX_STATES, n)]
    reason = report.rejects[0].reason
    assert "'S256'" in reason and "'P.TEXT'" in reason and f"{MAX_STATES} distinct" in reason
    assert "trend it as a number" in reason
    assert report.rejected == 40
    assert report.points["P.TEXT"].refused == 40 and report.refused == 40
    assert report.points["P.TEXT"].values == MAX_STATES + 1
    assert any("'P.TEXT': 40 text value(s) not stored" in w for w in report.warnings)


def test_several_refused_cells_on_one_line_make_one_rejected_row() -> None:
    n = MAX_STATES + 5
    cells = [[f"A{i}", f"B{i}", f"C{i}", "7"] for i in range(n)]
    report = parse(insight(["A", "B", "C", "N"], times(n), cells, Variant()))
    report.table()
    first = first_data_line(4)
    assert [r.line for r in report.rejects] == [first + i for i in range(MAX_STATES, n)]
    assert report.rejects[0].reason.endswith("(and 2 more such cell(s) on this line)")
    assert report.rejected == 5 and report.refused == 15
    assert report.points["N"].values == n


def test_rows_refused_for_labels_are_counted_past_the_kept_rejects() -> None:
    n = MAX_STATES + MAX_REJECTS + 500
    cells = [[f"S{i}"] for i in range(n)]
    report = parse(insight(["P"], times(n), cells, Variant()))
    report.table()
    assert report.rejected == MAX_REJECTS + 500
    assert len(report.rejects) == MAX_REJECTS
    assert report.rejects[-1].line == first_data_line(1) + MAX_STATES + MAX_REJECTS - 1
    assert report.points["P"].states == [f"S{i}" for i in range(MAX_STATES)]


def test_the_state_limit_applies_per_trend_in_the_alc_long_layout() -> None:
    n = MAX_STATES + 3
    rows = [("#a/mode", iso(i), f"M{i}") for i in range(n)]
    rows += [("#b/fan", iso(i), "On" if i % 2 else "Off") for i in range(n)]
    report = parse(alc_long(rows), chunk_rows=50)
    report.table()
    assert report.format == "alc-long"
    assert report.points["#a/mode"].states == [f"M{i}" for i in range(MAX_STATES)]
    assert report.points["#b/fan"].states == ["Off", "On"]
    assert [r.line for r in report.rejects] == [2 + i for i in range(MAX_STATES, n)]
    assert "'#a/mode'" in report.rejects[0].reason
    assert report.points["#b/fan"].values == n


def test_a_text_longer_than_max_state_chars_is_refused_and_the_short_ones_kept() -> None:
    long_label = "X" * (MAX_STATE_CHARS + 1)
    cells = [["ON"], [long_label], ["OFF"], ["X" * MAX_STATE_CHARS]]
    report = parse(insight(["P"], times(4), cells, Variant()))
    report.table()
    assert report.points["P"].states == ["ON", "OFF", "X" * MAX_STATE_CHARS]
    assert len(report.rejects) == 1
    assert report.rejects[0].line == first_data_line(1) + 1
    assert f"text of {MAX_STATE_CHARS + 1} characters" in report.rejects[0].reason


def test_a_file_keeps_at_most_max_file_states_labels_in_all() -> None:
    points = MAX_FILE_STATES // MAX_STATES + 1
    names = [f"P{p}" for p in range(points)]
    cells = [[f"L{p}.{r}" for p in range(points)] for r in range(MAX_STATES)]
    report = parse(insight(names, times(MAX_STATES), cells, Variant()))
    report.table()
    assert sum(len(info.states) for info in report.points.values()) == MAX_FILE_STATES
    last = report.points[names[-1]]
    assert last.states == [] and last.refused == MAX_STATES
    assert report.rejected == MAX_STATES  # one cell on every line
    assert f"{MAX_FILE_STATES:,} distinct text states" in report.rejects[0].reason


# Points ----------------------------------------------------------------------------------------


def test_an_alc_long_file_with_more_than_max_points_trends_is_a_parse_error_at_the_first_extra() -> (
    None
):
    rows = [(f"#t{i}", iso(i % 96), "1") for i in range(MAX_POINTS + 1)]
    with pytest.raises(ParseError) as caught:
        parse(alc_long(rows), name="trends.csv")
    assert caught.value.line == MAX_POINTS + 2  # after the header line
    assert f"more than {MAX_POINTS:,} points in one file" in str(caught.value)


def test_a_siemens_report_declaring_more_than_max_points_is_a_parse_error() -> None:
    points = [f'"Point_{p}:","P{p}","","15 minutes"' for p in range(1, MAX_POINTS + 2)]
    data = ("\r\n".join([f'"{KEY}"', *points, '"<>Date","Time","Point_1"']) + "\r\n").encode()
    with pytest.raises(ParseError) as caught:
        parse(data, name="huge.csv")
    assert caught.value.line == MAX_POINTS + 2
    assert "more than" in str(caught.value)


# Rejects ---------------------------------------------------------------------------------------


def test_a_report_keeps_the_first_max_rejects_rejected_rows_and_counts_them_all() -> None:
    n = MAX_REJECTS + 1500
    data = insight(["A", "B"], times(n), [["1", "2"] for _ in range(n)], Variant())
    first = first_data_line(2)
    lines = data.split(b"\r\n")
    for i in range(3, n):  # every row after the third loses a field
        lines[first + i - 1] = lines[first + i - 1].rsplit(b",", 1)[0]
    report = parse(b"\r\n".join(lines))
    assert len(report.table()) == 6
    assert report.rejected == n - 3
    assert len(report.rejects) == MAX_REJECTS
    assert report.rejects[0] == Reject(first + 3, "row has 3 fields, header has 4")
    assert report.rejects[-1].line == first + 3 + MAX_REJECTS - 1


# Line length ----------------------------------------------------------------------------------


@pytest.mark.parametrize("newline", ["\r\n", "\n", "\r"], ids=["CRLF", "LF", "CR"])
def test_a_data_line_longer_than_max_line_bytes_is_a_rejected_row(newline: str) -> None:
    cells = [["1.0", "2.0"] for _ in range(4)]
    data = insight(["A", "B"], times(4), cells, Variant(newline=newline))
    at = first_data_line(2) + 2
    long_row = b'"1/8/2024","00:30:00",' + b'"1.0",' * (LONG // 6)
    data = replace_line(data, at, long_row, newline.encode())
    report = parse(data)
    assert report.table()["ts"].nunique() == 3  # the rows before and after it still load
    assert [r.line for r in report.rejects] == [at]
    assert f"longer than the {MAX_LINE_BYTES:,}" in report.rejects[0].reason
    assert report.footer is True


def test_a_line_with_an_unterminated_quote_and_no_line_end_is_a_rejected_row() -> None:
    data = insight(["A", "B"], times(2), [["1.0", "2.0"]] * 2, Variant(footer=False))
    data += b'"1/8/2024","00:30:00","1.0' + b",x" * (LONG // 2)
    report = parse(data)
    assert len(report.table()) == 4
    assert [r.line for r in report.rejects] == [first_data_line(2) + 2]


def test_a_long_line_is_counted_without_holding_it_in_memory() -> None:
    data = b"short\n" + b"1.0," * (20 * MAX_LINE_BYTES // 4) + b"\nnext\n"
    raw = io.BytesIO(data)
    tracemalloc.start()
    try:
        lines = Lines(raw, "utf-8-sig")
        got = [(line, lines.long) for line in lines]
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert got == [("short", 0), ("", 20 * MAX_LINE_BYTES), ("next", 0)]
    assert peak < 8 * MAX_LINE_BYTES  # a few blocks, not the 20 MiB line


def test_a_header_line_longer_than_max_line_bytes_is_a_parse_error_with_its_line_number() -> None:
    data = insight(["A", "B"], times(2), [["1", "2"]] * 2, Variant())
    data = replace_line(data, 3, b'"Point_2:","B","' + b"x" * LONG + b'","15 minutes"')
    with pytest.raises(ParseError) as caught:
        parse(data, name="wide.csv")
    assert caught.value.line == 3
    assert str(caught.value).startswith("wide.csv line 3: line of ")
    assert "in the header of report 1" in str(caught.value)


def test_a_report_header_over_max_preamble_chars_is_a_parse_error() -> None:
    filler = [b'"Note:","' + b"x" * (MAX_LINE_BYTES - 20) + b'"'] * 17  # 17 MiB, no header yet
    data = insight(["A"], times(2), [["1"], ["2"]], Variant())
    lines = data.split(b"\r\n")
    data = b"\r\n".join([lines[0], *filler, *lines[1:]])
    with pytest.raises(ParseError) as caught:
        parse(data, name="big-header.csv")
    assert caught.value.line == 1
    assert "no <>Date data header within" in str(caught.value)


def wide_alc(rows: list[str]) -> bytes:
    return ("\r\n".join(['"Date/Time","#a/temp","#b/temp"', *rows]) + "\r\n").encode()


def test_an_alc_data_line_longer_than_max_line_bytes_is_a_rejected_row() -> None:
    rows = [f'"{iso(i)}","{i}","{i + 1}"' for i in range(4)]
    rows[2] = f'"{iso(2)}","1","' + "9" * LONG + '"'
    report = parse(wide_alc(rows))
    assert report.table()["ts"].nunique() == 3
    assert [r.line for r in report.rejects] == [4]
    assert f"longer than the {MAX_LINE_BYTES:,}" in report.rejects[0].reason


def test_an_alc_line_with_a_field_over_the_csv_field_limit_is_a_rejected_row() -> None:
    rows = [f'"{iso(i)}","{i}","{i + 1}"' for i in range(4)]
    rows[1] = f'"{iso(1)}","1","' + "9" * 200_000 + '"'  # under MAX_LINE_BYTES, over csv's limit
    report = parse(wide_alc(rows))
    assert report.table()["ts"].nunique() == 3
    assert [r.line for r in report.rejects] == [3]
    assert "field larger than field limit" in report.rejects[0].reason


def test_an_alc_record_spanning_lines_past_max_line_bytes_is_a_parse_error_where_it_starts() -> (
    None
):
    rows = [f'"{iso(i)}","1","2"' for i in range(3)]
    # a quote opened and closed on every line keeps one record going: the fields are short
    # (under csv's field limit), the record is not
    rows.insert(2, f'"{iso(9)}","1","2\n' + '","x\n' * (LONG // 4) + '"')
    with pytest.raises(ParseError) as caught:
        parse(wide_alc(rows), name="trend.csv")
    assert caught.value.line == 4
    assert "a double quote never closed?" in str(caught.value)


def test_a_quoted_line_break_inside_the_limit_still_reads_as_one_record() -> None:
    data = wide_alc([f'"{iso(0)}","1","2"', f'"{iso(1)}","3","4"']).replace(
        b'"#b/temp"', b'"#b/temp\r\n(deg F)"'
    )
    report = parse(data)
    assert len(report.table()) == 4
    assert len(report.points) == 2
    assert report.rejects == []
