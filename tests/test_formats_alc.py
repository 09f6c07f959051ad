"""ALC WebCTRL trend CSV: wide and long layouts, metadata lines, quoting quirks, times, digital values."""

from __future__ import annotations

import pandas as pd
import pytest

from energy_ingest.errors import ParseError
from energy_ingest.formats import parse


def crlf(text: str) -> bytes:
    return text.replace("\n", "\r\n").encode()


def test_wide_layout_after_metadata_lines_with_the_quote_space_comma_quirk() -> None:
    data = crlf(
        '"Trend Report","Site: North Campus"\n'
        '"Generated","4/6/2022"\n'
        "\n"
        '"Date/Time","#ahu-1/sa_temp (°F)" ,"#ahu-1/fan"\n'
        '"4/5/2022 9:00:00 AM","55.2" ,"On" \n'
        '"4/5/2022 1:00:00 PM","" ,"Off" \n'
    )
    report = parse(data, name="wide.csv", tz="America/Chicago")
    assert report.format == "alc-wide"
    assert list(report.points) == ["#ahu-1/sa_temp (°F)", "#ahu-1/fan"]
    table = report.table()
    assert table["ts"].tolist()[:1] == [pd.Timestamp("2022-04-05 14:00", tz="UTC")]
    assert report.points["#ahu-1/fan"].states == ["On", "Off"]
    assert report.points["#ahu-1/sa_temp (°F)"].missing["blank"] == 1
    assert report.last_ts == pd.Timestamp("2022-04-05 18:00", tz="UTC")


@pytest.mark.parametrize(
    "stamp",
    ["04/05/2022 09:00:00 AM", "4/5/2022 9:00 AM", "04/05/2022 09:00:00", "2022-04-05T09:00:00",
     "2022-04-05 09:00:00.000", "04/05/2022 09:00"],
)  # fmt: skip
def test_twelve_hour_twenty_four_hour_and_iso_times_are_read(stamp: str) -> None:
    report = parse(crlf(f'"Time","P"\n"{stamp}","1"\n'), tz="America/Chicago")
    assert report.table()["ts"].tolist() == [pd.Timestamp("2022-04-05 14:00", tz="UTC")]


def test_long_layout_with_digital_values_errors_and_blanks() -> None:
    data = crlf(
        '"Trend","Time","Value"\n'
        '"#vav-1/occ","4/5/2022 9:00:00 AM","true"\n'
        '"#vav-1/occ","4/5/2022 9:05:00 AM","false"\n'
        '"#vav-1/dat","4/5/2022 9:00:00 AM","[ERROR]: Device is temporarily disabled."\n'
        '"#vav-1/dat","4/5/2022 9:05:00 AM",""\n'
        '"#vav-1/cmd","4/5/2022 9:00:00 AM","1"\n'
        '"#vav-1/cmd","4/5/2022 9:05:00 AM","0"\n'
    )
    report = parse(data)
    assert report.format == "alc-long"
    assert list(report.points) == ["#vav-1/occ", "#vav-1/dat", "#vav-1/cmd"]
    table = report.table()
    assert report.points["#vav-1/occ"].states == ["true", "false"]
    assert report.points["#vav-1/dat"].missing == {
        "no_data": 0,
        "data_loss": 0,
        "blank": 1,
        "error": 1,
    }
    cmd = table[table["point"] == "#vav-1/cmd"]
    assert cmd["value"].tolist() == [1.0, 0.0]  # a 1/0 column stays numeric
    assert report.points["#vav-1/cmd"].states == []
    assert report.rows == 2


def test_long_layout_fall_back_hour_is_inferred_per_trend() -> None:
    rows = []
    for trend in ("a", "b"):
        for i, hhmm in enumerate(["1:00", "1:30", "1:00", "1:30"]):
            rows.append(f'"{trend}","11/3/2024 {hhmm}:00 AM","{i}"')
    report = parse(crlf('"Point","Time","Value"\n' + "\n".join(rows) + "\n"))
    table = report.table()
    for trend in ("a", "b"):
        ts = table[table["point"] == trend]["ts"].tolist()
        assert ts == [pd.Timestamp(x, tz="UTC") for x in
                      ["2024-11-03 06:00", "2024-11-03 06:30", "2024-11-03 07:00", "2024-11-03 07:30"]]  # fmt: skip
    assert report.rejects == []


