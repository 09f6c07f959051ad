"""What kind of file it is: the sources a report comes from, and what a file is when its first
bytes show it is no text report — the one rule for the upload's 415 and the parsers' ParseError,
so that both say the same ("is a PDF document").

It lives here, beside errors.py, and imports only the standard library: the upload worker is
small and sandboxed and must not load pandas, and importing any `energy_ingest.formats.*` module
runs formats/__init__, which imports pandas. Both the upload app and formats/source.py import it.
"""

from __future__ import annotations

import codecs
import re
from typing import NamedTuple

SOURCES = ("siemens", "alc")  # the building-automation systems, and their spool folders
HEAD_BYTES = 8192  # how much of the start both look at
BINARY_HINT = (
    "export the trend report as CSV text; a workbook, a PDF, an archive or other binary file"
    " is not accepted"
)
PAGE_HINT = "a login or error page was probably saved instead of the export; export again"

# (magic bytes at the start, what it is) — the uploader posts every file it finds in its folder.
MAGIC = (
    (b"PK\x03\x04", "a ZIP archive (an Excel .xlsx workbook is one)"),
    (b"PK\x05\x06", "a ZIP archive"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old Excel .xls / Office document"),
    (b"%PDF", "a PDF document"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"7z\xbc\xaf", "a 7-Zip archive"),
    (b"Rar!", "a RAR archive"),
    (b"MZ", "a Windows program"),
)
MARKUP = re.compile(r"<\s*(!doctype|html|head|body|\?xml|!--|script|table|svg)\b", re.IGNORECASE)
# Controls that text files do carry: tab, line ends, vertical tab, form feed, DOS end-of-file.
TEXT_CONTROLS = frozenset(b"\t\n\v\f\r\x1a")


class NotAReport(NamedTuple):
    """What the file is ("a PDF document") and what to do about it."""

    what: str
    hint: str

    def sentence(self) -> str:
        """`is …, not a CSV trend report`: the upload puts the file name before it, the parsers
        `this`."""
        return f"is {self.what}, not a CSV trend report"


def not_a_report(head: bytes) -> NotAReport | None:
    """What the first bytes of a file show it to be when that is no text report; None when they
    may be text (that it is a report is for the parsers to find out).

    Known magic numbers first, then binary data (a NUL, or more than 1% of control characters,
    plus two), then an HTML/XML page (also in UTF-16 with a byte-order mark).
    """
    head = head[:HEAD_BYTES]
    for magic, what in MAGIC:
        if head.startswith(magic):
            return NotAReport(what, BINARY_HINT)
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        codec = "utf-16-le" if head.startswith(codecs.BOM_UTF16_LE) else "utf-16-be"
        text = head[2:].decode(codec, errors="ignore")
    else:
        body = head.removeprefix(codecs.BOM_UTF8)
        controls = sum(1 for b in body if (b < 0x20 and b not in TEXT_CONTROLS) or b == 0x7F)
        if b"\x00" in body or controls > len(body) // 100 + 2:
            return NotAReport("binary data", BINARY_HINT)
        text = body.decode("utf-8", errors="ignore")
    if MARKUP.match(text.lstrip()):
        return NotAReport("an HTML/XML page", PAGE_HINT)
    return None
