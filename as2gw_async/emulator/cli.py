"""Command line entry of the emulator: ``python -m as2gw_async.emulator`` / ``as2gw emulator``.

Once listening it prints a machine-readable line, then the credentials and a curl example::

    AS2GW_EMULATOR_READY http://127.0.0.1:8080/v1
    AS2GW_EMULATOR_USERNAME demo@example.com
    AS2GW_EMULATOR_PASSWORD demo-password

It runs until SIGINT/SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Sequence
from typing import TextIO

from ._bodies import GeneratedBody
from .faults import ALL_FAULT_KINDS, FaultPlan
from .server import EmulatorServer, serve
from .state import Gateway

__all__ = ["build_gateway", "build_parser", "main", "run"]

READY_PREFIX = "AS2GW_EMULATOR_READY"


def _rate_limit(text: str) -> tuple[int, float]:
    try:
        count, window = text.split("/", 1)
        return int(count), float(window)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"rate limit must look like 50/10 (requests/seconds), not {text!r}"
        ) from None


def _kinds(text: str) -> tuple[str, ...]:
    try:
        return FaultPlan.parse_kinds(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def build_parser(prog: str = "python -m as2gw_async.emulator") -> argparse.ArgumentParser:
    """The emulator's argument parser (reused by the ``as2gw emulator`` command)."""
    p = argparse.ArgumentParser(
        prog=prog,
        description="Run a local AS2 Gateway API v1 emulator (in-memory, for tests and demos).",
    )
    p.add_argument("--host", default="127.0.0.1", help="interface to listen on (127.0.0.1)")
    p.add_argument("--port", type=int, default=8080, help="port (0 = any free port; 8080)")
    p.add_argument("--https", action="store_true", help="serve TLS; plain http answers 307")
    p.add_argument("--http-port", type=int, default=0, help="with --https: the http port")
    p.add_argument("--cert", help="PEM certificate (chain) for --https; default: a test CA")
    p.add_argument("--key", help="PEM private key for --cert")
    p.add_argument("--username", default=None, help="default account username")
    p.add_argument("--password", default=None, help="default account password")
    p.add_argument(
        "--seed-messages",
        type=int,
        default=0,
        metavar="N",
        help="fill the received folder with N generated messages",
    )
    p.add_argument("--seed", type=int, default=0, help="seed for ids, content and faults")
    p.add_argument(
        "--send-delay", type=float, default=2.0, help="seconds a sent message stays queued (2.0)"
    )
    p.add_argument("--token-ttl", type=float, default=86400.0, help="token lifetime, seconds")
    p.add_argument("--latency", type=float, default=0.0, help="seconds added to every request")
    p.add_argument(
        "--rate-limit",
        type=_rate_limit,
        default=None,
        metavar="N/S",
        help="at most N requests per S seconds per account, then 429",
    )
    p.add_argument(
        "--batch-limit",
        type=int,
        default=None,
        metavar="BYTES",
        help="batch download aggregation cap (10 MB)",
    )
    p.add_argument(
        "--fault-rate", type=float, default=0.0, help="probability of a fault per request (0 = off)"
    )
    p.add_argument(
        "--faults",
        type=_kinds,
        default=ALL_FAULT_KINDS,
        help=f"comma-separated fault kinds ({','.join(ALL_FAULT_KINDS)})",
    )
    p.add_argument(
        "--large-attachment-bytes",
        type=int,
        default=0,
        metavar="N",
        help="also deliver a message with one generated attachment of N bytes",
    )
    p.add_argument(
        "--failing-partner",
        default=None,
        metavar="NAME",
        help="add a production partner whose every send attempt fails",
    )
    p.add_argument("--log-level", default="warning", help="uvicorn log level (warning)")
    return p


def build_gateway(args: argparse.Namespace) -> tuple[Gateway, str | None]:
    """A gateway configured from parsed arguments, and the id of the large message if any."""
    kwargs = {}
    if args.username:
        kwargs["username"] = args.username
    if args.password:
        kwargs["password"] = args.password
    gw = Gateway(seed=args.seed, send_delay=args.send_delay, token_ttl=args.token_ttl, **kwargs)
    gw.latency = args.latency
    gw.rate_limit = args.rate_limit
    if args.batch_limit is not None:
        gw.batch_limit = args.batch_limit
    if args.fault_rate > 0:
        gw.faults = FaultPlan(seed=args.seed, rate=args.fault_rate, kinds=args.faults)
    if args.failing_partner:
        gw.add_partner(args.failing_partner, fail=True)
    if args.seed_messages:
        gw.seed(args.seed_messages, seed=args.seed)
    large_id = None
    if args.large_attachment_bytes:
        large_id = gw.deliver(
            attachments=[("large.bin", GeneratedBody(args.large_attachment_bytes, args.seed))],
            subject="Large attachment",
        )
    return gw, large_id


def _announce(server: EmulatorServer, large_id: str | None, out: TextIO) -> None:
    lines = [
        f"{READY_PREFIX} {server.base_url}",
        f"AS2GW_EMULATOR_USERNAME {server.username}",
        f"AS2GW_EMULATOR_PASSWORD {server.password}",
    ]
    if server.https_url:
        lines.append(f"AS2GW_EMULATOR_HTTP {server.http_url}")
    if server.ca_pem_path:
        lines.append(f"AS2GW_EMULATOR_CA {server.ca_pem_path}")
    if large_id:
        lines.append(f"AS2GW_EMULATOR_LARGE_MESSAGE {large_id}")
    origin = server.base_url.rsplit("/v1", 1)[0]
    cacert = f" --cacert {server.ca_pem_path}" if server.ca_pem_path else ""
    lines += [
        "",
        f"AS2 Gateway emulator listening on {server.base_url}",
        f"  username: {server.username}",
        f"  password: {server.password}",
        f"  stats:    {origin}/_emulator/stats",
        "Try:",
        f"  curl{cacert} -XPOST {server.base_url}/authorize -H 'Content-Type: application/json' "
        f'--data \'{{"username":"{server.username}","password":"{server.password}"}}\'',
        "Press Ctrl+C to stop.",
    ]
    out.write("\n".join(lines) + "\n")
    out.flush()


async def run(args: argparse.Namespace, out: TextIO | None = None) -> None:
    """Serve until SIGINT/SIGTERM (or cancellation), announcing readiness on ``out``."""
    stream = out if out is not None else sys.stdout
    gateway, large_id = build_gateway(args)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, stop.set)
    async with serve(
        gateway,
        host=args.host,
        port=args.port,
        https=args.https,
        cert=args.cert,
        key=args.key,
        http_port=args.http_port,
        log_level=args.log_level,
    ) as server:
        _announce(server, large_id, stream)
        await stop.wait()


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` and run the emulator; returns the exit status."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if args.cert and not args.key:
        args.key = None  # a PEM holding both certificate and key is fine
    try:
        asyncio.run(run(args))
    except KeyboardInterrupt:
        pass
    except OSError as exc:
        print(f"as2gw emulator: {exc}", file=sys.stderr)
        return 1
    return 0
