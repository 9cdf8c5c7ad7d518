"""``python -m tinygrad_edu train|evaluate|bench``: see ``cli.py`` (or ``--help``)."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
