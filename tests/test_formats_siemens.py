"""Siemens Insight: one test per SIEMENS_INSIGHT.md §1.11 checklist item, plus DST and the contract."""

from __future__ import annotations

import io
from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from formats_gen import FOOTER, KEY, Variant, expected, insight, tidy

from energy_ingest.errors import ParseError
from energy_ingest.formats import parse
from energy_ingest.formats.report import COLUMNS, Reject, empty_chunk
from energy_ingest.formats.siemens import CUT_ROW

DATA = Path(__file__).parent / "data"
T0 = datetime(2024, 1, 8)
TIMES = [T0 + timedelta(minutes=15 * i) for i in range(4)]
NAMES = ["BLDG.AHU1.SAT", "BLDG.VAV 1:ROOM TEMP", "BLDG.FAN.S"]
CELLS = [
    ["55.10", "70.00", "ON"],
    [" -0.37", "No Data", "OFF"],
    ["-0.00", "Data Loss", "P2 LEAD"],
    ["12", "", "ON"],
]


def utc(local: datetime, offset_hours: int = 6) -> pd.Timestamp:
    return pd.Timestamp(local + timedelta(hours=offset_hours), tz="UTC")


def table_of(data: bytes, **kw: object) -> pd.DataFrame:
    return tidy(parse(data, **kw).table())  # type: ignore[arg-type]


def base_expected() -> pd.DataFrame:
    return expected(NAMES, [utc(t) for t in TIMES], CELLS)


def lines(text: str) -> bytes:
    return text.replace("\n", "\r\n").encode()


# 1 -------------------------------------------------------------------------------------------


def test_1_a_utf8_bom_is_stripped_and_cp1252_bytes_fall_back_with_a_warning() -> None:
    data = insight(["AHU°F", *NAMES[1:]], TIMES, CELLS, Variant(encoding="cp1252"))
    report = parse(data)
    assert next(iter(report.points)) == "AHU°F"
    assert any("cp1252" in w for w in report.warnings)
    bom = parse(insight(NAMES, TIMES, CELLS, Variant(bom=True)))
    assert list(bom.points) == NAMES
    pd.testing.assert_frame_equal(tidy(bom.table()), base_expected())


# 2 -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("newline", ["\r\n", "\n", "\r"], ids=["CRLF", "LF", "CR"])
def test_2_crlf_lf_and_cr_only_files_give_the_same_readings_and_line_numbers(newline: str) -> None:
    bad = [*CELLS[:2], ["1.0"], *CELLS[2:]]
    data = insight(NAMES, [*TIMES[:2], TIMES[1], *TIMES[2:]], bad, Variant(newline=newline))
    report = parse(data)
    pd.testing.assert_frame_equal(tidy(report.table()), base_expected())
    # Key, 3 points, 3 meta, spacer, header = 9 lines; rows on 10, 11; the short row is line 12
    assert report.rejects == [Reject(12, "row has 3 fields, header has 5")]


# 3 -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("delimiter", [",", "\t", ";", "|"])
def test_3_the_delimiter_is_sniffed_from_the_point_lines(delimiter: str) -> None:
    data = insight(NAMES, TIMES, CELLS, Variant(delimiter=delimiter))
    pd.testing.assert_frame_equal(table_of(data), base_expected())


# 4 -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("quoted", [True, False])
@pytest.mark.parametrize("pad", [True, False])
def test_4_quoted_unquoted_and_excel_padded_lines_are_all_read(quoted: bool, pad: bool) -> None:
    data = insight(NAMES, TIMES, CELLS, Variant(quoted=quoted, pad=pad))
    report = parse(data)
    pd.testing.assert_frame_equal(tidy(report.table()), base_expected())
    assert report.rejects == []
    assert report.footer is True


# 5 -------------------------------------------------------------------------------------------


