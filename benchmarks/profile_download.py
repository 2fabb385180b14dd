"""Client CPU per small download: ``python -m benchmarks.profile_download``.

What it measures: the client's CPU microseconds (``process_time``, all threads) and Python
function calls (cProfile) per ``s.received.download_attachment`` of one 32 KiB attachment,
over N messages at a fixed concurrency, on either transport, next to raw aiohttp and raw
httpx doing the same job (each with and without fsync, ``benchmarks/_durable.py``). CPU and
call counts, not wall time: on a shared machine wall time says more about the neighbours.

The emulator runs in its own process (its CPU is not counted); the variants run one after
the other in this process, each ``--reps`` times after one warm-up, and the median is
quoted. ``--profile`` adds a cProfile run of each as2gw_async variant and prints its top
functions (cProfile itself slows the run: call counts are exact, its times are not).

    python -m benchmarks.profile_download                      # both transports + baselines
    python -m benchmarks.profile_download --variant as2gw --profile --top 30
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import shutil
import statistics
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import bulk
from ._harness import Emulator, default_scratch
from ._worker import Meter

VARIANTS: dict[str, Callable[[dict[str, Any], Meter], dict[str, Any]]] = {
    "as2gw": bulk.variant_as2gw,
    "as2gw_aiohttp": bulk.variant_as2gw_aiohttp,
    "aiohttp": bulk.variant_aiohttp,
    "aiohttp_fsync": bulk.variant_aiohttp_fsync,
    "httpx": bulk.variant_httpx,
    "httpx_fsync": bulk.variant_httpx_fsync,
}


def _run(
    name: str, params: dict[str, Any], scratch: Path, profile: cProfile.Profile | None = None
) -> Meter:
    dest = Path(tempfile.mkdtemp(prefix=f"as2gw-prof-{name}-", dir=scratch))
    meter = Meter()
    try:
        if profile is not None:
            profile.enable()
        try:
            VARIANTS[name]({**params, "dest": str(dest)}, meter)
        finally:
            if profile is not None:
                profile.disable()
    finally:
        shutil.rmtree(dest, ignore_errors=True)
    return meter


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.profile_download", description=__doc__)
    p.add_argument("--n", type=int, default=2000, help="messages (one 32 KiB attachment each)")
    p.add_argument("--concurrency", type=int, default=32)
    p.add_argument("--reps", type=int, default=3, help="measured runs a variant (median)")
    p.add_argument(
        "--variant", action="append", choices=list(VARIANTS), help="repeatable; default all"
    )
    p.add_argument("--profile", action="store_true", help="cProfile the as2gw_async variants")
    p.add_argument("--top", type=int, default=25, help="functions shown per profile")
    p.add_argument("--sort", default="tottime", help="pstats sort key (tottime, cumulative)")
    p.add_argument("--scratch", type=Path, default=None)
    p.add_argument("--dump", type=Path, default=None, help="save each profile to DIR/NAME.prof")
    args = p.parse_args(argv)
    names = args.variant or list(VARIANTS)
    scratch = args.scratch or default_scratch()

    with Emulator(scratch / "as2gw-prof-emulator") as emu:
        username, password = emu.credentials()
        ids = emu.seed(args.n, attachments=(1, 1), size=(bulk.SIZE, bulk.SIZE), seed=8)
        ids_path = scratch / f"as2gw-prof-ids-{emu.port}.json"
        ids_path.write_text(json.dumps(ids))
        params = {
            "base_url": emu.base_url,
            "username": username,
            "password": password,
            "ids_path": str(ids_path),
            "concurrency": args.concurrency,
        }
        try:
            cpu: dict[str, list[float]] = {}
            for name in names:  # warm-up: imports, first connections, page cache
                _run(name, {**params, "limit": min(200, args.n)}, scratch)
            for _ in range(args.reps):
                for name in names:
                    cpu.setdefault(name, []).append(_run(name, params, scratch).cpu)
            calls: dict[str, float] = {}
            for name in names:
                if not name.startswith("as2gw") or not args.profile:
                    continue
                prof = cProfile.Profile()
                _run(name, params, scratch, prof)
                stats = pstats.Stats(prof, stream=sys.stdout)
                calls[name] = stats.total_calls / args.n  # type: ignore[attr-defined]
                if args.dump is not None:
                    args.dump.mkdir(parents=True, exist_ok=True)
                    prof.dump_stats(args.dump / f"{name}.prof")
                print(f"\n=== {name}: {calls[name]:,.0f} calls a download ===")
                stats.sort_stats(args.sort).print_stats(args.top)
        finally:
            ids_path.unlink(missing_ok=True)

    print(
        f"\n{args.n} downloads of {bulk.SIZE // 1024} KiB, concurrency {args.concurrency}, "
        f"median of {args.reps}, and the best run (client CPU, all threads)"
    )
    med = {name: statistics.median(v) for name, v in cpu.items()}
    bases = [b for b in ("aiohttp", "aiohttp_fsync", "httpx", "httpx_fsync") if b in med]
    header = f"{'variant':<16}{'CPU us/file':>12}{'best':>8}{'calls/file':>12}" + "".join(
        f"{'vs ' + b:>18}" for b in bases
    )
    print(header)
    for name in names:
        us = med[name] / args.n * 1e6
        best = min(cpu[name]) / args.n * 1e6
        row = f"{name:<16}{us:>12.0f}{best:>8.0f}{calls.get(name, float('nan')):>12.0f}"
        row += "".join(f"{med[name] / med[b]:>17.2f}x" for b in bases)
        print(row)
    print("runs (CPU s):", {k: [round(x, 3) for x in v] for k, v in cpu.items()})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
