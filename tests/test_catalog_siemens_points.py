"""The Siemens Insight Point Definition report parser: the real sample, line endings, encodings,
rejected records, a generated round trip, fuzzing and bounded memory on hostile files."""

from __future__ import annotations

import math
import random
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from catalog_gen import expected, point_records, render
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from energy_ingest.catalog.exports.point_export import (
    MAX_FIELD_CHARS,
    MAX_REJECTS,
    MAX_STATES,
    PointExport,
)
from energy_ingest.catalog.exports.siemens_points import COLUMNS, parse_point_definitions
from energy_ingest.errors import ParseError

DATA = Path(__file__).parent / "data"
SAMPLE = DATA / "REAL_siemens_point_definition_report_hulings_goodhue_excerpt.csv"
ONOFF = ("OFF", "ON")
ZONE = ("VAC", "OCC1", "OCC2", "OCC3", "OCC4", "OCC5", "WARMUP", "COOLDOWN", "NGHT_HTG",
        "NGHT_CLG", "STOP_HTG", "STOP_CLG")  # fmt: skip
GH = ("MBC25", "Goodhue")
HU56 = ("PXCC56", "HULINGS.RM122")
# name: (line, point_type, descriptor, (panel, panel_label), units, representation, decimals, states)
RECORDS = {
    "FAC.CONM": (2, "LPACI", "FACULTY COND MTR", ("MBC12", "COWLINGS"), "GAL", "Float", 4, None),
    "FAC.ELEC": (22, "LPACI", "FACULTY ELEC MTR", ("MBC12", "COWLINGS"), "KWH", "Float", 4, None),
    "GH.GENRUN": (48, "LDO", None, GH, None, None, None, ONOFF),
    "GH.HWP1.VFD:DAY.NIGHT": (65, "LDO", None, GH, None, None, None, ("DAY", "NIGHT")),
    "GHA1SS": (84, "L2SL", "AHU1 SS", GH, None, None, None, ONOFF),
    "GHA2SS": (107, "L2SL", "AHU2 SS", GH, None, None, None, ONOFF),
    "GOODHUE.AHU3.ZON:DESIRED OPER": (130, "LENUM", "DESIRED OPER", GH, None, None, None,
                                      ("NONE", "HEATING", "COOLING", "BOTH")),
    "GOODHUE.AHU3.ZON:MODE": (152, "LENUM", "Mode Output", GH, None, None, None, ZONE),
    "GOODHUE.AHU3.ZON:NX MODE": (182, "LENUM", "Next Mode Output", GH, None, None, None, ZONE),
    "GOODHUE.ELEC.DEMAND": (212, "LAO", "ELECTRIC DEMAND", GH, "KWH", "Float", 2, None),
    "GOODHUE.ELEC.METER.READING": (233, "LAO", "TOTAL CONSUMPTN", GH, "KW", "Float", 2, None),
    "HU.R102.DSET": (254, "LAO", "102 DIF SET", HU56, "CFM", "Float", 2, None),
    "HU.R102.ECFM": (275, "LAO", "102 EXH CFM", HU56, "CFM", "Float", 2, None),
    "HU.R102.EDMP": (296, "LAO", "102 EXH DMPR", HU56, "PSI", "Float", 2, None),
    "HU.R102.EVPRS": (317, "LAI", "102 EXH VPSR", HU56, "IN WC", "Float", 2, None),
    "HU.R102.FCFM": (337, "LAI", "102 FUME CFM", HU56, "CFM", "Float", 2, None),
    "HU.R102.OCC": (357, "LDO", "RM 102 OCCUP", HU56, None, None, None, ONOFF),
    "HU.R102.RM": (375, "LAI", "102 TEMP", HU56, "DEG F", "Float", 2, None),
    "HU.R102.RMT": (395, "LAI", "102 TEMP", HU56, "DEG F", "Float", 2, None),
    "HU.R109.OCC": (415, "LDO", "RM 109 OCCUP", ("PXCC52", "HULINGS.RM101"), None, None, None,
                    ONOFF),
    "HU.R213B.NACSWT": (433, "LDI", "NO ACLV SWT", ("PXCC62", "HULINGS.RM213B"), None, None,
                        None, ONOFF),
    "HU.R213B.SACSWT": (450, "LDI", "SO ACLV SWT", ("PXCC62", "HULINGS.RM213B"), None, None,
                        None, ONOFF),
    "HU.RB02.DSET": (467, "LAO", "B02 DIF SET", ("PXCC50", "HULINGS.RMB02"), "CFM", "Float", 2,
                     None),
    "HU.RB02.ECAL": (488, "LAO", "B02 CAL EXH", ("PXCC50", "HULINGS.RMB02"), "C CFM", "Float", 2,
                     None),
    "HULINGS.101.ZON:MODE": (509, "LENUM", "Mode Output", ("PXCM29", "HULINGS.PXCM29"), None,
                             None, None, ZONE),
    "HULINGS.102.ZON:MODE": (539, "LENUM", "Mode Output", ("PXCM29", "HULINGS.PXCM29"), None,
                             None, None, ZONE),
    "HULINGS.102A.ZON:MODE": (569, "LENUM", "Mode Output", ("PXCM29", "HULINGS.PXCM29"), None,
                              None, None, ZONE),
    "HULLINGS.ELEC.MOD1:AMPS A": (599, "LAI", "HULL SHARK 200", ("PXCM60_7014", "7014"), "A",
                                  "Float", 2, None),
    "HULLINGS.ELEC.MOD1:AMPS B": (623, "LAI", "HULL SHARK 200", ("PXCM60_7014", "7014"), "A",
                                  "Float", 2, None),
}  # fmt: skip
NONE_PRIORITY = {"Initial Priority": "NONE", "Graphic Name": "<Undefined>"}
VIRTUAL_AO = {"Actuator Type": "Voltage"}
AI = {"Wire Resistance": "0.0", **NONE_PRIORITY}
ENUM = {"Auto Unbundled": "Yes", "Modified from Default": "No"}
L2SL = {
    "Proof Delay": "60 Informational Text",
    **NONE_PRIORITY,
    "Alarm Count 2": "No",
    "Normal ack Enabled": "No",
    "Alarm Priority": "3",
    "Print Info with Alarm": "Yes",
    "Print Alarms on BLN": "Yes",
}
EXTRAS = {
    "FAC.CONM": {"Count Both Edges": "No", "Initial Value": "1025066.0", **NONE_PRIORITY},
    "FAC.ELEC": {"Count Both Edges": "Yes", "Initial Value": "0.0", **NONE_PRIORITY},
    "GH.GENRUN": NONE_PRIORITY,
    "GH.HWP1.VFD:DAY.NIGHT": {**ENUM, **NONE_PRIORITY},
    "GHA1SS": {
        "On/Off Point Address": "FLN:  0   Drop:  07  Point:  04  Inverted:  No",
        "Proof Point Address": "FLN:  0   Drop:  01  Point:  03  Normally Closed:  No",
        **L2SL,
    },
    "GHA2SS": {
        "On/Off Point Address": "FLN:  0   Drop:  07  Point:  05  Inverted:  No",
        "Proof Point Address": "FLN:  0   Drop:  01  Point:  01  Normally Closed:  No",
        **L2SL,
    },
    "GOODHUE.AHU3.ZON:DESIRED OPER": {
        "Auto Unbundled": "No", "Modified from Default": "No", "Initial Value": "BOTH",
        **NONE_PRIORITY,
    },
    "GOODHUE.AHU3.ZON:MODE": {**ENUM, "Initial Value": "VAC", **NONE_PRIORITY},
    "GOODHUE.AHU3.ZON:NX MODE": {
        "Auto Unbundled": "No", "Modified from Default": "No", "Initial Value": "OCC1",
        **NONE_PRIORITY,
    },
    "GOODHUE.ELEC.DEMAND": {**VIRTUAL_AO, "Initial Value": "37.5", **NONE_PRIORITY},
    "GOODHUE.ELEC.METER.READING": {**VIRTUAL_AO, "Initial Value": "2174798.25", **NONE_PRIORITY},
    "HU.R102.DSET": {**VIRTUAL_AO, "Initial Value": "200.0", **NONE_PRIORITY},
    "HU.R102.ECFM": {**VIRTUAL_AO, "Initial Value": "108.59", **NONE_PRIORITY},
    "HU.R102.EDMP": {**VIRTUAL_AO, "Initial Value": "8.4", **NONE_PRIORITY},
    "HU.R102.EVPRS": AI,
    "HU.R102.FCFM": AI,
    "HU.R102.OCC": {"Initial Value": "OFF", **NONE_PRIORITY},
    "HU.R102.RM": AI,
    "HU.R102.RMT": AI,
    "HU.R109.OCC": {"Initial Value": "ON", **NONE_PRIORITY},
    "HU.R213B.NACSWT": NONE_PRIORITY,
    "HU.R213B.SACSWT": NONE_PRIORITY,
    "HU.RB02.DSET": {**VIRTUAL_AO, "Initial Value": "0.0", **NONE_PRIORITY},
    "HU.RB02.ECAL": {**VIRTUAL_AO, "Initial Value": "0.52", **NONE_PRIORITY},
    "HULINGS.101.ZON:MODE": {**ENUM, "Initial Value": "VAC", **NONE_PRIORITY},
    "HULINGS.102.ZON:MODE": {**ENUM, "Initial Value": "VAC", **NONE_PRIORITY},
    "HULINGS.102A.ZON:MODE": {**ENUM, "Initial Value": "VAC", **NONE_PRIORITY},
    "HULLINGS.ELEC.MOD1:AMPS A": {**ENUM, "Wire Resistance": "0.0", "Graphic Name": "<Undefined>"},
    "HULLINGS.ELEC.MOD1:AMPS B": {**ENUM, "Wire Resistance": "0.0", "Graphic Name": "<Undefined>"},
}  # fmt: skip


