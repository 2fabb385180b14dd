"""``python -m benchmarks [--quick] [--full] [--scenario NAME ...] [--reps N]``.

Runs the scenarios (all by default), then writes ``latest.json``, ``README.md`` and PNG
charts. A full run writes to ``benchmarks/results/`` (committed); ``--quick`` writes to
``benchmarks/results/tmp/`` (git-ignored) unless ``--out`` says otherwise.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
import traceback
from pathlib import Path

from . import SCENARIOS
from ._harness import (
    REPO_ROOT,
    Config,
    Scenario,
    default_scratch,
    machine_busy,
    wait_for_quiet,
)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    p.add_argument("--quick", action="store_true", help="every scenario at small size (<2 min)")
    p.add_argument("--full", action="store_true", help="add the 1 GiB body to `large`")
    p.add_argument(
        "--scenario",
        action="append",
        choices=list(SCENARIOS),
        help="run only this scenario (repeatable)",
    )
    p.add_argument("--reps", type=int, default=None, help="repetitions (default 3, quick 1)")
    p.add_argument("--out", type=Path, default=None, help="results directory")
    p.add_argument(
        "--scratch",
        type=Path,
        default=None,
        help="where downloads are written (default: /dev/shm when present, so disk noise "
        "does not blur client figures)",
    )
    p.add_argument(
        "--wait-quiet",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="before each scenario, wait up to SECONDS for other processes to stop using "
        "the CPUs (the figures of a shared machine are noisy); default: do not wait",
    )
    p.add_argument(
        "--ratelimit-messages",
        type=int,
        default=None,
        metavar="N",
        help="messages the `ratelimit` scenario drains at 50 requests / 10 s "
        "(default 5,000: about 30 s a repetition; --quick: 300 at 5 / 1 s)",
    )
    p.add_argument("--no-charts", action="store_true", help="skip the PNG charts")
    p.add_argument(
        "--render-only",
        action="store_true",
        help="run nothing: redraw the charts and README.md from the results directory's "
        "latest.json",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    results_root = REPO_ROOT / "benchmarks" / "results"
    out = args.out or (results_root / "tmp" if args.quick else results_root)
    cfg = Config(
        quick=args.quick,
        full=args.full,
        reps=args.reps if args.reps is not None else (1 if args.quick else 3),
        out_dir=out,
        scratch=args.scratch or default_scratch(),
        verbose=not args.quiet,
        wait_quiet=args.wait_quiet,
        ratelimit_messages=args.ratelimit_messages,
    )
    if args.render_only:
        from ._report import render_only

        render_only(out, charts=not args.no_charts)
        return 0
    names = args.scenario or list(SCENARIOS)
    started = time.perf_counter()
    scenarios: list[Scenario] = []
    failed: list[str] = []
    for name in names:
        module = importlib.import_module(SCENARIOS[name])
        cfg.log(f"== {name}")
        before = wait_for_quiet(cfg) if cfg.wait_quiet else machine_busy(1.0)
        t0 = time.perf_counter()
        try:
            sc: Scenario = module.run(cfg)
        except Exception:
            failed.append(name)
            trace = traceback.format_exc()
            cfg.log(trace)
            sc = Scenario(name, name, "failed", notes=[f"scenario failed:\n\n```\n{trace}```"])
        sc.wall_seconds = time.perf_counter() - t0
        sc.other_load_before = before
        cfg.log(f"== {name} done in {sc.wall_seconds:.1f}s")
        scenarios.append(sc)

    from ._report import write_results

    write_results(cfg, scenarios, time.perf_counter() - started, charts=not args.no_charts)
    cfg.log(f"results in {out} ({time.perf_counter() - started:.1f}s)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
