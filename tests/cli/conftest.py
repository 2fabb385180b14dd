"""Helpers for driving ``as2gw`` through typer's CliRunner against the emulator.

The ``as2gw_gateway`` / ``as2gw_emulator`` fixtures come from the package's pytest plugin
(the emulator on a real loopback port, in a thread); it is registered here when the package
is not installed.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

try:
    import as2gw_async.emulator.pytest_plugin as _plugin
except ImportError:  # running from a checkout without `pip install -e .`
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    import as2gw_async.emulator.pytest_plugin as _plugin

from as2gw_async.cli.app import app
from as2gw_async.emulator import EmulatorServer


def pytest_configure(config: pytest.Config) -> None:
    if not config.pluginmanager.has_plugin("as2gw_emulator"):
        config.pluginmanager.register(_plugin, "as2gw_emulator")


def _runner() -> CliRunner:
    try:  # click < 8.2 mixes stderr into stdout unless told not to
        return CliRunner(mix_stderr=False)  # type: ignore[call-arg]
    except TypeError:
        return CliRunner()


#: No variables of the developer's shell leak into a test run (AS2GW_*, FORCE_COLOR...).
_CLEAN_ENV = {
    "AS2GW_USERNAME": None,
    "AS2GW_PASSWORD": None,
    "AS2GW_BASE_URL": None,
    "AS2GW_GATEWAY": None,
    "MFTGW_USERNAME": None,
    "MFTGW_PASSWORD": None,
    "MFTGW_TOKEN_ID": None,
    "MFTGW_TOKEN_SECRET": None,
    "MFTGW_BASE_URL": None,
    "ECGRID_API_KEY": None,
    "ECGRID_LOGIN": None,
    "ECGRID_PASSWORD": None,
    "ECGRID_BASE_URL": None,
    "FORCE_COLOR": None,
    "TTY_COMPATIBLE": None,
    "NO_COLOR": None,
    "COLUMNS": "120",
}

Run = Callable[..., Result]


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """Each CLI run configures the ``as2gw_async`` logger; leave it as it was for others."""
    names = ("as2gw_async", "httpx", "httpcore")
    saved = {n: (logging.getLogger(n).level, list(logging.getLogger(n).handlers)) for n in names}
    yield
    for name, (level, handlers) in saved.items():
        logger = logging.getLogger(name)
        logger.setLevel(level)
        logger.handlers[:] = handlers


@pytest.fixture
def env(as2gw_emulator: EmulatorServer) -> dict[str, str]:
    """The credentials of the running emulator, as the CLI reads them."""
    return {
        "AS2GW_USERNAME": as2gw_emulator.username,
        "AS2GW_PASSWORD": as2gw_emulator.password,
        "AS2GW_BASE_URL": as2gw_emulator.base_url,
    }


@pytest.fixture
def run(env: dict[str, str]) -> Run:
    """``run("ls", "received", input=..., env={...})``: invoke as2gw against the emulator."""
    return make_run(env)


@pytest.fixture
def run_offline() -> Run:
    """Invoke as2gw with no credentials in the environment."""
    return make_run({})


def make_run(base_env: Mapping[str, str]) -> Run:
    def invoke(
        *args: str, input: str | None = None, env: Mapping[str, str | None] | None = None
    ) -> Result:
        full: dict[str, str | None] = {**_CLEAN_ENV, **base_env, **(env or {})}
        return _runner().invoke(app, list(args), input=input, env=full, catch_exceptions=False)

    return invoke


def json_lines(text: str) -> list[dict[str, Any]]:
    """Every non-empty line of ``text`` parsed as JSON."""
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def one_line_error(result: Result) -> str:
    """The single ``as2gw: error:`` line on stderr: no traceback, nothing else but warnings."""
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert "Traceback" not in result.stderr, result.stderr
    errors = [line for line in lines if line.startswith("as2gw: error: ")]
    assert len(errors) == 1, result.stderr
    others = [line for line in lines if line not in errors]
    assert all(line.startswith("as2gw: warning: ") for line in others), result.stderr
    return errors[0]


def ids_of(records: Sequence[Mapping[str, Any]]) -> list[str]:
    return [str(r["as2MessageId"]) for r in records]
