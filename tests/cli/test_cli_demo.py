"""``as2gw demo`` end to end: the main job against the embedded emulator, files on disk."""

from __future__ import annotations

from pathlib import Path

from as2gw_async.files import safe_message_dirname

from .conftest import Run, json_lines, one_line_error


def _message_dirs(path: Path) -> list[Path]:
    return [p for p in path.iterdir() if p.is_dir() and not p.name.startswith(".")]


def test_demo_runs_the_main_job(run_offline: Run, tmp_path: Path) -> None:
    dest = tmp_path / "demo"
    result = run_offline("demo", "--dir", str(dest))
    assert result.exit_code == 0, result.stdout + result.stderr
    out = result.stdout
    for step in ("Step 1/6", "Step 2/6", "Step 3/6", "Step 4/6", "Step 5/6", "Step 6/6"):
        assert step in out
    assert out.count("✓ Delivered") == 2
    assert "Flaky_Partner" in out
    assert "(as expected)" in out
    assert "The newest 8 of 40 unread messages" in out
    assert "A second sync finds 0 new messages" in out
    assert "partial 206 answers resumed" in out
    assert str(dest.resolve()) in out
    # files on disk: the outbox, the synced inbox and the batch download
    assert sorted(p.name for p in (dest / "outbox").iterdir()) == [
        "invoice_20200101.xml",
        "manifest.csv",
        "notes.txt",
        "order_4711.edi",
    ]
    inbox = _message_dirs(dest / "inbox")
    batch = _message_dirs(dest / "batch")
    assert len(inbox) == len(batch) == 40
    assert {p.name for p in inbox} == {p.name for p in batch}
    for directory in inbox:
        synced = {p.name: p.read_bytes() for p in directory.iterdir()}
        fetched = {p.name: p.read_bytes() for p in (dest / "batch" / directory.name).iterdir()}
        assert synced == fetched
        assert synced


def test_demo_json_summary_and_rerun(run_offline: Run, tmp_path: Path) -> None:
    dest = tmp_path / "demo"
    first = run_offline("demo", "--dir", str(dest), "--messages", "12", "--json")
    assert first.exit_code == 0, first.stderr
    [summary] = json_lines(first.stdout)
    assert summary["inboxTotal"] == summary["synced"] == summary["batchMessages"] == 12
    assert summary["secondSync"] == 0
    assert len(summary["sent"]) == 2
    assert len(summary["sendFailed"]) == 1
    assert summary["partialAnswers"] >= 1
    assert summary["batchRequests"] > 1
    assert summary["directory"] == str(dest.resolve())
    # the same directory again: the demo clears what it made and runs again
    second = run_offline("demo", "--dir", str(dest), "--messages", "12", "--json")
    assert second.exit_code == 0, second.stderr
    [again] = json_lines(second.stdout)
    assert again["synced"] == 12
    ids = {safe_message_dirname(i) for i in again["sent"]}
    assert ids.isdisjoint(p.name for p in _message_dirs(dest / "inbox"))


def test_demo_refuses_a_directory_it_did_not_make(run_offline: Run, tmp_path: Path) -> None:
    (tmp_path / "precious.txt").write_text("keep me")
    result = run_offline("demo", "--dir", str(tmp_path))
    assert result.exit_code == 2
    assert "not made by 'as2gw demo'" in one_line_error(result)
    assert (tmp_path / "precious.txt").read_text() == "keep me"