def parse(data: bytes, name: str = "points.csv") -> PointExport:
    return parse_point_definitions(data, name=name)


def rows(export: PointExport) -> list[dict[str, Any]]:
    """The records as plain dicts, NaN and <NA> as None, for exact comparisons."""

    def plain(value: Any) -> Any:
        if value is pd.NA or (isinstance(value, float) and math.isnan(value)):
            return None
        return int(value) if hasattr(value, "dtype") and value.dtype.kind == "i" else value

    return [{k: plain(v) for k, v in row.items()} for row in export.records.to_dict("records")]


def test_the_real_sample_parses_to_the_exact_expected_table() -> None:
    with SAMPLE.open("rb") as f:
        export = parse_point_definitions(f, name=SAMPLE.name)
    assert (export.format, export.source, export.complete) == (
        "siemens-point-definitions", "siemens", True
    )  # fmt: skip
    assert (export.rejects, export.rejected, export.warnings) == ([], 0, [])
    assert list(export.records.columns) == list(COLUMNS)
    got = {row["name"]: row for row in rows(export)}
    assert list(got) == list(RECORDS)
    for name, (line, kind, descriptor, panel, units, rep, decimals, states) in RECORDS.items():
        row = got[name]
        assert row["system_name"] == name
        assert (row["line"], row["point_type"], row["descriptor"]) == (line, kind, descriptor)
        assert (row["panel"], row["panel_label"]) == panel
        assert (row["engineering_units"], row["representation"], row["decimals"]) == (
            units, rep, decimals
        )  # fmt: skip
        assert row["states"] == states
        assert row["state_values"] == (None if states is None else tuple(range(len(states))))
        assert row["extras"] == EXTRAS[name], name
        assert row["classification"] == "Building Automation"


