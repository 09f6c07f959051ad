"""Every console example of README.md and docs/*.md, executed against the demo campus.

A ```console block is a transcript: each `$ command` runs (bash, in a copy of the checkout whose
var/ is fresh, the venv's bin/ first on PATH, no ENERGY_* variable set: a newcomer's shell) and
what it prints must be the lines below it. Two marks, for what truly depends on the moment:

* `…` inside a line matches any text on that line (a timestamp, a duration);
* a line that is only `…` matches any number of lines (the output left out).

The system is the one a newcomer starts: `make run` (embedded PostgreSQL, daemon, API) on a free
port, then `make demo`. Those two commands are not run again by a block: a block showing them is
compared with what they printed when the system started. Pages run in one order (README first,
then docs/ by name) on the one system, so a page may rely on what an earlier one did.

Commands meant for another machine (a production host, as root) or that never end are shown in
```sh blocks instead, which nothing runs. `python tests/docs_examples.py --update [PAGE…]` (or
`make docs-examples`) runs the blocks and writes each differing output back into the page,
keeping every expected line that still matches, marks included.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
HOME = "/home/me/energy"  # where the pages say the checkout is
PORT = 8080  # the port the pages show
ANY = "…"
SYSTEM_COMMANDS = ("make run", "make demo")  # the system's own start: compared, not run again
TIMEOUT = 300


@dataclass
class Command:
    text: str  # as shown, without the `$ ` (continuation lines joined with newlines)
    line: int  # 1-based line of the `$` in the page
    expected: list[str] = field(default_factory=list)


@dataclass
class Block:
    page: Path
    start: int  # index of the ```console line
    end: int  # index of the closing ``` line
    commands: list[Command] = field(default_factory=list)

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.start + 1}"


def blocks(page: Path) -> list[Block]:
    """The page's console blocks, each command with the output lines shown under it."""
    lines = page.read_text(encoding="utf-8").splitlines()
    found: list[Block] = []
    i = 0
    while i < len(lines):
        if lines[i].strip() != "```console":
            i += 1
            continue
        block = Block(page, i, i)
        i += 1
        while i < len(lines) and lines[i].strip() != "```":
            text = lines[i]
            if text.startswith("$ "):
                command = Command(text[2:], i + 1)
                while command.text.endswith("\\") and i + 1 < len(lines):
                    i += 1
                    command.text += "\n" + lines[i]
                block.commands.append(command)
            elif block.commands:
                block.commands[-1].expected.append(text)
            else:
                raise ValueError(
                    f"{page.relative_to(ROOT)}:{i + 1}: a console block must start with a `$ ` "
                    "command; show commands for another machine in a ```sh block"
                )
            i += 1
        block.end = i
        found.append(block)
        i += 1
    return found


def pattern(expected: list[str]) -> re.Pattern[str]:
    parts = []
    for line in expected:
        if line.strip() == ANY:
            parts.append(r"(?:[^\n]*\n)*?")
        else:
            parts.append(".*?".join(map(re.escape, line.rstrip().split(ANY))) + r"\n")
    return re.compile("".join(parts), re.DOTALL)


def matches(expected: list[str], actual: list[str]) -> bool:
    return bool(pattern(expected).fullmatch("".join(f"{line}\n" for line in actual)))


def merged(expected: list[str], actual: list[str]) -> list[str]:
    """The output to write back: the actual lines, except where the expected line at the same
    place still matches (so the marks a writer put survive an --update); every line gets the
    marks of `moment`, even one that matched today only."""
    if matches(expected, actual):
        return [moment(e) for e in expected]
    if len(expected) == len(actual):
        return [
            moment(e if matches([e], [a]) else a) for e, a in zip(expected, actual, strict=True)
        ]
    return [moment(a) for a in actual]


# What an --update marks by itself: the values that depend on when the pages run. A date within a
# month of today (an ingest, an evaluation, the demo's recent `evans` reports and their file
# names), an epoch second of that month, a duration in seconds, a process id and host.
_DATE = r"\d{4}-\d\d-\d\d(?:[ T]\d\d:\d\d(?::\d\d(?:\.\d+)?)?(?:Z|[-+]\d\d(?::?\d\d)?)?)?"
_MOMENT = re.compile(
    rf"(?P<date>{_DATE})|(?P<epoch>(?<!\d)1[0-9]{{9}}(?!\d))|(?P<evans>evans_\d\d-\d\d-\d\d_\d\d-\d\d)"
    r"|(?P<seconds>(?<![\w.])\d+\.\d+ s\b)|(?P<pid>pid \d+ on [\w.-]+)"
)
RECENT = 31 * 86400


