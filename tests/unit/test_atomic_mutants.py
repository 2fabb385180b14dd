"""Tests that kill the surviving mutants of `as2gw_async/atomic.py` (see docs/mutation.md).

Each test names the mutant it kills, so nobody deletes it as redundant. ``os`` functions are
spied on or made to fail through the ``os`` module, wherever the code calls them.
"""

from __future__ import annotations

import array
import errno
import hashlib
import os
import secrets
import stat
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
import pytest

from as2gw_async import atomic
from as2gw_async.atomic import (
    AtomicFile,
    publish_directory,
    remove_stale_temp_files,
    scratch_directory,
    sweep_stale_temp_files_once,
)
from as2gw_async.errors import IntegrityError

# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------


class Fsyncs:
    """Every ``os.fsync``, as True (a directory) or False (a file); optionally failing."""

    def __init__(self) -> None:
        self.calls: list[bool] = []
        self.fail_dirs: int | None = None  # an errno to raise for a directory
        self._lock = threading.Lock()

    @property
    def dirs(self) -> int:
        return sum(self.calls)

    @property
    def files(self) -> int:
        return len(self.calls) - self.dirs

    def __call__(self, fd: int) -> None:
        is_dir = stat.S_ISDIR(os.fstat(fd).st_mode)
        with self._lock:
            self.calls.append(is_dir)
        if is_dir and self.fail_dirs is not None:
            raise OSError(self.fail_dirs, os.strerror(self.fail_dirs))


@pytest.fixture
def fsyncs(monkeypatch: pytest.MonkeyPatch) -> Fsyncs:
    spy = Fsyncs()
    monkeypatch.setattr(os, "fsync", spy)
    return spy


@pytest.fixture
def umask_022() -> Iterator[None]:
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def parts(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".part"))


async def opened(path: Path, **options: Any) -> AtomicFile:
    f = AtomicFile(path, **options)
    await f.open()
    return f


# --------------------------------------------------------------------------------------------
# _fsync_dir, publish_directory
# --------------------------------------------------------------------------------------------


async def test_an_eio_from_the_directory_fsync_fails_the_commit(
    tmp_path: Path, fsyncs: Fsyncs
) -> None:
    # kills: _fsync_dir: `exc.errno not in _FSYNC_UNSUPPORTED` -> `in`
    fsyncs.fail_dirs = errno.EIO
    f = await opened(tmp_path / "a.txt")
    await f.write(b"abc")
    with pytest.raises(OSError, match="Input/output error") as caught:
        await f.commit()
    assert caught.value.errno == errno.EIO


async def test_a_directory_that_cannot_be_fsynced_is_not_an_error(
    tmp_path: Path, fsyncs: Fsyncs
) -> None:
    # kills: _fsync_dir: `exc.errno not in _FSYNC_UNSUPPORTED` -> `in`
    fsyncs.fail_dirs = errno.EINVAL
    f = await opened(tmp_path / "a.txt")
    await f.write(b"abc")
    assert await f.commit() == tmp_path / "a.txt"
    assert fsyncs.dirs == 1


def test_fsync_dir_opens_directories_only(tmp_path: Path, fsyncs: Fsyncs) -> None:
    # kills: _fsync_dir: `O_RDONLY | getattr(os, "O_DIRECTORY", 0)` -> `&`, getattr(None, ...),
    # "XXO_DIRECTORYXX", "o_directory" (O_DIRECTORY lost: a file would be opened and fsynced)
    regular = tmp_path / "file"
    regular.write_bytes(b"x")
    atomic._fsync_dir(regular)
    assert fsyncs.calls == []
    atomic._fsync_dir(tmp_path)
    assert fsyncs.calls == [True]


def test_publish_directory_refuses_an_existing_target_naming_it(tmp_path: Path) -> None:
    # kills: publish_directory: every mutant of FileExistsError(errno.EEXIST, "refusing...",
    # str(dst)) (errno None or dropped, message changed, filename None, dropped or "None")
    source, final = tmp_path / "src", tmp_path / "dst"
    source.mkdir()
    final.mkdir()
    with pytest.raises(FileExistsError) as caught:
        publish_directory(source, final)
    assert caught.value.errno == errno.EEXIST
    assert caught.value.strerror == "refusing to replace an existing directory"
    assert caught.value.filename == str(final)
    assert source.is_dir()


