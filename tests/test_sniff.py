"""One content sniff: the upload's 415, parse()'s ParseError and the daemon's failure note name a
non-report file (PDF, ZIP/xlsx, HTML page, binary …) in the same words."""

from __future__ import annotations

import io
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from helpers import Daemon, wait_until

from energy_ingest.config import Settings
from energy_ingest.errors import ParseError
from energy_ingest.file_kinds import not_a_report
from energy_ingest.formats import parse
from energy_ingest.upload.app import create_app


def xlsx() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("xl/workbook.xml", '<?xml version="1.0"?><workbook/>')
    return buf.getvalue()


# name → (the file's bytes, what both must call it)
SAMPLES = {
    "report.pdf": (
        b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\n",
        "a PDF document",
    ),
    "reports.zip": (b"PK\x05\x06" + bytes(18), "a ZIP archive"),
    "book.xlsx": (xlsx(), "a ZIP archive (an Excel .xlsx workbook is one)"),
    "old.xls": (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(200), "an old Excel .xls"),
    "login.csv": (b"\n  <!DOCTYPE html>\n<html><body>a,b</body></html>\n", "an HTML/XML page"),
    "feed.xml": (b'\xef\xbb\xbf<?xml version="1.0"?><rss>a,b</rss>', "an HTML/XML page"),
    "page16.csv": ("<html><body>a,b</body></html>".encode("utf-16"), "an HTML/XML page"),
    "report.csv.gz": (b"\x1f\x8b\x08\x00" + bytes(40), "a gzip archive"),
    "chart.png": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "a PNG image"),
    "dump.csv": (b"a,b\r\n1,2\r\n" + bytes(range(256)) * 4, "binary data"),
    "controls.csv": (b"Key,Name\n" + bytes(range(1, 9)) * 40, "binary data"),
}
WORDS = {name: f"is {what}" for name, (_, what) in SAMPLES.items()}


def upload_refusal(tmp_path: Path, name: str, data: bytes) -> str:
    app = create_app(Settings(spool_dir=tmp_path / "spool"))
    reply = app.test_client().post(
        "/upload/siemens",
        data=b'--b\r\nContent-Disposition: form-data; name="file"; filename="'
        + name.encode()
        + b'"\r\n\r\n'
        + data
        + b"\r\n--b--\r\n",
        content_type="multipart/form-data; boundary=b",
    )
    assert reply.status_code == 415, reply.get_data(as_text=True)
    return reply.get_data(as_text=True).strip()


def parse_error(name: str, data: bytes) -> str:
    with pytest.raises(ParseError) as err:
        parse(data, name=name)
    return str(err.value)


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_the_upload_and_the_parser_say_the_same_of_a_file_that_is_no_report(
    tmp_path: Path, name: str
) -> None:
    data, what = SAMPLES[name]
    found = not_a_report(data)
    assert found is not None and found.what.startswith(what)
    upload = upload_refusal(tmp_path, name, data)
    parsed = parse_error(name, data)
    assert upload == f"{name} is {found.what}, not a CSV trend report — {found.hint}"
    assert parsed == f"{name} line 1: this is {found.what}, not a CSV trend report — {found.hint}"


@pytest.mark.parametrize(
    "data",
    [
        "Time\tValue\r\n4/5/2022 12:00:00 PM\t1\r\n".encode("utf-16"),  # Excel "Unicode text"
        b'\xef\xbb\xbf"Key","Name:Suffix"\r\n',
        "Zeit;Temperatur °C\n".encode("cp1252"),
        b'"a","b"\x1a',  # a DOS end-of-file mark
        b"<>Date,Time,Point_1\r\n",  # a Siemens header row is not markup
        b"%PDX,b\n",  # near a magic number is not one
    ],
)
def test_text_is_left_to_the_parsers_whatever_its_encoding(data: bytes) -> None:
    assert not_a_report(data) is None


def test_the_daemons_failure_notes_say_what_the_upload_says(
    daemons: Callable[..., Daemon], spool_dir: Path, tmp_path: Path
) -> None:
    incoming = spool_dir / "incoming" / "siemens"
    incoming.mkdir(parents=True)
    for name, (data, _) in SAMPLES.items():
        (incoming / name).write_bytes(data)
    daemons()
    failed = spool_dir / "failed" / "siemens"
    wait_until(lambda: all((failed / f"{name}.error").exists() for name in SAMPLES))
    for name, (data, _) in SAMPLES.items():
        found = not_a_report(data)
        assert found is not None
        note = (failed / f"{name}.error").read_text()
        assert f"{name} line 1: this {found.sentence()} — {found.hint}" in note, note
        assert f"{name} {found.sentence()} — {found.hint}" == upload_refusal(
            tmp_path / name, name, data
        )


def test_the_sniff_loads_neither_pandas_nor_psycopg() -> None:
    code = (
        "import sys, energy_ingest.file_kinds, energy_ingest.upload.app; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'pandas', 'numpy', 'psycopg'}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
