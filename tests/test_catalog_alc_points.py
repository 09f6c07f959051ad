"""ALC WebCTRL Points List parser: the real samples, encodings, header variants, rejects, limits,
a round trip through the report engine's quoting, and fuzzing (a PointExport or a ParseError)."""

from __future__ import annotations

import codecs
import random
import subprocess
import sys
import tracemalloc
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from energy_ingest.catalog.exports import alc_points
from energy_ingest.catalog.exports.alc_points import (
    COLUMNS,
    looks_like_points_list,
    parse_points_list,
)
from energy_ingest.catalog.exports.point_export import (
    MAX_FIELD_CHARS,
    MAX_REJECTS,
    PointExport,
    Reject,
)
from energy_ingest.errors import ParseError
from energy_ingest.formats.source import MAX_LINE_BYTES

DATA = Path(__file__).parent / "data"
HULINGS = "REAL_webctrl_points_list_report_hulings_excerpt.csv"
ACCUWEATHER = "REAL_webctrl_points_list_report_accuweather_excerpt.csv"
TITLES = ["Location", "Control Program", "Name", "Type", "Offset / Polarity", "Exp:Num", "I/O Type"]
FIELDS = ["location", "control_program", "name", "type", "offset_polarity", "exp_num", "io_type"]
BASEMENT = "/Carleton College/Hulings Hall/Facility Summary/Basement"


def sample(name: str) -> bytes:
    return (DATA / name).read_bytes()


def report(rows: list[list[str]], titles: list[str] = TITLES, quirk: bool = True) -> bytes:
    """A Points List as WebCTRL's report engine writes one: every field quoted, CRLF, and (with
    `quirk`) a space after the closing quote of empty fields and at the end of data lines."""

    def field(text: str) -> str:
        quoted = '"' + text.replace('"', '""') + '"'
        return quoted + " " if quirk and not text else quoted

    lines = [",".join(f'"{t}"' for t in titles)]
    lines += [",".join(field(t) for t in row) + (" " if quirk else "") for row in rows]
    return ("\r\n".join(lines) + "\r\n").encode()


def table(export: PointExport) -> list[tuple[object, ...]]:
    """The rows as (line, location, control program, name, type, offset, exp:num, i/o type)."""
    return [
        (r.line, r.location, r.control_program, r.name, r.type, r.offset_polarity, r.exp_num,
         r.io_type)
        for r in export.records.itertuples()
    ]  # fmt: skip


def setpoints(program: str) -> list[tuple[str, str, str, None, None, None]]:
    names = ["Setpoint"] + [
        f"Setpoint / {s}"
        for s in (
            "Cooling Occupied Setpoint",
            "Heating Occupied Setpoint",
            "Cooling Unoccupied Setpoint",
            "Heating Unoccupied Setpoint",
            "Cooling Setpoint Adjust",
        )
    ]
    return [(program, n, "BSPTCS" if n == "Setpoint" else "BAV", None, None, None) for n in names]


def vivarium(n: int) -> list[tuple[str, str, str, str | None, str | None, str | None]]:
    program, stp = f"HUL-EVAV-B-{n}-Vivarium", f"HUL-AHU1-VAV-B-{n}-VIVARIUM .SA-CFM-STP"
    return [
        (program, stp, "BAF", None, None, None),
        (program, f"{stp} / HUL-AHU1-VAV-B-{n}-VIVARIUM .SA-CFM", "BAI", "0", "0:1", "Flow Input"),
        (program, f"HUL-AHU1-VAV-B-{n}-VIVARIUM.SA-CFM", "BAV", None, None, None),
        (program, "Airflow Request", "BAV", None, None, None),
        (program, f"HUL-AHU1-VAV-B-{n}.VIVARIUM.OCC", "BBV", None, None, None),
        (program, "Override", "BNI", None, None, None),
    ]


