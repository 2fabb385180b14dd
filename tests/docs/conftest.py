"""Fixtures for running the documentation's examples against the emulator."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from types import ModuleType

import pytest

try:
    import as2gw_async.emulator.pytest_plugin as _plugin
except ImportError:  # running from a checkout without `pip install -e .`
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    import as2gw_async.emulator.pytest_plugin as _plugin

import as2gw_async as gw
from as2gw_async.emulator import EmulatorServer

# The PostgreSQL server of tests/postgres, for the several-hosts example.
from ..postgres.conftest import pg_dsn, pg_prefix  # noqa: F401

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
DOCS = ROOT / "docs"


def pytest_configure(config: pytest.Config) -> None:
    if not config.pluginmanager.has_plugin("as2gw_emulator"):
        config.pluginmanager.register(_plugin, "as2gw_emulator")


@pytest.fixture
def load_example() -> Iterator[object]:
    """Import ``examples/<name>.py`` as a fresh module (examples import each other)."""
    sys.path.insert(0, str(EXAMPLES))
    loaded: list[str] = []

    def load(name: str) -> ModuleType:
        path = EXAMPLES / f"{name}.py"
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None, path
        assert spec.loader is not None, path
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        loaded.append(name)
        spec.loader.exec_module(module)
        return module

    try:
        yield load
    finally:
        sys.path.remove(str(EXAMPLES))
        for name in loaded:
            sys.modules.pop(name, None)


@pytest.fixture
async def session(as2gw_emulator: EmulatorServer) -> AsyncIterator[gw.Session]:
    """A session on the emulator, configured as a user would (the defaults)."""
    async with gw.Session(
        as2gw_emulator.username, as2gw_emulator.password, base_url=as2gw_emulator.base_url
    ) as s:
        yield s
