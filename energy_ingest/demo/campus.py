"""The demo campus's points and the two vendors' point exports that describe them.

Buildings, rooms and devices are the ones examples/site.toml resolves (HU, GH, BOLIOU, EV): the
Siemens names follow its naming rules, the ALC rows its control-program rules and Hulings Hall's
`alc_location`. Pure: text out, no database, no files.
"""

from __future__ import annotations

from dataclasses import dataclass

RULE = '" ********************************************************************************"'
END = '" ******************************** End of Report *********************************"'


@dataclass(frozen=True)
class Point:
    """A Siemens point as its Point Definition record states it, and what its readings do."""

    name: str
    descriptor: str
    units: str  # Engineering Units ("" for a status point)
    shape: str  # how reports.value() draws it: room, supply, kw, oat, damper, status
    panel: str


# The historical series (one Insight task per building, 2025) and the live one (`evans`).
SERIES: dict[str, list[Point]] = {
    "hulings": [
        Point("HU.R102.RMT", "ROOM 102 TEMP", "DEG F", "room", "PXCM60_7014"),
        Point("HU.R213B.RMT", "ROOM 213B TEMP", "DEG F", "room", "PXCM60_7014"),
        Point("HU.RB02.RMT", "ROOM B02 TEMP", "DEG F", "room", "PXCM60_7014"),
        Point("HU.AHU1.SAT", "AHU1 SUPPLY AIR TEMP", "DEG F", "supply", "PXCM60_7014"),
        Point("HU.AHU1.SF.S", "AHU1 SUPPLY FAN STATUS", "", "status", "PXCM60_7014"),
        Point("HU.ELEC.KW", "HULINGS ELEC DEMAND", "KW", "kw", "PXCM60_7014"),
    ],
    "goodhue": [
        Point("GH.R110.RMT", "ROOM 110 TEMP", "DEG F", "room", "MBC25"),
        Point("GH.R204.RMT", "ROOM 204 TEMP", "DEG F", "room", "MBC25"),
        Point("GH.AHU2.SAT", "AHU2 SUPPLY AIR TEMP", "DEG F", "supply", "MBC25"),
        Point("GH.AHU2.SF.S", "AHU2 SUPPLY FAN STATUS", "", "status", "MBC25"),
        Point("GH.AHU2.DMPR", "AHU2 OA DAMPER", "PERCNT", "damper", "MBC25"),
        Point("GH.ELEC.KW", "GOODHUE ELEC DEMAND", "KW", "kw", "MBC25"),
    ],
    "boliou": [
        Point("BOLIOU.R161.RMT", "ROOM 161 TEMP", "DEG F", "room", "MBC12"),
        Point("BOLIOU.AHU1.SAT", "AHU1 SUPPLY AIR TEMP", "DEG F", "supply", "MBC12"),
        Point("BOLIOU.ELEC.KW", "BOLIOU ELEC DEMAND", "KW", "kw", "MBC12"),
        Point("BOLIOU.WX.OAT", "OUTSIDE AIR TEMP", "DEG F", "oat", "MBC12"),
    ],
    "evans": [
        Point("EV.R102.RMT", "ROOM 102 TEMP", "DEG F", "room", "PXCM22"),
        Point("EV.R201.RMT", "ROOM 201 TEMP", "DEG F", "room", "PXCM22"),
        Point("EV.FC1.SAT", "FAN COIL 1 SUPPLY TEMP", "DEG F", "supply", "PXCM22"),
    ],
}

ALC_LOCATION = "/Carleton College/Hulings Hall/Facility Summary/Basement"
# (control program, name, type, I/O type): two fan coils of Hulings Hall's basement.
ALC_ROWS = [
    (program, name, kind, io)
    for program in ("HUL-FCU2-RM B44", "HUL-FCU4-RM B22")
    for name, kind, io in (
        ("Zone Temp", "BAI", "Thermistor"),
        ("Setpoint", "BSPTCS", ""),
        ("Fan Status", "BBI", "Dry Contact"),
        ("Heating Valve", "BAO", "0-10 Volts"),
    )
]


def siemens_point_definitions() -> bytes:
    """An Insight Point Definition report of every Siemens point (CRLF, quoted, as Insight)."""
    lines = ['""']
    for series in SERIES.values():
        for p in series:
            lines += [*_record(p), '""', RULE, '""']
    lines[-1] = END  # the last record's rule, then the report's end, as Insight writes it
    return ("\r\n".join(lines) + "\r\n").encode()


def _record(p: Point) -> list[str]:
    kind = "LDI" if p.shape == "status" else "LAI"
    out = [
        f'"Point System Name:","{p.name}"',
        f'"Point Name:","{p.name}"',
        f'"Point Type:","{kind}"',
        '"Classification:","Building Automation"',
        f'"Descriptor:","{p.descriptor}"',
        f'"Panel Name:","{p.panel}"," ({p.panel})"',
    ]
    if kind == "LDI":
        out += [
            '"Text Table:","Default LDI"',
            '"                         0 - OFF"',
            '"                         1 - ON"',
        ]
    else:
        out += [
            f'"Engineering Units:","{p.units}"',
            '"Analog Representation:","Float"',
            '"# of decimal places:","1"',
            '"COV Limit:","0.5"',
        ]
    return [*out, '"Totalization:","None"', '"Alarm Type:","Not Alarmable"']


def alc_points_list() -> bytes:
    """A WebCTRL Points List report of Hulings Hall's two basement fan coils."""
    lines = ['"Location","Control Program","Name","Type","Offset / Polarity","Exp:Num","I/O Type"']
    for n, (program, name, kind, io) in enumerate(ALC_ROWS):
        wired = f'"0","0:{n % 4 + 1}","{io}"' if io else '"" ,"" ,""'
        lines.append(f'"{ALC_LOCATION}","{program}","{name}","{kind}",{wired}')
    return ("\r\n".join(lines) + "\r\n").encode()