def damper(d: str) -> list[tuple[str, str, str, str | None, str | None, str | None]]:
    program = f"Crossover damper {d}"
    return [
        (program, "Damper Status", "BBI", "normal", "0:10", "Dry Contact"),
        (program, "Damper Open CTRL", "BBO", "normal", "0:3", "Relay / Triac Output"),
        (program, "Damper Fail Alarm", "BALM", None, None, None),
        (program, "Damper In Hand Alarm", "BALM", None, None, None),
    ]


VAV5 = "HUL-AHUH1-VAV-B-5-RM B19"
HULINGS_ROWS = [
    *setpoints("HUL-FCU2-RM B44"),
    *setpoints("HUL-FCU4-RM B22"),
    (VAV5, "HUL-AHU1-VAV-B-5.SA-CFM-STP", "BAF", None, None, None),
    (VAV5, "HUL-AHU1-VAV-B-5.SA-CFM-STP / HUL-AHU1-VAV-B-5.SA-CFM", "BAI", "0", "0:1",
     "Flow Input"),
    (VAV5, "N/A", "BRS", None, None, None),
    (VAV5, "N/A / N/A", "BAI", "0", "0:0", "Thermistor"),
    (VAV5, "N/A / Override Time Remaining", "BAV", None, None, None),
    (VAV5, "Setpoint", "BSPTCS", None, None, None),
    *vivarium(27),
    *vivarium(29),
    *damper("D-4"),
    *damper("D-5"),
]  # fmt: skip
HULINGS_TABLE = [(i + 2, BASEMENT, *row) for i, row in enumerate(HULINGS_ROWS)]
WEATHER = ["Dew Point", "Feels Like", "Humidity", "Pressure", "Rain Rate", "RealFeel",
           "Temperature"]  # fmt: skip
ACCUWEATHER_TABLE = [
    (i + 2, "/Carleton College", "OA Conditions accuweather", f"Current {w}", "BAV", None, None,
     None)
    for i, w in enumerate(WEATHER)
]  # fmt: skip


# The two real samples -------------------------------------------------------------------------


def test_the_hulings_sample_parses_to_its_exact_table() -> None:
    export = parse_points_list(sample(HULINGS), name=HULINGS)
    assert (export.format, export.source, export.complete) == ("alc-points-list", "alc", True)
    assert list(export.records.columns) == list(COLUMNS)
    assert table(export) == HULINGS_TABLE
    assert set(export.records["location_parts"]) == {
        ("Carleton College", "Hulings Hall", "Facility Summary", "Basement")
    }
    assert export.records["extras"].tolist() == [{}] * 38
    assert (export.rejects, export.rejected, export.warnings) == ([], 0, [])
    assert export.fields_seen == tuple(TITLES)


def test_the_accuweather_sample_parses_with_the_quote_space_comma_quirk_stripped() -> None:
    export = parse_points_list(sample(ACCUWEATHER), name=ACCUWEATHER)
    assert table(export) == ACCUWEATHER_TABLE  # "Current RealFeel" , → "Current RealFeel"
    assert export.records["location_parts"].tolist() == [("Carleton College",)] * 7
    assert (export.rejected, export.warnings) == (0, [])


def test_the_records_keep_what_resolving_a_row_to_building_device_and_room_needs() -> None:
    row = parse_points_list(sample(HULINGS)).records.iloc[0]
    assert row["location_parts"][1] == "Hulings Hall"
    assert (row["control_program"], row["name"]) == ("HUL-FCU2-RM B44", "Setpoint")


def test_a_file_object_or_a_pipe_parses_like_its_bytes() -> None:
    with (DATA / HULINGS).open("rb") as f:
        assert table(parse_points_list(f, name=HULINGS)) == HULINGS_TABLE
    with subprocess.Popen(["cat", str(DATA / HULINGS)], stdout=subprocess.PIPE) as cat:
        assert cat.stdout is not None
        assert table(parse_points_list(cat.stdout, name=HULINGS)) == HULINGS_TABLE


# Line ends and encodings ----------------------------------------------------------------------


