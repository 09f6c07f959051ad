"""The upload app in-process: no database code at all, the content sniff, the Flask test client."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from energy_ingest.config import Settings
from energy_ingest.upload.app import create_app, not_delimited_text

DATA = Path(__file__).resolve().parent / "data"
ROOT = Path(__file__).resolve().parent.parent


def test_the_upload_app_never_imports_psycopg_even_while_serving(tmp_path: Path) -> None:
    code = textwrap.dedent(
        f"""
        import sys
        from pathlib import Path
        from energy_ingest.config import Settings
        from energy_ingest.upload.app import create_app
        app = create_app(Settings(spool_dir=Path({str(tmp_path / "spool")!r})))
        reply = app.test_client().post(
            "/upload/siemens",
            data=b'--b\\r\\nContent-Disposition: form-data; name="file"; filename="a.csv"'
            b'\\r\\n\\r\\na,b\\r\\n--b--\\r\\n',
            content_type="multipart/form-data; boundary=b",
        )
        assert reply.status_code == 200, reply.data
        print(sorted(m for m in sys.modules if m.split(".")[0].startswith("psycopg")))
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
    assert (tmp_path / "spool/incoming/siemens/a.csv").read_bytes() == b"a,b"


@pytest.mark.parametrize("sample", sorted(p.name for p in DATA.glob("*.[cCtT]*[vVtT]")))
def test_every_sample_report_sniffs_as_delimited_text(sample: str) -> None:
    assert not_delimited_text((DATA / sample).read_bytes()[:4096]) is None


@pytest.mark.parametrize(
    "head",
    [
        b'"Key","Name:Suffix"\r\n',
        b"\xef\xbb\xbfKey,Name\r",  # Excel's UTF-8 BOM, CR line ends
        "Zeit;Temperatur °C;Größe\n".encode("cp1252"),
        "Time\tValue\r\n12:00\t1\r\n".encode("utf-16"),  # Excel 'Unicode text' (BOM + UTF-16)
        b"<>Date,Time,Point_1\r\n",  # a Siemens header row is not markup
        b'"a","b"\x1a',  # a DOS end-of-file mark
    ],
)
def test_delimited_text_in_any_common_encoding_is_accepted(head: bytes) -> None:
    assert not_delimited_text(head) is None


@pytest.mark.parametrize(
    ("head", "what"),
    [
        (b"PK\x03\x04\x14\x00", "ZIP"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "xls"),
        (b"%PDF-1.4\n", "PDF"),
        (b"a,b\x00c", "binary"),
        (b"a,b" + bytes(range(1, 9)) * 3, "binary"),
        (b"   <!DOCTYPE html><title>Login</title>", "HTML"),
        (b"<html><body>a,b", "HTML"),
        (b'<?xml version="1.0"?><a>1,2</a>', "HTML/XML"),
        (b"just words\n", "delimiter"),
        (b"MZ\x90\x00", "Windows program"),
    ],
)
def test_files_that_are_not_delimited_text_are_named(head: bytes, what: str) -> None:
    problem = not_delimited_text(head)
    assert problem is not None and what in problem


def test_the_test_client_sees_the_same_app(tmp_path: Path) -> None:
    app = create_app(Settings(spool_dir=tmp_path / "spool", upload_token="t"))
    client = app.test_client()
    assert client.get("/upload/").data == b"upload service is running\n"
    reply = client.post(
        "/upload/alc",
        data=b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\n\r\n'
        b"a,b\r\n--b--\r\n",
        content_type="multipart/form-data; boundary=b",
        headers={"Authorization": "Bearer t", "Accept": "application/json"},
    )
    assert reply.status_code == 200
    assert reply.json == {
        "stored": [
            {
                "field": "file",
                "filename": "a.csv",
                "name": "a.csv",
                "path": "incoming/alc/a.csv",
                "bytes": 3,
                "sha256": hashlib.sha256(b"a,b").hexdigest(),
                "renamed": None,
            }
        ]
    }


@pytest.mark.parametrize(
    ("method", "path", "status", "text"),
    [
        (
            "GET",
            "/upload/siemens",
            405,
            "Method Not Allowed: GET /upload/siemens (uploads are POST",
        ),
        ("POST", "/upload/siemens/extra", 404, "Not Found: POST /upload/siemens/extra"),
        ("GET", "/", 404, "Not Found: GET /"),
    ],
)
def test_wrong_methods_and_paths_get_one_line_of_text_not_an_html_page(
    tmp_path: Path, method: str, path: str, status: int, text: str
) -> None:
    client = create_app(Settings(spool_dir=tmp_path / "spool")).test_client()
    reply = client.open(path, method=method)
    assert reply.status_code == status
    assert reply.mimetype == "text/plain"
    assert reply.get_data(as_text=True).startswith(text)


def test_an_unexpected_error_is_a_one_line_500_with_the_traceback_only_in_the_log(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A route that raises stands in for a bug nobody has found yet: the app is otherwise real."""
    app = create_app(Settings(spool_dir=tmp_path / "spool"))

    @app.get("/upload/broken")
    def broken() -> str:
        raise RuntimeError("a bug")

    reply = app.test_client().get("/upload/broken")
    assert reply.status_code == 500
    assert reply.mimetype == "text/plain"
    assert reply.get_data(as_text=True) == "internal error; nothing was stored; try again later\n"
    (record,) = [r for r in caplog.records if r.name == "energy_ingest.upload"]
    assert record.getMessage() == "internal error handling GET /upload/broken"
    assert record.exc_info is not None and "a bug" in str(record.exc_info[1])
