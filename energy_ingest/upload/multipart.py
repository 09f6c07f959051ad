"""A small push parser for multipart/form-data: bytes in, part events out, nothing buffered but a tail.

Why not Werkzeug's form parser: it spools big parts where it likes, and its header parser turns the
Windows path the Insight uploader sends (`filename="C:\\Users\\...\\boliou1.csv"`) into
`C:Users...boliou1.csv` by treating every backslash as an escape, and it refuses part headers that
are not UTF-8. Here a backslash escapes only a quote, and non-UTF-8 headers are read as cp1252.

    parser = MultipartParser(boundary)
    for chunk in body:
        for event in parser.feed(chunk):   # PartStart, PartData..., PartEnd, ...
            ...
    parser.close()                         # MultipartError if the closing boundary never came
"""

from __future__ import annotations

import re
import urllib.parse
from dataclasses import dataclass

from energy_ingest.errors import EnergyError

MAX_HEADER_BYTES = 16 * 1024
MAX_PREAMBLE_BYTES = 64 * 1024
MAX_BOUNDARY_BYTES = 200


class MultipartError(EnergyError):
    """The body is not well-formed multipart/form-data (the message says what is wrong)."""


@dataclass(frozen=True)
class PartStart:
    name: str
    """The form field name (`file` for the Insight uploader)."""
    filename: str | None
    """The client's file name exactly as sent (may be a path); None for a plain form field."""
    content_type: str


@dataclass(frozen=True)
class PartData:
    data: bytes


@dataclass(frozen=True)
class PartEnd:
    pass


Event = PartStart | PartData | PartEnd


class MultipartParser:
    """Feed it the body in chunks of any size; it yields the same events for every chunking."""

    def __init__(self, boundary: bytes) -> None:
        if not 0 < len(boundary) <= MAX_BOUNDARY_BYTES:
            raise MultipartError(f"the multipart boundary must be 1-{MAX_BOUNDARY_BYTES} bytes")
        self._dash = b"--" + boundary
        self._delimiter = b"\n--" + boundary
        self._buf = bytearray()
        self._state = "preamble"

    @property
    def complete(self) -> bool:
        return self._state == "epilogue"

    def feed(self, data: bytes) -> list[Event]:
        if self._state == "epilogue":
            return []
        self._buf += data
        events: list[Event] = []
        while self._step(events):
            pass
        return events

    def close(self) -> None:
        if self._state != "epilogue":
            raise MultipartError("the body ended before the closing multipart boundary")

    def _step(self, events: list[Event]) -> bool:
        """Advance one state if the buffer allows; False when more data is needed."""
        if self._state == "preamble":
            return self._preamble()
        if self._state == "headers":
            return self._headers(events)
        if self._state == "data":
            return self._data(events)
        self._buf.clear()  # epilogue: ignored
        return False

    def _preamble(self) -> bool:
        buf = self._buf
        if len(buf) < len(self._dash) and self._dash.startswith(buf):
            return False
        at = 0 if buf.startswith(self._dash) else buf.find(self._delimiter) + 1 or -1
        while at >= 0:
            kind, end = self._after_boundary(at + len(self._dash))
            if kind == "more":
                return False
            if kind != "no":
                del buf[:end]
                self._state = "epilogue" if kind == "final" else "headers"
                return True
            at = buf.find(self._delimiter, at) + 1 or -1
        if len(buf) > MAX_PREAMBLE_BYTES:
            raise MultipartError("no multipart boundary in the first 64 KiB of the body")
        return False

    def _headers(self, events: list[Event]) -> bool:
        buf = self._buf
        if buf[:2] == b"\r\n" or buf[:1] == b"\n":
            raise MultipartError("a multipart part has no headers (Content-Disposition expected)")
        ends = [(i, n) for i, n in ((buf.find(b"\r\n\r\n"), 4), (buf.find(b"\n\n"), 2)) if i >= 0]
        if not ends:
            if len(buf) > MAX_HEADER_BYTES:
                raise MultipartError("multipart part headers longer than 16 KiB")
            return False
        end, size = min(ends)
        headers = parse_headers(bytes(buf[:end]))
        del buf[: end + size]
        if "content-disposition" not in headers:
            raise MultipartError("a multipart part has no Content-Disposition header")
        _, params = parse_disposition(headers["content-disposition"])
        events.append(
            PartStart(
                name=params.get("name", ""),
                filename=params.get("filename"),
                content_type=headers.get("content-type", ""),
            )
        )
        self._state = "data"
        return True

    def _data(self, events: list[Event]) -> bool:
        buf = self._buf
        at = buf.find(self._delimiter)
        while at >= 0:
            kind, end = self._after_boundary(at + len(self._delimiter))
            if kind == "more":
                break
            if kind != "no":
                data_end = at - 1 if at > 0 and buf[at - 1] == 0x0D else at
                if data_end > 0:
                    events.append(PartData(bytes(buf[:data_end])))
                events.append(PartEnd())
                del buf[:end]
                self._state = "epilogue" if kind == "final" else "headers"
                return True
            at = buf.find(self._delimiter, at + 1)
        # Hand out everything except what may be the start of the delimiter (and its CR).
        safe = at - 1 if at >= 0 else len(buf) - len(self._delimiter) - 1
        if safe > 0:
            events.append(PartData(bytes(buf[:safe])))
            del buf[:safe]
        return False

    def _after_boundary(self, at: int) -> tuple[str, int]:
        """What follows `--boundary` at `at`: final/part (and where it ends), no (not one), more."""
        buf = self._buf
        if len(buf) < at + 2:
            return "more", 0
        if buf[at : at + 2] == b"--":
            return "final", at + 2
        i = at
        while i < len(buf) and buf[i] in b" \t":
            i += 1
        if i >= len(buf):
            return "more", 0
        if buf[i] == 0x0A:
            return "part", i + 1
        if buf[i] == 0x0D:
            if i + 1 >= len(buf):
                return "more", 0
            if buf[i + 1] == 0x0A:
                return "part", i + 2
        return "no", 0


