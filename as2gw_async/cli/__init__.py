"""The ``as2gw`` command line (extra ``cli``: typer and rich).

>>> from as2gw_async.cli import main
>>> main(["ls", "received", "--unread", "--json"])  # doctest: +SKIP

Run ``as2gw --help`` for the commands, ``as2gw demo`` for a tour against the built-in
emulator. Exit codes are listed in `ExitCode` and in ``docs/cli.md``.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> None:
    """Run ``as2gw`` with ``argv`` (default: the process arguments); exits the process."""
    try:
        from .app import app
    except ImportError as exc:  # the cli extra is not installed
        if exc.name not in ("typer", "rich", "click"):
            raise
        sys.stderr.write(
            f"as2gw: error: the command line needs the 'cli' extra ({exc.name} is missing): "
            "pip install 'as2gw_async[cli]'\n"
        )
        raise SystemExit(1) from None
    app(args=None if argv is None else list(argv), prog_name="as2gw")
