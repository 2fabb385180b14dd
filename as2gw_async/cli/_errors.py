"""Exit codes, and the one place that turns an exception into a line on stderr and a code.

Every command runs inside `handle_errors`: an error becomes a single line
``as2gw: error: <what happened>`` on stderr and the documented exit code below; the
traceback is shown only with ``--verbose``.
"""

from __future__ import annotations

import enum
import errno
import os
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager

import typer

from ..errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AS2GatewayError,
    AuthenticationError,
    DeliveryFailedError,
    DeliveryTimeoutError,
    InsecureTransportError,
    InternalServerError,
    LimitExceededError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
)
from ._logging import redact

__all__ = [
    "EXIT_CODES_HELP",
    "CliError",
    "ExitCode",
    "IncompleteError",
    "classify",
    "handle_errors",
]


class ExitCode(enum.IntEnum):
    """What ``as2gw`` exits with; documented in ``docs/cli.md`` and ``as2gw --help``."""

    OK = 0
    ERROR = 1  # any other error (a 400, a corrupt body, a local file problem...)
    USAGE = 2  # bad usage: options, arguments, missing credentials
    AUTH = 3  # authentication failed (401) or permission denied (403)
    NOT_FOUND = 4  # no such message, attachment, station or partner (404)
    UNAVAILABLE = 5  # network: connection error, timeout, 5xx or 429 after retries
    LIMIT = 6  # a send over the documented limits (10 files, 10 MB), refused before sending
    INCOMPLETE = 7  # partial batch, or a delivery that failed / was not confirmed in time
    INTERRUPTED = 130  # Ctrl-C
    BROKEN_PIPE = 141  # stdout closed early (``| head``), as if killed by SIGPIPE


EXIT_CODES_HELP: tuple[tuple[int, str], ...] = (
    (0, "success"),
    (1, "any other error (a 400, a corrupt download, a local file problem)"),
    (2, "bad usage: unknown option, bad value, missing credentials"),
    (3, "authentication failed (401) or permission denied (403)"),
    (4, "not found (404): message, attachment, station or partner"),
    (5, "network: connection error, timeout, gateway 5xx or 429 after retries"),
    (6, "limit exceeded: a send over 10 files / 10 MB, refused before sending"),
    (7, "incomplete: some ids of a batch failed, or a delivery failed / timed out"),
    (130, "interrupted (Ctrl-C)"),
    (141, "stdout closed early (e.g. piped into head); nothing printed"),
)


class CliError(Exception):
    """An error the CLI raises itself, with its exit code."""

    def __init__(self, message: str, code: ExitCode = ExitCode.ERROR) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


class IncompleteError(CliError):
    """Part of the work was done and reported; the rest failed (exit code 7)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, ExitCode.INCOMPLETE)


def _status(exc: APIStatusError, what: str) -> str:
    return f"{what} ({exc.status_code}): {exc.message}"


def classify(exc: BaseException) -> tuple[ExitCode, str]:
    """The exit code and the one-line message for an exception."""
    if isinstance(exc, CliError):
        return exc.code, exc.message
    if isinstance(exc, (AuthenticationError, PermissionDeniedError)):
        what = "authentication failed" if exc.status_code == 401 else "permission denied"
        hint = ""
        if exc.status_code == 401:
            hint = " (check --username/--password or AS2GW_USERNAME/AS2GW_PASSWORD)"
        return ExitCode.AUTH, _status(exc, what) + hint
    if isinstance(exc, NotFoundError):
        return ExitCode.NOT_FOUND, _status(exc, "not found")
    if isinstance(exc, APITimeoutError):
        return ExitCode.UNAVAILABLE, f"timed out: {exc.message}"
    if isinstance(exc, APIConnectionError):
        return ExitCode.UNAVAILABLE, f"network error: {exc.message}"
    if isinstance(exc, RateLimitError):
        return ExitCode.UNAVAILABLE, _status(exc, "rate limited by the gateway")
    if isinstance(exc, InternalServerError):
        return ExitCode.UNAVAILABLE, _status(exc, "gateway error")
    if isinstance(exc, LimitExceededError):
        return ExitCode.LIMIT, f"limit exceeded: {exc.message}"
    if isinstance(exc, DeliveryFailedError):
        return ExitCode.INCOMPLETE, f"delivery failed: {exc.message}"
    if isinstance(exc, DeliveryTimeoutError):
        return ExitCode.INCOMPLETE, f"delivery not confirmed: {exc.message}"
    if isinstance(exc, InsecureTransportError):
        return ExitCode.USAGE, f"{exc.message} (the CLI option is --allow-insecure-http)"
    if isinstance(exc, APIStatusError):
        return ExitCode.ERROR, _status(exc, "the gateway refused the request")
    if isinstance(exc, AS2GatewayError):
        return ExitCode.ERROR, exc.message
    if isinstance(exc, FileExistsError):
        return ExitCode.ERROR, f"{exc.filename} already exists (pass --overwrite to replace it)"
    if isinstance(exc, OSError):
        reason = exc.strerror or str(exc) or errno.errorcode.get(exc.errno or 0, "OS error")
        where = f": {exc.filename}" if exc.filename else ""
        return ExitCode.ERROR, f"{reason}{where}"
    if isinstance(exc, ValueError):
        return ExitCode.USAGE, str(exc)
    return ExitCode.ERROR, f"unexpected {type(exc).__name__}: {exc} (run with -v for details)"


# typer's own exits and usage errors keep their codes (2 for bad usage). Newer typer vendors
# click, older typer re-exports it: find ClickException through typer's public names.
_PASSTHROUGH: tuple[type[BaseException], ...] = (
    typer.Exit,
    typer.Abort,
    *(c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException"),
)


def _leaf(exc: BaseException) -> BaseException:
    """The first exception inside (nested) exception groups, e.g. from a task group."""
    while True:
        inner = getattr(exc, "exceptions", None)
        if not isinstance(inner, (tuple, list)) or not inner:
            return exc
        if not isinstance(inner[0], BaseException):  # pragma: no cover - not a group
            return exc
        exc = inner[0]


def _silence_stdout() -> None:
    """stdout was closed under us (``| head``): stop writing to it, quietly."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # not a real file (a test runner)
        pass


@contextmanager
def handle_errors(*, verbose: bool) -> Iterator[None]:
    """Run a command body: map any exception to one stderr line and its exit code."""
    try:
        yield
    except BaseException as raised:
        exc = _leaf(raised)
        if isinstance(exc, (*_PASSTHROUGH, SystemExit)):
            if exc is raised:
                raise
            raise exc from None
        if isinstance(exc, KeyboardInterrupt):
            _print_error("interrupted")
            raise typer.Exit(int(ExitCode.INTERRUPTED)) from None
        if isinstance(exc, BrokenPipeError):
            _silence_stdout()
            raise typer.Exit(int(ExitCode.BROKEN_PIPE)) from None
        if not isinstance(exc, Exception):
            raise
        code, message = classify(exc)
        if verbose:
            text = "".join(traceback.format_exception(type(raised), raised, raised.__traceback__))
            sys.stderr.write(redact(text))
        _print_error(message)
        raise typer.Exit(int(code)) from None


def _print_error(message: str) -> None:
    line = " ".join(redact(message).split())  # one line, whatever the message held
    sys.stderr.write(f"as2gw: error: {line}\n")
    sys.stderr.flush()