def test_5_several_appended_reports_in_one_file_are_all_read() -> None:
    times = [T0 + timedelta(hours=i) for i in range(9)]
    cells = [[f"{i}.5", str(i), "ON"] for i in range(9)]
    report = parse(insight(NAMES, times, cells, Variant(reports=3)))
    assert report.reports == 3
    assert report.footer is True
    assert report.date_range == (datetime(2024, 1, 8), datetime(2024, 1, 8, 23, 59, 59))
    pd.testing.assert_frame_equal(
        tidy(report.table()), expected(NAMES, [utc(t) for t in times], cells)
    )
    assert report.rows == 9


# 6 -------------------------------------------------------------------------------------------


def test_6_point_names_are_kept_as_written_and_the_definition_is_the_last_field() -> None:
    names = ["CCHRC.DEM:CONSUMPTN HI", "W04T095BA:CTL TEMP", "AHWP-3.KWH"]
    definitions = {
        names[0]: "COV         1 minute",
        names[1]: "Trend COV (3.000)",
        names[2]: "Error:  Point not found in database.",
    }
    cells = [["1", "2", "No Data"]] * 2
    report = parse(
        insight(names, TIMES[:2], cells, Variant(five_fields=True, definitions=definitions))
    )
    assert list(report.points) == names
    for name in names:
        assert report.points[name].trend_definition == definitions[name]
        assert report.points[name].description == "DESCRIPTION"
    assert any("Error:  Point not found" in w for w in report.warnings)


# 7 -------------------------------------------------------------------------------------------


def test_7_meta_lines_are_read_by_key_in_any_order() -> None:
    text = f'''"{KEY}"
"Point_1:","A.B","","1 hour"
"Report Timings:","All Hours"
"Date Range:","2015/12/13 00:00:00 - 2015/12/19 23:59:59"
"Time Interval:","1 Hour"
""
"<>Date","Time","Point_1"
"2015/12/13","00:00:00","1"
"{FOOTER}"
'''
    report = parse(lines(text))
    assert report.interval == "1 Hour"
    assert report.interval_seconds == 3600
    assert report.date_range == (datetime(2015, 12, 13), datetime(2015, 12, 19, 23, 59, 59))


# 8 -------------------------------------------------------------------------------------------


def test_8_header_columns_are_mapped_by_point_number_not_by_position() -> None:
    text = f'''"{KEY}"
"Point_1:","FIRST","","15 minutes"
"Point_2:","SECOND","","15 minutes"
"Time Interval:","15 Minutes"
""
"<>Date","Time","Point_2","Point_9","Point_1"
"1/8/2024","00:00:00","2.0","9.0","1.0"
"{FOOTER}"
'''
    report = parse(lines(text))
    table = report.table().set_index("point")
    assert table.loc["FIRST", "value"] == 1.0
    assert table.loc["SECOND", "value"] == 2.0
    assert len(table) == 2
    assert any("'Point_9' is not a declared point" in w for w in report.warnings)


# 9 -------------------------------------------------------------------------------------------


def test_9_short_and_long_rows_are_rejected_with_line_numbers_and_blank_rows_skipped() -> None:
    text = f'''"{KEY}"
"Point_1:","A","","15 minutes"
"Point_2:","B","","15 minutes"
""
"<>Date","Time","Point_1","Point_2"
"1/8/2024","00:00:00","1","2"

"1/8/2024","00:15:00","1"
"1/8/2024","00:30:00","1","2","3"
"1/8/2024","00:45:00","1","2","",""
"{FOOTER}"
'''
    report = parse(lines(text))
    assert len(report.table()) == 4
    assert report.rejects == [
        Reject(8, "row has 3 fields, header has 4"),
        Reject(9, "row has 5 fields, header has 4"),
    ]


# 10 ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "footer",
    [f'"{FOOTER}"', FOOTER, FOOTER.strip(), "**** End of Report ****,,,"],
    ids=["quoted", "unquoted", "no-leading-space", "padded"],
)
def test_10_footer_variants_are_recognised(footer: str) -> None:
    text = f'"{KEY}"\n"Point_1:","A","","15 minutes"\n"<>Date","Time","Point_1"\n'
    text += f'"1/8/2024","00:00:00","1"\n{footer}\n'
    report = parse(lines(text))
    assert report.footer is True
    assert report.warnings == []
    assert len(report.table()) == 1