def test_the_sample_numbers_addresses_and_newer_panel_fields_are_read() -> None:
    got = {row["name"]: row for row in rows(parse(SAMPLE.read_bytes()))}
    conm, elec = got["FAC.CONM"], got["FAC.ELEC"]
    assert (conm["cov_limit"], conm["gain"], conm["slope"]) == (10.0, 10.0, None)
    assert (elec["cov_limit"], elec["gain"], elec["address"]) == (1.0, 0.010023, "-Virtual-")
    assert conm["address"] == "FLN:  0   Drop:  05  Point:  02"
    evprs = got["HU.R102.EVPRS"]
    assert (evprs["sensor_type"], evprs["slope"], evprs["intercept"]) == (
        "Current", 0.000041, -0.250215
    )  # fmt: skip
    assert got["GHA1SS"]["address"] is None  # L2SL: two addresses, both kept in extras
    assert (got["GHA1SS"]["totalization"], got["GHA1SS"]["alarm_type"]) == (
        "Hours", "Standard Alarms"
    )  # fmt: skip
    assert got["GH.GENRUN"]["text_table"] == "Default LDO"
    assert got["GOODHUE.AHU3.ZON:MODE"]["text_table"] == "ZONE_MODE"
    amps = got["HULLINGS.ELEC.MOD1:AMPS A"]
    assert (amps["object_name"], amps["object_id"]) == (
        "HULLINGS.ELEC.MOD1:AMPS A", "analog-input - 15317"
    )  # fmt: skip
    assert {row["informational_text"] for n, row in got.items() if n != "FAC.ELEC"} == {None}


