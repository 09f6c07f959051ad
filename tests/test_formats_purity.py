"""The parsers are pure: importing energy_ingest.formats loads neither psycopg nor Flask."""

from __future__ import annotations

import subprocess
import sys


def test_the_formats_package_imports_neither_psycopg_nor_flask() -> None:
    code = (
        "import sys, energy_ingest.formats, energy_ingest.parsing, energy_ingest.check; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('psycopg', 'flask', 'psycopg_pool')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