def test_10_a_truncated_file_keeps_complete_rows_rejects_the_partial_one_and_warns() -> None:
    data = insight(NAMES, TIMES, CELLS, Variant(footer=False))[:-9]  # cut inside the last row
    report = parse(data)
    assert report.footer is False
    assert "no End of Report footer — file may be incomplete" in report.warnings
    table = report.table()
    assert table["ts"].max() == utc(TIMES[2])
    assert report.rejects == [Reject(13, CUT_ROW)]


# 11 ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("date_format", "time_format"),
    [
        ("{d.month}/{d.day}/{d.year}", "{d:%H:%M:%S}"),
        ("{d:%m/%d/%Y}", "{d.hour}:{d:%M:%S}"),
        ("{d:%Y/%m/%d}", "{d:%H:%M:%S}"),
        ("{d.month}/{d.day}/{d:%y}", "{d:%H:%M:%S}"),
        ("{d.month}/{d.day}/{d.year}", "{d:%I:%M:%S %p}"),
    ],
    ids=["M/D/YYYY", "MM/DD/YYYY H:MM:SS", "YYYY/MM/DD", "M/D/YY", "12-hour"],
)
def test_11_each_date_and_time_format_is_read(date_format: str, time_format: str) -> None:
    times = [T0 + timedelta(hours=5 * i) for i in range(4)]
    data = insight(NAMES, times, CELLS, Variant(date_format=date_format, time_format=time_format))
    pd.testing.assert_frame_equal(table_of(data), expected(NAMES, [utc(t) for t in times], CELLS))


def test_11_one_date_format_is_chosen_per_file_so_day_month_is_not_guessed_per_row() -> None:
    # 13/1 only fits D/M: the whole file is D/M, so 2/1 is 2 January, not 1 February
    times = [datetime(2024, 1, 2), datetime(2024, 1, 13)]
    data = insight(
        NAMES[:1], times, [["1"], ["2"]], Variant(date_format="{d.day}/{d.month}/{d.year}")
    )
    assert table_of(data)["ts"].tolist() == [utc(t) for t in times]


# 12 ------------------------------------------------------------------------------------------


def test_12_fall_back_hour_keeps_both_copies_as_distinct_utc_instants() -> None:
    walls = [datetime(2024, 11, 3, 0, 30) + timedelta(minutes=15 * i) for i in range(6)]
    walls += [datetime(2024, 11, 3, 1) + timedelta(minutes=15 * i) for i in range(6)]
    cells = [[str(i)] for i in range(len(walls))]
    report = parse(insight(["P"], walls, cells, Variant()), tz="America/Chicago", chunk_rows=3)
    table = report.table()
    # 00:30..01:45 CDT (UTC-5), then 01:00..02:15 CST (UTC-6): 12 distinct, evenly spaced instants
    start = pd.Timestamp("2024-11-03 05:30", tz="UTC")
    assert table["ts"].tolist() == [start + pd.Timedelta(minutes=15 * i) for i in range(12)]
    assert table["value"].tolist() == [float(i) for i in range(12)]
    assert report.rows == 12
    assert report.rejects == []


def test_12_spring_forward_times_that_do_not_exist_are_rejected_with_the_reason() -> None:
    walls = [datetime(2024, 3, 10, 1, 30) + timedelta(minutes=15 * i) for i in range(8)]
    report = parse(insight(["P"], walls, [["1"]] * 8, Variant()), tz="America/Chicago")
    table = report.table()
    assert len(table) == 4  # 01:30, 01:45, 03:00, 03:15
    assert [r.line for r in report.rejects] == [10, 11, 12, 13]
    assert (
        report.rejects[0].reason == "nonexistent local time 2024-03-10 02:00:00 in America/Chicago"
    )
    assert all(r.reason.startswith("nonexistent local time 2024-03-10 02:") for r in report.rejects)


