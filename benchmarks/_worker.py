"""The measured side: ``python -m benchmarks._worker MODULE VARIANT PARAMS.json``.

One fresh process per run of one variant. The variant function imports its own client
library, then calls ``meter.start()`` right before the work and ``meter.stop()`` right after,
so wall time and CPU seconds cover the work only, while the peak RSS (``ru_maxrss``) is the
whole process's: a library's import cost is part of what a user pays in memory.
"""

from __future__ import annotations

import importlib
import json
import os
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

RESULT_MARK = "AS2GW_BENCH_RESULT "

_PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_mb() -> float:
    """Resident set size of this process right now, in MiB."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * _PAGE / (1024 * 1024)


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MiB.

    ``VmHWM`` rather than ``ru_maxrss``: Linux carries the parent's high-water mark over
    fork and exec into ``ru_maxrss``, so a worker started by a bigger parent would report
    the parent's size. ``VmHWM`` belongs to this process's own memory map.
    """
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Meter:
    """Wall time and CPU seconds of the measured section, RSS at its start and the peak."""

    def __init__(self) -> None:
        self.rss_start = float("nan")
        self.wall = float("nan")
        self.cpu = float("nan")
        self._t0 = 0.0
        self._c0 = 0.0
        self.t_start = 0.0

    def start(self) -> None:
        self.rss_start = rss_mb()
        self.peak_before = peak_rss_mb()
        self._c0 = time.process_time()
        self._t0 = self.t_start = time.perf_counter()

    def stop(self) -> None:
        self.wall = time.perf_counter() - self._t0
        self.cpu = time.process_time() - self._c0

    def since_start(self) -> float:
        """Seconds since ``start()`` (for figures like time to first response)."""
        return time.perf_counter() - self._t0

    def result(self) -> dict[str, Any]:
        peak = peak_rss_mb()
        return {
            "wall": self.wall,
            "cpu": self.cpu,
            "rss_start_mb": self.rss_start,
            "peak_rss_mb": peak,
            "rss_growth_mb": peak - self.rss_start,
        }


Variant = Callable[[dict[str, Any], Meter], dict[str, Any]]


def main(argv: list[str]) -> int:
    module_name, variant, params_path = argv[1:4]
    params = json.loads(Path(params_path).read_text())
    module = importlib.import_module(module_name)
    fn: Variant = getattr(module, f"variant_{variant}")
    meter = Meter()
    try:
        extra = fn(params, meter)
    except NotImplementedError as exc:  # a library path that has not landed yet
        extra = {"unavailable": f"NotImplementedError: {exc}".rstrip(": ")}
    except ModuleNotFoundError as exc:  # e.g. aiohttp without the bench extra
        extra = {"unavailable": f"{exc.name} is not installed (pip install -e '.[bench]')"}
    out = meter.result()
    out.update(extra)
    sys.stdout.write(RESULT_MARK + json.dumps(out) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
