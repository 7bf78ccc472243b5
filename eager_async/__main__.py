"""``python -m eager_async``."""

import sys

if sys.argv[1:2] == ["health"]:  # a probe: no worker, NumPy or benchmark to import
    from .health_probe import main as probe

    sys.exit(probe(sys.argv[2:]))

from .cli import main

sys.exit(main())
