"""The wheel in a fresh venv without extras: a user's pytest still runs, the hints are clear.

Issue 13 items 11, 12 and 17: the ``pytest11`` entry point used to import starlette at load
time, which broke every pytest run of a project that installed only the core (exit 3);
``python -m as2gw_async.emulator`` printed a raw traceback; the wheel shipped no LICENSE.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from .conftest import run

pytestmark = pytest.mark.slow

HINT = 'pip install "as2gw_async[emulator]"'

_PROJECT = {
    "pytest.ini": "[pytest]\n",
    "test_core.py": (
        "import as2gw_async as gw\n\n\n"
        "def test_core_imports():\n"
        "    assert gw.Session\n\n\n"
        "def test_gateway_fixture_needs_no_server(as2gw_gateway):\n"
        "    assert as2gw_gateway.seed(2)\n"
    ),
}

_USES_SERVER = (
    "def test_served(as2gw_emulator):\n    raise AssertionError('not reached')\n\n\n"
    "def test_mft_served(mft_emulator):\n    raise AssertionError('not reached')\n\n\n"
    "def test_ecgrid_served(ecgrid_emulator):\n    raise AssertionError('not reached')\n"
)


def _project(root: Path, files: dict[str, str]) -> Path:
    root.mkdir()
    for name, text in files.items():
        (root / name).write_text(text, encoding="utf-8")
    return root


def test_a_users_pytest_runs_without_the_emulator_extra(bare_venv: Path, tmp_path: Path) -> None:
    project = _project(tmp_path / "project", _PROJECT)
    result = run([bare_venv / "python", "-m", "pytest", "-q", "-p", "no:cacheprovider"], project)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout
    assert "starlette" not in result.stdout + result.stderr


def test_the_server_fixture_says_what_to_install(bare_venv: Path, tmp_path: Path) -> None:
    project = _project(tmp_path / "project", {**_PROJECT, "test_server.py": _USES_SERVER})
    result = run([bare_venv / "python", "-m", "pytest", "-q", "-p", "no:cacheprovider"], project)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "2 passed, 3 errors" in result.stdout  # the fixtures fail, before the tests run
    assert "as2gw_emulator: the emulator needs the 'emulator' extra" in result.stdout
    assert "mft_emulator: the emulator needs the 'emulator' extra" in result.stdout
    assert "ecgrid_emulator: the emulator needs the 'emulator' extra" in result.stdout
    assert HINT in result.stdout
    assert "not reached" not in result.stdout
    assert "Traceback" not in result.stdout


def test_python_dash_m_emulator_says_what_to_install(bare_venv: Path, tmp_path: Path) -> None:
    result = run([bare_venv / "python", "-m", "as2gw_async.emulator"], tmp_path)
    assert result.returncode == 1
    assert HINT in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1, result.stderr


def test_the_wheel_ships_the_license(wheel: Path) -> None:
    root = Path(__file__).resolve().parents[2]
    with zipfile.ZipFile(wheel) as z:
        licenses = [n for n in z.namelist() if n.endswith("/LICENSE") and ".dist-info/" in n]
        assert licenses, z.namelist()
        shipped = z.read(licenses[0]).decode()
        metadata = next(n for n in z.namelist() if n.endswith(".dist-info/METADATA"))
        meta = z.read(metadata).decode()
    assert shipped == (root / "LICENSE").read_text(encoding="utf-8")
    assert "MIT License" in shipped
    assert "as2gw_async developers" in shipped
    assert "License-File: LICENSE" in meta
