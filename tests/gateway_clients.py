"""Which gateway clients this checkout has: for tests that need the MFT or ECGrid client.

The command line and the crash test are built for three gateways; the MFT and ECGrid clients
(and their mailboxes) land on their own branches. A test that needs one is marked with
`needs_client`: an expected failure (``ModuleNotFoundError``, strict) while the client is
missing, an ordinary test as soon as it is there. The test body calls `require_client`
first, so that the expected failure is that exact error and nothing else.
"""

from __future__ import annotations

import importlib

import pytest

__all__ = ["CLIENTS", "client_missing", "needs_client", "require_client"]

#: The package holding each gateway's ``Session``.
CLIENTS = {"as2gateway": "as2gw_async", "mft": "as2gw_async.mft", "ecgrid": "as2gw_async.ecgrid"}


def client_missing(name: str) -> bool:
    """The gateway's client, or its ``Session.mailbox``, is not in this checkout."""
    try:
        module = importlib.import_module(CLIENTS[name])
    except ModuleNotFoundError:
        return True
    return not hasattr(module.Session, "mailbox")


def needs_client(name: str) -> pytest.MarkDecorator:
    """Expected to fail with ModuleNotFoundError exactly while the client is missing."""
    return pytest.mark.xfail(
        client_missing(name),
        reason=f"the {name} client or its mailbox has not landed in this checkout",
        raises=ModuleNotFoundError,
        strict=True,
    )


def require_client(name: str) -> None:
    """Raise ModuleNotFoundError if the gateway's client (with its mailbox) is missing."""
    if client_missing(name):
        raise ModuleNotFoundError(f"{CLIENTS[name]} (with Session.mailbox) is not here yet")
