"""JetStream benchmark, by the name issue 17 gives it: runs `bench/jetstream.py` (see there).

Run as a script, a file named nats.py stands first on the import path, ahead of the `nats`
library; this one moves its folder to the end of the path before anything imports `nats`.

Run:
    .venv/bin/python bench/nats.py --days 10 --repeat 3
"""

from __future__ import annotations

import sys
from pathlib import Path

_HERE = Path(__file__).resolve().parent
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != _HERE]
sys.path.append(str(_HERE))

from jetstream import main  # noqa: E402 (after the path is set)

if __name__ == "__main__":
    main()
