"""``as2gw download``, ``mdn`` and ``batch-download``: files on disk, exit codes."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from as2gw_async.emulator import EmulatorServer, Gateway
from as2gw_async.files import safe_message_dirname

from .conftest import Run, json_lines, one_line_error


def _deliver(gateway: Gateway, n: int = 3, *, size: int = 100) -> str:
    return gateway.deliver(
        attachments=[(f"part{i}.txt", bytes([65 + i]) * (size + i)) for i in range(n)],
        subject="three parts",
    )


def _assert_files(gateway: Gateway, mid: str, directory: Path, folder: str = "received") -> None:
    message = gateway.message(folder, mid)
    on_disk = {p.name: p.read_bytes() for p in directory.iterdir() if p.is_file()}
    expected = {
        a.name: gateway.attachment_bytes(folder, mid, i) for i, a in enumerate(message.attachments)
    }
    assert on_disk == expected


def test_download_all_attachments_by_default(
    run: Run, as2gw_gateway: Gateway, tmp_path: Path
) -> None:
    mid = _deliver(as2gw_gateway)
    out = tmp_path / "out"
    result = run("download", "received", mid, "-o", str(out))
    assert result.exit_code == 0, result.stderr
    lines = json_lines(result.stdout)
    assert sorted(line["name"] for line in lines) == ["part0.txt", "part1.txt", "part2.txt"]
    assert all(line["as2MessageId"] == mid for line in lines)
    _assert_files(as2gw_gateway, mid, out)
    assert not as2gw_gateway.is_read(mid)


def test_download_one_attachment_and_mark_read(
    run: Run, as2gw_gateway: Gateway, tmp_path: Path
) -> None:
    mid = _deliver(as2gw_gateway)
    result = run("download", "received", mid, "--index", "1", "-o", str(tmp_path), "--mark-read")
    assert result.exit_code == 0, result.stderr
    [line] = json_lines(result.stdout)
    assert line["name"] == "part1.txt"
    assert (tmp_path / "part1.txt").read_bytes() == b"B" * 101
    assert sorted(p.name for p in tmp_path.iterdir()) == ["part1.txt"]
    assert as2gw_gateway.is_read(mid)


def test_download_zip(run: Run, as2gw_gateway: Gateway, tmp_path: Path) -> None:
    mid = _deliver(as2gw_gateway)
    result = run("download", "received", mid, "--zip", "-o", str(tmp_path))
    assert result.exit_code == 0, result.stderr
    [line] = json_lines(result.stdout)
    with zipfile.ZipFile(line["path"]) as z:
        assert sorted(z.namelist()) == ["part0.txt", "part1.txt", "part2.txt"]


def test_download_refuses_to_overwrite_unless_asked(
    run: Run, as2gw_gateway: Gateway, tmp_path: Path
) -> None:
    mid = _deliver(as2gw_gateway, 1)
    assert run("download", "received", mid, "-i", "0", "-o", str(tmp_path)).exit_code == 0
    again = run("download", "received", mid, "-i", "0", "-o", str(tmp_path))
    assert again.exit_code == 1
    assert "--overwrite" in one_line_error(again)
    forced = run("download", "received", mid, "-i", "0", "-o", str(tmp_path), "--overwrite")
    assert forced.exit_code == 0, forced.stderr


def test_download_options_exclude_each_other(run: Run, as2gw_gateway: Gateway) -> None:
    mid = _deliver(as2gw_gateway, 1)
    result = run("download", "received", mid, "--zip", "--index", "0")
    assert result.exit_code == 2
    assert "one of" in one_line_error(result)


def test_download_unknown_message_exits_4(run: Run, tmp_path: Path) -> None:
    result = run("download", "received", "<nope@example.com>", "-o", str(tmp_path))
    assert result.exit_code == 4
    one_line_error(result)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.as2gw_emulator(send_delay=0.0)
def test_download_from_sent_and_its_mdn(run: Run, as2gw_gateway: Gateway, tmp_path: Path) -> None:
    mid = as2gw_gateway.submit("RJ_Station", "RJ_Partner", [("out.txt", b"outbound\n")])
    as2gw_gateway.advance()
    result = run("download", "sent", mid, "-o", str(tmp_path / "body"))
    assert result.exit_code == 0, result.stderr
    assert (tmp_path / "body" / "out.txt").read_bytes() == b"outbound\n"
    mdn = run("mdn", "sent", mid, "-o", str(tmp_path / "mdn"))
    assert mdn.exit_code == 0, mdn.stderr
    [line] = json_lines(mdn.stdout)
    assert Path(line["path"]).read_bytes() == as2gw_gateway.message("sent", mid).mdn.body


def test_mdn_missing_exits_4(run: Run, as2gw_gateway: Gateway, tmp_path: Path) -> None:
    mid = as2gw_gateway.deliver(attachments=[("a.txt", b"a")], mdn=False)
    result = run("mdn", "received", mid, "-o", str(tmp_path))
    assert result.exit_code == 4


def test_batch_download_ids_from_arguments(
    run: Run, as2gw_gateway: Gateway, tmp_path: Path
) -> None:
    ids = [_deliver(as2gw_gateway, n) for n in (1, 2, 3)]
    result = run("batch-download", *ids, "-o", str(tmp_path), "--mark-read")
    assert result.exit_code == 0, result.stderr
    records = json_lines(result.stdout)
    assert [r["as2MessageId"] for r in records] == ids
    assert [len(r["files"]) for r in records] == [1, 2, 3]
    for mid in ids:
        _assert_files(as2gw_gateway, mid, tmp_path / safe_message_dirname(mid))
        assert as2gw_gateway.is_read(mid)


@pytest.mark.as2gw_emulator(seed_messages=30, batch_limit=8 * 1024)
def test_batch_download_ids_from_stdin_through_206s(
    run: Run, as2gw_gateway: Gateway, tmp_path: Path
) -> None:
    ids = [m.as2_message_id for m in as2gw_gateway.messages("received")]
    before = as2gw_gateway.stats.statuses.get(206, 0)
    stdin = "# ids to fetch\n" + "\n".join(ids) + "\n\n"
    result = run("batch-download", "-o", str(tmp_path), input=stdin)
    assert result.exit_code == 0, result.stderr
    assert len(json_lines(result.stdout)) == 30
    assert as2gw_gateway.stats.statuses.get(206, 0) > before  # the batch was truncated
    for mid in ids:
        _assert_files(as2gw_gateway, mid, tmp_path / safe_message_dirname(mid))


def test_batch_download_partial_exits_7(run: Run, as2gw_gateway: Gateway, tmp_path: Path) -> None:
    good = _deliver(as2gw_gateway, 2)
    result = run("batch-download", good, "<missing@example.com>", "-o", str(tmp_path))
    assert result.exit_code == 7
    records = {r["as2MessageId"]: r for r in json_lines(result.stdout)}
    assert len(records[good]["files"]) == 2
    assert "error" in records["<missing@example.com>"]
    assert "1 of 2" in one_line_error(result)
    _assert_files(as2gw_gateway, good, tmp_path / safe_message_dirname(good))


def test_batch_download_password_and_ids_on_stdin(
    as2gw_emulator: EmulatorServer, run: Run, tmp_path: Path
) -> None:
    mid = _deliver(as2gw_emulator.gateway, 1)
    result = run(
        "batch-download",
        "-o",
        str(tmp_path),
        "--password-stdin",
        input=f"{as2gw_emulator.password}\n{mid}\n",
        env={"AS2GW_PASSWORD": None},
    )
    assert result.exit_code == 0, result.stderr
    assert [r["as2MessageId"] for r in json_lines(result.stdout)] == [mid]


def test_batch_download_without_ids_is_bad_usage(run: Run) -> None:
    result = run("batch-download", input="")
    assert result.exit_code == 2
    assert "no message ids" in one_line_error(result)
