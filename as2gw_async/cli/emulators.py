"""``as2gw emulator --gateway as2gateway|mft|ecgrid``: each gateway's emulator from one command.

The AS2 Gateway v1 emulator keeps its own options (``as2gw emulator --help``); the MFT
Gateway and ECGrid emulators get small parsers here, print their ``*_EMULATOR_READY``
lines and credentials once listening, and serve until SIGINT/SIGTERM. Which function runs
for which gateway is said once, in `gateways.GATEWAYS`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from ._common import resolve_gateway
from ._errors import CliError, ExitCode

__all__ = [
    "build_ecgrid_parser",
    "build_mft_parser",
    "run_ecgrid_emulator",
    "run_gateway_emulator",
    "run_mft_emulator",
]

_EMULATOR_EXTRA = "pip install 'as2gw_async[cli,emulator]'"


def _take_gateway(argv: Sequence[str]) -> tuple[str | None, list[str]]:
    """``--gateway X`` / ``--gateway=X`` / ``-g X`` out of ``argv``; the rest for the emulator."""
    rest: list[str] = []
    name: str | None = None
    args = iter(argv)
    for arg in args:
        if arg in ("--gateway", "-g"):
            name = next(args, "")
        elif arg.startswith("--gateway="):
            name = arg.split("=", 1)[1]
        else:
            rest.append(arg)
    return name, rest


def run_gateway_emulator(argv: Sequence[str], ctx: Any = None) -> int:
    """The ``emulator`` command: pick the gateway, then run its emulator with the rest.

    ``ctx`` is the command's context (for a ``--gateway`` given before ``emulator``).
    """
    name, rest = _take_gateway(argv)
    try:
        gw = resolve_gateway(name, ctx)
        gw.check("emulator")
    except CliError as exc:
        sys.stderr.write(f"as2gw: error: {exc.message}\n")
        return int(exc.code)
    runner: Callable[[Sequence[str]], int] = gw.load(gw.emulator)
    return runner(rest)


def _parse(parser: argparse.ArgumentParser, argv: Sequence[str]) -> argparse.Namespace | int:
    try:
        return parser.parse_args(list(argv))
    except SystemExit as exc:  # --help, or bad usage (argparse prints why)
        return exc.code if isinstance(exc.code, int) else int(ExitCode.USAGE)


def _serve(main: Callable[[asyncio.Event], Coroutine[Any, Any, None]]) -> int:
    """Run ``main(stop)`` until it returns; SIGINT/SIGTERM set ``stop`` (a clean exit 0)."""

    async def wrapper() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(sig, stop.set)
        await main(stop)

    try:
        asyncio.run(wrapper())
    except KeyboardInterrupt:
        pass
    except OSError as exc:
        sys.stderr.write(f"as2gw: error: {exc}\n")
        return int(ExitCode.ERROR)
    return int(ExitCode.OK)


def _missing_extra(exc: ImportError) -> int:
    sys.stderr.write(
        f"as2gw: error: the emulator needs its extra ({exc.name} is missing): {_EMULATOR_EXTRA}\n"
    )
    return int(ExitCode.ERROR)


def _common_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", default="127.0.0.1", help="interface to listen on (127.0.0.1)")
    p.add_argument("--port", type=int, default=8080, help="port (0 = any free port; 8080)")
    p.add_argument(
        "--seed-messages", type=int, default=0, metavar="N", help="N generated inbox messages"
    )
    p.add_argument("--seed", type=int, default=0, help="seed for ids and content (0)")
    p.add_argument("--latency", type=float, default=0.0, help="seconds added to every request")
    p.add_argument("--token-ttl", type=float, default=3600.0, help="token lifetime, seconds")
    p.add_argument("--log-level", default="warning", help="uvicorn log level (warning)")


# -- MFT Gateway ---------------------------------------------------------------------------


def build_mft_parser(prog: str = "as2gw emulator --gateway mft") -> argparse.ArgumentParser:
    """The MFT emulator's options."""
    p = argparse.ArgumentParser(
        prog=prog,
        description="Run a local MFT Gateway emulator and its object store (in-memory).",
    )
    _common_options(p)
    p.add_argument(
        "--store-port", type=int, default=0, help="the object store's port (0 = any free port)"
    )
    p.add_argument("--username", default=None, help="default account username")
    p.add_argument("--password", default=None, help="default account password")
    p.add_argument(
        "--attachments", type=int, default=1, metavar="K", help="attachments a seeded message"
    )
    p.add_argument(
        "--naming", choices=("current", "legacy"), default="current", help="field names served"
    )
    p.add_argument("--link-ttl", type=int, default=600, help="presigned link lifetime, seconds")
    p.add_argument(
        "--send-delay", type=float, default=0.2, help="seconds a sent message stays queued"
    )
    return p


