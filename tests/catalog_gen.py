"""Generator of Siemens Insight Point Definition reports from a known table, for round-trip tests.

`point_records()` draws the table a parser should give back (one dict per record, in the parser's
columns without `line`); `render()` writes it as a report the way Insight does: a label line per
field, two fields on some lines, the panel's label in parentheses, text tables as `N - LABEL`
lines, wrapped informational text with embedded CRs, asterisk rules and the End of Report footer,
with the line ending and the quoting chosen by the caller.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from hypothesis import strategies as st

from energy_ingest.catalog.exports.siemens_point_record import KNOWN, NO_TEXT

RULE = " " + "*" * 80
FOOTER = " " + "*" * 32 + " End of Report " + "*" * 33
WRAP = 72  # Insight wraps informational text at this many characters, " -" marking a wrap
EXTRA_LABELS = ["Initial Value", "Graphic Name", "Auto Unbundled", "Modified from Default",
                "Wire Resistance", "Alarm Priority", "Count Both Edges", "Proof Point Address"]  # fmt: skip
POINT_TYPES = ["LAI", "LAO", "LDI", "LDO", "LENUM", "LPACI", "L2SL", "LFSSL"]

_chars = st.characters(codec="utf-8", exclude_categories=("Cc", "Cs", "Zl", "Zp"))
# Stripped, non-empty text without line breaks; quotes and commas exercise the CSV quoting.
text = st.text(_chars, min_size=1, max_size=30).map(str.strip).filter(bool)
optional = st.none() | text
number = st.floats(allow_nan=False, allow_infinity=False, width=32)
label = st.from_regex(r"[A-Za-z][A-Za-z0-9 #/()._-]{0,24}[A-Za-z0-9)]?", fullmatch=True).filter(
    lambda s: s.strip() == s and s.casefold() not in KNOWN
)
info = st.none() | st.text(
    st.characters(codec="ascii", exclude_categories=("Cc",)) | st.just("\n"), max_size=300
).map(str.strip).filter(lambda s: s not in ("", NO_TEXT))


@st.composite
def point_record(draw: st.DrawFn) -> dict[str, Any]:
    table = draw(st.none() | optional)
    states = None
    if table is not None or draw(st.booleans()):
        table = table or draw(text)
        values = draw(st.lists(st.integers(-5, 300), unique=True, max_size=14))
        states = {n: draw(text) for n in values}
    extras = draw(st.dictionaries(st.sampled_from(EXTRA_LABELS) | label, st.none() | text,
                                  max_size=6))  # fmt: skip
    folded = [k.casefold() for k in extras]
    extras = {k: v for k, v in extras.items() if folded.count(k.casefold()) == 1}
    record: dict[str, Any] = {
        "system_name": draw(text),
        "name": draw(text),
        "point_type": draw(st.none() | st.sampled_from(POINT_TYPES)),
        "classification": draw(st.none() | st.just("Building Automation") | text),
        "descriptor": draw(optional),
        "panel": draw(optional),
        "panel_label": None,
        "address": draw(st.none() | st.just("-Virtual-") | text),
        "sensor_type": draw(optional),
        "slope": draw(st.none() | number),
        "intercept": draw(st.none() | number),
        "cov_limit": draw(st.none() | number),
        "gain": draw(st.none() | number),
        "engineering_units": draw(
            st.none() | st.sampled_from(["DEG F", "deg F", "KW", "%"]) | text
        ),
        "representation": draw(st.none() | st.sampled_from(["Float", "Integer"])),
        "decimals": draw(st.none() | st.integers(0, 9)),
        "text_table": table,
        "states": None if states is None else tuple(states[n] for n in sorted(states)),
        "state_values": None if states is None else tuple(sorted(states)),
        "totalization": draw(st.none() | st.sampled_from(["None", "Hours"])),
        "alarm_type": draw(optional),
        "object_name": draw(optional),
        "object_id": draw(optional),
        "informational_text": draw(info),
        "extras": extras,
    }
    if record["panel"] is not None:
        record["panel_label"] = draw(optional)
    record["_state_order"] = draw(st.permutations(list(states or {})))
    record["_states"] = states
    record["_pair_cov"] = draw(st.booleans())
    return record


point_records = st.lists(point_record(), min_size=1, max_size=6)


def _number(value: float, rnd: bool) -> str:
    text = repr(value)
    return " " + text if rnd and value < 0 else text  # Insight pads negatives with a space


def _lines(record: dict[str, Any]) -> list[list[str]]:
    """The record's lines as lists of CSV fields, in Insight's order."""
    out: list[list[str]] = []

    def put(label: str, value: object, *more: str) -> None:
        if value is not None:
            out.append([label + ":", "" if value == "" else str(value), *more])

    put("Point System Name", record["system_name"])
    put("Point Name", record["name"])
    put("Point Type", record["point_type"])
    put("Object Name", record["object_name"])
    put("Object ID", record["object_id"])
    put("Classification", record["classification"])
    put("Descriptor", record["descriptor"])
    if record["panel"] is not None:
        more = [] if record["panel_label"] is None else [f" ({record['panel_label']})"]
        put("Panel Name", record["panel"], *more)
    address = record["address"]
    put("Point Address", " -Virtual-" if address == "-Virtual-" else address)
    put("Sensor Type", record["sensor_type"])
    for column, label in (("slope", "Slope"), ("intercept", "Intercept")):
        if record[column] is not None:
            put(label, _number(record[column], True))
    cov, gain = record["cov_limit"], record["gain"]
    if cov is not None and gain is not None and record["_pair_cov"]:
        out.append(["COV Limit:", _number(cov, False), "Gain:", _number(gain, False)])
    else:
        for value, name in ((cov, "COV Limit"), (gain, "Gain")):
            if value is not None:
                put(name, _number(value, False))
    put("Engineering Units", record["engineering_units"])
    put("Analog Representation", record["representation"])
    put("# of decimal places", record["decimals"])
    if record["text_table"] is not None:
        put("Text Table", record["text_table"])
        out.extend([[f"{' ' * 25}{n} - {record['_states'][n]}"] for n in record["_state_order"]])
    put("Totalization", record["totalization"])
    text = record["informational_text"]
    if text is None:
        out.append(["Informational Text:", NO_TEXT])
    elif len(text) <= WRAP and "\n" not in text and record["_pair_cov"]:
        out.append(["Informational Text:", text])
    else:
        out.append(["Informational Text:"])
        pieces = [text[i : i + WRAP] for i in range(0, len(text), WRAP)]
        for i, piece in enumerate(pieces):
            wrapped = ["  " + piece.replace("\n", "\r")]
            out.append([*wrapped, " -"] if i < len(pieces) - 1 else wrapped)
    put("Alarm Type", record["alarm_type"])
    extras = [[f"{k}:", "" if v is None else v] for k, v in record["extras"].items()]
    while extras:  # some lines carry two fields, like "Print Info with Alarm:","Yes","Print…"
        take = 2 if len(extras) > 1 and record["_pair_cov"] else 1
        out.append([field for pair in extras[:take] for field in pair])
        extras = extras[take:]
    return out


def render(
    records: list[dict[str, Any]], *, ending: str = "\r\n", quote_all: bool = True
) -> tuple[bytes, list[int]]:
    """The report as bytes, and the physical line where each record starts."""
    buffer = io.StringIO()
    quoted = csv.writer(buffer, quoting=csv.QUOTE_ALL, lineterminator=ending)
    minimal = csv.writer(buffer, quoting=csv.QUOTE_MINIMAL, lineterminator=ending)
    starts: list[int] = []
    line = 1

    def write(fields: list[str]) -> None:
        nonlocal line
        # csv quotes a CR only when it is part of the line terminator; Insight always quotes
        plain = not quote_all and not any("\r" in f for f in fields)
        (minimal if plain else quoted).writerow(fields)
        line += 1 + sum(f.count("\r") for f in fields)

    write([""])
    for i, record in enumerate(records):
        if i:
            write([""])
        starts.append(line)
        for fields in _lines(record):
            write(fields)
        write([""])
        write([RULE])
    write([FOOTER])
    return buffer.getvalue().encode("utf-8"), starts


def expected(records: list[dict[str, Any]], starts: list[int]) -> list[dict[str, Any]]:
    """The rows the parser should give for `records` rendered with line numbers `starts`."""
    return [
        {"line": line, **{k: v for k, v in r.items() if not k.startswith("_")}}
        for r, line in zip(records, starts, strict=True)
    ]
