"""`python -m dltrack …`, where the `dltrack` script is not on PATH (a notebook's `!` line)."""

import sys

from dltrack.cli import main

sys.exit(main())
