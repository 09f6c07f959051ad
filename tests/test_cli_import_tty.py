"""`energy-ingest import` on a terminal (a real pseudo-terminal) and off one (pipes): the progress
bar keeps its own line, every file's log line is a whole line, and the summary comes last."""

from __future__ import annotations

import errno
import fcntl
import os
import pty
import re
import struct
import subprocess
import sys
import termios
from datetime import datetime
from pathlib import Path

import psycopg
from helpers import insight_report

ENERGY_INGEST = Path(sys.executable).with_name("energy-ingest")
# local time in ENERGY_TIMEZONE with its offset (energy_ingest.localtime)
LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d[+-]\d\d:\d\d (INFO|WARNING|ERROR)\b")
CSI = re.compile(r"\x1b\[[0-9;?]*([A-Za-z])")


def screen(output: str) -> list[str]:
    """The lines a terminal shows for `output`: CR returns to the line's start, ESC[K clears to
    its end, other escape sequences draw nothing."""
    lines: list[str] = []
    line: list[str] = []
    at = 0
    i = 0
    while i < len(output):
        ch = output[i]
        escape = CSI.match(output, i)
        if escape:
            if escape.group(1) == "K":
                del line[at:]
            i = escape.end()
            continue
        if ch == "\n":
            lines.append("".join(line).rstrip())
            line, at = [], 0
        elif ch == "\r":
            at = 0
        else:
            line[at : at + 1] = [ch]
            at += 1
        i += 1
    if line:
        lines.append("".join(line).rstrip())
    return lines


def backfill(tmp_path: Path) -> Path:
    folder = tmp_path / "backfill"
    folder.mkdir()
    for day in (1, 2, 3):
        report = insight_report(["X.P1", "X.P2"], datetime(2024, 1, day), 96)
        (folder / f"boliou{day}.csv").write_bytes(report)
    return folder


def environment(database_url: str, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ENERGY_", "COLUMNS"))}
    env.update(
        ENERGY_DATABASE_URL=database_url,
        ENERGY_SPOOL_DIR=str(tmp_path / "spool"),
        TERM="xterm",
    )
    return env


def run_on_a_terminal(args: list[str], env: dict[str, str]) -> tuple[int, str]:
    """Run with stdin, stdout and stderr on one pseudo-terminal of 80 columns, as in a shell."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    proc = subprocess.Popen(args, stdin=slave, stdout=slave, stderr=slave, env=env)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError as exc:  # EIO: the child closed its end
            if exc.errno != errno.EIO:
                raise
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    return proc.wait(timeout=60), b"".join(chunks).decode(errors="replace")


def test_on_a_terminal_log_lines_are_never_glued_to_the_progress_bar(
    database_url: str, tmp_path: Path
) -> None:
    folder = backfill(tmp_path)
    code, output = run_on_a_terminal(
        [str(ENERGY_INGEST), "import", str(folder)], environment(database_url, tmp_path)
    )
    assert code == 0, output
    shown = [line for line in screen(output) if line.strip()]
    bars = [line for line in shown if line.startswith("importing")]
    logs = [line for line in shown if LOG_LINE.match(line)]
    assert bars, f"no progress bar was drawn: {output!r}"
    for line in shown:
        is_bar = line.startswith("importing") or ("%" in line and "[" in line)
        is_log = bool(re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", line))
        assert not (is_bar and is_log), f"bar and log line on one line: {line!r}"
    for day in (1, 2, 3):
        assert sum(f"ingested {folder}/boliou{day}.csv: 192 readings" in line for line in logs) == 1
    assert shown[-1] == (
        "imported 3 files: 3 ingested, 0 duplicate, 0 failed, 0 skipped; 576 readings (576 new,"
        " 0 changed), 0 rejected rows, 0 warnings"
    ), output
    assert "100%" in shown[-2], "the bar ends full, on the line above the summary"


def test_off_a_terminal_each_file_keeps_its_log_line(database_url: str, tmp_path: Path) -> None:
    folder = backfill(tmp_path)
    done = subprocess.run(
        [str(ENERGY_INGEST), "import", str(folder)],
        env=environment(database_url, tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "\r" not in done.stderr and "\x1b" not in done.stderr
    lines = done.stderr.splitlines()
    assert lines[0] == "importing"
    for day in (1, 2, 3):
        assert any(
            LOG_LINE.match(line) and f"ingested {folder}/boliou{day}.csv: 192 readings" in line
            for line in lines
        ), done.stderr
    assert done.stdout == (
        "imported 3 files: 3 ingested, 0 duplicate, 0 failed, 0 skipped; 576 readings (576 new,"
        " 0 changed), 0 rejected rows, 0 warnings\n"
    )


def big_report(folder: Path) -> Path:
    """A report that takes a good second to load: 40 points, 12,000 rows."""
    folder.mkdir(exist_ok=True)
    path = folder / "big.csv"
    path.write_bytes(insight_report([f"X.P{i}" for i in range(40)], datetime(2023, 1, 1), 12_000))
    return path


def test_on_a_terminal_the_bar_moves_by_bytes_within_one_file(
    database_url: str, tmp_path: Path
) -> None:
    big = big_report(tmp_path / "big")
    code, output = run_on_a_terminal(
        [str(ENERGY_INGEST), "import", str(big)], environment(database_url, tmp_path)
    )
    assert code == 0, output
    shown = {int(p) for p in re.findall(r"(\d+)%", output)}
    assert shown & set(range(1, 100)), f"the bar went 0 → 100 on one file: {sorted(shown)}"


def test_off_a_terminal_a_slow_file_says_how_far_it_got(database_url: str, tmp_path: Path) -> None:
    big = big_report(tmp_path / "big")
    env = environment(database_url, tmp_path) | {"ENERGY_PROGRESS_SECONDS": "0.05"}
    started = datetime.now().astimezone()
    done = subprocess.run(
        [str(ENERGY_INGEST), "import", str(big)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    progress = [
        line
        for line in done.stderr.splitlines()
        if re.fullmatch(
            r"importing: \d+% of \d+\.\d MB read \(file 1 of 1: big\.csv\), \d+ s", line
        )
    ]
    assert progress, done.stderr
    # status shows the time the file's transaction committed, not when it began
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT committed_at, duration_ms FROM files").fetchone()
    assert row is not None
    committed, ms = row
    assert ms > 300, "the file loads too fast to tell its start from its commit"
    assert (committed - started).total_seconds() >= ms / 1000 * 0.9