# 13 ------------------------------------------------------------------------------------------


def test_13_values_numbers_missing_kinds_and_enum_labels_with_spaces() -> None:
    report = parse(insight(NAMES, TIMES, CELLS, Variant()))
    table = tidy(report.table())
    sat = table[table["point"] == NAMES[0]]["value"].tolist()
    assert sat == [55.1, -0.37, 0.0, 12.0]
    assert report.points[NAMES[1]].missing == {"no_data": 1, "data_loss": 1, "blank": 1, "error": 0}
    assert report.points[NAMES[2]].states == ["ON", "OFF", "P2 LEAD"]
    assert report.points[NAMES[2]].values == 4
    assert table[table["point"] == NAMES[2]]["value"].isna().all()


def test_13_a_column_mixing_numbers_and_labels_keeps_both_and_warns() -> None:
    report = parse(insight(["MIX"], TIMES, [["1"], ["ON"], ["2.5"], ["OFF"]], Variant()))
    table = report.table()
    assert table["value"].tolist()[::2] == [1.0, 2.5]
    assert table["state"].tolist()[1::2] == ["ON", "OFF"]
    assert any("mixes numbers and text states" in w for w in report.warnings)


# 14 ------------------------------------------------------------------------------------------


def test_14_an_all_missing_error_point_is_kept_and_reported() -> None:
    definitions = {"DEAD": "Error:  No trend definitions found."}
    report = parse(
        insight(["LIVE", "DEAD"], TIMES, [["1", "No Data"]] * 4, Variant(definitions=definitions))
    )
    report.table()
    assert report.points["DEAD"].values == 0
    assert report.points["DEAD"].missing["no_data"] == 4
    assert any("DEAD" in w and "Error:" in w for w in report.warnings)


# 15 ------------------------------------------------------------------------------------------


def test_15_a_repeated_timestamp_gives_one_reading_per_point_the_later_row_winning() -> None:
    times = [TIMES[0], TIMES[1], TIMES[1]]
    cells = [["1", "1"], ["2", "5"], ["3", "No Data"]]
    report = parse(insight(["A", "B"], times, cells, Variant()))
    table = tidy(report.table())
    assert table[table["point"] == "A"]["value"].tolist() == [1.0, 3.0]
    assert table[table["point"] == "B"]["value"].tolist() == [1.0, 5.0]  # real value beats missing
    assert report.rows == 2
    assert report.values == len(table) == 4
    assert "1 duplicate timestamp row(s): the later row wins for each point" in report.warnings


# 16 ------------------------------------------------------------------------------------------


def test_16_dates_come_from_the_rows_not_from_the_file_name_stamp() -> None:
    name = "CONSTRUCTED_siemens_insight_boliou1_11-30-18_02-00.csv"
    report = parse((DATA / name).read_bytes(), name=name)
    report.table()
    assert report.first_ts == pd.Timestamp("2018-11-29 06:00", tz="UTC")
    assert report.date_range == (datetime(2018, 11, 29), datetime(2018, 11, 29, 23, 59, 59))


# 17 ------------------------------------------------------------------------------------------


def test_17_large_files_stream_in_bounded_chunks_with_the_exact_columns() -> None:
    times = [T0 + timedelta(minutes=15 * i) for i in range(1000)]
    cells = [[str(i), "No Data", "ON"] for i in range(1000)]
    report = parse(io.BytesIO(insight(NAMES, times, cells, Variant())), chunk_rows=128)
    assert report.points[NAMES[0]].values == 0  # counts complete only after the chunks
    chunks = list(report.chunks())
    assert len(chunks) == 8
    assert all(len(c) <= 128 * 3 for c in chunks)
    for chunk in chunks:
        assert list(chunk.columns) == list(COLUMNS)
        assert chunk.dtypes.to_dict() == empty_chunk().dtypes.to_dict()
    assert report.points[NAMES[0]].values == 1000
    assert report.points[NAMES[1]].missing["no_data"] == 1000
    with pytest.raises(RuntimeError):
        list(report.chunks())


