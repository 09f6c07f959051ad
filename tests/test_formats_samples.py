"""Every sample file parses (or is refused) with exactly the expected counts."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from energy_ingest.errors import ParseError
from energy_ingest.formats import parse
from energy_ingest.formats.report import COLUMNS

DATA = Path(__file__).parent / "data"

# file: (format, points, rows, values, no_data, data_loss, blank, error, rejects, footer, reports,
#        first_ts UTC, last_ts UTC)
EXPECTED = {
    "REAL_siemens_insight_RECCNTR.AUDIT.TRENDRPT_171016_excerpt.csv": (
        "siemens-insight", 59, 10, 387, 62, 141, 0, 0, 0, True, 1,
        "2017-08-18 05:00", "2017-10-16 08:45",
    ),
    "REAL_siemens_insight_EvansTestFile_excel_resaved_BOM_CR.csv": (
        "siemens-insight", 7, 5, 29, 6, 0, 0, 0, 0, True, 1,
        "2017-12-27 06:00", "2018-01-02 09:30",
    ),
    "REAL_siemens_insight_csvtransfer_sample_head_LF.csv": (
        "siemens-insight", 7, 7, 42, 7, 0, 0, 0, 0, True, 1,
        "2017-06-05 05:00", "2017-06-05 05:30",
    ),
    "CONSTRUCTED_siemens_insight_boliou1_11-30-18_02-00.csv": (
        "siemens-insight", 6, 96, 463, 98, 15, 0, 0, 0, True, 1,
        "2018-11-29 06:00", "2018-11-30 05:45",
    ),
    "CONSTRUCTED_siemens_insight_two_reports_appended.csv": (
        "siemens-insight", 3, 6, 18, 0, 0, 0, 0, 0, True, 2,
        "2018-11-28 06:00", "2018-11-29 06:30",
    ),
    "CONSTRUCTED_siemens_insight_tab_delimited.csv": (
        "siemens-insight", 3, 4, 12, 0, 0, 0, 0, 0, True, 1,
        "2018-11-29 06:00", "2018-11-29 06:45",
    ),
    "CONSTRUCTED_siemens_insight_ymd_dates_TI_ANDY_SCHEDULER_USE_REPORT_12-20-15_15-10.csv": (
        "siemens-insight", 3, 5, 15, 0, 0, 0, 0, 0, True, 1,
        "2015-12-13 06:00", "2015-12-13 07:00",
    ),
    "CONSTRUCTED_siemens_insight_5field_point_rows_SPECULATIVE_7704 PRESERVATION TRENDS_09-06-17_15-37.CSV": (
        "siemens-insight", 2, 2, 3, 1, 0, 0, 0, 0, True, 1,
        "2017-09-05 05:00", "2017-09-05 05:15",
    ),
    "CONSTRUCTED_siemens_insight_windows_excel_resaved_unquoted_padded.csv": (
        "siemens-insight", 3, 3, 7, 2, 0, 0, 0, 0, True, 1,
        "2017-12-27 06:00", "2018-01-02 09:30",
    ),
    "CONSTRUCTED_siemens_insight_truncated_no_footer.csv": (
        "siemens-insight", 3, 3, 9, 0, 0, 0, 0, 1, False, 1,
        "2018-11-29 06:00", "2018-11-29 06:30",
    ),
    "CONSTRUCTED_webctrl_trend_wide_SPECULATIVE.csv": (
        "alc-wide", 3, 4, 10, 0, 0, 2, 0, 0, None, 1,
        "2022-04-05 14:00", "2022-04-05 14:15",
    ),
    "CONSTRUCTED_webctrl_trend_long_SPECULATIVE.csv": (
        "alc-long", 2, 3, 4, 0, 0, 0, 0, 0, None, 1,
        "2022-04-05 14:00", "2022-04-05 14:14:37",
    ),
}  # fmt: skip

REFUSED = {
    "CONSTRUCTED_webctrl_soap_getTrendData_return_values.txt": "SOAP getTrendData dump",
    "REAL_webctrl_points_list_report_accuweather_excerpt.csv": "not a recognised report",
    "REAL_webctrl_points_list_report_hulings_excerpt.csv": "not a recognised report",
    "CONSTRUCTED_lucid_style_vbs_upload_request_INFERRED.http": "not a recognised report",
    "REAL_siemens_point_definition_report_hulings_goodhue_excerpt.csv": "not a recognised report",
}


def test_every_sample_file_is_covered_by_an_expectation() -> None:
    assert {p.name for p in DATA.iterdir()} == set(EXPECTED) | set(REFUSED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_sample_parses_with_exact_counts(name: str) -> None:
    (fmt, points, rows, values, no_data, data_loss, blank, error, rejects, footer, reports,
     first, last) = EXPECTED[name]  # fmt: skip
    with (DATA / name).open("rb") as f:
        report = parse(f, name=name)
        table = report.table()
    assert report.format == fmt
    assert len(report.points) == points
    assert report.footer is footer
    assert report.reports == reports
    assert list(table.columns) == list(COLUMNS)
    assert len(table) == values == report.values
    assert report.rows == rows
    assert report.missing_totals() == {
        "no_data": no_data, "data_loss": data_loss, "blank": blank, "error": error
    }  # fmt: skip
    assert len(report.rejects) == rejects
    assert report.first_ts == pd.Timestamp(first, tz="UTC")
    assert report.last_ts == pd.Timestamp(last, tz="UTC")


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_sample_that_is_not_a_trend_report_is_refused_with_a_clear_error(name: str) -> None:
    with pytest.raises(ParseError) as err:
        parse((DATA / name).read_bytes(), name=name)
    assert REFUSED[name] in str(err.value)
    assert err.value.file == name
    assert err.value.line == 1


def test_reccntr_values_are_mapped_to_the_right_points_and_times() -> None:
    name = "REAL_siemens_insight_RECCNTR.AUDIT.TRENDRPT_171016_excerpt.csv"
    report = parse((DATA / name).read_bytes(), name=name)
    assert report.interval == "15 Minutes"
    assert report.interval_seconds == 900
    assert (
        report.points["RECCNTR.STMFLOW"].trend_definition == "Error:  Point not found in database."
    )
    table = report.table().set_index(["point", "ts"])
    first = pd.Timestamp("2017-08-18 05:00", tz="UTC")
    assert table.loc[("RECCNTR.AH1.CCV", first), "value"] == 0.0
    assert table.loc[("RECCNTR.AH1.CO2", first), "value"] == 0.2
    assert report.points["RECCNTR.STMFLOW"].values == 0
    assert report.points["RECCNTR.STMFLOW"].missing["no_data"] == 10
    assert (table["value"] < 0).any()  # the " -0.37" style negatives


def test_evans_excel_resave_keeps_the_enum_point_and_reformatted_numbers() -> None:
    name = "REAL_siemens_insight_EvansTestFile_excel_resaved_BOM_CR.csv"
    report = parse((DATA / name).read_bytes(), name=name)
    assert next(iter(report.points)) == "CMC.328.RT"  # BOM stripped
    table = report.table()
    sp = table[table["point"] == "CMC.328.SP"]
    assert sp["state"].tolist() == ["ON"] * 5
    assert sp["value"].isna().all()
    assert report.points["CMC.328.SP"].states == ["ON"]
    rt = table[table["point"] == "EV.RM107.SP"]
    assert rt["value"].tolist() == [22.2, 13.82, 18.57, 19.62]


def test_alc_long_sample_keeps_trend_paths_locations_and_states() -> None:
    name = "CONSTRUCTED_webctrl_trend_long_SPECULATIVE.csv"
    report = parse((DATA / name).read_bytes(), name=name)
    status = report.points["#ahu-1/sf_status/trend_log"]
    assert status.location == "/Campus/Bldg A/AHU-1"
    table = report.table()
    assert status.states == ["On", "Off"]
    assert table[table["point"] == "#ahu-1/sa_temp/trend_log"]["value"].tolist() == [55.2, 55.4]
