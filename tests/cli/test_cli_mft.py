"""``as2gw --gateway mft``: the v1 commands on the MFT folders, and MFT's own verbs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .conftest import Run, json_lines, make_run, one_line_error


@pytest.fixture
def mft() -> Iterator[Any]:
    from as2gw_async.emulator.mft import MftEmulator

    with MftEmulator(seed=9, send_delay=0.05) as emu:
        yield emu


@pytest.fixture
def run(mft: Any) -> Run:
    return make_run(
        {
            "MFTGW_BASE_URL": mft.base_url,
            "MFTGW_USERNAME": mft.username,
            "MFTGW_PASSWORD": mft.password,
            "AS2GW_GATEWAY": "mft",
        }
    )


def _ids(lines: list[dict[str, Any]]) -> list[str]:
    return [str(r.get("identifier") or r.get("as2MessageId")) for r in lines]


def test_ls_pages_and_all_without_marking_read(run: Run, mft: Any) -> None:
    ids = mft.seed_inbox(25)
    page = json_lines(run("ls", "received", "-n", "10").stdout)
    assert _ids(page) == list(reversed(ids))[:10]
    everything = json_lines(run("ls", "received", "--all", "--asc").stdout)
    assert _ids(everything) == ids
    assert not any(mft.gateway.is_fetched(mid) for mid in ids)


def test_ls_unread_filter_and_refusals(run: Run, mft: Any) -> None:
    ids = mft.seed_inbox(3)
    mft.gateway.mark_fetched(ids[0])
    unread = json_lines(run("ls", "received", "--unread", "--all").stdout)
    assert sorted(_ids(unread)) == sorted(ids[1:])
    result = run("ls", "received", "--query", "x")
    assert result.exit_code == 2
    assert "--query: not an option of ls for --gateway mft" in one_line_error(result)


def test_show_download_mark_read_mark_unread(run: Run, mft: Any, tmp_path: Path) -> None:
    [mid] = mft.seed_inbox(1, attachments=2, names=["../../etc/passwd", "b.xml"])
    [shown] = json_lines(run("show", "received", mid).stdout)
    assert shown["subject"]
    assert not mft.gateway.is_fetched(mid)  # show never marks read unless asked
    result = run("download", "received", mid, "-o", str(tmp_path), "--mark-read")
    assert result.exit_code == 0, result.stderr
    files = json_lines(result.stdout)
    assert {r["messageId"] for r in files} == {mid}
    assert all(Path(r["path"]).parent == tmp_path for r in files)
    bodies = {a.read() for a in mft.gateway.message(mid).attachments}
    assert {Path(r["path"]).read_bytes() for r in files} == bodies
    assert mft.gateway.is_fetched(mid)
    assert mft.store_stats.authorization_headers == 0
    assert run("mark-unread", mid).exit_code == 0
    assert not mft.gateway.is_fetched(mid)


def test_send_and_wait(run: Run, mft: Any, tmp_path: Path) -> None:
    path = tmp_path / "invoice.xml"
    path.write_text("<invoice/>")
    result = run("send", "MyStation", "MyPartner", str(path), "-s", "Invoice", "--wait")
    assert result.exit_code == 0, result.stderr
    receipt, delivered = json_lines(result.stdout)
    assert mft.gateway.message(receipt["messageId"]).folder == "sent"
    assert delivered["subject"] == "Invoice"


def test_delete(run: Run, mft: Any) -> None:
    ids = mft.seed_inbox(3)
    result = run("delete", *ids[:2])
    assert result.exit_code == 0, result.stderr
    assert [r["deleted"] for r in json_lines(result.stdout)] == [True, True]
    remaining = json_lines(run("ls", "received", "--all").stdout)
    assert _ids(remaining) == [ids[2]]
    missing = run("delete", ids[0])
    assert missing.exit_code == 4
