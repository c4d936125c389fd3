"""``python -m memgen.sim.demo``."""

import sys

from .run import main

sys.exit(main())
