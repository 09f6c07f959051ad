"""systemd units, env templates and tmpfiles: verified by systemd's own tools, and their sandbox intent.

systemd is not PID 1 on this machine, so nothing here starts a unit: `systemd-analyze verify` and
`systemd-analyze security --offline` read the files, `systemd-tmpfiles --root` applies the tmpfiles
entry to a scratch root, and the kernel's MDWE prctl stands in for MemoryDenyWriteExecute=.
"""

from __future__ import annotations

import ctypes
import os
import re
import shlex
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from deploy_helpers import env_template, require, unit_settings
from gunicorn.config import Config

from energy_ingest.config import Settings
from energy_ingest.spool import Spool

ROOT = Path(__file__).resolve().parent.parent
SYSTEMD = ROOT / "systemd"
NGINX_SITE = ROOT / "nginx" / "energy.conf"
SERVICES = ("energy-ingest.service", "energy-upload.service", "energy-api.service")
SOCKETS = ("energy-upload.socket", "energy-api.socket")
JOBS = ("energy-retention.service",)  # oneshot, started by its timer
TIMERS = ("energy-retention.timer",)
PROD_BIN = "/opt/energy/venv/bin/"
PROD_SPOOL = Path("/var/lib/energy/spool")
MAX_EXPOSURE = 4.5


def words(settings: dict[str, list[str]], key: str) -> list[str]:
    return " ".join(settings.get(key, [])).split()


