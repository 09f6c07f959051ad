"""The retry command a `.error` note suggests, pasted into a shell as it is, for hostile names."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from helpers import Daemon, files_under, wait_until

# Names ops can give a file (cp, scp) or an uploader can send: shell syntax of every kind.
HOSTILE = [
    b"r';touch PWNED;'.csv",
    b"-x.csv",
    b"--all.csv",
    b"with space.csv",
    b"q\"uo'te.csv",
    b"$(touch PWNED).csv",
    b"`touch PWNED`.csv",
    b"two\nlines; touch PWNED.csv",
    b"odd\xff.csv",
]


def drop(spool: Path, name: bytes, content: bytes) -> None:
    """Write the way an uploader does (staged, then renamed in), under a name given as bytes."""
    (spool / ".tmp").mkdir(parents=True, exist_ok=True)
    incoming = spool / "incoming" / "siemens"
    incoming.mkdir(parents=True, exist_ok=True)
    staged = spool / ".tmp" / "x.part"
    staged.write_bytes(content)
    os.rename(staged, os.path.join(os.fsencode(incoming), name))


def hint(note: Path) -> str:
    """The command line the note tells the reader to run."""
    lines = [line.strip() for line in note.read_text().splitlines()]
    commands = [line for line in lines if line.startswith("energy-ingest retry")]
    assert len(commands) == 1, note.read_text()
    return commands[0]


@pytest.mark.parametrize("name", HOSTILE, ids=[repr(n)[2:-1] for n in HOSTILE])
def test_the_retry_command_in_a_failure_note_moves_exactly_that_file_back_when_pasted_into_a_shell(
    daemons: Callable[..., Daemon], spool_dir: Path, tmp_path: Path, name: bytes
) -> None:
    shell = shutil.which("bash")
    if shell is None:
        pytest.skip("needs bash to paste the command into")
    d = daemons()
    drop(spool_dir, name, b"not a report at all\n")
    failed = Path(os.fsdecode(os.path.join(os.fsencode(spool_dir / "failed" / "siemens"), name)))
    note = failed.with_name(failed.name + ".error")
    wait_until(note.exists, what="the file in failed/ with its note")
    d.terminate()  # the daemon would fail the file again at once once it is back
    command = hint(note)
    here = tmp_path / "shell"
    here.mkdir()
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "ENERGY_SPOOL_DIR": str(spool_dir),
    }
    done = subprocess.run(
        [shell, "-c", command], cwd=here, env=env, capture_output=True, text=True, check=False
    )
    assert not list(here.iterdir()), f"{command!r} ran something else: {list(here.iterdir())}"
    assert done.returncode == 0, f"{command!r}: {done.stderr}"
    back = Path(os.fsdecode(os.path.join(os.fsencode(spool_dir / "incoming" / "siemens"), name)))
    assert files_under(spool_dir / "incoming") == [back]
    assert files_under(spool_dir / "failed") == []
