"""Real users: an ops user (umask 022) copies backfills into the spool, the daemon runs as another user.

Nothing here is faked: two system users and a group are created if missing, the copies are made
with `cp` as the ops user, and `energy-ingest run` and `status` run as the daemon's user.
"""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import psycopg
import pytest
from helpers import files_under, insight_report, wait_until

pytestmark = pytest.mark.daemon

GROUP = "energy-t"  # the team's group, as energycomps in production
DAEMON = "energy-t-daemon"  # as the user energy
OPS = "energy-t-ops"  # a team member: own primary group, member of GROUP


@dataclass(frozen=True)
class Host:
    base: Path
    spool: Path
    daemon: pwd.struct_passwd
    ops: pwd.struct_passwd
    gid: int


def _users() -> tuple[pwd.struct_passwd, pwd.struct_passwd, int]:
    if subprocess.run(["getent", "group", GROUP], capture_output=True).returncode:
        subprocess.run(["groupadd", "--system", GROUP], check=True)
    if subprocess.run(["id", DAEMON], capture_output=True).returncode:
        subprocess.run(
            [
                "useradd",
                "--system",
                "--gid",
                GROUP,
                "--no-create-home",
                "--shell",
                "/bin/sh",
                DAEMON,
            ],
            check=True,
        )
    if subprocess.run(["id", OPS], capture_output=True).returncode:
        subprocess.run(
            ["useradd", "--system", "--user-group", "--groups", GROUP, "--no-create-home", OPS],
            check=True,
        )
    return pwd.getpwnam(DAEMON), pwd.getpwnam(OPS), grp.getgrnam(GROUP).gr_gid


def as_daemon(host: Host) -> list[str]:
    return ["setpriv", f"--reuid={host.daemon.pw_uid}", f"--regid={host.gid}", "--init-groups"]


