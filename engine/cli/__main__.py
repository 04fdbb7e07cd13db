"""``python -m engine.cli``: the same as the ``sigma`` command."""

import sys

from engine.cli import main

sys.exit(main())
