"""The point catalog: what the building-automation systems' own point exports say about each point
(building, room, device, unit, type, states), resolved with the site file's rules.

    export.py          what an export parser returns (PointExport) — shared by the two below
    siemens_points.py  Siemens Insight Point Definition report → one record per point
    alc_points.py      ALC WebCTRL Points List report → one record per row
    units.py           BAS unit strings → canonical unit, quantity kind and plain-English names
"""