def moment(line: str, now: float | None = None) -> str:
    now = time.time() if now is None else now

    def mark(m: re.Match[str]) -> str:
        if m["date"]:
            day = time.mktime(time.strptime(m["date"][:10], "%Y-%m-%d"))
            return ANY if abs(day - now) < RECENT else m["date"]
        if m["epoch"]:
            return ANY if abs(int(m["epoch"]) - now) < RECENT else m["epoch"]
        if m["evans"]:
            return "evans_" + ANY
        return ANY + " s" if m["seconds"] else "pid " + ANY

    return _MOMENT.sub(mark, line)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class System:
    """`make run` and `make demo` in a fresh copy of the checkout, as a newcomer starts them."""

    def __init__(self, home: Path):
        self.home = home
        for entry in ROOT.iterdir():
            if entry.name not in {"var", ".git", "pyproject.toml"}:
                (home / entry.name).symlink_to(entry)
        # The copy shares the checkout's venv, which `make run` must take as it is: an install
        # from the copy would point the venv's scripts at a folder deleted after the run. Make
        # (even a sub-make, which no --old-file reaches) installs only for a stamp older than
        # pyproject.toml, so the copy's pyproject.toml is older than any stamp.
        shutil.copy(ROOT / "pyproject.toml", home / "pyproject.toml")
        os.utime(home / "pyproject.toml", (0, 0))
        venv = ROOT / ".venv"
        if (venv / ".installed-stamp").exists():
            (venv / ".runtime-stamp").touch()  # a venv with the test extras is a runtime one too
        if not (venv / ".runtime-stamp").exists():
            raise RuntimeError("no venv yet: run `make run` (or `make test`) once first")
        self.port = free_port()
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("ENERGY_")}
        for inherited in ("JOURNAL_STREAM", "MAKELEVEL", "MAKEFLAGS", "MFLAGS", "MAKEOVERRIDES"):
            self.env.pop(inherited, None)  # `make test`'s own: a newcomer's shell has none
        self.env["PATH"] = f"{home / '.venv' / 'bin'}{os.pathsep}{self.env.get('PATH', '')}"
        self.env["COLUMNS"] = "100"
        # curl prints no progress meter on a terminal, only into a pipe: none here either
        (home.parent / ".curlrc").write_text("silent\nshow-error\n")
        self.env["CURL_HOME"] = str(home.parent)
        self.outputs: dict[str, list[str]] = {}
        self._lines: list[str] = []
        self.run_proc = subprocess.Popen(
            ["make", "--no-print-directory", "run"],
            cwd=home,
            env={**self.env, "ENERGY_DEV_BIND": f"127.0.0.1:{self.port}"},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        deadline = time.monotonic() + TIMEOUT
        while not any(line.startswith("ready:") for line in self._lines):
            if self.run_proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("`make run` did not get ready:\n" + "".join(self._lines))
            time.sleep(0.2)
        self.outputs["make demo"] = self.run("make --no-print-directory demo")

    def _read(self) -> None:
        assert self.run_proc.stdout is not None
        with self.run_proc.stdout:  # closed when make run's last process closes it
            for line in self.run_proc.stdout:
                self._lines.append(line)

    def normal(self, text: str) -> list[str]:
        for path in {str(self.home), os.path.realpath(self.home)}:
            text = text.replace(path, HOME)
        text = text.replace(f"127.0.0.1:{self.port}", f"127.0.0.1:{PORT}")
        lines = [line.rstrip() for line in text.splitlines()]
        while lines and not lines[-1]:
            lines.pop()
        return lines

    def run(self, command: str) -> list[str]:
        if command in self.outputs:
            return self.outputs[command]
        if command.split("#")[0].strip() == "make run":
            return self.normal("".join(self._lines))
        # Output to a file, not a pipe, and the command in a session of its own that is killed
        # when it ends: a process a command leaves running cannot hang the run.
        with tempfile.TemporaryFile("w+", encoding="utf-8") as out:
            proc = subprocess.Popen(
                ["bash", "-c", command.replace(f"127.0.0.1:{PORT}", f"127.0.0.1:{self.port}")],
                cwd=self.home,
                env={**self.env, "ENERGY_DEV_BIND": f"127.0.0.1:{self.port}"},
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            try:
                proc.wait(timeout=TIMEOUT)
            finally:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
            out.seek(0)
            return self.normal(out.read())

    def stop(self) -> None:
        if self.run_proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.run_proc.pid, signal.SIGINT)
            try:
                self.run_proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.run_proc.pid, signal.SIGKILL)
                self.run_proc.wait(timeout=30)
        self._reader.join(timeout=30)
        subprocess.run(
            [str(self.home / ".venv" / "bin" / "energy-ingest"), "devdb", "delete"],
            cwd=self.home,
            env=self.env,
            capture_output=True,
            timeout=120,
        )


@contextlib.contextmanager
def system() -> Iterator[System]:
    with tempfile.TemporaryDirectory(prefix="energy-docs-") as tmp:
        home = Path(tmp) / "energy"
        home.mkdir()
        started = System(home)
        try:
            yield started
        finally:
            started.stop()


def differences(page: Path, running: System) -> list[str]:
    """One message per command whose output differs from the page's."""
    found = []
    for block in blocks(page):
        for command in block.commands:
            actual = running.run(command.text)
            if not matches(command.expected, actual):
                found.append(
                    f"{page.relative_to(ROOT)}:{command.line}: $ {command.text}\n"
                    + "--- shown\n"
                    + "\n".join(command.expected)
                    + "\n--- printed\n"
                    + "\n".join(actual)
                )
    return found


def update(page: Path, running: System) -> int:
    """Write each command's real output into the page; the number of commands changed."""
    lines = page.read_text(encoding="utf-8").splitlines()
    changed = 0
    bodies = []
    for block in blocks(page):  # in order: a command may rely on what an earlier one did
        body: list[str] = []
        for command in block.commands:
            new = merged(command.expected, running.run(command.text))
            changed += new != command.expected
            body += ["$ " + command.text, *new]
        bodies.append((block, "\n".join(body).split("\n")))
    for block, body in reversed(bodies):
        lines[block.start + 1 : block.end] = body
    page.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return changed


def main(argv: list[str]) -> int:
    chosen = [Path(arg).resolve() for arg in argv if arg != "--update"]
    pages = [page for page in PAGES if not chosen or page in chosen]
    with system() as running:
        for page in pages:
            if "--update" in argv:
                print(f"{page.relative_to(ROOT)}: {update(page, running)} outputs rewritten")
            else:
                for message in differences(page, running):
                    print(message, end="\n\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
