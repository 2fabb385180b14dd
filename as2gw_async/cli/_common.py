"""What every command shares: output options, connection options, one async entry.

`command` registers a function as a typer command and appends the shared options to its
signature, so they are accepted after the command name (``as2gw ls received -v --json``).
The function receives a `Cli` first: the output streams and a `Cli.session` factory that
builds the `Session` from ``--username/--password/--base-url`` or the ``AS2GW_*``
environment. An ``async def`` command runs under one ``anyio.run``; any exception it raises
is turned into one stderr line and an exit code by `handle_errors`.
"""

from __future__ import annotations

import functools
import inspect
import os
import sys
import typing
from collections.abc import Callable
from typing import Annotated, Any, Optional

import anyio
import typer
from attrs import define

from ..ratelimit import GATEWAY_RATE_LIMIT, RateLimit
from ..session import DEFAULT_BASE_URL, Session
from ._errors import CliError, ExitCode, handle_errors
from ._logging import add_secret, configure_logging
from ._typer import Command
from .output import Output

__all__ = ["Cli", "Connection", "command", "parse_rate_limit"]

OUTPUT_PANEL = "Output"
CONNECTION_PANEL = "Connection"


@define(frozen=True)
class Connection:
    """Resolved connection settings (the password is never shown in a repr)."""

    username: str
    password: str
    base_url: str
    allow_insecure_http: bool
    rate_limit: RateLimit | None
    max_retries: int = 3
    timeout: float | None = None

    def __repr__(self) -> str:
        return f"Connection(username={self.username!r}, base_url={self.base_url!r})"


@define
class Cli:
    """Handed to every command: output streams, flags and the session factory."""

    output: Output
    verbose: bool
    quiet: bool
    connection: Connection | None = None

    def session(self, **overrides: Any) -> Session:
        """A new `Session` for this command's credentials (use it with ``async with``)."""
        if self.connection is None:  # pragma: no cover - a command declared connect=False
            raise RuntimeError("this command takes no connection options")
        c = self.connection
        kwargs: dict[str, Any] = {
            "base_url": c.base_url,
            "allow_insecure_http": c.allow_insecure_http,
            "rate_limit": c.rate_limit,
            "max_retries": c.max_retries,
        }
        if c.timeout is not None:
            kwargs["timeout"] = c.timeout
        kwargs.update(overrides)
        return Session(c.username, c.password, **kwargs)


def parse_rate_limit(text: str) -> RateLimit:
    """``50/10`` -> at most 50 requests in any 10 seconds."""
    try:
        count, period = text.split("/", 1)
        return RateLimit(int(count), float(period))
    except (ValueError, TypeError):
        raise CliError(
            f"--rate-limit must look like 50/10 (requests/seconds, both positive), not {text!r}",
            ExitCode.USAGE,
        ) from None


def _stdin_is_tty() -> bool:
    try:
        return sys.stdin.isatty()
    except (AttributeError, ValueError):
        return False


def _read_stdin_password() -> str:
    line = sys.stdin.readline()
    password = line.rstrip("\r\n")
    if not password:
        raise CliError("--password-stdin: no password on the first line of stdin", ExitCode.USAGE)
    return password


def _resolve_connection(
    *,
    username: str | None,
    password: str | None,
    password_stdin: bool,
    base_url: str | None,
    allow_insecure_http: bool,
    rate_limit: str | None,
    no_rate_limit: bool,
    retries: int,
    http_timeout: float | None,
) -> Connection:
    if rate_limit is not None and no_rate_limit:
        raise CliError("--rate-limit and --no-rate-limit exclude each other", ExitCode.USAGE)
    limit: RateLimit | None = GATEWAY_RATE_LIMIT
    if no_rate_limit:
        limit = None
    elif rate_limit is not None:
        limit = parse_rate_limit(rate_limit)
    interactive = _stdin_is_tty()
    if not username:
        if not interactive or password_stdin:
            raise CliError("no username: pass --username or set AS2GW_USERNAME", ExitCode.USAGE)
        username = typer.prompt("AS2 Gateway username", err=True)
    if password_stdin:
        password = _read_stdin_password()
    elif not password:
        if not interactive:
            raise CliError(
                "no password: set AS2GW_PASSWORD, pass --password-stdin, or run "
                "interactively to be prompted",
                ExitCode.USAGE,
            )
        password = typer.prompt(f"Password for {username}", hide_input=True, err=True)
    add_secret(password)
    return Connection(
        username=str(username),
        password=str(password),
        base_url=base_url or DEFAULT_BASE_URL,
        allow_insecure_http=allow_insecure_http,
        rate_limit=limit,
        max_retries=retries,
        timeout=http_timeout,
    )


