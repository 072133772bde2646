"""``python -m ferry.cli``: the same as the ``ferry`` console script."""

import sys

from ferry.cli import main

sys.exit(main())