def test_informational_text_joins_wrapped_lines_and_keeps_embedded_line_breaks() -> None:
    elec = next(r for r in rows(parse(SAMPLE.read_bytes())) if r["name"] == "FAC.ELEC")
    assert elec["informational_text"] == (
        "Gain changed at 1:05 p.m. on 12/14/14 from 1 to Shark calc of 0.010023039 plus count "
        "both edges (req'd to match faceplate readings)\n \n Shark calc, CT ratio is 200:5:\n"
        " (CT ratio)*(.250576)/1000"
    )


def test_every_field_label_of_the_sample_is_in_fields_seen_in_first_seen_order() -> None:
    seen = parse(SAMPLE.read_bytes()).fields_seen
    assert seen[:6] == ("Point System Name", "Point Name", "Point Type", "Classification",
                        "Descriptor", "Panel Name")  # fmt: skip
    assert len(seen) == len(set(seen)) == 37
    assert {"Gain", "Initial Priority", "Print Alarms on BLN", "Object ID", "Actuator Type"} <= set(
        seen
    )


@pytest.mark.parametrize("ending", [b"\r", b"\n", b"\r\n"])
def test_cr_lf_and_crlf_versions_of_the_sample_give_the_same_table(ending: bytes) -> None:
    # the embedded CRs inside FAC.ELEC's quoted text stay CRs, as Insight writes them
    data = SAMPLE.read_bytes().replace(b"\r\n", ending)
    assert rows(parse(data)) == rows(parse(SAMPLE.read_bytes()))


def test_a_utf8_bom_and_a_cp1252_file_parse_like_the_trend_reports() -> None:
    base = SAMPLE.read_bytes().replace(b"FACULTY COND MTR", "CÂBLE °F".encode())
    bom = parse(b"\xef\xbb\xbf" + base)
    assert rows(bom)[0]["descriptor"] == "CÂBLE °F"
    cp1252 = parse(base.decode().encode("cp1252"))
    assert rows(cp1252)[0]["descriptor"] == "CÂBLE °F"
    assert "decoded as Windows-1252" in cp1252.warnings[-1]
    assert rows(cp1252)[1:] == rows(bom)[1:]


def test_a_utf16_file_parses_too() -> None:
    data = SAMPLE.read_bytes().decode().encode("utf-16")
    assert rows(parse(data)) == rows(parse(SAMPLE.read_bytes()))


def test_a_missing_footer_gives_an_incomplete_export_with_a_warning() -> None:
    data = SAMPLE.read_bytes()
    export = parse(data[: data.index(b'" ******************************** End')])
    assert export.complete is False
    assert export.warnings == ["no End of Report footer — the file may be incomplete"]
    assert len(export.records) == len(RECORDS)


def record(*lines: str) -> str:
    return "\r\n".join(['""', *lines, '""', f'" {"*" * 80}"', ""])


def test_a_record_without_a_name_is_rejected_with_its_line_and_the_rest_import() -> None:
    data = (
        record('"Point System Name:","A.ONE"', '"Point Name:","A.ONE"')
        + record('"Point System Name:","B.TWO"', '"Point Type:","LAI"')
        + record('"Point Name:","C.THREE"')
        + record('"Point System Name:","E"', '"Point Name:","E"', '"Point Name:","F"')
    )
    export = parse(data.encode())
    assert [r["name"] for r in rows(export)] == ["A.ONE"]
    assert [(r.line, r.reason) for r in export.rejects] == [
        (7, "record without a Point Name"),
        (12, "record without a Point System Name"),
        (16, "line 18: 'Point Name' given twice (also line 17)"),
    ]
    assert export.rejected == 3
    assert not export.complete


