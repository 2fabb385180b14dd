"""The package as a new user gets it: the built wheel, in a fresh venv without any extra.

Built and installed once a test session (pip fetches the build backend and the core
dependencies through its configured index, as a user's ``pip install`` would).
"""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

#: Variables of the outer run that would leak into the fresh venv's Python.
_LEAKY = ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "VIRTUAL_ENV", "PYTEST_ADDOPTS")


def clean_env() -> dict[str, str]:
    """The environment for a subprocess of the fresh venv: nothing of this test run in it."""
    env = {k: v for k, v in os.environ.items() if k not in _LEAKY}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def run(args: list[str | Path], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``args`` with output captured as text; never raises on a non-zero exit."""
    return subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        env=clean_env(),
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        check=False,
    )


@pytest.fixture(scope="session")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project's wheel, built with pip as a user or an index would build it."""
    out = tmp_path_factory.mktemp("wheel")
    built = run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", out, ROOT])
    assert built.returncode == 0, built.stdout + built.stderr
    (found,) = out.glob("as2gw_async-*.whl")
    return found


@pytest.fixture(scope="session")
def bare_venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with the wheel (core dependencies only, no extra) and pytest: its bin/."""
    home = tmp_path_factory.mktemp("bare-venv")
    venv.EnvBuilder(with_pip=True).create(home)
    bindir = home / ("Scripts" if sys.platform == "win32" else "bin")
    installed = run([bindir / "python", "-m", "pip", "install", "-q", wheel, "pytest"])
    assert installed.returncode == 0, installed.stdout + installed.stderr
    for extra in ("starlette", "uvicorn", "typer"):  # the premise of the tests
        probe = run([bindir / "python", "-c", f"import {extra}"])
        assert probe.returncode != 0, f"{extra} is installed in the bare venv"
    return bindir
