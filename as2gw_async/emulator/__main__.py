"""``python -m as2gw_async.emulator``: run the emulator (see :mod:`.cli`)."""

from __future__ import annotations

import sys

from ._extra import MissingExtraError, require_extra

__all__ = ["main"]


def main() -> int:
    """Run the emulator's CLI; without the ``emulator`` extra, say what to install (exit 1)."""
    try:
        with require_extra():
            from .cli import main as cli_main
    except MissingExtraError as exc:
        sys.stderr.write(f"python -m as2gw_async.emulator: error: {exc}\n")
        return 1
    return cli_main()


if __name__ == "__main__":
    sys.exit(main())