def test_a_number_field_without_a_number_keeps_the_point_its_text_and_warns() -> None:
    data = (
        record('"Point System Name:","A.ONE"', '"Point Name:","A.ONE"', '"COV Limit:","Dynamic"')
        + record('"Point System Name:","B.TWO"', '"Point Name:","B.TWO"', '"Slope:","1,5"',
                 '"COV Limit:","0.5"', '"# of decimal places:","two"')
        + record('"Point System Name:","C.3"', '"Point Name:","C.3"', '"COV Limit:","Dynamic"')
    )  # fmt: skip
    export = parse(data.encode())
    assert export.rejects == [] and export.rejected == 0
    one, two, three = rows(export)
    assert (one["name"], one["cov_limit"], one["extras"]) == (
        "A.ONE",
        None,
        {"COV Limit": "Dynamic"},
    )
    assert (two["slope"], two["cov_limit"], two["decimals"]) == (None, 0.5, None)
    assert two["extras"] == {"Slope": "1,5", "# of decimal places": "two"}
    assert three["extras"] == {"COV Limit": "Dynamic"}
    assert export.warnings[1:] == [
        "COV Limit not a number (kept as text in the point's other fields, the number left"
        " empty): 2 (first at line 4)",
        "Slope not a number (kept as text in the point's other fields, the number left empty):"
        " 1 (first at line 10)",
        "# of decimal places not a number (kept as text in the point's other fields, the number"
        " left empty): 1 (first at line 12)",
    ]


def test_a_text_table_is_ordered_by_n_and_keeps_n_that_skip_or_start_late() -> None:
    data = record(
        '"Point System Name:","P"', '"Point Name:","P"', '"Text Table:","ODD"',
        '"                         7 - HIGH"', '"                         2 - LOW"',
        '"                         -1 - FAULT"', '"Totalization:","None"',
    )  # fmt: skip
    row = rows(parse(data.encode()))[0]
    assert (row["states"], row["state_values"]) == (("FAULT", "LOW", "HIGH"), (-1, 2, 7))
    assert (row["text_table"], row["totalization"]) == ("ODD", "None")


def test_a_report_header_before_the_first_rule_is_ignored_with_a_warning() -> None:
    data = '"Point Definition Report","12/02/2026"\r\n"Site:","CAMPUS"\r\n' + record(
        f'" {"*" * 80}"', '"Point System Name:","P"', '"Point Name:","P"'
    )
    export = parse(data.encode())
    assert [r["name"] for r in rows(export)] == ["P"]
    assert export.rejects == []
    assert "are not a point record (a report header?)" in export.warnings[0]


@pytest.mark.parametrize(
    ("data", "what"),
    [
        (b"", "the file is empty"),
        (b"\r\n\r\n", "the file is empty"),
        (b"PK\x03\x04\x14\x00", "ZIP"),
        ((DATA / "CONSTRUCTED_siemens_insight_boliou1_11-30-18_02-00.csv").read_bytes(),
         "no 'Point Name:' line: not a Siemens Insight Point Definition report"),
        ((DATA / "REAL_webctrl_points_list_report_accuweather_excerpt.csv").read_bytes(),
         "no 'Point Name:' line"),
        (b'"Descriptor:","X"\r\n" ****************\r\n', "no 'Point Name:' line"),
    ],
)  # fmt: skip
def test_a_file_that_is_not_a_point_definition_report_is_a_parse_error(
    data: bytes, what: str
) -> None:
    with pytest.raises(ParseError) as err:
        parse(data, name="odd.csv")
    assert what in str(err.value)
    assert str(err.value).startswith("odd.csv")
    assert err.value.hint


def test_rejects_are_counted_all_but_kept_only_up_to_max_rejects() -> None:
    bad = record('"Point Name:","X"')
    export = parse((record('"Point System Name:","P"', '"Point Name:","P"') + bad * 1500).encode())
    assert (len(export.rejects), export.rejected) == (MAX_REJECTS, 1500)
    assert len(export.records) == 1


