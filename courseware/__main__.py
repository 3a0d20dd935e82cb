"""``python -m courseware``: the command line of :mod:`courseware.cli`."""

import sys

from courseware.cli import main

if __name__ == "__main__":
    sys.exit(main())