def parse_headers(raw: bytes) -> dict[str, str]:
    """Lower-cased header names to values; UTF-8, else cp1252 (old Windows clients)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("cp1252", errors="replace")
    headers: dict[str, str] = {}
    last = ""
    for line in re.split(r"\r?\n", text):
        if line[:1] in (" ", "\t") and last:
            headers[last] += " " + line.strip()
            continue
        name, colon, value = line.partition(":")
        if colon:
            last = name.strip().lower()
            headers[last] = value.strip()
    return headers


def parse_disposition(value: str) -> tuple[str, dict[str, str]]:
    """`form-data; name="file"; filename="C:\\x\\a.csv"` → ("form-data", {name, filename}).

    Inside quotes only `\\"` is an escape (browsers and curl send `\\"` for a quote), so a Windows
    path keeps its backslashes. `filename*=UTF-8''...` (RFC 5987) wins over `filename`.
    """
    kind, _, rest = value.partition(";")
    params: dict[str, str] = {}
    i = 0
    while i < len(rest):
        if rest[i] in "; \t":
            i += 1
            continue
        eq = rest.find("=", i)
        semi = rest.find(";", i)
        if eq < 0 or 0 <= semi < eq:
            i = len(rest) if semi < 0 else semi + 1
            continue
        key = rest[i:eq].strip().lower()
        i = eq + 1
        while i < len(rest) and rest[i] in " \t":
            i += 1
        if rest[i : i + 1] == '"':
            text, i = _quoted(rest, i + 1)
        else:
            semi = rest.find(";", i)
            end = len(rest) if semi < 0 else semi
            text, i = rest[i:end].strip(), end
        params.setdefault(key, text)
    if "filename*" in params:
        params["filename"] = _extended(params.pop("filename*"))
    return kind.strip().lower(), params


def _quoted(text: str, i: int) -> tuple[str, int]:
    """The quoted string starting after the opening quote at i-1, and the index after it."""
    out: list[str] = []
    j = i
    while j < len(text):
        ch = text[j]
        if ch == "\\" and text[j + 1 : j + 2] == '"' and '"' in text[j + 2 :]:
            out.append('"')
            j += 2
        elif ch == '"':
            return "".join(out), j + 1
        else:
            out.append(ch)
            j += 1
    return "".join(out), j  # unterminated: take the rest


def _extended(value: str) -> str:
    """`UTF-8''Gr%C3%B6%C3%9Fe.csv` decoded; a charset Python cannot decode text with (unknown,
    `rot13`, or `idna`, which refuses errors="replace") is read as UTF-8: the client chose it, so
    it must not be able to make decoding raise."""
    charset, _, rest = value.partition("'")
    _, _, encoded = rest.partition("'")
    try:
        return urllib.parse.unquote(encoded, encoding=charset or "utf-8", errors="replace")
    except (LookupError, ValueError):  # UnicodeError is a ValueError
        return urllib.parse.unquote(encoded, encoding="utf-8", errors="replace")
