"""``python -m as2gw_async.emulator``: run the emulator (see :mod:`.cli`)."""

from __future__ import annotations

import sys

from .cli import main, run

__all__ = ["main", "run"]

if __name__ == "__main__":
    sys.exit(main())
