"""``python -m commitpack_dataset.cli``."""

import sys

from commitpack_dataset.cli import main

sys.exit(main())