def test_long_fields_and_huge_text_tables_are_cut_with_warnings() -> None:
    states = "".join(f'"   {n} - S{n}"\r\n' for n in range(MAX_STATES + 10))
    data = record(
        '"Point System Name:","P"', '"Point Name:","P"', f'"Descriptor:","{"d" * 5000}"',
        f'"Text Table:","T"\r\n{states.rstrip()}', f'"Informational Text:","{"i" * 9000}"',
    )  # fmt: skip
    export = parse(data.encode())
    row = rows(export)[0]
    assert len(row["descriptor"]) == MAX_FIELD_CHARS
    assert len(row["states"]) == MAX_STATES
    assert row["states"][-1] == f"S{MAX_STATES - 1}"
    assert len(row["informational_text"]) == MAX_FIELD_CHARS
    assert any(f"cut to {MAX_FIELD_CHARS:,} characters: 2" in w for w in export.warnings)
    assert any(f"states over {MAX_STATES} dropped: 10 (first at line" in w for w in export.warnings)


@pytest.mark.slow
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(point_records, st.sampled_from(["\r\n", "\r", "\n"]), st.booleans())
def test_a_generated_report_parses_back_to_the_table_it_was_written_from(
    records: list[dict[str, Any]], ending: str, quote_all: bool
) -> None:
    data, starts = render(records, ending=ending, quote_all=quote_all)
    export = parse(data)
    assert (export.rejects, export.complete) == ([], True)
    got, want = rows(export), expected(records, starts)
    assert len(got) == len(want)
    for row, wanted in zip(got, want, strict=True):
        assert {k: v for k, v in row.items() if v != wanted[k]} == {
            k: v for k, v in wanted.items() if v != row[k]
        }


@pytest.mark.slow
def test_sixteen_thousand_generated_records_parse_and_the_time_is_reported(
    capsys: pytest.CaptureFixture[str],
) -> None:
    one = SAMPLE.read_bytes().split(b'" ******************************** End')[0]
    data = one * 552  # 29 records each: 16,008
    started = time.perf_counter()
    export = parse(data)
    took = time.perf_counter() - started
    assert len(export.records) == 29 * 552
    with capsys.disabled():
        print(f"\n{len(export.records):,} records, {len(data) / 1e6:.1f} MB: {took:.2f} s")


def mutate(data: bytes, rnd: random.Random) -> bytes:
    kind = rnd.randrange(7)
    if kind == 0:  # truncation
        return data[: rnd.randrange(len(data) + 1)]
    if kind == 1:  # byte flips
        buf = bytearray(data)
        for _ in range(rnd.randint(1, 20)):
            buf[rnd.randrange(len(buf))] = rnd.randrange(256)
        return bytes(buf)
    lines = data.splitlines(keepends=True)
    if kind == 2:  # shuffled lines
        rnd.shuffle(lines)
        return b"".join(lines)
    if kind == 3:  # huge field
        at = rnd.randrange(len(data) + 1)
        filler = rnd.choice([b"x", b'"', b",", b"9", b" ", b"\r", b"*"]) * rnd.choice(
            [10, 1000, 300_000]
        )
        return data[:at] + filler + data[at:]
    if kind == 4:  # duplicated or dropped lines
        i = rnd.randrange(len(lines))
        return b"".join(
            lines[:i] + lines[i : i + rnd.randint(0, 3)] * rnd.randint(0, 4) + lines[i + 1 :]
        )
    if kind == 5:  # other line endings, maybe inconsistent
        ending = rnd.choice([b"\r", b"\n", b"\r\n", b"\n\r"])
        return b"".join(ln.rstrip(b"\r\n") + ending for ln in lines)
    tokens = [b"Point Name:", b"Point System Name:", b"Text Table:", b"Informational Text:",
              b"End of Report", b"*****", b'"', b",", b" - ", b"0", b"-", b" -", b"\xef\xbb\xbf",
              b"\x00", b"\xff\xfe", b"Slope:", b"# of decimal places:"]  # fmt: skip
    src, dst = rnd.choice(tokens), rnd.choice(tokens)
    return data.replace(src, dst, rnd.randint(1, 5))


