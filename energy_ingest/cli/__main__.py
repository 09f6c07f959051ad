"""`python -m energy_ingest.cli`: the same command line as `energy-ingest`."""

import sys

from energy_ingest.cli import main

sys.exit(main())
