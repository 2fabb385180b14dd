"""Smoke tests of the benchmark harness: it must not rot between full runs.

Fast on purpose: one emulator process, two tiny worker runs, the report writer on the
figures they produce. ``python -m benchmarks --quick`` exercises every scenario for real.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from benchmarks import SCENARIOS
from benchmarks._harness import (
    Config,
    Emulator,
    Scenario,
    VariantRuns,
    run_cases,
    worker_case,
)
from benchmarks._report import render_readme, write_results

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("uvicorn") is None, reason="the emulator extra is not installed"
)


def test_scenarios_import_without_heavy_dependencies() -> None:
    # A worker that measures raw httpx must not pay for aiohttp or as2gw_async in its RSS.
    for module in SCENARIOS.values():
        spec = importlib.util.find_spec(module)
        assert spec is not None
        assert spec.origin is not None
        source = Path(spec.origin).read_text()
        header = source.split("\ndef ", 1)[0]
        for heavy in ("import httpx", "import aiohttp", "import as2gw_async", "import requests"):
            assert f"\n{heavy}" not in header, (module, heavy)


def test_worker_runs_against_the_emulator(tmp_path: Path) -> None:
    cfg = Config(quick=True, reps=1, out_dir=tmp_path / "results", scratch=tmp_path, verbose=False)
    with Emulator(tmp_path / "emu") as emu:
        username, password = emu.credentials()
        emu.seed(120, attachments=(1, 1), size=(64, 128), seed=1)
        common = {"base_url": emu.base_url, "username": username, "password": password, "n": 120}
        runs = run_cases(
            cfg,
            emu,
            [
                worker_case(
                    "httpx_loop", "raw httpx page loop", "benchmarks.paging", "httpx_loop", common
                ),
                worker_case(
                    "list_loop", "as2gw_async list loop", "benchmarks.paging", "list_loop", common
                ),
            ],
            1,
            tag="smoke",
        )
    for vr in runs.values():
        (run,) = vr.runs
        assert run["records"] == 120
        assert run["server"]["routes"]["list"] == 2
        assert run["wall"] > 0
        assert run["cpu"] >= 0
        assert run["peak_rss_mb"] > 5
    sc = Scenario(
        "paging",
        "paging smoke",
        "two loops",
        variants={k: v.as_json(["wall", "cpu", "peak_rss_mb"]) for k, v in runs.items()},
    )
    sc.table("t", ["figure", "a"], [["wall", "1 s"]])
    sc.target("something", ">= 1x", "2x", True)
    latest = write_results(cfg, [sc], 1.0, charts=False)
    data = json.loads(latest.read_text())
    assert data["scenarios"]["paging"]["targets"][0]["met"] is True
    assert "| something | 2x | >= 1x | **met** |" in (cfg.out_dir / "README.md").read_text()


def test_readme_renders_missing_figures_as_na() -> None:
    vr = VariantRuns("x", "x", runs=[{"unavailable": "not landed"}])
    assert vr.median("wall") != vr.median("wall")  # NaN, rendered "n/a"
    data = {
        "run": {"date": "d", "mode": "quick", "repetitions": 1, "wall_seconds": 1, "scratch": "/"},
        "machine": {
            "versions": {},
            "cpu": "c",
            "cpus": 2,
            "memory_gib": 1,
            "platform": "p",
            "python": "3",
            "curl": "",
            "git_commit": "abc",
            "git_dirty": False,
        },
        "scenarios": {
            "bulk": {
                "title": "bulk",
                "targets": [
                    {"name": "t", "target": ">= 1x", "measured": "n/a", "met": None, "note": ""}
                ],
            }
        },
    }
    assert "| bulk | t | n/a | >= 1x | n/a |" in render_readme(data)


def test_safe_aiohttp_transport_never_calls_a_dropped_request_unsent() -> None:
    pytest.importorskip("httpx_aiohttp")
    import aiohttp
    import httpx

    from as2gw_async.retries import RetryPolicy
    from benchmarks._transports import _remap

    def mapped(cause: BaseException) -> BaseException:
        wrapped = httpx.ConnectTimeout("as httpx-aiohttp maps it")
        wrapped.__cause__ = cause
        return _remap(wrapped)

    policy = RetryPolicy()
    dropped = mapped(aiohttp.ServerDisconnectedError())
    assert isinstance(dropped, httpx.ReadError)
    assert not policy.should_retry(1, idempotent=False, error=dropped)  # a send is not repeated
    key = SimpleNamespace(host="127.0.0.1", port=1, ssl=True)
    refused = mapped(aiohttp.ClientConnectorError(key, OSError(111, "refused")))  # type: ignore[arg-type]
    assert isinstance(refused, httpx.ConnectError)
    assert policy.should_retry(1, idempotent=False, error=refused)


def test_profile_download_reports_cpu_and_calls_per_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from benchmarks import profile_download

    argv = ["--n", "20", "--reps", "1", "--variant", "as2gw", "--variant", "httpx"]
    assert (
        profile_download.main([*argv, "--profile", "--top", "3", "--scratch", str(tmp_path)]) == 0
    )
    out = capsys.readouterr().out
    assert "=== as2gw:" in out  # the profile of the library's variant
    row = next(line for line in out.splitlines() if line.startswith("as2gw "))
    calls = float(row.split()[3])
    assert calls > 0  # Python calls a download, counted by cProfile
