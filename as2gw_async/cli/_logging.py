"""Logging for the CLI: warnings always, debug with ``-v``; secrets redacted from every line.

The library never logs the password or the token; this is a second belt. Every record of
the ``as2gw_async`` logger, and every error line the CLI prints, goes through `redact`:
the password in use and anything shaped like a JWT or an ``Authorization`` header value is
replaced by ``***``.
"""

from __future__ import annotations

import logging
import re
import sys
from typing import Any

__all__ = ["add_secret", "configure_logging", "redact"]

_REDACTED = "***"
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*")
_AUTH_HEADER = re.compile(r"(?i)(authorization['\"]?\s*[:=]\s*['\"]?)([^'\"\s,}]+)")
_PASSWORD_FIELDS = (
    re.compile(r"""(?i)(["']password["']\s*:\s*["'])([^"']+)"""),  # JSON, a dict repr
    re.compile(r"(?i)(\bpassword=)([^&\s]+)"),  # a query or form field
)
_secrets: set[str] = set()

_LOGGER = "as2gw_async"
_HANDLER_NAME = "as2gw-cli"


def add_secret(value: str | None) -> None:
    """Remember a secret (the password) so that it is never printed."""
    if value:
        _secrets.add(value)


def redact(text: str) -> str:
    """``text`` with known secrets, JWT-shaped tokens and credential fields masked."""
    for secret in sorted(_secrets, key=len, reverse=True):
        text = text.replace(secret, _REDACTED)
    text = _JWT.sub(_REDACTED, text)
    text = _AUTH_HEADER.sub(lambda m: m.group(1) + _REDACTED, text)
    for pattern in _PASSWORD_FIELDS:
        text = pattern.sub(lambda m: m.group(1) + _REDACTED, text)
    return text


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is now (a progress bar or a test runner swaps it)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        pass


class _RedactingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        copy = logging.makeLogRecord(record.__dict__)  # other handlers see the original
        copy.levelname = copy.levelname.lower()
        return redact(super().format(copy))


def configure_logging(*, verbose: bool, quiet: bool) -> None:
    """Send the library's log records to stderr: DEBUG with ``-v``, ERROR with ``-q``,
    WARNING otherwise. Safe to call again (a test runs many commands in one process)."""
    logger = logging.getLogger(_LOGGER)
    for handler in list(logger.handlers):
        if handler.get_name() == _HANDLER_NAME:
            logger.removeHandler(handler)
    handler = _StderrHandler()
    handler.set_name(_HANDLER_NAME)
    if verbose:
        fmt = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
    else:
        fmt = "as2gw: %(levelname)s: %(message)s"
    handler.setFormatter(_RedactingFormatter(fmt))
    level = logging.DEBUG if verbose else (logging.ERROR if quiet else logging.WARNING)
    handler.setLevel(level)
    logger.addHandler(handler)
    logger.setLevel(level)
    for name in ("httpx", "httpcore"):
        # httpx logs each request at INFO; the session's own debug lines say more.
        logging.getLogger(name).setLevel(logging.WARNING)