def run_mft_emulator(argv: Sequence[str]) -> int:
    """``as2gw emulator --gateway mft [options]``: serve until Ctrl-C."""
    try:
        from ..emulator.mft import MftGateway, ready_lines, run
    except ImportError as exc:
        return _missing_extra(exc)
    args = _parse(build_mft_parser(), argv)
    if isinstance(args, int):
        return args
    accounts = {k: v for k, v in (("username", args.username), ("password", args.password)) if v}
    gateway = MftGateway(
        seed=args.seed,
        naming=args.naming,
        token_ttl=args.token_ttl,
        send_delay=args.send_delay,
        **accounts,
    )
    gateway.store.link_ttl = args.link_ttl
    gateway.faults.latency = args.latency
    if args.seed_messages:
        gateway.seed_inbox(args.seed_messages, attachments=args.attachments, seed=args.seed)

    def announce(server: Any) -> None:
        lines = [*ready_lines(server), "", f"MFT Gateway emulator listening on {server.base_url}"]
        lines += [
            f"  object store: {server.store_url}",
            f"  stats:        {server.base_url}/_emulator/stats",
            "Try:",
            f"  MFTGW_BASE_URL={server.base_url} MFTGW_USERNAME={gateway.username} "
            f"MFTGW_PASSWORD={gateway.password} as2gw --gateway mft sync inbox/",
            "Press Ctrl+C to stop.",
        ]
        sys.stdout.write("\n".join(lines) + "\n")
        sys.stdout.flush()

    async def main(stop: asyncio.Event) -> None:
        await run(gateway, args.host, args.port, args.store_port, on_ready=announce, stop=stop)

    return _serve(main)


# -- ECGrid --------------------------------------------------------------------------------


def build_ecgrid_parser(prog: str = "as2gw emulator --gateway ecgrid") -> argparse.ArgumentParser:
    """The ECGrid emulator's options."""
    p = argparse.ArgumentParser(
        prog=prog, description="Run a local ECGrid REST v2.6 emulator (in-memory)."
    )
    _common_options(p)
    p.add_argument("--api-key", action="append", default=None, help="a valid X-API-Key (repeat)")
    p.add_argument("--login", default=None, help="default user's login")
    p.add_argument("--password", default=None, help="default user's password")
    p.add_argument(
        "--size", type=int, default=256, metavar="BYTES", help="size of a seeded parcel (256)"
    )
    p.add_argument(
        "--page-shape", type=int, choices=(1, 2, 3), default=1, help="parcel list shape (1)"
    )
    p.add_argument(
        "--spelling", choices=("reference", "guide"), default="reference", help="field names"
    )
    return p


def run_ecgrid_emulator(argv: Sequence[str]) -> int:
    """``as2gw emulator --gateway ecgrid [options]``: serve until Ctrl-C."""
    try:
        from ..emulator.ecgrid import ECGridState, run_forever
    except ImportError as exc:
        return _missing_extra(exc)
    args = _parse(build_ecgrid_parser(), argv)
    if isinstance(args, int):
        return args
    options: dict[str, Any] = {
        k: v for k, v in (("login", args.login), ("password", args.password)) if v
    }
    if args.api_key:
        options["api_keys"] = tuple(args.api_key)
    state = ECGridState(
        page_shape=args.page_shape,
        spelling=args.spelling,
        token_ttl=args.token_ttl,
        seed=args.seed,
        **options,
    )
    state.latency = args.latency
    if args.seed_messages:
        state.seed_inbox(args.seed_messages, sizes=args.size)

    async def main(stop: asyncio.Event) -> None:
        server = asyncio.create_task(
            run_forever(state, args.host, args.port, out=sys.stdout, log_level=args.log_level)
        )
        stopping = asyncio.create_task(stop.wait())
        await asyncio.wait({server, stopping}, return_when=asyncio.FIRST_COMPLETED)
        for task in (stopping, server):  # a server that failed (port in use) raises here
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    return _serve(main)
