"""CSV cells a spreadsheet opens as text: OWASP's defence against formula injection (Python, SQL).

A text cell (a point name, a state label) that begins with =, +, -, @, tab or CR would open in
Excel as a live formula (`=HYPERLINK(...)` leaks data on a click); it is written with a ' ahead,
which Excel shows as the text itself. Numbers are never text cells here, so -3.5 stays -3.5.
"""

from __future__ import annotations

FORMULA_STARTS = "=+-@\t\r"


def text(cell: str) -> str:
    """`cell` as a spreadsheet reads text: a leading ' when it would start a formula."""
    return "'" + cell if cell and cell[0] in FORMULA_STARTS else cell


def quoted(cell: str) -> str:
    """A text cell of a CSV line: neutralised, then quoted when it holds , " CR or LF."""
    cell = text(cell)
    if any(c in cell for c in ',"\r\n'):
        return '"' + cell.replace('"', '""') + '"'
    return cell


def quoted_sql(expr: str) -> str:
    """SQL rendering the text `expr` as `quoted` does, for lines PostgreSQL writes itself."""
    safe = f"(CASE WHEN {expr} ~ '^[-=+@\t\r]' THEN '''' || {expr} ELSE {expr} END)"
    return (
        f"CASE WHEN {safe} ~ '[\",\r\n]' THEN '\"' || replace({safe}, '\"', '\"\"')"
        f" || '\"' ELSE {safe} END"
    )
