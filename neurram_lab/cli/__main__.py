"""``python -m neurram_lab.cli``: the ``neurram`` command."""

import sys

from .cli import console_main

sys.exit(console_main())