# -- the shared options, as parameters appended to each command's signature ---------------

_OUTPUT_OPTIONS: list[inspect.Parameter] = [
    inspect.Parameter(
        "verbose",
        inspect.Parameter.KEYWORD_ONLY,
        default=False,
        annotation=Annotated[
            bool,
            typer.Option(
                "--verbose",
                "-v",
                help="Debug logging on stderr (secrets redacted); tracebacks on errors.",
                rich_help_panel=OUTPUT_PANEL,
            ),
        ],
    ),
    inspect.Parameter(
        "quiet",
        inspect.Parameter.KEYWORD_ONLY,
        default=False,
        annotation=Annotated[
            bool,
            typer.Option(
                "--quiet",
                "-q",
                help="No progress bars, notes or warnings; errors only.",
                rich_help_panel=OUTPUT_PANEL,
            ),
        ],
    ),
]

_JSON_OPTION = inspect.Parameter(
    "json_flag",
    inspect.Parameter.KEYWORD_ONLY,
    default=False,
    annotation=Annotated[
        bool,
        typer.Option(
            "--json",
            help="One JSON object per line on stdout (the default when stdout is not a terminal).",
            rich_help_panel=OUTPUT_PANEL,
        ),
    ],
)

_CONNECTION_OPTIONS: list[inspect.Parameter] = [
    inspect.Parameter(
        "username",
        inspect.Parameter.KEYWORD_ONLY,
        default=None,
        annotation=Annotated[
            Optional[str],  # noqa: UP045 - typer reads the annotation at runtime
            typer.Option(
                "--username",
                "-u",
                envvar="AS2GW_USERNAME",
                help="Account e-mail.",
                rich_help_panel=CONNECTION_PANEL,
                show_default=False,
            ),
        ],
    ),
    inspect.Parameter(
        "password",
        inspect.Parameter.KEYWORD_ONLY,
        default=None,
        annotation=Annotated[
            Optional[str],  # noqa: UP045
            typer.Option(
                "--password",
                envvar="AS2GW_PASSWORD",
                help="Password (prefer the variable or --password-stdin: arguments show in ps). "
                "Prompted for, hidden, when missing and stdin is a terminal.",
                rich_help_panel=CONNECTION_PANEL,
                show_default=False,
            ),
        ],
    ),
    inspect.Parameter(
        "password_stdin",
        inspect.Parameter.KEYWORD_ONLY,
        default=False,
        annotation=Annotated[
            bool,
            typer.Option(
                "--password-stdin",
                help="Read the password from the first line of stdin.",
                rich_help_panel=CONNECTION_PANEL,
            ),
        ],
    ),
    inspect.Parameter(
        "base_url",
        inspect.Parameter.KEYWORD_ONLY,
        default=None,
        annotation=Annotated[
            Optional[str],  # noqa: UP045
            typer.Option(
                "--base-url",
                envvar="AS2GW_BASE_URL",
                help=f"API root (default: {DEFAULT_BASE_URL}).",
                rich_help_panel=CONNECTION_PANEL,
                show_default=False,
            ),
        ],
    ),
    inspect.Parameter(
        "allow_insecure_http",
        inspect.Parameter.KEYWORD_ONLY,
        default=False,
        annotation=Annotated[
            bool,
            typer.Option(
                "--allow-insecure-http",
                help="Allow a plain-http base URL on a host that is not loopback.",
                rich_help_panel=CONNECTION_PANEL,
            ),
        ],
    ),
    inspect.Parameter(
        "rate_limit",
        inspect.Parameter.KEYWORD_ONLY,
        default=None,
        annotation=Annotated[
            Optional[str],  # noqa: UP045
            typer.Option(
                "--rate-limit",
                metavar="N/S",
                help="Client-side pace: at most N requests per S seconds (default: 50/10, "
                "the gateway's limit).",
                rich_help_panel=CONNECTION_PANEL,
                show_default=False,
            ),
        ],
    ),
    inspect.Parameter(
        "retries",
        inspect.Parameter.KEYWORD_ONLY,
        default=3,
        annotation=Annotated[
            int,
            typer.Option(
                "--retries",
                min=0,
                help="Retries of a failed idempotent call (connection errors, 429, 5xx); "
                "a send is never repeated.",
                rich_help_panel=CONNECTION_PANEL,
            ),
        ],
    ),
    inspect.Parameter(
        "http_timeout",
        inspect.Parameter.KEYWORD_ONLY,
        default=None,
        annotation=Annotated[
            Optional[float],  # noqa: UP045
            typer.Option(
                "--http-timeout",
                min=0.1,
                metavar="SECONDS",
                help="Timeout of one HTTP call (default: 60, connect 10).",
                rich_help_panel=CONNECTION_PANEL,
                show_default=False,
            ),
        ],
    ),
    inspect.Parameter(
        "no_rate_limit",
        inspect.Parameter.KEYWORD_ONLY,
        default=False,
        annotation=Annotated[
            bool,
            typer.Option(
                "--no-rate-limit",
                help="Do not pace requests on the client side.",
                rich_help_panel=CONNECTION_PANEL,
            ),
        ],
    ),
]

