"""The point catalog: what the building-automation systems' own point exports say about each point
(building, room, device, unit, type, states), resolved with the site file's rules.

    exports/           the point exports: Siemens Point Definition reports, ALC Points Lists
    point_types.py     the BAS point types (LAI, BBV …): the kind of value each holds, known or not
    units.py           BAS unit strings → canonical unit, quantity kind and plain-English names
    site.py            the site file (ENERGY_SITE_FILE): buildings, naming, floor, tag, unit rules
    site_fields.py     the site file's TOML values read and checked, with their lines
    vocabulary.py      what the site file and the API mean alike: building labels, anomaly tags
    resolve.py         one point → building, room, floor, device, tags, with their origins
    regex.py           the site rules' bounded (RE2) patterns
    search.py          the point search language: text → a small AST, and back
    search_tokens.py   its tokens, and the SearchError with advice for what is no token

Pure rules: the write layer stores what they decide.
"""
