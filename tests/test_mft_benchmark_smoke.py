"""Smoke test of the ``mft`` benchmark scenario: its emulator process and both workers run."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from benchmarks._harness import MB, Config, run_cases, worker_case
from benchmarks.mft_presigned import MODULE, VARIANTS, MftBenchEmulator

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("uvicorn") is None, reason="the emulator extra is not installed"
)


def test_mft_workers_download_through_the_presigned_link(tmp_path: Path) -> None:
    cfg = Config(quick=True, reps=1, out_dir=tmp_path / "results", scratch=tmp_path, verbose=False)
    with MftBenchEmulator(tmp_path / "emu") as emu:
        username, password = emu.credentials()
        mid = emu.deliver_generated("one.bin", 2 * MB)
        common = {
            "base_url": emu.base_url,
            "username": username,
            "password": password,
            "message_id": mid,
            "size": 2 * MB,
        }
        cases = [worker_case(k, label, MODULE, k, common) for k, label in VARIANTS]
        runs = run_cases(cfg, emu, cases, 1, tag="mft-smoke")
        stats = emu.stats()
    for key, _ in VARIANTS:
        [result] = runs[key].runs
        assert result["bytes"] == 2 * MB, result
        assert result["peak_rss_mb"] > 0
    assert stats["store"]["authorization_headers"] == 0
    assert stats["store"]["downloads"] == len(VARIANTS)