_CONNECTION_NAMES = [p.name for p in _CONNECTION_OPTIONS]


def command(
    app: typer.Typer,
    name: str,
    *,
    connect: bool = True,
    json_output: bool = True,
    **settings: Any,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register ``fn(cli, **params)`` (sync or async) as the command ``name``."""

    def decorator(fn: Callable[..., Any]) -> Callable[..., Any]:
        hints = typing.get_type_hints(fn, include_extras=True)
        own = [
            p.replace(annotation=hints.get(p.name, p.annotation))
            for p in list(inspect.signature(fn).parameters.values())[1:]
        ]
        extra = list(_OUTPUT_OPTIONS)
        if json_output:
            extra.append(_JSON_OPTION)
        if connect:
            extra += _CONNECTION_OPTIONS
        params = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in own] + extra

        def wrapper(**kwargs: Any) -> Any:
            verbose = bool(kwargs.pop("verbose"))
            quiet = bool(kwargs.pop("quiet")) and not verbose
            json_flag = bool(kwargs.pop("json_flag", False))
            conn_args = {k: kwargs.pop(k) for k in _CONNECTION_NAMES if k in kwargs}
            configure_logging(verbose=verbose, quiet=quiet)
            output = Output.create(
                json_flag=True if json_flag else None, quiet=quiet, verbose=verbose
            )
            with handle_errors(verbose=verbose):
                cli = Cli(output=output, verbose=verbose, quiet=quiet)
                if connect:
                    cli.connection = _resolve_connection(**conn_args)
                if inspect.iscoroutinefunction(fn):
                    return anyio.run(functools.partial(fn, cli, **kwargs))
                return fn(cli, **kwargs)

        wrapper.__name__ = fn.__name__
        wrapper.__qualname__ = fn.__qualname__
        wrapper.__doc__ = fn.__doc__
        wrapper.__module__ = fn.__module__
        wrapper.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
        wrapper.__annotations__ = {p.name: p.annotation for p in params}
        settings.setdefault("cls", Command)
        app.command(name, **settings)(wrapper)
        return fn

    return decorator


def env_flag(name: str) -> bool:
    """An environment variable set to something other than '', '0', 'false', 'no'."""
    return os.environ.get(name, "").strip().lower() not in ("", "0", "false", "no")