@pytest.mark.parametrize("ending", [b"\r\n", b"\n", b"\r"])
@pytest.mark.parametrize("bom", [b"", codecs.BOM_UTF8])
def test_line_ends_and_a_bom_give_the_same_table(ending: bytes, bom: bytes) -> None:
    data = bom + sample(HULINGS).replace(b"\r\n", ending)
    assert table(parse_points_list(data)) == HULINGS_TABLE


ACCENTED = [
    ["/Campus/Hall Étoile/2e étage", "AHU-1 Salle 201", "Température °C", "BAV", "", "", ""],
    ["/Campus/Hall Étoile", "Chaudière", "Débit – eau", "BAI", "0", "0:1", "Flow Input"],
]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252", "utf-16"])
def test_text_in_utf8_with_or_without_bom_cp1252_or_utf16_gives_the_same_table(
    encoding: str,
) -> None:
    data = report(ACCENTED).decode().encode(encoding)
    export = parse_points_list(data, name="accented.csv")
    assert table(export) == [
        (2, *ACCENTED[0][:4], None, None, None),
        (3, *ACCENTED[1]),
    ]
    assert export.records["location_parts"].iloc[0] == ("Campus", "Hall Étoile", "2e étage")
    warned = ["the file is not UTF-8; decoded as Windows-1252 (cp1252)"]
    assert export.warnings == (warned if encoding == "cp1252" else [])


# Header variants ------------------------------------------------------------------------------


def test_columns_are_found_by_title_in_any_order_case_and_spacing() -> None:
    order = [6, 2, 0, 5, 1, 3, 4]
    titles = ["i/o type", "NAME", " location ", "Exp : Num", "ControlProgram", "type",
              "Offset/Polarity"]  # fmt: skip
    rows = [[row[j] for j in order] for row in ACCENTED]
    assert table(parse_points_list(report(rows, titles))) == table(
        parse_points_list(report(ACCENTED))
    )


def test_an_unknown_column_is_kept_in_extras_by_its_title() -> None:
    titles = [*TITLES[:3], "Description", *TITLES[3:], "", "Description"]
    rows = [
        [*ACCENTED[0][:3], "Supply air", *ACCENTED[0][3:], "x", "again"],
        [*ACCENTED[1][:3], "", *ACCENTED[1][3:], "", ""],
    ]
    export = parse_points_list(report(rows, titles))
    assert table(export) == table(parse_points_list(report(ACCENTED)))
    assert export.records["extras"].tolist() == [
        {"Description": "Supply air", "column (column 9)": "x", "Description (column 10)": "again"},
        {"Description": None, "column (column 9)": None, "Description (column 10)": None},
    ]
    assert export.fields_seen == (*TITLES[:3], "Description", *TITLES[3:], "")


def test_a_known_column_given_twice_uses_the_first_and_keeps_the_second_in_extras() -> None:
    export = parse_points_list(report([["/A/B", "P", "N", "BAV", "BBV"]], [*TITLES[:4], "Type"]))
    assert export.records["type"].tolist() == ["BAV"]
    assert export.records["extras"].tolist() == [{"Type (column 5)": "BBV"}]
    assert export.warnings == [
        "line 1: column 5 'Type' appears again; the first is used and this one is kept in extras"
    ]


def test_only_location_control_program_and_name_are_required() -> None:
    export = parse_points_list(report([["/A/B", "P", "N"]], TITLES[:3]))
    assert table(export) == [(2, "/A/B", "P", "N", None, None, None, None)]


def test_a_missing_required_column_is_an_error_naming_the_columns_found() -> None:
    with pytest.raises(ParseError) as err:
        parse_points_list(report([["/A", "N", "BAV"]], ["Location", "Name", "Type"]), name="p.csv")
    assert err.value.line == 1
    assert str(err.value) == (
        "p.csv line 1: the header row has no Control Program column; its columns are "
        "'Location', 'Name', 'Type' — export the WebCTRL Points List report as CSV, with its "
        "Location, Control Program and Name columns"
    )


def test_metadata_lines_before_the_header_are_skipped() -> None:
    data = b'"Points List","Generated 4/6/2022"\r\n\r\n' + report(ACCENTED)
    assert [r[0] for r in table(parse_points_list(data))] == [4, 5]


