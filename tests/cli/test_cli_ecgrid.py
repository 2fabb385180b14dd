"""``as2gw --gateway ecgrid``: parcels listed, shown, downloaded, uploaded, confirmed, reset."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .conftest import Run, json_lines, make_run, one_line_error


@pytest.fixture
def ecgrid() -> Iterator[Any]:
    from as2gw_async.emulator.ecgrid import ECGridState, start

    with start(ECGridState(seed=7)) as server:
        yield server


@pytest.fixture
def run(ecgrid: Any) -> Run:
    return make_run(
        {
            "ECGRID_BASE_URL": ecgrid.base_url,
            "ECGRID_API_KEY": ecgrid.api_key,
            "AS2GW_GATEWAY": "ecgrid",
        }
    )


def test_ls_pending_then_all_inbound(run: Run, ecgrid: Any) -> None:
    pids = ecgrid.state.seed_inbox(30, sizes=[10, 20])
    ecgrid.state.confirm(pids[0])
    pending = json_lines(run("ls", "received", "--unread", "--all").stdout)
    assert [p["parcelId"] for p in pending] == pids[1:]
    everything = json_lines(run("ls", "received", "--all").stdout)
    assert len(everything) == 30
    assert len(json_lines(run("ls", "received", "-n", "5").stdout)) == 5


def test_ls_refuses_what_ecgrid_has_not(run: Run) -> None:
    result = run("ls", "received", "--partner", "P")
    assert result.exit_code == 2
    assert "--partner: not an option of ls for --gateway ecgrid" in one_line_error(result)
    assert run("ls", "queued").exit_code == 2


def test_show_download_confirm_reset(run: Run, ecgrid: Any, tmp_path: Path) -> None:
    [pid] = ecgrid.state.seed_inbox(1, sizes=[5000], file_names=["../../etc/passwd"])
    [shown] = json_lines(run("show", "received", str(pid)).stdout)
    assert shown["parcelId"] == pid
    assert shown["bytes"] == 5000
    result = run("download", "received", str(pid), "-o", str(tmp_path))
    assert result.exit_code == 0, result.stderr
    [f] = json_lines(result.stdout)
    assert f["parcelId"] == str(pid)
    assert Path(f["path"]).parent == tmp_path
    assert Path(f["path"]).read_bytes() == ecgrid.state.parcel(pid).read()
    assert not ecgrid.state.parcel(pid).confirmed  # a download never confirms
    assert run("confirm", str(pid)).exit_code == 0
    assert ecgrid.state.parcel(pid).confirmed
    assert ecgrid.state.pending() == []
    assert run("reset", str(pid)).exit_code == 0
    assert [p.parcel_id for p in ecgrid.state.pending()] == [pid]


def test_upload_then_cancel(run: Run, ecgrid: Any, tmp_path: Path) -> None:
    path = tmp_path / "po.edi"
    path.write_bytes(b"x" * 3000)
    result = run("upload", str(path), "--to", "445566")
    assert result.exit_code == 0, result.stderr
    [record] = json_lines(result.stdout)
    parcel = ecgrid.state.parcel(record["parcelId"])
    assert parcel.read() == path.read_bytes()
    assert parcel.ecgrid_id_to == 445566
    assert run("cancel", str(record["parcelId"])).exit_code == 0
    assert ecgrid.state.parcel(record["parcelId"]).status == "Cancelled"


def test_download_refuses_an_attachment_index(run: Run, ecgrid: Any, tmp_path: Path) -> None:
    [pid] = ecgrid.state.seed_inbox(1)
    result = run("download", "received", str(pid), "--index", "0", "-o", str(tmp_path))
    assert result.exit_code == 2
    assert "--index: not an option of download" in one_line_error(result)


def test_a_parcel_id_is_a_number(run: Run) -> None:
    result = run("confirm", "<1@x>")
    assert result.exit_code == 2
    assert "parcel id is a number" in one_line_error(result)


def test_ecgrid_verbs_are_refused_on_v1(run_offline: Run) -> None:
    result = run_offline("confirm", "1")
    assert result.exit_code == 2
    assert "not available for --gateway as2gateway" in one_line_error(result)
