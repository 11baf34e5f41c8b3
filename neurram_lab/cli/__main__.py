"""``python -m neurram_lab.cli``: the ``neurram`` command."""

import sys

from .cli import main

sys.exit(main())