@pytest.mark.parametrize(
    "other",
    [
        "CONSTRUCTED_siemens_insight_boliou1_11-30-18_02-00.csv",
        "CONSTRUCTED_webctrl_trend_long_SPECULATIVE.csv",
        "CONSTRUCTED_webctrl_soap_getTrendData_return_values.txt",
    ],
)
def test_a_file_that_is_not_a_points_list_is_refused_with_its_first_lines(other: str) -> None:
    with pytest.raises(ParseError) as err:
        parse_points_list(sample(other), name=other)
    assert err.value.line == 1
    assert str(err.value).startswith(
        f"{other} line 1: not an ALC WebCTRL Points List report: no header row with Location, "
        "Control Program, Name, Type titles"
    )
    assert err.value.excerpt.startswith("The file starts:\n    1: ")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "the file is empty"),
        (b"\xef\xbb\xbf \r\n", "the file is empty"),
        (b"%PDF-1.4\n", "this is a PDF document, not a CSV Points List report"),
        (b"<html><body>Login</body></html>", "not a CSV Points List report"),
    ],
)
def test_empty_binary_and_html_files_are_refused(data: bytes, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        parse_points_list(data, name="x.csv")


# Rejected records -----------------------------------------------------------------------------


def test_broken_rows_are_rejects_with_their_line_and_the_rest_import() -> None:
    good = ACCENTED[0]
    lines = report([good]).split(b"\r\n")[:2]
    lines += [
        b'"/A","P","short"',
        b'"/A","P","N","BAV","","","","extra"',
        b'"/A","P","","BAV","","",""',
        b'"/A","P","N","BAV","","","",""',  # a trailing empty field is a trailing comma: kept
        b"",  # a blank line is nothing
        b'"/A","P' + b"x" * (MAX_LINE_BYTES + 5) + b'"',
        b'"/A","P","N2","BAV","","",""',
    ]
    export = parse_points_list(b"\r\n".join(lines) + b"\r\n")
    assert [r[0] for r in table(export)] == [2, 6, 9]
    assert export.rejects == [
        Reject(3, "row has 3 fields, header has 7"),
        Reject(4, "row has 8 fields, header has 7"),
        Reject(5, "no Name: a point needs one"),
        Reject(
            8,
            f"line of {MAX_LINE_BYTES + 13:,} characters, longer than the {MAX_LINE_BYTES:,} a "
            "report line may have — not a row of this report",
        ),
    ]
    assert export.rejected == 4


def test_a_quoted_field_spanning_lines_is_one_record_at_its_first_line() -> None:
    data = report(
        [["/A", "P", "two\r\nlines", "BAV", "", "", ""], ["/A", "P", "N", "", "", "", ""]]
    )
    # formats.records feeds csv lines without their ends, so the break itself is dropped
    assert [(r[0], r[3]) for r in table(parse_points_list(data))] == [(2, "twolines"), (4, "N")]


def test_only_the_first_max_rejects_are_kept_but_all_are_counted() -> None:
    data = report(ACCENTED) + b'"only","two"\r\n' * (MAX_REJECTS + 50)
    export = parse_points_list(data)
    assert (len(export.rejects), export.rejected) == (MAX_REJECTS, MAX_REJECTS + 50)
    assert export.rejects[0] == Reject(4, "row has 2 fields, header has 7")
    assert len(export.records) == 2


def test_a_file_of_only_the_header_is_an_empty_table_with_the_documented_columns() -> None:
    export = parse_points_list(report([]))
    assert list(export.records.columns) == list(COLUMNS)
    assert len(export.records) == 0
    assert str(export.records["line"].dtype) == "int64"


# Limits -----------------------------------------------------------------------------------------


def test_a_field_longer_than_max_field_chars_is_cut_and_a_warning_says_so() -> None:
    rows = [["/A", "P", "N" * (MAX_FIELD_CHARS + 10), "BAV", "", "", ""], ["/A", "P", "M", *"...."]]
    export = parse_points_list(report(rows * 2))
    assert export.records["name"].str.len().tolist() == [MAX_FIELD_CHARS, 1] * 2
    assert export.warnings == [
        f"2 field(s) longer than {MAX_FIELD_CHARS:,} characters were cut to that length (the "
        "first on line 2)"
    ]


def peak_mib(data: bytes) -> tuple[PointExport, float]:
    tracemalloc.start()
    try:
        export = parse_points_list(data)
        return export, tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def test_a_50_mb_field_is_one_reject_and_memory_stays_small() -> None:
    data = report(ACCENTED) + b'"/A","P","' + b"x" * 50_000_000 + b'","BAV","","",""\r\n'
    data += report(ACCENTED).split(b"\r\n", 1)[1]
    export, peak = peak_mib(data)
    assert [r[0] for r in table(export)] == [2, 3, 5, 6]
    assert export.rejected == 1 and "longer than" in export.rejects[0].reason
    assert peak < 16, f"{peak:.1f} MiB"


def test_a_50_mb_quoted_field_over_many_lines_is_an_error_not_a_giant_record() -> None:
    data = report(ACCENTED) + b'"/A","P","' + (b"x" * 1000 + b"\r\n") * 50_000
    with pytest.raises(ParseError, match=r"^q\.csv line 4: .* double quote"):
        parse_points_list(data, name="q.csv")


@pytest.mark.slow
def test_a_hundred_thousand_junk_rows_stay_bounded() -> None:
    junk = b"".join(b'"junk %d",,"x"\r\n' % i for i in range(100_000))
    export, peak = peak_mib(report(ACCENTED) + junk)
    assert len(export.records) == 2
    assert (len(export.rejects), export.rejected) == (MAX_REJECTS, 100_000)
    assert peak < 16, f"{peak:.1f} MiB"


def test_a_header_with_too_many_columns_is_an_error() -> None:
    titles = TITLES + [f"T{i}" for i in range(100_000)]
    with pytest.raises(ParseError, match="the header row has 100,007 columns, more than the 256"):
        parse_points_list(report([], titles))


def test_more_than_max_rows_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(alc_points, "MAX_ROWS", 3)
    assert len(parse_points_list(report(ACCENTED + ACCENTED[:1])).records) == 3
    with pytest.raises(ParseError, match="line 5: more than 3 rows"):
        parse_points_list(report(ACCENTED * 2))


# Sniffing from the header alone ---------------------------------------------------------------


def test_looks_like_points_list_knows_the_samples_and_header_variants() -> None:
    assert looks_like_points_list(sample(HULINGS)[:200])
    assert looks_like_points_list(sample(ACCUWEATHER)[:90])  # the header line alone
    assert looks_like_points_list(codecs.BOM_UTF8 + b"type,NAME,control program,Location\n")
    assert looks_like_points_list('"Points"\r\n"Name","Type","Location","Control Program"'.encode(
        "utf-16"
    ))  # fmt: skip


def test_looks_like_points_list_refuses_every_other_sample_and_near_misses() -> None:
    others = [p for p in DATA.iterdir() if "points_list" not in p.name]
    assert others
    assert not any(looks_like_points_list(p.read_bytes()[:65536]) for p in others)
    assert not looks_like_points_list(b'"Location","Control Program","Name"\r\n')  # no Type
    assert not looks_like_points_list(b"")
    assert not looks_like_points_list(b'"Time","Location","Name","Type","Value"\r\n')


def test_the_parser_imports_neither_psycopg_nor_flask() -> None:
    code = (
        "import sys, energy_ingest.catalog.exports.alc_points; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('psycopg', 'flask')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# Round trip and fuzzing -------------------------------------------------------------------------

AWKWARD = (
    st.lists(
        st.one_of(
            st.sampled_from([*"\",/ :'\\;", '" ,', '""', "é", "°", "–", "☃", "😀"]),
            st.characters(exclude_categories=("Cc", "Cs")),
        ),
        max_size=16,
    )
    .map("".join)
    .map(str.strip)
)


@pytest.mark.slow
@settings(max_examples=100, deadline=None)
@given(
    rows=st.lists(
        st.tuples(AWKWARD, AWKWARD, AWKWARD.filter(bool), AWKWARD, AWKWARD, AWKWARD, AWKWARD),
        max_size=12,
    ),
    order=st.permutations(range(7)),
    quirk=st.booleans(),
)
def test_rows_rendered_as_the_report_engine_does_parse_back_unchanged(
    rows: list[tuple[str, ...]], order: list[int], quirk: bool
) -> None:
    data = report([[row[j] for j in order] for row in rows], [TITLES[j] for j in order], quirk)
    export = parse_points_list(data)
    assert export.rejected == 0
    assert table(export) == [(i + 2, *[text or None for text in row]) for i, row in enumerate(rows)]
    assert export.records["location_parts"].tolist() == [
        tuple(s.strip() for s in row[0].split("/") if s.strip()) for row in rows
    ]


def mutate(data: bytes, rnd: random.Random) -> bytes:
    kind = rnd.randrange(6)
    if kind == 0:
        return data[: rnd.randrange(len(data) + 1)]
    if kind == 1:
        buf = bytearray(data)
        for _ in range(rnd.randint(1, 20)):
            buf[rnd.randrange(len(buf))] = rnd.randrange(256)
        return bytes(buf)
    lines = data.splitlines(keepends=True)
    if kind == 2:
        rnd.shuffle(lines)
        return b"".join(lines)
    if kind == 3:
        at = rnd.randrange(len(data) + 1)
        filler = rnd.choice([b"x", b'"', b",", b" ", b"\r"]) * rnd.choice([10, 5000, 300_000])
        return data[:at] + filler + data[at:]
    if kind == 4:
        i = rnd.randrange(len(lines))
        return b"".join(lines[:i] + lines[i : i + 2] * rnd.randint(0, 4) + lines[i + 1 :])
    tokens = [b'"', b",", b" ,", b"Name", b"Location", b"/", b"\r\n", b"\xef\xbb\xbf", b"\xff\xfe",
              b"\x00", b'""']  # fmt: skip
    return data.replace(rnd.choice(tokens), rnd.choice(tokens), rnd.randint(1, 5))


def outcome(data: bytes) -> str:
    try:
        export = parse_points_list(data, name="fuzz.csv")
    except ParseError as exc:
        assert str(exc).startswith("fuzz.csv")
        assert not exc.message.startswith("could not parse"), exc  # the catch-all means a bug
        return "error"
    assert list(export.records.columns) == list(COLUMNS)
    assert len(export.rejects) == min(export.rejected, MAX_REJECTS)
    assert all(isinstance(n, str) and n for n in export.records["name"])
    assert export.records["line"].is_monotonic_increasing
    return "export"


@pytest.mark.slow
def test_thousands_of_mutated_samples_give_a_point_export_or_a_parse_error() -> None:
    rnd = random.Random(20261202)
    samples = [sample(HULINGS), sample(ACCUWEATHER)]
    results = {"export": 0, "error": 0}
    for _ in range(800):
        data = rnd.choice(samples)
        for _ in range(rnd.randint(1, 3)):
            data = mutate(data, rnd) or data
        results[outcome(data)] += 1
    assert results["export"] > 250  # both outcomes occur: the fuzzer exercises something
    assert results["error"] > 30


@pytest.mark.slow
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_give_a_point_export_or_a_parse_error(data: bytes) -> None:
    outcome(data)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list('"\r\n, /:NameLocationTypeBAV')), max_size=400))
def test_arbitrary_report_like_text_gives_a_point_export_or_a_parse_error(text: str) -> None:
    outcome((",".join(f'"{t}"' for t in TITLES) + "\r\n" + text).encode())


def test_records_are_a_dataframe_with_text_as_object_and_none_for_empty() -> None:
    records = parse_points_list(sample(HULINGS)).records
    assert isinstance(records, pd.DataFrame)
    assert records.dtypes.drop("line").eq(object).all()
    assert records["io_type"].iloc[0] is None
