"""``-o`` of the download commands, and the name of a ``download --zip`` archive.

Issue 13 item 13: ``-o`` naming a regular file said "already exists (pass --overwrite)",
and ``--overwrite`` gave the same error. Item 14: every ``--zip`` archive was named after
the gateway's ``attachments.zip``, so two messages downloaded into one folder collided.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from as2gw_async.emulator import Gateway
from as2gw_async.files import safe_message_dirname

from .conftest import Run, json_lines, one_line_error

COMMANDS = [
    ("download", "received", "{mid}"),
    ("download", "received", "{mid}", "--zip"),
    ("download", "received", "{mid}", "-i", "0"),
    ("mdn", "received", "{mid}"),
    ("batch-download", "{mid}"),
]


@pytest.mark.parametrize("overwrite", [False, True], ids=["plain", "overwrite"])
@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c[:1] + c[3:]))
def test_an_output_dir_that_is_a_file_is_not_a_directory(
    run: Run, as2gw_gateway: Gateway, tmp_path: Path, command: tuple[str, ...], overwrite: bool
) -> None:
    mid = as2gw_gateway.deliver()
    target = tmp_path / "report.txt"
    target.write_bytes(b"keep me")
    requests_before = as2gw_gateway.stats.requests
    args = [a.format(mid=mid) for a in command] + ["-o", str(target)]
    result = run(*args, *(["--overwrite"] if overwrite else []))
    assert result.exit_code == 2, result.stderr
    error = one_line_error(result)
    assert "not a directory" in error
    assert str(target) in error
    assert "--overwrite" not in error
    assert target.read_bytes() == b"keep me"
    assert as2gw_gateway.stats.requests == requests_before  # refused before any request


def test_an_output_dir_under_a_file_is_not_a_directory(
    run: Run, as2gw_gateway: Gateway, tmp_path: Path
) -> None:
    mid = as2gw_gateway.deliver()
    (tmp_path / "file").write_bytes(b"")
    result = run("download", "received", mid, "-o", str(tmp_path / "file" / "sub"))
    assert result.exit_code == 2, result.stderr
    assert "not a directory" in one_line_error(result)


def _zip_names(path: str) -> list[str]:
    with zipfile.ZipFile(path) as z:
        return sorted(z.namelist())


def test_zips_of_two_messages_into_one_folder_do_not_collide(
    run: Run, as2gw_gateway: Gateway, tmp_path: Path
) -> None:
    first = as2gw_gateway.deliver(attachments=[("a.txt", b"first")])
    second = as2gw_gateway.deliver(attachments=[("b.txt", b"second")])
    paths = []
    for mid in (first, second):
        result = run("download", "received", mid, "--zip", "-o", str(tmp_path))
        assert result.exit_code == 0, result.stderr
        [line] = json_lines(result.stdout)
        paths.append(line["path"])
    assert paths == [
        str(tmp_path / f"{safe_message_dirname(first)}.zip"),
        str(tmp_path / f"{safe_message_dirname(second)}.zip"),
    ]
    assert _zip_names(paths[0]) == ["a.txt"]
    assert _zip_names(paths[1]) == ["b.txt"]


def test_a_zip_named_after_a_hostile_message_id_stays_in_the_folder(
    run: Run, as2gw_gateway: Gateway, tmp_path: Path
) -> None:
    mid = as2gw_gateway.deliver(message_id="<../../evil/..\\x@host>")
    out = tmp_path / "out"
    result = run("download", "received", mid, "--zip", "-o", str(out))
    assert result.exit_code == 0, result.stderr
    [line] = json_lines(result.stdout)
    path = Path(line["path"])
    assert path.parent == out
    assert path.name == f"{safe_message_dirname(mid)}.zip"
    assert [p.name for p in tmp_path.iterdir()] == ["out"]