# contract ------------------------------------------------------------------------------------


def test_metadata_is_complete_before_the_chunks_are_read() -> None:
    name = "CONSTRUCTED_siemens_insight_truncated_no_footer.csv"
    report = parse((DATA / name).read_bytes(), name=name)
    assert report.footer is False
    assert report.reports == 1
    assert report.interval_seconds == 900
    assert report.points["BOLIOU.AHU1.SF.S"].trend_definition == "COV"


def test_a_wrong_folder_hint_is_a_warning_not_an_error() -> None:
    report = parse(insight(NAMES, TIMES, CELLS, Variant()), hint="alc")
    assert report.source == "siemens"
    assert "folder says alc but the content is a Siemens Insight report" in report.warnings[0]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"\r\n\r\n", "empty"),
        (b"PK\x03\x04\x00\x00binary", "binary"),
        (b"<!DOCTYPE html><html><body>Login</body></html>", "HTML"),
        (b"a,b,c\n1,2,3\n", "not a recognised report"),
        (
            lines(
                f'"{KEY}"\n"Point_1:","A","","15 minutes"\n"<>Date","Time","Point_1"\n"someday","x","1"\n'
            ),
            "not in any known date/time format",
        ),
    ],
    ids=["empty", "blank-lines", "zip", "html", "unknown-csv", "bad-dates"],
)
def test_unparseable_inputs_raise_parse_error_naming_file_and_line(
    data: bytes, message: str
) -> None:
    with pytest.raises(ParseError) as err:
        report = parse(data, name="x.csv")
        report.table()
    assert message in str(err.value)
    assert str(err.value).startswith("x.csv")


def test_a_point_named_twice_gives_one_reading_per_time_the_later_column_winning() -> None:
    text = f'''"{KEY}"
"Point_1:","SAME","","15 minutes"
"Point_2:","SAME","","15 minutes"
"<>Date","Time","Point_1","Point_2"
"1/8/2024","00:00:00","1","2"
"1/8/2024","00:15:00","3","No Data"
"{FOOTER}"
'''
    report = parse(lines(text))
    assert list(report.points) == ["SAME"]
    assert tidy(report.table())["value"].tolist() == [2.0, 3.0]


def test_a_non_seekable_stream_is_read_too(tmp_path: Path) -> None:
    name = "CONSTRUCTED_siemens_insight_boliou1_11-30-18_02-00.csv"

    class Pipe(io.RawIOBase):
        def __init__(self, data: bytes) -> None:
            self._inner = io.BytesIO(data)

        def readable(self) -> bool:
            return True

        def seekable(self) -> bool:
            return False

        def readinto(self, buffer: bytearray) -> int:  # type: ignore[override]
            chunk = self._inner.read(min(len(buffer), 100))
            buffer[: len(chunk)] = chunk
            return len(chunk)

    report = parse(io.BufferedReader(Pipe((DATA / name).read_bytes())), name=name)
    assert len(report.table()) == 463


def test_an_unknown_time_zone_is_a_parse_error() -> None:
    with pytest.raises(ParseError) as err:
        parse(insight(NAMES, TIMES, CELLS, Variant()), name="x.csv", tz="Mars/Olympus")
    assert "unknown time zone 'Mars/Olympus'" in str(err.value)


def test_a_utf16_unicode_text_save_is_read() -> None:
    data = insight(NAMES, TIMES, CELLS, Variant(delimiter="\t", quoted=False))
    report = parse(data.decode().encode("utf-16"))
    pd.testing.assert_frame_equal(tidy(report.table()), base_expected())


def test_a_file_cut_inside_the_report_header_is_a_parse_error() -> None:
    data = insight(NAMES, TIMES, CELLS, Variant())[:300]
    with pytest.raises(ParseError) as err:
        parse(data, name="cut.csv")
    assert "no '<>Date' data header after the point list" in str(err.value)
    assert err.value.line == 1
