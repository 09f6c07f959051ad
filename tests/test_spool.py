"""Spool layout helpers: names are made safe, moves never overwrite."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from datetime import datetime
from pathlib import Path

import pytest

import energy_ingest
from energy_ingest.spool import Spool, is_temporary, safe_name
from energy_ingest.spool.files import place


def test_ensure_creates_the_whole_layout(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool")
    spool.ensure()
    for rel in (".tmp", "incoming/siemens", "incoming/alc", "failed/siemens", "archive/alc"):
        assert (tmp_path / "spool" / rel).is_dir()
    assert (
        spool.archive("siemens", datetime(2018, 11, 30))
        == tmp_path / "spool/archive/siemens/2018/11"
    )


def test_source_comes_from_the_first_folder_under_incoming(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    assert spool.source_of(tmp_path / "incoming/siemens/2017/a.csv") == "siemens"
    assert spool.source_of(tmp_path / "incoming/alc/a.csv") == "alc"
    assert spool.source_of(tmp_path / "incoming/other/a.csv") is None
    assert spool.source_of(tmp_path / "incoming/a.csv") is None
    assert spool.source_of(tmp_path / "archive/siemens/a.csv") is None


def test_place_never_overwrites_an_existing_name(tmp_path: Path) -> None:
    dest = tmp_path / "dest"
    placed = []
    for i in range(3):
        src = tmp_path / f"src{i}"
        src.write_text(str(i))
        placed.append(place(src, dest, "boliou1_11-30-18_02-00.csv"))
        assert not src.exists()
    assert [p.name for p in placed] == [
        "boliou1_11-30-18_02-00.csv",
        "boliou1_11-30-18_02-00-1.csv",
        "boliou1_11-30-18_02-00-2.csv",
    ]
    assert [p.read_text() for p in placed] == ["0", "1", "2"]


@pytest.mark.parametrize(
    ("name", "temporary"),
    [
        (".hidden.csv", True),
        ("a.csv~", True),
        ("a.csv.part", True),
        ("a.TMP", True),
        ("a.crdownload", True),
        ("a.csv", False),
        ("7704 PRESERVATION TRENDS_09-06-17_15-37.CSV", False),
    ],
)
def test_temporary_names_are_recognised(name: str, temporary: bool) -> None:
    assert is_temporary(name) is temporary


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (
            r"C:\Users\jondich\Documents\insight-reports\boliou1_11-30-18_02-00.csv",
            "boliou1_11-30-18_02-00.csv",
        ),
        ("../../etc/passwd", "passwd"),
        ("..\\..\\windows\\win.ini", "win.ini"),
        ("/etc/shadow", "shadow"),
        ("a\x00b.csv", "ab.csv"),
        ("..", None),
        ("...", None),
        ("", None),
        ("   ", None),
        ("CON", "_CON"),
        ("nul.csv", "_nul.csv"),
        ("Größe.csv", "Größe.csv"),
        (".bashrc", "bashrc"),
    ],
)
def test_safe_name_keeps_only_a_harmless_base_name(given: str, expected: str | None) -> None:
    assert safe_name(given) == expected


def test_safe_name_trims_very_long_names_keeping_the_extension() -> None:
    name = safe_name("x" * 10_000 + ".csv")
    assert name is not None and name.endswith(".csv") and len(name.encode()) <= 200


def test_place_moves_a_file_owned_by_someone_else(request: pytest.FixtureRequest) -> None:
    # Ops `cp` a 0644 file as themselves; the daemon (another user) must still move it. With the
    # kernel's protected_hardlinks a hard link of it would be refused, a rename is not.
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("needs root to create a file owned by another user")
    nobody = pwd.getpwnam("nobody")
    top = Path(tempfile.mkdtemp(prefix="energy-spool-"))  # pytest's tmp_path is private to root
    request.addfinalizer(lambda: shutil.rmtree(top, ignore_errors=True))
    os.chmod(top, 0o755)
    spool = top / "spool"
    (spool / "in").mkdir(parents=True)
    for d in (spool, spool / "in"):
        os.chown(d, nobody.pw_uid, nobody.pw_gid)
    src = spool / "in" / "a.csv"
    src.write_text("x")  # owned by root, 0644: `nobody` cannot write it
    # A copy of the package `nobody` can read: the checkout may be inside a 0700 folder.
    shutil.copytree(Path(energy_ingest.__file__).parent, top / "lib" / "energy_ingest")
    code = (
        "import sys; from pathlib import Path; from energy_ingest.spool.files import place;"
        "print(place(Path(sys.argv[1]), Path(sys.argv[2]), 'a.csv', leaving_incoming=True))"
    )
    done = subprocess.run(
        [
            "setpriv",
            f"--reuid={nobody.pw_uid}",
            f"--regid={nobody.pw_gid}",
            "--clear-groups",
            sys.executable,
            "-c",
            code,
            str(src),
            str(spool / "archive"),
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=top,
        env={**os.environ, "PYTHONPATH": str(top / "lib")},
    )
    assert done.returncode == 0, done.stderr
    assert (spool / "archive" / "a.csv").read_text() == "x" and not src.exists()