def outcome(data: bytes) -> str:
    try:
        export = parse(data, name="fuzz.csv")
    except ParseError as exc:
        assert str(exc).startswith("fuzz.csv")
        assert not exc.message.startswith("could not parse"), exc  # the catch-all means a bug
        return "error"
    assert isinstance(export, PointExport)
    assert list(export.records.columns) == list(COLUMNS)
    assert len(export.rejects) == min(export.rejected, MAX_REJECTS)
    assert export.records["name"].map(bool).all()
    return "export"


@pytest.mark.slow
def test_thousands_of_mutated_samples_give_an_export_or_a_parse_error() -> None:
    rnd = random.Random(20261202)
    sample = SAMPLE.read_bytes()
    results = {"export": 0, "error": 0}
    for _ in range(1500):
        data = sample
        for _ in range(rnd.randint(1, 3)):
            data = mutate(data, rnd) or b"x"
        results[outcome(data)] += 1
    assert results["export"] > 1000  # both outcomes occur, or the fuzzer exercises nothing
    assert results["error"] > 10


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.text(
        alphabet=st.sampled_from(list('"\r\n, :-0123456789*PointNameSystmTxblEdofRp')), max_size=400
    )
)
def test_arbitrary_report_like_text_gives_an_export_or_a_parse_error(text: str) -> None:
    outcome(('"Point System Name:","A"\r\n"Point Name:","A"\r\n' + text).encode())


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_give_an_export_or_a_parse_error(data: bytes) -> None:
    outcome(data)


HOSTILE = textwrap.dedent(
    """
    import resource, sys
    from energy_ingest.catalog.exports.siemens_points import parse_point_definitions
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with open(sys.argv[1], "rb") as f:
        export = parse_point_definitions(f, name="hostile.csv")
    grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024
    states = max(len(s or ()) for s in export.records["states"])
    print(grown, len(export.records), export.rejected, states)
    """
)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["field", "states"])
def test_a_hostile_file_stays_bounded_in_memory(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "hostile.csv"
    head = record('"Point System Name:","P"', '"Point Name:","P"')
    with path.open("wb") as f:
        f.write(head.encode())
        if kind == "field":  # one 50 MB field, a rejected record
            f.write(b'"Point System Name:","Q"\r\n"Point Name:","Q"\r\n"Descriptor:","')
            f.write(b"x" * (50 << 20))
            f.write(b'"\r\n')
        else:  # 100,000 text-table lines
            f.write(b'"Point System Name:","Q"\r\n"Point Name:","Q"\r\n"Text Table:","T"\r\n')
            f.writelines(b'"   %d - STATE%d"\r\n' % (n, n) for n in range(100_000))
        f.write(f'" {"*" * 80}"\r\n'.encode())
        f.write(record('"Point System Name:","R"', '"Point Name:","R"').encode())
    out = subprocess.run([sys.executable, "-c", HOSTILE, str(path)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    grown, records, rejected, states = map(int, out.stdout.split())
    assert grown < 64, f"peak RSS grew {grown} MB while parsing"
    if kind == "field":
        assert (records, rejected) == (2, 1)  # the record with the 50 MB line is rejected
    else:
        assert (records, rejected, states) == (3, 0, MAX_STATES)


def test_looks_like_point_definitions_knows_the_sample_in_every_line_ending_and_nothing_else() -> (
    None
):
    from energy_ingest.catalog.exports import export_parser
    from energy_ingest.catalog.exports.alc_points import parse_points_list
    from energy_ingest.catalog.exports.siemens_points import looks_like_point_definitions

    sample = (
        DATA / "REAL_siemens_point_definition_report_hulings_goodhue_excerpt.csv"
    ).read_bytes()
    for ending in (b"\r", b"\n", b"\r\n"):
        text = sample.replace(b"\r\n", b"\n").replace(b"\r", b"\n").replace(b"\n", ending)
        assert looks_like_point_definitions(text[:65536])
        assert export_parser(text[:65536]) is parse_point_definitions
    for other in sorted(DATA.iterdir()):
        if "point_definition" in other.name:
            continue
        start = other.read_bytes()[:65536]
        assert not looks_like_point_definitions(start), other.name
        expected = parse_points_list if "points_list" in other.name else None
        assert export_parser(start) is expected, other.name
    # A trend report of a point *named* "Point Type" is still a trend report.
    assert not looks_like_point_definitions(b'"Point_1:","Point Type:"\r\n"Point Name:"\r\n')
