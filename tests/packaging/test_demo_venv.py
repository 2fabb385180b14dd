"""``as2gw demo`` for each gateway from the wheel, in a fresh venv with the cli and emulator
extras: what a new user runs first (issue 16: "the demo for each gateway exits 0 from a
fresh venv")."""

from __future__ import annotations

import json
import sys
import venv
from pathlib import Path

import pytest

from .conftest import run

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo_venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with ``as2gw_async[cli,emulator]`` from the wheel: its bin/."""
    home = tmp_path_factory.mktemp("demo-venv")
    venv.EnvBuilder(with_pip=True).create(home)
    bindir = home / ("Scripts" if sys.platform == "win32" else "bin")
    installed = run([bindir / "python", "-m", "pip", "install", "-q", f"{wheel}[cli,emulator]"])
    assert installed.returncode == 0, installed.stdout + installed.stderr
    return bindir


@pytest.mark.parametrize(
    "name",
    [
        "as2gateway",
        "mft",
        "ecgrid",
    ],
)
def test_the_demo_runs_from_a_fresh_venv(demo_venv: Path, tmp_path: Path, name: str) -> None:
    result = run(
        [demo_venv / "as2gw", "demo", "--gateway", name, "--json", "--dir", tmp_path / "demo"],
        tmp_path,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    summary = json.loads(result.stdout)
    assert summary["synced"] == 40
    assert summary["secondSync"] == 0
