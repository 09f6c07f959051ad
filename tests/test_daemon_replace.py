"""What is archived or failed is exactly what the daemon read: files replaced by a rename while
they load, hard-linked drops, names at the length limit, and what a failure makes public."""

from __future__ import annotations

import hashlib
import os
import shlex
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import psycopg
from flask.testing import FlaskClient
from helpers import Daemon, files_under, insight_report, scalar, wait_until
from test_daemon import drop
from test_daemon_hardening import cli, drop_bytes_name
from test_daemon_progress import big_report

SECRET = b"root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def archived_digests(spool: Path) -> set[str]:
    return {sha(p.read_bytes()) for p in files_under(spool / "archive")}


def ledger(url: str) -> dict[str, str]:
    with psycopg.connect(url) as conn:
        return dict(conn.execute("SELECT sha256, status FROM files").fetchall())


def test_a_file_replaced_by_rename_while_it_loads_archives_what_was_read_and_takes_the_new_file(
    daemons: Callable[..., Daemon], spool_dir: Path, database_url: str
) -> None:
    """rsync's way: write `.b`, rename it over report.csv while the daemon loads the old one."""
    d = daemons(ENERGY_PROGRESS_SECONDS="0.3")
    wait_until(lambda: "watching" in d.text(), what="startup")
    big = big_report()
    small = insight_report(["SMALL.P1", "SMALL.P2"], datetime(2024, 6, 1), 8)
    drop(spool_dir, "report.csv", big)
    wait_until(lambda: "loading siemens/report.csv (" in d.text(), timeout=60, what="the load")
    incoming = spool_dir / "incoming" / "siemens"
    (incoming / ".b").write_bytes(small)
    os.rename(incoming / ".b", incoming / "report.csv")
    wait_until(
        lambda: ledger(database_url) == {sha(big): "ingested", sha(small): "ingested"},
        timeout=120,
        what="both versions ingested",
    )
    wait_until(lambda: files_under(incoming) == [], what="incoming/ to empty")
    assert archived_digests(spool_dir) == {sha(big), sha(small)}, "archive/ holds what was read"
    assert (
        scalar(
            database_url,
            "SELECT count(*) FROM readings WHERE point_id IN "
            "(SELECT id FROM points WHERE name LIKE 'SMALL.%')",
        )
        == 16
    )
    assert "siemens/report.csv was replaced while it was being loaded" in d.text()
    assert "Traceback" not in d.text()


def test_a_hard_linked_drop_is_never_read_and_status_says_how_to_fix_it(
    daemons: Callable[..., Daemon], spool_dir: Path, database_url: str, tmp_path: Path
) -> None:
    incoming = spool_dir / "incoming" / "siemens"
    incoming.mkdir(parents=True)
    outside = tmp_path / "outside.csv"
    outside.write_bytes(insight_report(["LINK.P1"], datetime(2024, 6, 2), 8))
    secret = tmp_path / "passwd"
    secret.write_bytes(SECRET)
    os.link(outside, incoming / "x.csv")
    os.link(secret, incoming / "p.csv")
    d = daemons()
    drop(spool_dir, "real.csv", insight_report(["REAL.P1"], datetime(2024, 6, 3), 8))
    wait_until(lambda: len(files_under(spool_dir / "archive")) == 1, what="the real file")
    wait_until(lambda: "x.csv is a file with more than one hard link" in d.text(), what="a warning")
    time.sleep(1.5)  # a rescan later: still nothing read
    assert scalar(database_url, "SELECT count(*) FROM files") == 1
    assert files_under(spool_dir / "failed") == []
    assert (incoming / "x.csv").exists() and (incoming / "p.csv").exists()
    assert "root:x" not in d.text()
    assert d.text().count("x.csv is a file with more than one hard link") == 1
    status = cli(spool_dir, database_url, "status").stdout
    assert "siemens/x.csv" in status and "copy it with cp instead of ln" in status


def test_an_interrupted_archive_move_is_finished_not_stranded(
    daemons: Callable[..., Daemon], spool_dir: Path, database_url: str
) -> None:
    """Killed between the archive link and the unlink of the incoming name (reconstructed: the
    intent the daemon writes before linking, then the link), the next daemon finishes the move."""
    from energy_ingest.spool.moving import intend

    data = insight_report(["CRASH.P1"], datetime(2024, 6, 4), 8)
    first = daemons()
    drop(spool_dir, "crash.csv", data)
    wait_until(lambda: len(files_under(spool_dir / "archive")) == 1, what="the file archived")
    first.terminate()
    [archived] = files_under(spool_dir / "archive")
    back = spool_dir / "incoming" / "siemens" / "crash.csv"
    intend(spool_dir, os.stat(archived), archived.parent)
    os.link(archived, back)
    d = daemons()
    wait_until(lambda: not back.exists(), what="the interrupted move finished")
    assert files_under(spool_dir / "archive") == [archived] and archived.read_bytes() == data
    assert "finished the interrupted archiving of siemens/crash.csv" in d.text()
    assert "more than one hard link" not in d.text()
    assert list((spool_dir / ".tmp").glob("moving-*")) == []


