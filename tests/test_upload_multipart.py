"""The streaming multipart parser: same parts for any chunking, Windows paths kept, bad bodies named."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from energy_ingest.upload.multipart import (
    MultipartError,
    MultipartParser,
    PartData,
    PartEnd,
    PartStart,
    parse_disposition,
)

BOUNDARY = b"---------------------------0123456789012"
WINDOWS_PATH = r"C:\Users\jondich\Documents\insight-reports\boliou1_11-30-18_02-00.csv"


def part(name: str, filename: str | None, data: bytes, newline: bytes = b"\r\n") -> bytes:
    disposition = f'form-data; name="{name}"'
    if filename is not None:
        disposition += f'; filename="{filename}"'
    return (
        b"--"
        + BOUNDARY
        + newline
        + f"Content-Disposition: {disposition}".encode()
        + newline
        + b"Content-Type: application/upload"
        + newline
        + newline
        + data
        + newline
    )


def body(*parts: bytes, newline: bytes = b"\r\n") -> bytes:
    return b"".join(parts) + b"--" + BOUNDARY + b"--" + newline


def decode(chunks: list[bytes]) -> list[tuple[str, str | None, bytes]]:
    parser = MultipartParser(BOUNDARY)
    parts: list[tuple[str, str | None, bytes]] = []
    open_part = False
    for chunk in chunks:
        for event in parser.feed(chunk):
            if isinstance(event, PartStart):
                assert not open_part
                parts.append((event.name, event.filename, b""))
                open_part = True
            elif isinstance(event, PartData):
                assert open_part and event.data
                name, filename, data = parts[-1]
                parts[-1] = (name, filename, data + event.data)
            elif isinstance(event, PartEnd):
                open_part = False
    parser.close()
    return parts


TRICKY = (
    b'"<>Date","Time","Point_1"\r\n"11/29/2018","00:00:00"," -0.37"\r\n'
    + b"--" + BOUNDARY[:-1] + b"\r\n"  # almost the boundary
    + b"\r\n--" + BOUNDARY + b"x\r\n"  # the boundary followed by more: still data
    + b"\r\r\n\n\r"
)  # fmt: skip
SAMPLE = body(
    part("file", WINDOWS_PATH, TRICKY),
    part("token", None, b"s3cret"),
    part("other", "empty.csv", b""),
    part("file2", "b.csv", b"a,b\n1,2\n"),
)
EXPECTED = [
    ("file", WINDOWS_PATH, TRICKY),
    ("token", None, b"s3cret"),
    ("other", "empty.csv", b""),
    ("file2", "b.csv", b"a,b\n1,2\n"),
]


def test_a_whole_body_decodes_into_its_parts_with_the_windows_path_intact() -> None:
    assert decode([SAMPLE]) == EXPECTED


def test_one_byte_at_a_time_gives_the_same_parts() -> None:
    assert decode([SAMPLE[i : i + 1] for i in range(len(SAMPLE))]) == EXPECTED


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=len(SAMPLE) - 1), max_size=30))
def test_any_chunking_gives_the_same_parts(cuts: list[int]) -> None:
    edges = [0, *sorted(set(cuts)), len(SAMPLE)]
    assert decode([SAMPLE[a:b] for a, b in itertools.pairwise(edges)]) == EXPECTED


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300), st.integers(min_value=1, max_value=64))
def test_any_file_content_comes_back_byte_for_byte(data: bytes, chunk: int) -> None:
    raw = body(part("file", "x.csv", data))
    assert decode([raw[i : i + chunk] for i in range(0, len(raw), chunk)]) == [
        ("file", "x.csv", data)
    ]


def test_bare_lf_line_breaks_preamble_and_epilogue_are_tolerated() -> None:
    raw = (
        b"a preamble line\n"
        + body(part("file", "a.csv", b"a,b\n", newline=b"\n"), newline=b"\n")
        + b"epilogue"
    )
    assert decode([raw]) == [("file", "a.csv", b"a,b\n")]


def test_data_is_handed_out_as_it_arrives_not_held_until_the_part_ends() -> None:
    parser = MultipartParser(BOUNDARY)
    events = parser.feed(part("file", "a.csv", b"")[:-2] + b"x" * 100_000)
    assert sum(len(e.data) for e in events if isinstance(e, PartData)) >= 100_000 - 64


def test_an_empty_form_has_no_parts() -> None:
    assert decode([b"--" + BOUNDARY + b"--\r\n"]) == []


def test_a_body_cut_short_is_an_error_at_close() -> None:
    with pytest.raises(MultipartError, match="ended before the closing"):
        decode([SAMPLE[:-10]])


def test_a_part_without_content_disposition_is_an_error() -> None:
    raw = b"--" + BOUNDARY + b"\r\nContent-Type: text/csv\r\n\r\na,b\r\n--" + BOUNDARY + b"--"
    with pytest.raises(MultipartError, match="no Content-Disposition"):
        decode([raw])


def test_endless_part_headers_are_an_error_not_a_memory_sink() -> None:
    parser = MultipartParser(BOUNDARY)
    parser.feed(b"--" + BOUNDARY + b"\r\nX-Junk: ")
    with pytest.raises(MultipartError, match="headers longer"):
        for _ in range(100):
            parser.feed(b"y" * 1024)


def test_a_body_without_the_boundary_is_an_error_not_a_memory_sink() -> None:
    parser = MultipartParser(BOUNDARY)
    with pytest.raises(MultipartError, match="no multipart boundary"):
        for _ in range(100):
            parser.feed(b"z" * 1024)


def test_part_headers_in_cp1252_are_read_not_refused() -> None:
    raw = (
        b"--"
        + BOUNDARY
        + b'\r\nContent-Disposition: form-data; name="file"; filename="Gr\xf6\xdfe.csv"\r\n\r\n'
        + b"a,b\r\n--"
        + BOUNDARY
        + b"--\r\n"
    )
    assert decode([raw]) == [("file", "Größe.csv", b"a,b")]


@pytest.mark.parametrize(
    ("header", "filename"),
    [
        (f'form-data; name="file"; filename="{WINDOWS_PATH}"', WINDOWS_PATH),
        ('form-data; name="file"; filename="\\\\server\\share\\a.csv"', "\\\\server\\share\\a.csv"),
        ('form-data; name="file"; filename="a\\"b.csv"', 'a"b.csv'),
        ('form-data; name="file"; filename="a;b.csv"', "a;b.csv"),
        ('form-data; name="file"; filename=plain.csv', "plain.csv"),
        ("form-data; name=\"file\"; filename*=UTF-8''Gr%C3%B6%C3%9Fe.csv", "Größe.csv"),
        ('form-data; name="file"; filename="x.csv"; filename*=UTF-8\'\'y.csv', "y.csv"),
        (
            'form-data; name="file"; filename="C:\\dir\\unterminated.csv',
            "C:\\dir\\unterminated.csv",
        ),
        ('form-data; name="file"; filename=""', ""),
    ],
)
def test_file_names_are_read_as_sent(header: str, filename: str) -> None:
    kind, params = parse_disposition(header)
    assert kind == "form-data"
    assert params["name"] == "file"
    assert params["filename"] == filename


@pytest.mark.parametrize("charset", ["idna", "punycode", "undefined", "rot13", "no-such-charset"])
def test_a_filename_in_a_charset_that_cannot_decode_text_is_read_as_utf8(charset: str) -> None:
    header = f"form-data; name=\"file\"; filename*={charset}''Gr%C3%B6%C3%9Fe%FF.csv"
    assert parse_disposition(header)[1]["filename"] == "Größe\ufffd.csv"


def test_a_field_has_no_filename() -> None:
    assert "filename" not in parse_disposition('form-data; name="token"')[1]
