"""Makefile-prod: what `make -n` shows each task will do — no secret, no sudo, nothing hidden."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TARGETS = ("install", "migrate", "deploy", "restart", "status", "logs", "retry-failed", "rollups")
AS_ENERGY = (
    "systemd-run --quiet --wait --pipe --collect --uid=energy --gid=energycomps "
    "--working-directory=/var/lib/energy --setenv=ENERGY_SPOOL_DIR=/var/lib/energy/spool "
    "--property=EnvironmentFile=/etc/energy/energy-ingest.env "
)


def dry_run(target: str, *variables: str) -> str:
    """`make -n -f Makefile-prod TARGET [NAME=value…]` (sub-makes stay dry: make passes -n down)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAKE")}
    result = subprocess.run(
        ["make", "-n", "-f", "Makefile-prod", target, *variables],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    return result.stdout


def test_deploy_pulls_shows_the_changes_installs_migrates_and_restarts_in_that_order() -> None:
    out = dry_run("deploy")
    steps = [
        "git pull --ff-only",
        "git log --no-decorate",
        "git diff --stat",
        "/opt/energy/venv/bin/python -m pip install --quiet --upgrade .",
        "/opt/energy/venv/bin/python -m energy_api.ui.publish /opt/energy/static",
        "systemd-tmpfiles --create /etc/tmpfiles.d/energy.conf",
        "systemctl daemon-reload",
        "nginx -t -q",
        AS_ENERGY + "/opt/energy/venv/bin/energy-ingest migrate",
        "systemctl restart energy-ingest.service energy-upload.service energy-api.service",
        "systemctl is-active",
    ]
    positions = []
    for step in steps:
        assert step in out, f"`make -n deploy` does not show {step!r}:\n{out}"
        positions.append(out.index(step))
    assert positions == sorted(positions)


@pytest.mark.parametrize("target", TARGETS)
def test_no_target_shows_a_secret_or_a_sudo(target: str) -> None:
    out = dry_run(target)
    assert not re.search(r"(^|[\s;|&(])(sudo|doas|pkexec|su)\s", out, re.MULTILINE), out
    assert not re.search(r"postgres(ql)?://", out), "a database URL belongs in /etc/energy/*.env"
    assert not re.search(r"password|(?<!getent )passwd|secret|token|PGPASS", out, re.IGNORECASE), (
        out
    )
    # Env files are read by systemd only: never sourced, printed or exported by a shell.
    for line in out.splitlines():
        if "/etc/energy/" in line and ".env" in line:
            assert re.search(r"EnvironmentFile=|test -e |install -m 0640 |echo \"created ", line), (
                f"unexpected use of an env file: {line}"
            )
        assert not re.search(r"(^|\s)(source|\.)\s+\S*/etc/energy", line), line
        assert not re.search(r"\b(cat|less|grep|export)\b.*ENERGY_", line), line


def test_commands_that_need_the_database_run_as_energy_with_the_daemons_env_file() -> None:
    assert dry_run("migrate").endswith(AS_ENERGY + "/opt/energy/venv/bin/energy-ingest migrate\n")
    assert dry_run("retry-failed").endswith(
        AS_ENERGY + "/opt/energy/venv/bin/energy-ingest retry --all\n"
    )
    assert AS_ENERGY + "/opt/energy/venv/bin/energy-ingest status" in dry_run("status")
    assert dry_run("rollups").endswith(
        AS_ENERGY + "/opt/energy/venv/bin/energy-ingest rollups rebuild\n"
    )


def test_env_files_are_created_from_templates_0640_root_energycomps_never_overwritten() -> None:
    out = dry_run("install")
    assert "install -d -m 0750 -o root -g energycomps /etc/energy" in out
    assert "test -e /etc/energy/$name.env && continue" in out
    assert "install -m 0640 -o root -g energycomps systemd/$name.env.example" in out
    for name in ("energy-ingest", "energy-upload", "energy-api"):
        assert (ROOT / "systemd" / f"{name}.env.example").exists()


def test_install_publishes_the_pages_static_files_where_nginx_serves_them_from() -> None:
    """After the package (the files come from the installed copy), into the folder the site's
    `location /static/` aliases on both ports; nothing there is removed (no rm, no rsync)."""
    out = dry_run("install")
    publish = "/opt/energy/venv/bin/python -m energy_api.ui.publish /opt/energy/static\n"
    assert "install -d -m 0755 /opt/energy/static\n" + publish in out
    assert out.index("pip install --quiet --upgrade .") < out.index(publish)
    assert not re.search(r"\b(rm|rsync|find)\b.*/opt/energy/static", out), out
    site = (ROOT / "nginx" / "energy.conf").read_text()
    assert re.findall(r"^\s*alias (\S+);", site, re.MULTILINE) == ["/opt/energy/static/"] * 2
    assert (
        re.findall(r"location /static/ \{\n(?:\s*#.*\n)*\s*alias (\S+);", site)
        == ["/opt/energy/static/"] * 2
    )


def alias_check(out: str) -> str:
    """install's first step: the line that compares STATIC with the site's `alias` lines."""
    lines = out.splitlines()
    (line,) = [line for line in lines if "alias" in line]
    venv = next(k for k, line in enumerate(lines) if "-m venv" in line)
    assert lines[venv - 1] == line, out  # after root and users, before the venv and the rest
    return line


@pytest.mark.parametrize("prefix", [None, "/srv/energy"])
def test_install_refuses_a_static_folder_nginx_does_not_serve_from(prefix: str | None) -> None:
    """Makefile-prod's STATIC ($(PREFIX)/static) and nginx/energy.conf's two `alias` lines must
    name the same folder: `install` runs the check (for real here, on the repository's site)
    and stops with a message that says which, before installing anything."""
    out = dry_run("install", *([f"PREFIX={prefix}"] if prefix else []))
    check = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", alias_check(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    if prefix is None:
        assert (check.returncode, check.stderr) == (0, "")
    else:
        assert check.returncode == 1
        assert check.stderr == (
            f"nginx/energy.conf does not serve /static/ from {prefix}/static/:"
            " change its two alias lines\n"
        )


def test_logs_follows_the_daemons_journal() -> None:
    assert dry_run("logs") == "journalctl -u energy-ingest -f\n"


def test_makefile_prod_refuses_a_normal_user_instead_of_reaching_for_sudo(tmp_path: Path) -> None:
    """Run for real as `nobody`: the first recipe line stops it with a clear message."""
    setpriv = shutil.which("setpriv")
    if os.geteuid() != 0 or not setpriv:
        pytest.skip("needs root and setpriv to become nobody")
    makefile = tmp_path / "Makefile-prod"
    shutil.copy(ROOT / "Makefile-prod", makefile)
    tmp_path.chmod(0o755)
    result = subprocess.run(
        [
            setpriv,
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "make",
            "-f",
            "Makefile-prod",
            "migrate",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "Makefile-prod changes the system: run it as root." in result.stderr
    assert "systemd-run" not in result.stdout
