"""A real PostgreSQL server for the journal tests (never a mock of the database).

``AS2GW_TEST_PG_DSN`` points the tests at a server of your own; otherwise one is started from
the Debian packages (``initdb`` + ``pg_ctl``, see ``_server.py``) for the whole session on a
free loopback port, and stopped at the end. Each test gets its own table prefix, so tests
never see each other's rows. Without a server or the ``postgres`` extra the tests are
skipped with the reason on a developer's machine, and fail under CI (``CI`` set).
"""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

try:
    import as2gw_async.emulator.pytest_plugin as _plugin
except ImportError:  # running from a checkout without `pip install -e .`
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    import as2gw_async.emulator.pytest_plugin as _plugin

from ._server import PostgresServer, find_bin

DSN_ENV = "AS2GW_TEST_PG_DSN"


def pytest_configure(config: pytest.Config) -> None:
    if not config.pluginmanager.has_plugin("as2gw_emulator"):
        config.pluginmanager.register(_plugin, "as2gw_emulator")


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI must run the PostgreSQL tests)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def pg_dsn() -> Iterator[str]:
    """A DSN of a running PostgreSQL server: yours (AS2GW_TEST_PG_DSN) or one started here."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        _unavailable('psycopg is not installed: pip install -e ".[dev]"')
    given = os.environ.get(DSN_ENV)
    if given:
        yield given
        return
    if find_bin("initdb") is None:
        _unavailable(f"no PostgreSQL server: apt-get install postgresql, or set {DSN_ENV}")
    server = PostgresServer()
    try:
        server.start()
        yield server.dsn
    finally:
        server.remove()


@pytest.fixture
def pg_prefix() -> str:
    """A table prefix of this test's own."""
    return f"t{uuid.uuid4().hex[:12]}_"