def as_ops(host: Host, shell_line: str) -> subprocess.CompletedProcess[str]:
    """A login-like shell of the ops user with umask 022, in its home folder."""
    return subprocess.run(
        ["runuser", "-u", OPS, "--", "sh", "-c", f"umask 022; cd {host.base}/home && {shell_line}"],
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.fixture
def host() -> Iterator[Host]:
    if os.geteuid() != 0:
        pytest.skip("needs root to create the ops and daemon users and run as them")
    for tool in ("setpriv", "runuser", "useradd", "groupadd", "cp"):
        if shutil.which(tool) is None:
            pytest.skip(f"needs {tool}")
    daemon, ops, gid = _users()
    base = Path(tempfile.mkdtemp(prefix="energy-perms-"))  # pytest's tmp_path is 0700 root's
    try:
        base.chmod(0o755)
        # The spool as systemd/energy.tmpfiles.conf makes it: the daemon's, the group's, 2770.
        spool = base / "spool"
        for d in ("", ".tmp", "incoming", "incoming/siemens", "incoming/alc", "archive", "failed"):
            (spool / d).mkdir(exist_ok=True)
            os.chown(spool / d, daemon.pw_uid, gid)
            (spool / d).chmod(0o2770)
        (base / "home").mkdir()
        os.chown(base / "home", ops.pw_uid, ops.pw_gid)
        h = Host(base, spool, daemon, ops, gid)
        probe = subprocess.run(
            [*as_daemon(h), sys.executable, "-c", "import energy_ingest.cli"],
            capture_output=True,
            text=True,
            check=False,
            cwd=base,
        )
        if probe.returncode:
            pytest.skip(f"the checkout is not readable by another user: {probe.stderr[-200:]}")
        yield h
    finally:
        shutil.rmtree(base, ignore_errors=True)


def report(day: int) -> bytes:
    return insight_report(["PERM.P1", "PERM.P2"], datetime(2019, 1, day), 8)


def as_ops_writing(host: Host, shell_line: str, data: bytes) -> None:
    done = subprocess.run(
        ["runuser", "-u", OPS, "--", "sh", "-c", f"umask 022; cd {host.base}/home && {shell_line}"],
        input=data,
        capture_output=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr


def make_folder(host: Host, name: str, days: range) -> None:
    """A backfill folder in the ops user's home, made as that user (0755 folders, 0644 files)."""
    assert as_ops(host, f"mkdir -p {name}/sub").returncode == 0
    for day in days:
        where = f"{name}/sub" if day % 2 else name
        as_ops_writing(host, f"cat > {where}/r{day:02d}.csv", report(day))


def ledger(url: str) -> dict[str, str]:
    with psycopg.connect(url) as conn:
        return dict(conn.execute("SELECT name, status FROM files").fetchall())  # type: ignore[arg-type]


def status(host: Host, url: str) -> str:
    """`energy-ingest status` as the daemon's user (as `make -f Makefile-prod status` runs it)."""
    done = subprocess.run(
        [*as_daemon(host), sys.executable, "-m", "energy_ingest.cli", "status"],
        env={**os.environ, "ENERGY_DATABASE_URL": url, "ENERGY_SPOOL_DIR": str(host.spool)},
        capture_output=True,
        text=True,
        check=False,
        cwd=host.base,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_a_backfill_copied_by_an_ops_user_is_ingested_and_what_the_daemon_cannot_read_or_move_is_stranded(
    host: Host, database_url: str
) -> None:
    log = host.base / "daemon.log"
    env = {
        **os.environ,
        "ENERGY_DATABASE_URL": database_url,
        "ENERGY_SPOOL_DIR": str(host.spool),
        "ENERGY_SETTLE_SECONDS": "0.5",
        "ENERGY_RESCAN_SECONDS": "1",
    }
    env.pop("JOURNAL_STREAM", None)
    with open(log, "wb") as out:
        daemon = subprocess.Popen(
            [*as_daemon(host), sys.executable, "-m", "energy_ingest.cli", "run"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=host.base,
            umask=0o007,  # the unit's UMask=
        )
    try:
        wait_until(lambda: "watching" in log.read_text(), what="the daemon to start")
        incoming = host.spool / "incoming" / "siemens"

        # The documented command (docs/deploy.md), by an ops user whose umask is 022.
        make_folder(host, "2019-backfill", range(1, 5))
        done = as_ops(
            host,
            f"(umask 002; cp -r --no-preserve=mode 2019-backfill {incoming}/.2019-backfill)"
            f" && mv {incoming}/.2019-backfill {incoming}/2019-backfill",
        )
        assert done.returncode == 0, done.stderr
        wait_until(
            lambda: len(files_under(host.spool / "archive")) == 4,
            what="the documented copy to be ingested and archived",
        )
        assert files_under(incoming) == []
        assert "2019-backfill is" not in log.read_text()  # no warning while it was copied

        # The same folder copied plainly: 2755, the daemon cannot unlink from it.
        make_folder(host, "2018-backfill", range(11, 15))
        assert as_ops(host, f"cp -r 2018-backfill {incoming}/").returncode == 0
        # A file the daemon cannot read (0600, another user's), and one nobody can (000).
        as_ops_writing(host, "cat > secret.csv && chmod 600 secret.csv", report(21))
        line = f"cp secret.csv {incoming}/ && cp secret.csv {incoming}/zero.csv"
        assert as_ops(host, f"{line} && chmod 000 {incoming}/zero.csv").returncode == 0
        # A folder the daemon cannot even list.
        assert (
            as_ops(
                host, f"mkdir -m 700 {incoming}/private && echo x > {incoming}/private/p.csv"
            ).returncode
            == 0
        )

        def reported() -> bool:
            text = log.read_text()
            return all(
                what in text for what in ("2018-backfill", "secret.csv", "zero.csv", "private")
            )

        wait_until(reported, timeout=30, what="each problem to be logged")
        out = status(host, database_url)
        assert "incoming/siemens/2018-backfill" in out and "chmod -R g+rwX" in out, out
        assert "incoming/siemens/secret.csv" in out and "chmod g+r" in out, out
        assert "incoming/siemens/zero.csv" in out, out
        assert "incoming/siemens/private" in out, out
        assert "backlog   siemens 0, alc 0" in out, out
        names = ledger(database_url)
        assert not any(n.startswith(("2018-backfill", "secret", "zero")) for n in names), names
        assert len(files_under(incoming / "2018-backfill")) == 4
        text = log.read_text()
        assert "Traceback" not in text
        assert "PermissionError" not in text
        for what in ("2018-backfill", "secret.csv", "zero.csv"):
            assert sum(what in line for line in text.splitlines()) == 1, (what, text)

        # The fix status printed, run by the ops user: the folder is then ingested.
        fix = next(line for line in out.splitlines() if "2018-backfill" in line)
        command = fix.split("as its owner or root: ", 1)[1]
        done = as_ops(host, command)
        assert done.returncode == 0, (command, done.stderr)
        wait_until(
            lambda: len(files_under(host.spool / "archive")) == 8,
            what="the fixed folder to be ingested",
        )
    finally:
        daemon.terminate()
        daemon.wait(timeout=30)