def test_systemd_analyze_verify_accepts_every_unit_without_a_single_warning(tmp_path: Path) -> None:
    """`systemd-analyze verify` on the services, sockets and the timer prints nothing at all.

    verify insists that ExecStart binaries exist, and this machine has no /opt/energy: the units
    are copied to a temp dir with /opt/energy/venv/bin/ rewritten to this test venv's bin/, which
    holds the same console scripts (energy-ingest, gunicorn) the production venv has. Nothing else
    is changed. User=energy need not exist for verify. verify reports unknown keys and bad values
    as warnings with exit status 0, so any output at all fails the test.
    """
    analyze = require("systemd-analyze")
    venv_bin = Path(sys.executable).parent
    for name in ("energy-ingest", "gunicorn"):
        assert (venv_bin / name).exists(), f"{venv_bin / name} missing: pip install -e '.[test]'"
    units = SERVICES + SOCKETS + JOBS + TIMERS
    for unit in units:
        text = (SYSTEMD / unit).read_text()
        (tmp_path / unit).write_text(text.replace(PROD_BIN, f"{venv_bin}/"))
    result = subprocess.run(
        [analyze, "verify", "--man=no", *units],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout + result.stderr == ""


@pytest.mark.parametrize("unit", SERVICES + JOBS)
def test_systemd_analyze_security_exposure_is_at_most_4_5(unit: str) -> None:
    """The offline `systemd-analyze security` score of each service stays within the target."""
    analyze = require("systemd-analyze")
    result = subprocess.run(
        [analyze, "security", "--offline=true", f"--threshold={int(MAX_EXPOSURE * 10)}", unit],
        cwd=SYSTEMD,
        capture_output=True,
        text=True,
        timeout=60,
    )
    found = re.search(rf"Overall exposure level for {re.escape(unit)}: ([\d.]+)", result.stdout)
    assert found, result.stdout + result.stderr
    print(f"{unit}: exposure {found.group(1)}")
    assert float(found.group(1)) <= MAX_EXPOSURE
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("unit", SERVICES)
def test_every_service_runs_as_energy_with_its_own_env_file_and_cannot_read_the_others(
    unit: str,
) -> None:
    settings = unit_settings(SYSTEMD / unit)
    name = unit.removesuffix(".service")
    assert settings["Service.User"] == ["energy"]
    assert settings["Service.Group"] == ["energycomps"]
    assert settings["Service.EnvironmentFile"] == [f"/etc/energy/{name}.env"]
    # systemd reads the env file before the sandbox exists; the process never needs /etc/energy.
    assert "/etc/energy" in words(settings, "Service.InaccessiblePaths")
    assert settings["Service.ProtectSystem"] == ["strict"]
    assert settings["Service.NoNewPrivileges"] == ["yes"]
    assert settings["Service.CapabilityBoundingSet"] == [""]
    assert settings["Service.SystemCallFilter"][0] == "@system-service"


def test_the_upload_unit_has_no_way_to_reach_the_database() -> None:
    settings = unit_settings(SYSTEMD / "energy-upload.service")
    assert words(settings, "Service.RestrictAddressFamilies") == ["AF_UNIX"]
    assert settings["Service.PrivateNetwork"] == ["yes"]
    assert settings["Service.IPAddressDeny"] == ["any"]
    # The PostgreSQL Unix socket would let uid energy in by peer authentication.
    assert "-/run/postgresql" in words(settings, "Service.InaccessiblePaths")
    assert not any("DATABASE" in value for value in settings.get("Service.Environment", []))
    assert "ENERGY_DATABASE_URL" not in env_template("energy-upload")
    assert words(settings, "Service.ReadWritePaths") == [str(PROD_SPOOL)]


def test_the_api_unit_can_write_nowhere_and_reaches_only_localhost() -> None:
    settings = unit_settings(SYSTEMD / "energy-api.service")
    for key in ("ReadWritePaths", "StateDirectory", "CacheDirectory", "LogsDirectory"):
        assert f"Service.{key}" not in settings, f"the API must not write: {key}="
    assert settings["Service.ProtectSystem"] == ["strict"]
    assert settings["Service.IPAddressAllow"] == ["localhost"]
    assert settings["Service.IPAddressDeny"] == ["any"]
    assert "-/run/postgresql" in words(settings, "Service.InaccessiblePaths")
    assert "energy_reader" in env_template("energy-api")["ENERGY_DATABASE_URL"]


def test_the_daemon_unit_is_a_notify_service_with_watchdog_restart_and_a_long_stop() -> None:
    settings = unit_settings(SYSTEMD / "energy-ingest.service")
    assert settings["Service.Type"] == ["notify"]
    assert settings["Service.ExecStart"] == [f"{PROD_BIN}energy-ingest run"]
    assert int(settings["Service.WatchdogSec"][0]) >= 30
    assert settings["Service.Restart"] == ["on-failure"]
    assert int(settings["Service.TimeoutStopSec"][0]) >= 60
    assert words(settings, "Service.ReadWritePaths") == [str(PROD_SPOOL)]


@pytest.mark.parametrize("name", ["upload", "api"])
def test_socket_units_nginx_and_gunicorn_agree_on_the_socket(name: str) -> None:
    socket = unit_settings(SYSTEMD / f"energy-{name}.socket")
    service = unit_settings(SYSTEMD / f"energy-{name}.service")
    path = f"/run/energy/{name}.sock"
    assert socket["Socket.ListenStream"] == [path]
    assert socket["Socket.SocketGroup"] == ["www-data"], "nginx (www-data) must connect"
    assert socket["Socket.SocketMode"] == ["0660"]
    assert f"server unix:{path} " in NGINX_SITE.read_text()
    assert service["Unit.Requires"] == [f"energy-{name}.socket"]
    assert service["Service.Type"] == ["notify"]
    assert "--bind" not in service["Service.ExecStart"][0], "the socket comes from systemd"


@pytest.mark.parametrize("name", ["energy-ingest", "energy-upload", "energy-api"])
def test_env_templates_are_valid_settings_and_hold_no_real_secret(name: str) -> None:
    template = env_template(name)
    Settings.from_env(template)  # raises ConfigError on any bad value
    assert all(key.startswith("ENERGY_") for key in template)
    if "ENERGY_DATABASE_URL" in template:
        assert ":CHANGE-ME@" in template["ENERGY_DATABASE_URL"]
    assert "ENERGY_UPLOAD_TOKEN" not in template


def test_nginx_upload_limit_sits_just_above_the_default_upload_limit() -> None:
    """nginx counts the multipart envelope too: its limit is ENERGY_MAX_UPLOAD_BYTES + 1 MiB."""
    found = re.search(r"client_max_body_size (\d+)m;", NGINX_SITE.read_text())
    assert found
    default = Settings().max_upload_bytes
    assert int(env_template("energy-upload")["ENERGY_MAX_UPLOAD_BYTES"]) == default
    assert int(found.group(1)) * 1024 * 1024 == default + 1024 * 1024


def gunicorn_config(unit: str) -> Any:
    """The unit's ExecStart= read by gunicorn's own command-line parser, as gunicorn reads it."""
    (exec_start,) = unit_settings(SYSTEMD / f"{unit}.service")["Service.ExecStart"]
    argv = shlex.split(exec_start)
    assert argv[0] == f"{PROD_BIN}gunicorn", exec_start
    config = Config()
    for key, value in vars(config.parser().parse_args(argv[1:])).items():
        if value is not None and key != "args":
            config.set(key, value)
    return config


def test_the_api_units_gunicorn_takes_the_dashboards_10_kb_request_line() -> None:
    """The dashboard's GET /api/values for 500 points is ~10.5 KB of request line. gunicorn
    caps any non-zero limit_request_line at 8190, so only 0 (no limit) lets it through; nginx's
    large_client_header_buffers are then the cap (tests/test_deploy_nginx.py sends both)."""
    ids = "&".join(f"point_ids%5B%5D={n}" for n in range(1000, 1500))
    line = f"GET /api/values?{ids}&start_time=1514354400.5&end_time=1514440800 HTTP/1.1"
    assert len(line) >= 10_000
    assert gunicorn_config("energy-api").limit_request_line == 0
    assert re.search(r"^\s*large_client_header_buffers 4 32k;", NGINX_SITE.read_text(), re.M)


def test_the_upload_unit_keeps_gunicorns_default_request_line_limit_as_it_serves_no_api() -> None:
    site = NGINX_SITE.read_text()
    api_locations = re.findall(r"location /api/ \{(.*?)\n    \}", site, re.S)
    assert len(api_locations) == 2, "one /api/ location in each server"
    assert all("proxy_pass http://energy_api;" in block for block in api_locations)
    assert site.count("proxy_pass http://energy_upload;") == 1
    assert gunicorn_config("energy-upload").limit_request_line == 4094


def tmpfiles_entries() -> list[tuple[str, str, str, str, str]]:
    rows = []
    for line in (SYSTEMD / "energy.tmpfiles.conf").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            kind, path, mode, user, group, _age = line.split()
            rows.append((kind, path, mode, user, group))
    return rows


def test_tmpfiles_creates_every_folder_of_the_spool_layout_setgid_for_the_group(
    tmp_path: Path,
) -> None:
    Spool(tmp_path).ensure()
    layout = {
        str(PROD_SPOOL / path.relative_to(tmp_path))
        for path in tmp_path.rglob("*")
        if path.is_dir()
    }
    entries = {
        path: (kind, mode, user, group) for kind, path, mode, user, group in tmpfiles_entries()
    }
    assert layout | {str(PROD_SPOOL)} <= set(entries)
    for path in layout | {str(PROD_SPOOL)}:
        assert entries[path] == ("d", "2770", "energy", "energycomps"), path


def test_systemd_tmpfiles_applies_the_entry_with_owner_group_and_setgid(tmp_path: Path) -> None:
    """Real systemd-tmpfiles on a scratch root whose /etc/passwd and /etc/group hold our names."""
    tmpfiles = require("systemd-tmpfiles")
    if os.geteuid() != 0:
        pytest.skip("chown to another user needs root")
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc/passwd").write_text("energy:x:4242:4243::/var/lib/energy:/usr/sbin/nologin\n")
    (tmp_path / "etc/group").write_text("energycomps:x:4243:\n")
    subprocess.run(
        [tmpfiles, f"--root={tmp_path}", "--create", str(SYSTEMD / "energy.tmpfiles.conf")],
        check=True,
        capture_output=True,
        timeout=60,
    )
    for _kind, path, mode, _user, _group in tmpfiles_entries():
        info = (tmp_path / path.lstrip("/")).stat()
        assert stat.S_ISDIR(info.st_mode)
        assert (info.st_uid, info.st_gid) == (4242, 4243), path
        assert f"{stat.S_IMODE(info.st_mode):o}" == mode.lstrip("0"), path
    incoming = tmp_path / "var/lib/energy/spool/incoming/siemens"
    (incoming / "backfill").mkdir()
    assert (incoming / "backfill").stat().st_gid == 4243, "setgid: new folders keep the group"


MDWE_CHILD = """
import ctypes, sys
libc = ctypes.CDLL(None, use_errno=True)
if libc.prctl(65, 1, 0, 0, 0) != 0:  # PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN
    sys.exit(77)
import mmap
try:
    mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
except OSError:
    pass
else:
    sys.exit("MDWE is not in force: a writable+executable mapping was allowed")
import importlib, importlib.util
for name in sys.argv[1:]:
    if importlib.util.find_spec(name) is not None:
        importlib.import_module(name)
import pandas, io
assert int(pandas.read_csv(io.StringIO("a,b\\n1,2\\n")).sum().sum()) == 3
from watchdog.observers import Observer
from watchdog.events import FileSystemEventHandler
observer = Observer()
observer.schedule(FileSystemEventHandler(), ".")
observer.start(); observer.stop(); observer.join()
print("ok")
"""


@pytest.mark.slow
def test_the_python_stack_runs_under_memory_deny_write_execute(tmp_path: Path) -> None:
    """MemoryDenyWriteExecute=yes breaks JITs and some ctypes uses; prove ours do not need W+X.

    The kernel's PR_SET_MDWE (Linux >= 6.3) enforces the same rule as systemd's seccomp filter;
    the child sets it, then imports everything the three units run and exercises ctypes callbacks
    (ctypes' import makes one), pandas and a watchdog inotify observer.
    """
    if not hasattr(ctypes, "CDLL"):
        pytest.skip("no ctypes")
    modules = [
        "energy_ingest.cli",
        "energy_ingest.daemon",
        "energy_ingest.upload",
        "energy_api",
        "gunicorn.app.wsgiapp",
        "gunicorn.workers.gthread",
        "flask",
        "psycopg",
        "psycopg_pool",
        "numpy",
    ]
    result = subprocess.run(
        [sys.executable, "-c", MDWE_CHILD, *modules],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if result.returncode == 77:
        pytest.skip("this kernel has no PR_SET_MDWE (Linux < 6.3)")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_retention_runs_daily_as_energy_with_the_daemons_env_file() -> None:
    """The timer starts the oneshot daily (catching up after downtime); it reads the daemon's
    env file, where ENERGY_RAW_RETENTION and the database are, and writes nothing on disk."""
    timer = unit_settings(SYSTEMD / "energy-retention.timer")
    assert timer["Timer.OnCalendar"] == ["*-*-* 03:30:00"]
    assert timer["Timer.Persistent"] == ["true"]
    service = unit_settings(SYSTEMD / "energy-retention.service")
    assert service["Service.Type"] == ["oneshot"]
    assert service["Service.ExecStart"] == [f"{PROD_BIN}energy-ingest retention"]
    assert service["Service.User"] == ["energy"]
    assert service["Service.EnvironmentFile"] == ["/etc/energy/energy-ingest.env"]
    assert service["Service.ProtectSystem"] == ["strict"]
    assert "Service.ReadWritePaths" not in service