def test_wide_layout_rejects_short_rows_and_nonexistent_times() -> None:
    data = crlf(
        '"Time","A","B"\n"3/10/2024 01:45:00","1","2"\n"3/10/2024 02:00:00","1","2"\n"3/10/2024 03:00:00","1"\n'
    )
    report = parse(data, name="w.csv")
    assert len(report.table()) == 2
    assert [(r.line, r.reason) for r in report.rejects] == [
        (4, "row has 2 fields, header has 3"),
        (3, "nonexistent local time 2024-03-10 02:00:00 in America/Chicago"),
    ]


def test_an_unrecognised_layout_says_what_was_expected_and_shows_the_first_lines() -> None:
    data = crlf('"Location","Name","Type"\n"/Campus","Fan","BBV"\n')
    with pytest.raises(ParseError) as err:
        parse(data, name="points.csv")
    text = str(err.value)
    assert text.startswith("points.csv line 1: not a recognised report")
    assert '\'"Location","Name","Type"\'' in err.value.excerpt  # shown apart from the reason


def test_rows_with_times_but_no_header_are_refused() -> None:
    with pytest.raises(ParseError) as err:
        parse(crlf('"4/5/2022 9:00:00 AM","1"\n'), name="n.csv")
    assert "no header row" in str(err.value)
    assert err.value.line == 1


def test_the_siemens_folder_hint_with_alc_content_warns() -> None:
    report = parse(crlf('"Time","P"\n"4/5/2022 9:00:00 AM","1"\n'), hint="siemens")
    assert report.source == "alc"
    assert report.warnings[0].startswith("folder says siemens but the content is an ALC")


def test_iso_times_with_an_offset_are_taken_as_written_not_localised() -> None:
    report = parse(crlf('"Time","P"\n"2022-04-05T09:00:00-04:00","1"\n'), tz="America/Chicago")
    assert report.table()["ts"].tolist() == [pd.Timestamp("2022-04-05 13:00", tz="UTC")]


def test_a_cp1252_export_is_decoded_with_the_fallback_even_past_the_first_lines() -> None:
    body = "".join(f'"4/5/2022 9:{m:02d}:00 AM","{m}"\n' for m in range(50))
    data = crlf('"Time","Zone °F"\n' + body).replace(b"\xc2\xb0", b"\xb0")
    data += crlf('"4/5/2022 10:00:00 AM","71 \xb0F"\n'.encode("latin-1").decode("latin-1"))
    report = parse(data)
    assert list(report.points) == ["Zone °F"]
    table = report.table()
    assert len(table) == 51
    assert any("cp1252" in w for w in report.warnings)


def test_a_metadata_line_holding_a_timestamp_is_not_taken_for_data() -> None:
    data = crlf(
        '"Trend Data","North Campus"\n'
        '"Generated","4/6/2022 10:00:00 AM"\n'
        '"Date/Time","#ahu-1/sat"\n'
        '"4/5/2022 9:00:00 AM","55.2"\n'
        '"4/5/2022 9:05:00 AM","55.4"\n'
    )
    report = parse(data)
    assert list(report.points) == ["#ahu-1/sat"]
    assert len(report.table()) == 2


def test_a_trend_mixing_one_zero_with_on_off_words_becomes_words() -> None:
    data = crlf(
        '"Time","fan","cmd","temp"\n'
        '"4/5/2022 9:00:00 AM","On","1","1"\n'
        '"4/5/2022 9:05:00 AM","0","0","0"\n'
        '"4/5/2022 9:10:00 AM","1","ACTIVE","70.5"\n'
    )
    report = parse(data)
    table = report.table()
    fan = table[table["point"] == "fan"]
    assert fan["state"].tolist() == ["On", "Off", "On"]
    assert fan["value"].isna().all()
    cmd = table[table["point"] == "cmd"]
    assert cmd["state"].tolist() == ["ACTIVE", "INACTIVE", "ACTIVE"]
    assert report.points["fan"].states == ["On", "Off"]
    assert report.points["temp"].states == []
    assert table[table["point"] == "temp"]["value"].tolist() == [1.0, 0.0, 70.5]
    assert not any("mixes" in w for w in report.warnings)


def test_the_derived_better_csv_files_with_scrambled_headers_are_refused() -> None:
    # SIEMENS_INSIGHT.md §1.10: derived files, not Insight output; their column names are wrong
    data = crlf(
        "Date Range:,8/18/2017 00:00:00 - 10/16/2017 23:59:59\n"
        "\n"
        "Date,Time,RECCNTR.AH1.SAT,RECCNTR.AH1.CCV\n"
        "8/18/2017,00:00:00,0.00,74.05\n"
        "8/18/2017,00:15:00,0.00,74.05\n"
    )
    with pytest.raises(ParseError) as err:
        parse(data, name="RECCNTR_better.csv")
    assert "not a recognised report" in str(err.value)
