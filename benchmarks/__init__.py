"""Side-by-side benchmarks of as2gw_async against what a user would otherwise write.

Run ``python -m benchmarks [--quick] [--full] [--scenario NAME]``. The emulator is served by
uvicorn in its own process on loopback; every client variant runs in its own fresh process, so
the wall time, CPU seconds and peak RSS it reports belong to that variant alone. See
``docs/benchmarks.md`` for the method and ``benchmarks/results/README.md`` for the figures.

This package imports nothing heavy at import time: a worker process that measures raw httpx
must not pay for aiohttp or as2gw_async in its peak RSS.
"""

from __future__ import annotations

__all__ = ["SCENARIOS"]

#: scenario name -> module (in the order ``python -m benchmarks`` runs them)
SCENARIOS: dict[str, str] = {
    "large": "benchmarks.large",
    "bulk": "benchmarks.bulk",
    "drain": "benchmarks.drain",
    "ratelimit": "benchmarks.ratelimit",
    "paging": "benchmarks.paging",
    "structuring": "benchmarks.structuring",
    "auth": "benchmarks.auth_storm",
    "ecgrid": "benchmarks.ecgrid",
    "mft": "benchmarks.mft_presigned",
}