# --------------------------------------------------------------------------------------------
# _create_temp
# --------------------------------------------------------------------------------------------


def test_a_temporary_name_taken_is_never_opened_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # kills: _create_temp: `O_EXCL | getattr(os, "O_BINARY", 0)` -> `O_EXCL & ...` (O_EXCL lost:
    # the existing file would be opened), `continue` -> `break` on FileExistsError
    tokens = iter(["deadbeef", "cafef00d"])
    monkeypatch.setattr(secrets, "token_hex", lambda n: next(tokens))
    taken = tmp_path / ".out.bin.deadbeef.part"
    taken.write_bytes(b"someone else's")
    fd, path = atomic.create_scratch_file(tmp_path, "out.bin")
    os.close(fd)
    assert path == tmp_path / ".out.bin.cafef00d.part"
    assert taken.read_bytes() == b"someone else's"


def test_create_temp_gives_up_after_a_hundred_names_taken(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # kills: _create_temp: range(100) -> range(101); FileExistsError(None) (no path in it)
    tried: list[int] = []

    def token_hex(n: int) -> str:
        tried.append(n)
        return "deadbeef"

    monkeypatch.setattr(secrets, "token_hex", token_hex)
    (tmp_path / ".out.bin.deadbeef.part").write_bytes(b"")
    with pytest.raises(FileExistsError, match=r"beside .*out\.bin"):
        atomic.create_scratch_file(tmp_path, "out.bin")
    assert tried == [4] * 100


async def test_temporary_names_keep_as_much_of_a_long_name_as_fits(tmp_path: Path) -> None:
    # kills: _create_temp: _truncate_utf8(name, 255 - 15) -> None / 255 + 15 / 256 - 15
    # (ENAMETOOLONG) / 255 - 16 (one byte less kept); token_hex(4) -> None / 5 (not 8 hex
    # digits: remove_stale_temp_files would never sweep it)
    name = "é" * 100 + "x" * 55  # 255 bytes, the most a file name may have
    f = await opened(tmp_path / name)
    temp = f.temp_path
    assert temp is not None
    assert len(temp.name.encode()) == 255
    assert temp.name.startswith("." + name[:100])
    os.utime(temp, (1_000, 1_000))
    assert remove_stale_temp_files(tmp_path) == [temp]
    f.abort()


async def test_files_get_the_mode_asked_for_less_the_umask(tmp_path: Path, umask_022: None) -> None:
    # kills: _create_temp: os.open(candidate, flags) without the mode (0o777 by default);
    # AtomicFile.__init__: mode=0o666 -> 439 (0o667)
    async with AtomicFile(tmp_path / "default") as f:
        await f.write(b"x")
    async with AtomicFile(tmp_path / "private", mode=0o600) as f:
        await f.write(b"x")
    assert stat.S_IMODE((tmp_path / "default").stat().st_mode) == 0o644
    assert stat.S_IMODE((tmp_path / "private").stat().st_mode) == 0o600
    fd, scratch = atomic.create_scratch_file(tmp_path, "s")
    os.close(fd)
    assert stat.S_IMODE(scratch.stat().st_mode) == 0o600


# --------------------------------------------------------------------------------------------
# _rename_no_replace, _exists_error
# --------------------------------------------------------------------------------------------


async def test_the_existing_file_error_names_the_file_and_the_way_out(tmp_path: Path) -> None:
    # kills: _exists_error: errno None; the message changed
    target = tmp_path / "a.txt"
    target.write_bytes(b"old")
    f = await opened(target)
    await f.write(b"new")
    with pytest.raises(FileExistsError) as caught:
        await f.commit()
    assert caught.value.errno == errno.EEXIST
    assert caught.value.strerror == "refusing to overwrite an existing file (pass overwrite=True)"
    assert caught.value.filename == str(target)
    assert target.read_bytes() == b"old"
    assert parts(tmp_path) == []


@pytest.fixture
def no_hard_links(monkeypatch: pytest.MonkeyPatch) -> None:
    def link(*args: Any, **kwargs: Any) -> None:
        raise OSError(errno.EPERM, "hard links not supported")

    monkeypatch.setattr(os, "link", link)


async def test_without_hard_links_an_existing_file_is_still_refused(
    tmp_path: Path, no_hard_links: None
) -> None:
    # kills: _rename_no_replace: `raise _exists_error(None)` in the no-hard-link fallback
    target = tmp_path / "a.txt"
    target.write_bytes(b"old")
    f = await opened(target)
    await f.write(b"new")
    with pytest.raises(FileExistsError) as caught:
        await f.commit()
    assert caught.value.filename == str(target)
    assert target.read_bytes() == b"old"
    async with AtomicFile(tmp_path / "b.txt") as g:
        await g.write(b"new")
    assert (tmp_path / "b.txt").read_bytes() == b"new"


async def test_a_temporary_name_that_cannot_be_removed_after_the_link_is_harmless(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # kills: _rename_no_replace: contextlib.suppress(OSError) -> suppress(None) around
    # os.unlink(temp): the file is in place, so the commit must succeed
    real_unlink = os.unlink

    def unlink(path: Any, *args: Any, **kwargs: Any) -> None:
        if str(path).endswith(".part"):
            raise OSError(errno.EIO, "I/O error")
        real_unlink(path, *args, **kwargs)

    monkeypatch.setattr(os, "unlink", unlink)
    f = await opened(tmp_path / "a.txt")
    await f.write(b"data")
    assert await f.commit() == tmp_path / "a.txt"
    assert f.committed
    assert (tmp_path / "a.txt").read_bytes() == b"data"


async def test_commit_links_the_temporary_entry_itself_never_a_symlink_target(
    tmp_path: Path,
) -> None:
    # Guards follow_symlinks=False in _rename_no_replace (a temporary name swapped for a symlink
    # must never make the final name a hard link to its target). Kills nothing on Linux: there
    # CPython calls link(2), which never follows a symlink, for follow_symlinks=True too (the
    # mutants are listed as equivalent in docs/mutation.md); it would on other systems.
    secret = tmp_path / "secret"
    secret.write_bytes(b"secret")
    f = await opened(tmp_path / "a.txt")
    await f.write(b"data")
    temp = await f.seal()
    os.unlink(temp)
    os.symlink(secret, temp)
    await f.commit()
    assert secret.stat().st_nlink == 1
    assert (tmp_path / "a.txt").is_symlink()


# --------------------------------------------------------------------------------------------
# write_bytes and its batch
# --------------------------------------------------------------------------------------------


async def test_write_bytes_without_fsync_fsyncs_nothing(tmp_path: Path, fsyncs: Fsyncs) -> None:
    # kills: _write_small_files_sync: `fsync=job.fsync` dropped
    await AtomicFile.write_bytes(lambda: tmp_path / "a", b"abc", fsync=False)
    assert (tmp_path / "a").read_bytes() == b"abc"
    assert fsyncs.calls == []


def test_a_batch_of_small_files_fsyncs_their_directory_once(tmp_path: Path, fsyncs: Fsyncs) -> None:
    # kills: _write_small_files_sync: `_publish_sync(False)` -> `_publish_sync(True)` (a
    # directory fsync per file instead of one per directory)
    jobs = [
        atomic._SmallWrite(lambda n=n: tmp_path / f"f{n}", b"x" * n, False, None, True)  # type: ignore[misc]
        for n in range(5)
    ]
    outcomes = atomic._write_small_files_sync(jobs)
    assert all(isinstance(o, AtomicFile) and o.committed for o in outcomes)
    assert (fsyncs.files, fsyncs.dirs) == (5, 1)


async def test_write_bytes_reports_a_directory_fsync_error(tmp_path: Path, fsyncs: Fsyncs) -> None:
    # kills: _write_small_files_sync: `synced[directory] = exc` -> None, `error = None`,
    # `outcomes[i] = error` -> None: the file is in place but not durable, so the caller must
    # hear of it
    fsyncs.fail_dirs = errno.EIO
    with pytest.raises(OSError, match="Input/output error") as caught:
        await AtomicFile.write_bytes(lambda: tmp_path / "a", b"abc")
    assert caught.value.errno == errno.EIO


@pytest.mark.filterwarnings("error")
async def test_opening_never_asks_for_line_buffering(tmp_path: Path) -> None:
    # kills: _open_sync: `buffering=-1 if buffered else 0` -> `+1 if ...` / `... else 1`
    # (line buffering in binary mode: a RuntimeWarning, here an error)
    async with AtomicFile(tmp_path / "a") as f:
        await f.write(b"abc")
    await AtomicFile.write_bytes(lambda: tmp_path / "b", b"abc")
    assert (tmp_path / "a").read_bytes() == (tmp_path / "b").read_bytes() == b"abc"


# --------------------------------------------------------------------------------------------
# AtomicFile
# --------------------------------------------------------------------------------------------


async def test_no_digest_unless_asked_for(tmp_path: Path) -> None:
    # kills: AtomicFile.__init__: sha256=False -> True; `sha256() if sha256 or True`
    f = AtomicFile(tmp_path / "a")
    assert f.sha256 is None
    g = AtomicFile(tmp_path / "b", sha256=True)
    assert g.sha256 == hashlib.sha256().hexdigest()


async def test_repr_names_the_path_the_state_and_the_size(tmp_path: Path) -> None:
    # kills: AtomicFile.__repr__: each state name changed; str(None) for the path;
    # AtomicFile.abort: `self._state = None`
    path = tmp_path / "a"
    f = AtomicFile(path)
    assert repr(f) == f"<AtomicFile {str(path)!r} new 0B>"
    await f.open()
    await f.write(b"abc")
    assert repr(f) == f"<AtomicFile {str(path)!r} open 3B>"
    await f.seal()
    assert repr(f) == f"<AtomicFile {str(path)!r} sealed 3B>"
    await f.commit()
    assert repr(f) == f"<AtomicFile {str(path)!r} committed 3B>"
    g = await opened(tmp_path / "b")
    g.abort()
    assert repr(g) == f"<AtomicFile {str(tmp_path / 'b')!r} aborted 0B>"


async def test_misuse_errors_name_the_file_and_what_was_wrong(tmp_path: Path) -> None:
    # kills: the messages of AtomicFile.open ("AtomicFile can only be opened once", changed or
    # None), commit ("already sealed: ..." changed, "cannot commit" -> None), seal ("cannot
    # seal" -> None), _write_raw ("cannot write to" -> None); abort: `_state = None` (repr fails)
    f = await opened(tmp_path / "a")
    with pytest.raises(RuntimeError) as caught:
        await f.open()
    assert str(caught.value) == "AtomicFile can only be opened once"
    await f.write(b"abc")
    await f.seal()
    with pytest.raises(RuntimeError) as caught:
        await f.commit(3)
    assert str(caught.value) == "already sealed: pass the checks to seal()"
    with pytest.raises(RuntimeError, match=r"^cannot seal <AtomicFile .* sealed 3B>$"):
        await f.seal()
    with pytest.raises(RuntimeError, match=r"^cannot write to <AtomicFile .* sealed 3B>$"):
        await f.write(b"more")
    f.abort()
    with pytest.raises(RuntimeError, match=r"^cannot commit <AtomicFile .* aborted 3B>$"):
        await f.commit()


async def test_expected_sha256_needs_a_digest(tmp_path: Path) -> None:
    # kills: _seal_sync: the ValueError's message changed or None
    f = await opened(tmp_path / "a")
    await f.write(b"abc")
    with pytest.raises(ValueError, match="expected_sha256") as caught:
        await f.commit(expected_sha256="00" * 32)
    assert str(caught.value) == "expected_sha256 needs AtomicFile(..., sha256=True)"
    assert parts(tmp_path) == []


async def test_the_checks_given_to_commit_and_seal_are_applied(tmp_path: Path) -> None:
    # kills: commit: run_sync(self._commit_sync, None, ...); _commit_sync: _seal_sync(None, ...);
    # _seal_sync: `expected = self.expected_size if (expected_size is None) or True`;
    # seal: run_sync(self._seal_sync, None, ...) and (..., expected_size, None)
    f = await opened(tmp_path / "a")
    await f.write(b"abc")
    with pytest.raises(IntegrityError, match="expected 5 bytes, got 3"):
        await f.commit(5)
    g = await opened(tmp_path / "b")
    await g.write(b"abc")
    with pytest.raises(IntegrityError, match="expected 4 bytes, got 3"):
        await g.seal(4)
    h = await opened(tmp_path / "c", sha256=True)
    await h.write(b"abc")
    with pytest.raises(IntegrityError, match="SHA-256 mismatch"):
        await h.seal(expected_sha256="00" * 32)
    assert list(tmp_path.iterdir()) == []


async def test_write_counts_bytes_not_items(tmp_path: Path) -> None:
    # kills: write: `len(chunk) if (type(chunk) is bytes) or True`, `is not bytes`
    f = await opened(tmp_path / "a")
    await f.write(memoryview(array.array("i", [1, 2, 3])))
    assert f.bytes_written == 3 * array.array("i").itemsize
    await f.commit()
    assert (tmp_path / "a").stat().st_size == f.bytes_written


async def test_a_chunk_of_exactly_one_mebibyte_is_written_without_a_checkpoint(
    tmp_path: Path,
) -> None:
    # kills: write: `size > _SYNC_WRITE_MAX` -> `>=` (the chunk would go to a worker thread,
    # whose start is a cancellation point although checkpoint=False)
    f = await opened(tmp_path / "a")
    with anyio.CancelScope() as scope:
        scope.cancel()
        await f.write(b"x" * (1 << 20), checkpoint=False)
        written = f.bytes_written
    assert written == 1 << 20
    f.abort()


class ShortWriter:
    """Stands for the temporary file: each write takes at most 3 bytes, and every second and
    third call takes none (returning 0, then None), as a raw or non-blocking write may."""

    def __init__(self, raw: Any) -> None:
        self.raw = raw
        self.calls = 0

    def write(self, data: Any) -> int | None:
        self.calls += 1
        if self.calls > 1000:
            raise AssertionError("the write loop makes no progress")
        if self.calls % 3 == 2:
            return 0
        if self.calls % 3 == 0:
            return None
        written: int = self.raw.write(bytes(memoryview(data)[:3]))
        return written

    def __getattr__(self, name: str) -> Any:
        return getattr(self.raw, name)


async def test_short_writes_are_written_on_to_the_end(tmp_path: Path) -> None:
    # kills: _write_raw: `written is None and ...`, `written == len(chunk)`, `view = None`,
    # memoryview(None), cast(None) / cast("XXBXX"), view = None in the loop, `write(view) and
    # 0` (no progress: stopped by the writer), write(None), `or 1` (a byte skipped)
    f = await opened(tmp_path / "a")
    f._file = ShortWriter(f._file)  # type: ignore[assignment]
    await f.write(b"0123456789")
    await f.commit()
    assert (tmp_path / "a").read_bytes() == b"0123456789"


class FailingClose(ShortWriter):
    def close(self) -> None:
        self.raw.close()
        raise OSError(errno.ENOSPC, "No space left on device")


async def test_abort_removes_the_temporary_file_even_if_closing_it_fails(tmp_path: Path) -> None:
    # kills: abort: suppress(OSError) -> suppress(None) around file.close()
    f = await opened(tmp_path / "a")
    f._file = FailingClose(f._file)  # type: ignore[assignment]
    f.abort()
    assert list(tmp_path.iterdir()) == []


async def test_abort_tolerates_a_temporary_file_already_gone(tmp_path: Path) -> None:
    # kills: abort: suppress(FileNotFoundError) -> suppress(None) around os.unlink
    f = await opened(tmp_path / "a")
    assert f.temp_path is not None
    os.unlink(f.temp_path)
    f.abort()
    assert f.temp_path is None


async def test_a_commit_waiting_for_a_worker_thread_is_not_stopped_by_a_cancellation(
    tmp_path: Path,
) -> None:
    # kills: commit: CancelScope(shield=True) -> shield=False / None (a cancellation while the
    # commit waits for a free worker thread would abort it after its first checkpoint)
    target = tmp_path / "a"
    f = await opened(target)
    await f.write(b"data")
    limiter = anyio.to_thread.current_default_thread_limiter()
    tokens = limiter.total_tokens
    release = threading.Event()
    returned: list[Path] = []
    scope = anyio.CancelScope()

    async def committer() -> None:
        with scope:
            returned.append(await f.commit())

    limiter.total_tokens = 1
    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(anyio.to_thread.run_sync, release.wait, 30)  # the only thread
            await anyio.wait_all_tasks_blocked()
            tg.start_soon(committer)
            await anyio.wait_all_tasks_blocked()
            scope.cancel()
            release.set()
    finally:
        release.set()
        limiter.total_tokens = tokens
    assert returned == [target]
    assert target.read_bytes() == b"data"


async def test_truncate_cuts_back_and_writes_on(tmp_path: Path) -> None:
    # kills: truncate: the state check inverted (`== _OPEN`, `is not None`), `0 <= size <=`
    # not negated, `size == bytes_written` -> `!=`, file = None, truncate(None), seek(None),
    # run_sync(None), bytes_written = None
    f = await opened(tmp_path / "a")
    await f.write(b"hello world")
    await f.truncate(5)
    assert f.bytes_written == 5
    await f.write(b"!!")
    await f.commit()
    assert (tmp_path / "a").read_bytes() == b"hello!!"


async def test_truncate_to_zero_restarts_and_to_the_end_is_a_no_op(tmp_path: Path) -> None:
    # kills: truncate: `not 1 <= size`, `not 0 < size` (a restart refused), `size <
    # self.bytes_written` (truncating to the current size refused)
    f = await opened(tmp_path / "a")
    await f.write(b"abc")
    await f.truncate(3)
    assert f.bytes_written == 3
    await f.truncate(0)
    await f.write(b"xy")
    await f.commit()
    assert (tmp_path / "a").read_bytes() == b"xy"


async def test_truncate_refuses_what_it_cannot_do(tmp_path: Path) -> None:
    # kills: truncate: the messages (None, changed), `self._hasher is None`
    f = await opened(tmp_path / "a")
    await f.write(b"abc")
    with pytest.raises(ValueError, match="cannot truncate") as bad_size:
        await f.truncate(4)
    assert str(bad_size.value) == "cannot truncate 3 bytes to 4"
    with pytest.raises(ValueError, match="cannot truncate 3 bytes to -1"):
        await f.truncate(-1)
    await f.seal()
    with pytest.raises(RuntimeError, match=r"^cannot truncate <AtomicFile .* sealed 3B>$"):
        await f.truncate(0)
    f.abort()
    g = await opened(tmp_path / "b", sha256=True)
    await g.write(b"abc")
    with pytest.raises(RuntimeError) as digest:
        await g.truncate(0)
    assert str(digest.value) == "cannot truncate a file that keeps a SHA-256"
    g.abort()


# --------------------------------------------------------------------------------------------
# AtomicFile.create
# --------------------------------------------------------------------------------------------


async def test_create_passes_every_option_on(tmp_path: Path, fsyncs: Fsyncs) -> None:
    # kills: create: the defaults changed (overwrite True, sha256 True, fsync False), and each
    # option passed as None or dropped (overwrite, expected_size, sha256, progress, fsync)
    existing = tmp_path / "old"
    existing.write_bytes(b"old")
    async with await AtomicFile.create(lambda: existing, overwrite=True) as f:
        await f.write(b"new")
    assert existing.read_bytes() == b"new"
    f = await AtomicFile.create(lambda: existing)
    assert f.sha256 is None
    await f.write(b"newer")
    with pytest.raises(FileExistsError):
        await f.commit()
    seen: list[tuple[int, int | None]] = []
    sized = await AtomicFile.create(
        lambda: tmp_path / "sized",
        expected_size=5,
        sha256=True,
        progress=lambda done, total: seen.append((done, total)),
    )
    await sized.write(b"abc")
    assert seen == [(3, 5)]
    assert sized.sha256 == hashlib.sha256(b"abc").hexdigest()
    with pytest.raises(IntegrityError):
        await sized.commit()
    fsyncs.calls.clear()
    async with await AtomicFile.create(lambda: tmp_path / "synced", fsync=True) as f:
        await f.write(b"x")
    assert (fsyncs.files, fsyncs.dirs) == (1, 1)
    async with await AtomicFile.create(lambda: tmp_path / "default") as f:
        await f.write(b"x")
    assert (fsyncs.files, fsyncs.dirs) == (2, 2)
    async with await AtomicFile.create(lambda: tmp_path / "unsynced", fsync=False) as f:
        await f.write(b"x")
    assert (fsyncs.files, fsyncs.dirs) == (2, 2)


async def test_create_reports_the_error_of_a_failed_open(tmp_path: Path) -> None:
    # kills: create: made.append(None) (the cleanup would fail on None and hide the error)
    with pytest.raises(FileNotFoundError):
        await AtomicFile.create(lambda: tmp_path / "missing" / "a")


# --------------------------------------------------------------------------------------------
# remove_stale_temp_files, sweep_stale_temp_files_once
# --------------------------------------------------------------------------------------------

NOW = 2_000_000_000.0


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(time, "time", lambda: NOW)


def stale(path: Path, age: float) -> Path:
    path.write_bytes(b"")
    os.utime(path, (NOW - age, NOW - age))
    return path


def test_a_temporary_file_an_hour_old_is_removed_and_a_younger_one_kept(
    tmp_path: Path, clock: None
) -> None:
    # kills: remove_stale_temp_files: older_than=3600.0 -> 3601.0; `st_mtime <= cutoff` -> `<`
    old = stale(tmp_path / ".a.0123abcd.part", 3600)
    young = stale(tmp_path / ".b.0123abcd.part", 3599)
    assert remove_stale_temp_files(tmp_path) == [old]
    assert young.exists()


def test_a_symlink_named_like_a_temporary_file_is_kept(tmp_path: Path, clock: None) -> None:
    # kills: remove_stale_temp_files: entry.is_file(follow_symlinks=True)
    target = stale(tmp_path / "target", 10_000)
    link = tmp_path / ".a.0123abcd.part"
    link.symlink_to(target)
    os.utime(link, (NOW - 10_000, NOW - 10_000), follow_symlinks=False)
    assert remove_stale_temp_files(tmp_path) == []
    assert link.is_symlink()
    assert target.exists()


def test_a_temporary_file_removed_meanwhile_does_not_stop_the_sweep(
    tmp_path: Path, clock: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # kills: remove_stale_temp_files: `continue` -> `break` after FileNotFoundError
    for name in ("a", "b", "c"):
        stale(tmp_path / f".{name}.0123abcd.part", 10_000)
    real_unlink = os.unlink
    calls: list[str] = []

    def unlink(path: Any, *args: Any, **kwargs: Any) -> None:
        real_unlink(path, *args, **kwargs)
        calls.append(str(path))
        if len(calls) == 1:  # another process removed it first
            raise FileNotFoundError(errno.ENOENT, "gone", str(path))

    monkeypatch.setattr(os, "unlink", unlink)
    removed = remove_stale_temp_files(tmp_path)
    assert len(removed) == 2
    assert list(tmp_path.iterdir()) == []


def test_each_directory_is_swept_once_per_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # kills: sweep_stale_temp_files_once: _SWEPT.add(None); `len(_SWEPT) >= _SWEPT_MAX` -> `>`;
    # suppress(OSError) -> suppress(None)
    monkeypatch.setattr(atomic, "_SWEPT", set())
    monkeypatch.setattr(atomic, "_SWEPT_MAX", 3)
    first = stale(tmp_path / ".a.0123abcd.part", time.time() - 1_000)
    sweep_stale_temp_files_once(tmp_path)
    assert not first.exists()
    second = stale(tmp_path / ".b.0123abcd.part", time.time() - 1_000)
    sweep_stale_temp_files_once(tmp_path)
    assert second.exists()
    sweep_stale_temp_files_once(tmp_path / "missing-1")  # errors are ignored
    sweep_stale_temp_files_once(tmp_path / "missing-2")
    assert len(atomic._SWEPT) == 3
    sweep_stale_temp_files_once(tmp_path / "missing-3")
    assert {os.path.abspath(tmp_path / "missing-3")} == atomic._SWEPT


# --------------------------------------------------------------------------------------------
# scratch_directory
# --------------------------------------------------------------------------------------------


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """Set the scratch-related environment: unset what is not given."""
    monkeypatch.chdir(tmp_path)  # a relative directory a mutant makes lands in here
    systmp = tmp_path / "systmp"
    systmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(systmp))
    monkeypatch.setattr(atomic, "_SWEPT", set())

    def set_env(**values: str) -> None:
        for name in ("AS2GW_SCRATCH_DIR", "XDG_CACHE_HOME", "HOME", "LOCALAPPDATA"):
            if name in values:
                monkeypatch.setenv(name, values[name])
            else:
                monkeypatch.delenv(name, raising=False)

    return set_env


def test_the_scratch_directory_variable_is_obeyed(tmp_path: Path, env: Callable[..., None]) -> None:
    # kills: _default_scratch_directory: configured = None; directory = None / Path(None);
    # ensure_directory(None)
    env(AS2GW_SCRATCH_DIR=str(tmp_path / "mine" / "scratch"), HOME=str(tmp_path / "home"))
    assert scratch_directory() == tmp_path / "mine" / "scratch"
    assert (tmp_path / "mine" / "scratch").is_dir()
    assert not (tmp_path / "home").exists()


def test_the_cache_scratch_directory_is_private(tmp_path: Path, env: Callable[..., None]) -> None:
    # kills: _default_scratch_directory: "scratch" changed; chmod(made, 0o700) -> 449 (0o701)
    env(XDG_CACHE_HOME=str(tmp_path / "xdg"), LOCALAPPDATA=str(tmp_path / "win"))
    directory = scratch_directory()
    assert directory == tmp_path / "xdg" / "as2gw_async" / "scratch"
    for made in (directory, directory.parent, tmp_path / "xdg"):
        assert stat.S_IMODE(made.stat().st_mode) == 0o700


def test_without_xdg_the_cache_is_under_home(tmp_path: Path, env: Callable[..., None]) -> None:
    # kills: _user_cache_directory: `os.name != "nt"` (LOCALAPPDATA on POSIX), `sys.platform
    # != "darwin"` (~/Library/Caches), `Path.home() * ".cache"`, ".cache" changed; `xdg or
    # os.path.isabs(xdg)` (a relative XDG_CACHE_HOME must be ignored, as the spec says)
    home = tmp_path / "home"
    env(HOME=str(home), LOCALAPPDATA=str(tmp_path / "win"))
    assert scratch_directory() == home / ".cache" / "as2gw_async" / "scratch"
    env(HOME=str(home), XDG_CACHE_HOME="relative")
    assert scratch_directory() == home / ".cache" / "as2gw_async" / "scratch"
    assert not (tmp_path / "relative").exists()
    assert not (tmp_path / "win").exists()


@pytest.fixture
def no_cache(tmp_path: Path, env: Callable[..., None]) -> Path:
    """No cache directory can be made (XDG_CACHE_HOME is a file): the fallback is used."""
    blocker = tmp_path / "not-a-directory"
    blocker.write_bytes(b"")
    env(XDG_CACHE_HOME=str(blocker))
    return tmp_path / "systmp" / f"as2gw_async-{os.getuid()}"


def test_the_fallback_is_a_private_directory_in_the_system_temp_dir(
    no_cache: Path, umask_022: None
) -> None:
    # kills: _private_temp_directory: uid = None; the directory None / `*` / Path(None);
    # mkdir(None), mkdir(directory, None / no mode / 449), mkdir(0o700); suppress(None) around
    # mkdir (the second use finds it made); lstat(None); info = None; `stat.S_ISDIR(...)` not
    # negated; S_ISDIR(None); `hasattr(os, "getuid") or ...`; hasattr(os, None) / hasattr(os, )
    # / hasattr("getuid"); `st_uid == uid`; `S_IMODE(...) | 0o077`; S_IMODE(None); `& 64`
    assert scratch_directory() == no_cache
    assert stat.S_IMODE(no_cache.stat().st_mode) == 0o700
    atomic._SWEPT.clear()
    assert scratch_directory() == no_cache


def test_the_fallback_is_named_for_the_user(
    no_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # kills: _private_temp_directory: uid 0 when os.getuid exists (hasattr(...) and False,
    # hasattr(None, ...), "XXgetuidXX", "GETUID"); the owner check skipped (hasattr(None,
    # "getuid"), "XXgetuidXX", "GETUID"); every mutant of the PermissionError's arguments
    uid = os.getuid() + 1
    monkeypatch.setattr(os, "getuid", lambda: uid)
    expected = no_cache.with_name(f"as2gw_async-{uid}")
    with pytest.raises(PermissionError) as caught:
        scratch_directory()
    assert caught.value.errno == errno.EACCES
    assert caught.value.filename == str(expected)
    assert caught.value.strerror == (
        f"refusing {expected} as a scratch directory: not a private directory of this user; "
        "set AS2GW_SCRATCH_DIR"
    )
    assert expected.is_dir()  # made, but owned by someone else: refused


def test_the_fallback_refuses_a_file_or_an_open_directory(no_cache: Path) -> None:
    # kills: _private_temp_directory: `not S_ISDIR(...) and (...)` (a private file accepted),
    # `(... st_uid != uid) and S_IMODE(...) & 0o077` (a group-readable directory accepted)
    no_cache.write_bytes(b"")
    no_cache.chmod(0o600)
    with pytest.raises(PermissionError):
        scratch_directory()
    no_cache.unlink()
    no_cache.mkdir(0o700)
    no_cache.chmod(0o750)
    with pytest.raises(PermissionError):
        scratch_directory()
