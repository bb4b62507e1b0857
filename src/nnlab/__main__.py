"""`python -m nnlab` runs the command-line interface."""

import sys

from nnlab.cli import main

sys.exit(main())