def test_the_api_shows_why_a_file_failed_but_not_its_content(
    daemons: Callable[..., Daemon],
    spool_dir: Path,
    client: FlaskClient,
) -> None:
    d = daemons()
    drop(spool_dir, "x.csv", SECRET)
    wait_until(lambda: len(files_under(spool_dir / "failed")) == 2, what="the file failed")
    [row] = client.get("/api/v2/files?status=failed").get_json()["data"]
    assert "not a recognised report" in row["error"]
    assert "root:x" not in row["error"] and "daemon:x" not in row["error"]
    assert "root:x" not in d.text()
    note = (spool_dir / "failed" / "siemens" / "x.csv.error").read_text()
    assert "not a recognised report" in note and "root:x" in note  # for operators, on disk


def test_a_second_255_byte_name_in_the_same_month_is_archived_under_a_shorter_name(
    daemons: Callable[..., Daemon], spool_dir: Path, database_url: str
) -> None:
    name = "xy" + "é" * 124 + "z.csv"  # 255 bytes; "-1" cuts the stem inside an "é"
    assert len(name.encode()) == 255
    d = daemons()
    for day in (5, 6):
        drop_bytes_name(
            spool_dir, name.encode(), insight_report(["L.P"], datetime(2024, 6, day), 8)
        )
        wait_until(lambda: not (spool_dir / "incoming" / "siemens" / name).exists(), what="move")
    archived = files_under(spool_dir / "archive")
    assert len(archived) == 2
    assert all(p.suffix == ".csv" and len(p.name.encode()) <= 255 for p in archived)
    assert all(p.name.encode().decode() for p in archived)  # cut on a character boundary
    assert set(ledger(database_url).values()) == {"ingested"}
    assert "File name too long" not in d.text()


def test_a_failed_255_byte_name_gets_its_note(
    daemons: Callable[..., Daemon], spool_dir: Path
) -> None:
    name = "y" * 251 + ".csv"
    d = daemons()
    drop_bytes_name(spool_dir, name.encode(), b"not a report at all\n")
    wait_until(lambda: len(files_under(spool_dir / "failed")) == 2, what="the file and its note")
    failed = [p.name for p in files_under(spool_dir / "failed")]
    assert all(len(n.encode()) <= 255 for n in failed)
    [kept] = [n for n in failed if n.endswith(".csv")]
    assert kept + ".error" in failed
    assert (
        f"energy-ingest retry -- {shlex.quote('siemens/' + kept)}"
        in (spool_dir / "failed" / "siemens" / (kept + ".error")).read_text()
    )
    assert "File name too long" not in d.text()


def test_a_planted_upload_temp_link_does_not_excuse_an_outside_hard_link(
    daemons: Callable[..., Daemon], spool_dir: Path, database_url: str, tmp_path: Path
) -> None:
    """An upload cut short between its link and unlink leaves two names (.tmp/upload-*.part and
    incoming/): a third name, anywhere, is someone's `ln`, and its bytes are never read."""
    incoming = spool_dir / "incoming" / "siemens"
    incoming.mkdir(parents=True)
    (spool_dir / ".tmp").mkdir(exist_ok=True)
    outside = tmp_path / "outside.csv"
    outside.write_bytes(insight_report(["LINK.P1"], datetime(2024, 6, 2), 8))
    os.link(outside, incoming / "x.csv")
    os.link(outside, spool_dir / ".tmp" / "upload-0123456789abcdef0123456789abcdef.part")
    d = daemons()
    drop(spool_dir, "real.csv", insight_report(["REAL.P1"], datetime(2024, 6, 3), 8))
    wait_until(lambda: len(files_under(spool_dir / "archive")) == 1, what="the real file")
    wait_until(lambda: "x.csv is a file with more than one hard link" in d.text(), what="a warning")
    assert scalar(database_url, "SELECT count(*) FROM files") == 1
    assert (incoming / "x.csv").exists()


def test_an_interrupted_upload_is_loaded_and_archived_as_a_copy_its_temp_name_cannot_change(
    daemons: Callable[..., Daemon], spool_dir: Path, database_url: str
) -> None:
    """The upload's placing cut short between link and unlink (reconstructed): the file is
    taken, and archive/ holds a copy, not a second name of the inode .tmp/ still names."""
    incoming = spool_dir / "incoming" / "siemens"
    incoming.mkdir(parents=True)
    (spool_dir / ".tmp").mkdir(exist_ok=True)
    data = insight_report(["UP.P1"], datetime(2024, 6, 5), 8)
    temp = spool_dir / ".tmp" / "upload-0123456789abcdef0123456789abcdef.part"
    temp.write_bytes(data)
    os.link(temp, incoming / "up.csv")
    d = daemons()
    wait_until(lambda: len(files_under(spool_dir / "archive")) == 1, what="the file archived")
    [archived] = files_under(spool_dir / "archive")
    assert archived.read_bytes() == data
    assert os.stat(archived).st_ino != os.stat(temp).st_ino
    assert ledger(database_url) == {sha(data): "ingested"}
    assert f"up.csv is also an interrupted upload's temp file: the {len(data)} bytes" in d.text()
    assert "more than one hard link" not in d.text() and "Traceback" not in d.text()
