"""What every ``as2gw demo`` shares: numbered steps, quiet JSON mode, paths shown short.

``as2gw demo`` (AS2 Gateway v1, `demo`), ``as2gw demo --gateway mft`` (`demo_mft`) and
``--gateway ecgrid`` (`demo_ecgrid`) each subclass `Tour`; with ``--json`` only their
summary object is printed.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from rich.rule import Rule

from ._common import Cli
from ._errors import CliError, ExitCode

__all__ = ["EMULATOR_EXTRA", "Tour", "emulator_missing", "prepare_directory"]

MARKER = ".as2gw-demo"
EMULATOR_EXTRA = "pip install 'as2gw_async[cli,emulator]'"


def emulator_missing(exc: ImportError) -> CliError:
    """The error a demo gives when the `emulator` extra is not installed."""
    return CliError(f"the demo needs the emulator extra ({exc.name} is missing): {EMULATOR_EXTRA}")


def prepare_directory(directory: Path, subdirectories: tuple[str, ...]) -> Path:
    """A clean demo directory: ours from an earlier run is emptied, anything else refused."""
    root = directory.resolve()
    if root.exists():
        if not root.is_dir():
            raise CliError(f"{directory} is not a directory; pick another --dir", ExitCode.USAGE)
        if any(root.iterdir()) and not (root / MARKER).exists():
            raise CliError(
                f"{directory} exists and was not made by 'as2gw demo'; pick another --dir",
                ExitCode.USAGE,
            )
        for sub in subdirectories:
            shutil.rmtree(root / sub, ignore_errors=True)
    root.mkdir(parents=True, exist_ok=True)
    (root / MARKER).write_text("Made by 'as2gw demo'; safe to delete.\n")
    return root


class Tour:
    """Prints numbered steps for a person; silent but the summary with ``--json``."""

    steps = 6

    def __init__(self, cli: Cli, root: Path) -> None:
        self.cli = cli
        self.out = cli.output
        self.root = root
        # With --json (asked for, not implied by a pipe) only the summary object is printed.
        self.silent = self.out.json_requested
        self.step_no = 0

    def say(self, *renderables: Any) -> None:
        """Print for a person, unless ``--json``."""
        if not self.silent:
            self.out.print(*renderables)

    def step(self, title: str) -> None:
        """Start the next numbered step."""
        self.step_no += 1
        self.say("")
        self.say(Rule(f"[bold]Step {self.step_no}/{self.steps}[/] {title}", align="left"))

    def rel(self, path: Path) -> str:
        """``path`` relative to the working directory when it is below it."""
        try:
            return str(path.relative_to(Path.cwd()))
        except ValueError:
            return str(path)
