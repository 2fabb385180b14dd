"""``python -m as2gw_async``: the ``as2gw`` command line."""

from __future__ import annotations

from .cli import main

if __name__ == "__main__":
    main()
