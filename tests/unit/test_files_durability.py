"""Durability: every file written is fsynced before it is renamed into place, and so is the
directory that received it; and the archive member cap is exact.

``os.fsync`` is spied on (it is called through the ``os`` module, wherever the code lives),
so removing any of these fsyncs fails a test. Each test names the mutant of ``files.py`` it
kills (issue 19).
"""

from __future__ import annotations

import io
import os
import stat
import threading
import zipfile
from pathlib import Path

import attrs
import pytest

import as2gw_async as gw
from as2gw_async.files import (
    AtomicFile,
    extract_zip,
    publish_directory,
    read_batch_layout,
    verify_zip,
)


@attrs.frozen(eq=False)
class Fsync:
    inode: int
    is_dir: bool
    size: int
    watched_exists: bool  # whether the watched final path existed at that moment


class FsyncSpy:
    """Records every ``os.fsync``: what it was (inode, directory or not, size), and whether
    ``watch`` (a final path) existed yet."""

    def __init__(self) -> None:
        self.calls: list[Fsync] = []
        self.watch: Path | None = None
        self._lock = threading.Lock()

    def record(self, fd: int) -> None:
        st = os.fstat(fd)
        exists = self.watch is not None and self.watch.exists()
        with self._lock:
            self.calls.append(Fsync(st.st_ino, stat.S_ISDIR(st.st_mode), st.st_size, exists))

    def of_file(self, path: Path) -> list[Fsync]:
        inode = path.stat().st_ino
        return [c for c in self.calls if not c.is_dir and c.inode == inode]

    def of_dir(self, path: Path) -> list[Fsync]:
        inode = path.stat().st_ino
        return [c for c in self.calls if c.is_dir and c.inode == inode]


@pytest.fixture
def fsyncs(monkeypatch: pytest.MonkeyPatch) -> FsyncSpy:
    spy = FsyncSpy()
    real = os.fsync

    def fsync(fd: int) -> None:
        spy.record(fd)
        real(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    return spy


def _assert_durable(spy: FsyncSpy, path: Path, data: bytes) -> None:
    """The file's complete bytes were fsynced before it appeared; then its directory."""
    file_syncs = spy.of_file(path)
    assert file_syncs, f"{path.name}: data never fsynced"
    assert file_syncs[0].size == len(data), "fsynced before every byte was written"
    dir_syncs = spy.of_dir(path.parent)
    assert dir_syncs, f"{path.parent}: directory never fsynced after the rename"
    assert _position(spy, file_syncs[0]) < _position(spy, dir_syncs[-1])


def _position(spy: FsyncSpy, call: Fsync) -> int:
    return next(n for n, c in enumerate(spy.calls) if c is call)


async def test_atomic_file_fsyncs_its_data_before_the_rename_and_then_the_directory(
    tmp_path: Path, fsyncs: FsyncSpy
) -> None:
    # kills: the data fsync in the seal step removed; the directory fsync after the rename
    # removed (`fsync_dir and self._fsync` -> False)
    target = tmp_path / "invoice.xml"
    fsyncs.watch = target
    data = b"<Invoice/>" * 1000
    async with AtomicFile(target) as f:
        await f.write(data)
    assert target.read_bytes() == data
    _assert_durable(fsyncs, target, data)
    assert not fsyncs.of_file(target)[0].watched_exists, "renamed before it was fsynced"
    assert fsyncs.of_dir(tmp_path)[-1].watched_exists, "directory fsynced before the rename"


async def test_atomic_file_without_fsync_skips_both(tmp_path: Path, fsyncs: FsyncSpy) -> None:
    # kills: `if self._fsync:` -> `if True:` (scratch files pay for durability they skip)
    target = tmp_path / "scratch.bin"
    async with AtomicFile(target, fsync=False) as f:
        await f.write(b"x" * 100)
    assert fsyncs.calls == []


async def test_write_bytes_fsyncs_each_file_and_the_directory(
    tmp_path: Path, fsyncs: FsyncSpy
) -> None:
    # kills: the directory fsync of the batched small-file writes removed
    paths = [tmp_path / f"f{n}.edi" for n in range(3)]
    for n, path in enumerate(paths):
        await AtomicFile.write_bytes(lambda p=path: p, b"ISA*" * (n + 1))  # type: ignore[misc]
    for n, path in enumerate(paths):
        _assert_durable(fsyncs, path, b"ISA*" * (n + 1))


async def test_extracted_members_and_their_directories_are_fsynced(
    tmp_path: Path, fsyncs: FsyncSpy
) -> None:
    # kills: `if fsync:` in the publishing of extracted members removed, and the walk up
    # to the destination root (new subdirectories must be durable in their parents)
    archive = tmp_path / "a.zip"
    entries = {"top.txt": b"top", "sub/deeper/inner.txt": b"inner" * 10}
    with zipfile.ZipFile(archive, "w") as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    out = tmp_path / "out"
    await extract_zip(archive, out)
    for name, data in entries.items():
        _assert_durable(fsyncs, out / name, data)
    for directory in (out, out / "sub", out / "sub" / "deeper"):
        assert fsyncs.of_dir(directory), f"{directory} never fsynced"


def test_publish_directory_fsyncs_the_parent(tmp_path: Path, fsyncs: FsyncSpy) -> None:
    # kills: the parent fsync of publish_directory removed
    source = tmp_path / "staging"
    source.mkdir()
    final = tmp_path / "final"
    publish_directory(source, final)
    assert fsyncs.of_dir(tmp_path)


def _zip_of(count: int, prefix: str = "") -> io.BytesIO:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for n in range(count):
            zf.writestr(f"{prefix}f{n}.txt", b"x")
    buf.seek(0)
    return buf


async def test_an_archive_with_exactly_max_members_entries_is_accepted(tmp_path: Path) -> None:
    # kills: `len(infos) > max_members` -> `>=` (in extraction, verification and layout)
    exact, over = tmp_path / "exact.zip", tmp_path / "over.zip"
    exact.write_bytes(_zip_of(5, "<m@x>/").getvalue())
    over.write_bytes(_zip_of(6, "<m@x>/").getvalue())

    assert len(await extract_zip(exact, tmp_path / "out", max_members=5)) == 5
    assert await verify_zip(exact, max_members=5) == 5
    assert len((await read_batch_layout(exact, max_members=5))["<m@x>"].attachments) == 5

    with pytest.raises(gw.IntegrityError, match="more than 5"):
        await extract_zip(over, tmp_path / "out2", max_members=5)
    assert not (tmp_path / "out2").exists() or list((tmp_path / "out2").rglob("*")) == []
    with pytest.raises(gw.IntegrityError):
        await verify_zip(over, max_members=5)
    with pytest.raises(gw.IntegrityError):
        await read_batch_layout(over, max_members=5)
