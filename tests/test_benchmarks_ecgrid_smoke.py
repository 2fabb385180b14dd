"""Smoke test of the ``ecgrid`` benchmark scenario: its emulator process, four tiny runs."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from benchmarks._harness import Config, Scenario, run_cases, worker_case
from benchmarks.ecgrid import MODULE, VARIANTS, ECGridEmulator, _tables

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("uvicorn") is None, reason="the emulator extra is not installed"
)


def test_ecgrid_variants_run_against_the_emulator_process(tmp_path: Path) -> None:
    size = 300_000
    source = tmp_path / "upload.bin"
    source.write_bytes(b"x" * size)
    cfg = Config(quick=True, reps=1, out_dir=tmp_path / "results", scratch=tmp_path, verbose=False)
    results = {}
    with ECGridEmulator(tmp_path / "emu") as emu:
        pid = emu.seed(size)
        common = {
            "base_url": emu.base_url,
            "api_key": emu.api_key,
            "parcel_id": pid,
            "size": size,
            "source": str(source),
        }
        for what, variants in VARIANTS.items():
            cases = [worker_case(k, lbl, MODULE, k, common) for k, lbl in variants]
            results[what] = run_cases(cfg, emu, cases, 1, tag=what)  # type: ignore[arg-type]
        stats = emu.stats()
    assert stats["downloads"] == 2
    assert stats["uploads"] == 2
    for runs in results.values():
        for vr in runs.values():
            (run,) = vr.runs
            assert run["bytes"] == size
            assert run["peak_rss_mb"] > 5
            run["throughput_mib_s"] = size / run["wall"]
    sc = Scenario("ecgrid", "smoke", "")
    _tables(sc, results, "0 MiB")
    assert [t["name"].split(":")[0] for t in sc.targets] == ["download"] * 3 + ["upload"] * 3
