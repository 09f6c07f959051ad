"""Shared by the deployment tests: tool lookup, systemd unit and env-file reading."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

SYSTEMD = Path(__file__).resolve().parent.parent / "systemd"


def require(binary: str) -> str:
    """The binary's path; missing is a failure in CI (.ci/run installs it) and a skip elsewhere."""
    found = shutil.which(binary) or shutil.which(binary, path="/usr/sbin:/usr/bin:/sbin:/bin")
    if found:
        return found
    message = f"{binary} is not installed (apt-get install systemd nginx; .ci/run does this)"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def unit_settings(path: Path) -> dict[str, list[str]]:
    """`Section.Key` → every value given, in order (continuation lines joined, comments dropped)."""
    settings: dict[str, list[str]] = {}
    section = ""
    lines = iter(path.read_text().splitlines())
    for raw in lines:
        line = raw.strip()
        while line.endswith("\\"):
            line = line[:-1].rstrip() + " " + next(lines).strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        settings.setdefault(f"{section}.{key.strip()}", []).append(value.strip())
    return settings


def env_template(name: str) -> dict[str, str]:
    """KEY=value lines of systemd/<name>.env.example (commented-out lines are not settings)."""
    values = {}
    for line in (SYSTEMD / f"{name}.env.example").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values
