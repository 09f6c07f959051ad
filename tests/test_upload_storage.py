"""The upload endpoint when the spool cannot take the file: disk full (507), not writable (503).

A full disk and a read-only disk are real: a 1 MiB tmpfs is mounted for the spool (this needs root,
as in CI and the dev container; elsewhere those tests skip and say so). A spool whose
incoming/<source> is not a directory needs no privileges.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from upload_server import UploadServer, start

BOUNDARY = "b0undary"
HEADERS = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}


def multipart(name: str, data: bytes) -> bytes:
    return (
        (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n\r\n'
        ).encode()
        + data
        + f"\r\n--{BOUNDARY}--\r\n".encode()
    )


def csv_bytes(size: int) -> bytes:
    row = b'"11/29/2018","00:15:00","72.5","ON"\r\n'
    return (row * (size // len(row) + 1))[:size]


def chunked(body: bytes) -> Iterator[bytes]:
    for i in range(0, len(body), 65536):
        yield body[i : i + 65536]


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 1 MiB file system (tmpfs), unmounted afterwards."""
    mnt = tmp_path / "disk"
    mnt.mkdir()
    if os.geteuid() != 0 or not shutil.which("mount"):
        pytest.skip("mounting a 1 MiB tmpfs for a full disk needs root")
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mnt)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=True)


@pytest.fixture
def disk_server(small_disk: Path, tmp_path: Path) -> Iterator[UploadServer]:
    srv = start(small_disk / "spool", tmp_path / "gunicorn.log", workers=1, threads=2)
    yield srv
    srv.stop()


def test_a_declared_length_beyond_the_free_space_is_507_before_reading(
    disk_server: UploadServer,
) -> None:
    before = disk_server.files()
    reply = requests.post(
        disk_server.upload_url(),
        data=multipart("big.csv", csv_bytes(2_000_000)),
        headers=HEADERS,
        timeout=30,
    )
    assert reply.status_code == 507
    assert reply.text == "the spool disk is full; try again later\n"
    assert disk_server.files() == before


def test_a_disk_that_fills_up_mid_upload_is_507_and_the_temp_file_is_removed(
    disk_server: UploadServer,
) -> None:
    before = disk_server.files()
    reply = requests.post(
        disk_server.upload_url(),
        data=chunked(multipart("big.csv", csv_bytes(2_000_000))),  # no length: found out writing
        headers=HEADERS,
        timeout=30,
    )
    assert reply.status_code == 507
    assert "disk is full" in reply.text
    assert disk_server.files() == before
    assert "No space left on device" in disk_server.log_text()

    small = csv_bytes(10_000)
    reply = requests.post(
        disk_server.upload_url(), data=multipart("after.csv", small), headers=HEADERS, timeout=30
    )
    assert reply.status_code == 200, "the space was given back"
    assert (disk_server.spool / "incoming/siemens/after.csv").read_bytes() == small


def test_a_read_only_spool_is_503_and_health_says_so(
    disk_server: UploadServer, small_disk: Path
) -> None:
    before = disk_server.files()
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    try:
        reply = requests.post(
            disk_server.upload_url(),
            data=multipart("ro.csv", csv_bytes(1000)),
            headers=HEADERS,
            timeout=30,
        )
        assert reply.status_code == 503
        assert reply.text == "the spool is not writable (Read-only file system); try again later\n"
        health = requests.get(disk_server.url + "/upload/health", timeout=10)
        assert health.status_code == 503
        assert health.json()["writable"] is False
    finally:
        subprocess.run(["mount", "-o", "remount,rw", str(small_disk)], check=True)
    assert disk_server.files() == before


@pytest.fixture
def server(tmp_path: Path) -> Iterator[UploadServer]:
    srv = start(tmp_path / "spool", tmp_path / "gunicorn.log", workers=1, threads=2)
    yield srv
    srv.stop()


def test_an_incoming_folder_that_is_not_a_folder_is_503_and_the_temp_file_is_removed(
    server: UploadServer,
) -> None:
    incoming = server.spool / "incoming/siemens"
    shutil.rmtree(incoming, ignore_errors=True)
    incoming.parent.mkdir(parents=True, exist_ok=True)
    incoming.write_text("not a folder")
    reply = requests.post(
        server.upload_url(), data=multipart("a.csv", b"a,b\n1,2\n"), headers=HEADERS, timeout=30
    )
    assert reply.status_code == 503
    assert "the spool is not writable" in reply.text
    assert server.files() == {"incoming/siemens"}  # just the file standing in the way
    assert list((server.spool / ".tmp").iterdir()) == []


def test_a_temp_file_left_by_a_killed_worker_is_removed_when_the_app_starts(
    tmp_path: Path,
) -> None:
    tmp = tmp_path / "spool/.tmp"
    tmp.mkdir(parents=True)
    stale, fresh, other = tmp / "upload-dead.part", tmp / "upload-live.part", tmp / "claim-x.part"
    for path in (stale, fresh, other):
        path.write_bytes(b"a,b\n")
    os.utime(stale, (1, 1))
    os.utime(other, (1, 1))
    srv = start(tmp_path / "spool", tmp_path / "gunicorn.log", workers=1, threads=1)
    srv.stop()
    assert not stale.exists()
    assert fresh.exists(), "an upload still being written is left alone"
    assert other.exists(), "the daemon's own temp files are not ours to remove"
