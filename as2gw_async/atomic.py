"""Atomic writes: a file appears at its final path only complete, verified and durable.

* `AtomicFile` writes to a temporary file beside the target and renames it into place only
  once it is complete, verified and fsynced; on error or cancellation nothing appears
  (`AtomicFile.write_bytes` batches small in-memory files into shared worker-thread calls);
* `publish_directory` moves a finished directory into place in one rename;
* `remove_stale_temp_files` sweeps the ``.<name>.<random>.part`` files a crash left behind.

This module knows nothing of HTTP. `as2gw_async.files` re-exports every public name.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import re
import secrets
import stat
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import BinaryIO, NamedTuple

import anyio
import anyio.lowlevel
import anyio.to_thread

from ._batched import Batcher
from .errors import IntegrityError
from .filenames import _truncate_utf8, ensure_directory

__all__ = [
    "SCRATCH_DIR_ENV",
    "AtomicFile",
    "ProgressCallback",
    "create_scratch_file",
    "publish_directory",
    "remove_stale_temp_files",
    "scratch_directory",
    "sweep_stale_temp_files_once",
]

ProgressCallback = Callable[[int, int | None], None]
"""Called as ``progress(bytes_done, bytes_total_or_None)`` after each write."""

# Chunks up to this size are written synchronously: a 64 KiB write to the page cache takes
# ~15-45 us while a worker-thread round trip costs ~150-200 us (measured on Linux/ext4), so a
# thread only pays for big chunks. fsync, open and rename always run in a worker thread.
_SYNC_WRITE_MAX = 1 << 20
_TEMP_SUFFIX = ".part"
_TEMP_RE = re.compile(r"\A\..+\.[0-9a-f]{8}\.part\Z", re.DOTALL)

# --------------------------------------------------------------------------------------------
# Atomic writes
# --------------------------------------------------------------------------------------------

_NEW, _OPEN, _SEALED, _COMMITTED, _ABORTED = range(5)
_FSYNC_UNSUPPORTED = {errno.EINVAL, errno.EBADF, errno.EACCES, errno.EPERM, errno.EISDIR}
_FSYNC_UNSUPPORTED |= {getattr(errno, n) for n in ("ENOTSUP", "EOPNOTSUPP") if hasattr(errno, n)}
_LINK_UNSUPPORTED = {errno.EPERM, errno.EXDEV, errno.EMLINK, errno.EACCES, errno.ENOSYS}
_LINK_UNSUPPORTED |= {getattr(errno, n) for n in ("ENOTSUP", "EOPNOTSUPP") if hasattr(errno, n)}


def _fsync_dir(directory: Path) -> None:
    """Make a rename in *directory* durable (a no-op where directories cannot be fsynced)."""
    if os.name == "nt":  # pragma: no cover - Windows cannot open a directory
        return
    try:
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError as exc:
        if exc.errno not in _FSYNC_UNSUPPORTED:
            raise
    finally:
        os.close(fd)


def publish_directory(source: str | os.PathLike[str], final: str | os.PathLike[str]) -> Path:
    """Move a finished directory to ``final`` in one atomic rename, and make it durable.

    ``final`` must not exist (an existing one, even empty, raises `FileExistsError`), and both
    must be on one file system, so the directory appears complete or not at all.
    """
    src, dst = Path(source), Path(final)
    if dst.exists() or dst.is_symlink():
        raise FileExistsError(errno.EEXIST, "refusing to replace an existing directory", str(dst))
    os.rename(src, dst)
    _fsync_dir(dst.parent)
    return dst


class AtomicFile:
    """Write a file so that it appears at its final path only complete, verified and durable.

    Bytes go to ``.<name>.<random>.part`` in the target's directory. `commit` checks the size
    (and optionally the SHA-256), fsyncs, renames the temporary file onto *path* and fsyncs the
    directory. On an exception or a cancellation before that, the temporary file is removed
    and nothing appears at *path*. Leaving the ``async with`` block normally commits.

    Overwrite policy: by default an existing file at *path* is never replaced; `commit`
    raises `FileExistsError` (a hard link makes the check-and-create atomic, so a concurrent
    writer is never clobbered either). ``overwrite=True`` replaces it atomically: readers see
    the old file or the new one, never a mix.

    Chunks up to 1 MiB are written directly (faster than a thread hop for page-cache writes);
    bigger ones, opening the temporary file and the commit (size check, fsync, rename and
    directory fsync, all in one call) run in a worker thread. `AtomicFile.create` also
    chooses the path in the thread that opens the file.

    ::

        async with AtomicFile("out/invoice.xml", expected_size=length, sha256=True) as f:
            async for chunk in response.aiter_bytes():
                await f.write(chunk)
        print(f.path, f.bytes_written, f.sha256)
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        overwrite: bool = False,
        expected_size: int | None = None,
        sha256: bool = False,
        progress: ProgressCallback | None = None,
        fsync: bool = True,
        mode: int = 0o666,
    ) -> None:
        """Prepare (but do not yet create) an atomic write to *path*.

        *expected_size* is checked on commit and reported to *progress* as the total;
        *sha256* keeps a running digest (see `AtomicFile.sha256`); ``fsync=False`` skips the
        fsyncs (only for scratch data: a crash may then leave an empty or partial file).
        *mode* is the file's permission bits, less the umask (``0o600`` for scratch data).
        """
        self.path = Path(path)
        self.overwrite = overwrite
        self.expected_size = expected_size
        self.bytes_written = 0
        self._hasher = hashlib.sha256() if sha256 else None
        self._progress = progress
        self._fsync = fsync
        self._mode = mode
        self._file: BinaryIO | None = None
        self._temp_path: Path | None = None
        self._state = _NEW

    def __repr__(self) -> str:
        states = ("new", "open", "sealed", "committed", "aborted")
        return f"<AtomicFile {str(self.path)!r} {states[self._state]} {self.bytes_written}B>"

    @property
    def temp_path(self) -> Path | None:
        """The temporary file being written, or None before `open` and after commit/abort."""
        return self._temp_path if self._state in (_OPEN, _SEALED) else None

    @property
    def sha256(self) -> str | None:
        """Hex SHA-256 of the bytes written so far, or None unless ``sha256=True``."""
        return None if self._hasher is None else self._hasher.hexdigest()

    @property
    def committed(self) -> bool:
        """True once the file is at its final path."""
        return self._state == _COMMITTED

    async def __aenter__(self) -> AtomicFile:
        if self._state == _NEW:  # one from `create` is already open
            await self.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None and self._state in (_OPEN, _SEALED):
            await self.commit()
        else:
            self.abort()

    async def open(self) -> None:
        """Create the temporary file (called by ``async with``)."""
        if self._state != _NEW:
            raise RuntimeError("AtomicFile can only be opened once")
        try:
            await anyio.to_thread.run_sync(self._open_sync)
        except BaseException:
            self.abort()  # the thread may have created the file before a cancellation landed
            raise

    @classmethod
    async def create(
        cls,
        destination: Callable[[], str | os.PathLike[str]],
        *,
        overwrite: bool = False,
        expected_size: int | None = None,
        sha256: bool = False,
        progress: ProgressCallback | None = None,
        fsync: bool = True,
    ) -> AtomicFile:
        """Choose the target path and create the temporary file in one worker-thread call.

        *destination* runs in the worker thread (so it may stat, ``mkdir`` or raise
        `FileExistsError`) and returns the final path; the options are those of the
        constructor. Returns the open file, as ``async with AtomicFile(...)`` would; use it
        as ``async with await AtomicFile.create(...) as f``. On an error or a cancellation
        no temporary file is left behind.
        """
        made: list[AtomicFile] = []

        def open_sync() -> AtomicFile:
            file = cls(
                destination(),
                overwrite=overwrite,
                expected_size=expected_size,
                sha256=sha256,
                progress=progress,
                fsync=fsync,
            )
            made.append(file)
            file._open_sync()
            return file

        try:
            return await anyio.to_thread.run_sync(open_sync)
        except BaseException:
            for file in made:  # the thread may have created it before a cancellation landed
                file.abort()
            raise

    @classmethod
    async def write_bytes(
        cls,
        destination: Callable[[], str | os.PathLike[str]],
        data: bytes | bytearray | memoryview,
        *,
        overwrite: bool = False,
        expected_size: int | None = None,
        fsync: bool = True,
    ) -> AtomicFile:
        """Write *data*, already in memory, atomically; return the committed file.

        Chooses the path (*destination* runs in a worker thread, as for `create`), creates
        the temporary file, writes, checks *expected_size*, fsyncs, renames and fsyncs the
        directory. Files written at the same time by other tasks share the worker-thread
        calls (see `as2gw_async._batched`): one round trip and one directory fsync for
        many files, which is what makes thousands of small downloads fast. Cancelled before
        the write has started, nothing is written; after, it completes (all or nothing) and
        the cancellation is raised afterwards.
        """
        return await _SMALL_WRITES.submit(
            _SmallWrite(destination, data, overwrite, expected_size, fsync)
        )

    async def write(
        self, chunk: bytes | bytearray | memoryview, *, checkpoint: bool = True
    ) -> None:
        """Append *chunk* to the temporary file.

        A cancellation point, unless ``checkpoint=False``: for a loop that awaits something
        else for every chunk anyway (a network read), where a second check per 64 KiB chunk
        cost ~6% of a large download's CPU.
        """
        size = len(chunk) if type(chunk) is bytes else memoryview(chunk).nbytes
        if size > _SYNC_WRITE_MAX:
            await anyio.to_thread.run_sync(self._write_raw, chunk)
        else:
            if checkpoint:
                await anyio.lowlevel.checkpoint_if_cancelled()
            self._write_raw(chunk)
        self._account(size)  # in the event loop: progress callbacks never run in a thread

    async def truncate(self, size: int) -> None:
        """Cut the temporary file back to its first *size* bytes and write on from there.

        For a download resumed at *size* (an HTTP ``Range``) or restarted (``0``) after the
        body broke off: the bytes already verified stay, the rest is thrown away. Not
        available with ``sha256=True`` (a digest cannot be rewound).
        """
        if self._state != _OPEN or self._file is None:
            raise RuntimeError(f"cannot truncate {self!r}")
        if not 0 <= size <= self.bytes_written:
            raise ValueError(f"cannot truncate {self.bytes_written} bytes to {size}")
        if self._hasher is not None:
            raise RuntimeError("cannot truncate a file that keeps a SHA-256")
        if size == self.bytes_written:
            return
        file = self._file

        def cut() -> None:
            file.flush()
            file.truncate(size)
            file.seek(size)

        await anyio.to_thread.run_sync(cut)
        self.bytes_written = size

    async def commit(
        self, expected_size: int | None = None, *, expected_sha256: str | None = None
    ) -> Path:
        """Verify, fsync and atomically move the file into place; return its final path.

        *expected_size* (default: the one given to the constructor) and *expected_sha256* are
        checked first: a mismatch raises `IntegrityError` and removes the temporary file.
        `FileExistsError` if *path* exists and ``overwrite`` is false. Once the rename has
        started it is shielded from cancellation, so the outcome is all or nothing.
        """
        if self._state == _SEALED and (expected_size, expected_sha256) != (None, None):
            raise RuntimeError("already sealed: pass the checks to seal()")
        if self._state not in (_OPEN, _SEALED):
            raise RuntimeError(f"cannot commit {self!r}")
        try:
            await anyio.lowlevel.checkpoint_if_cancelled()  # cancelled before: nothing appears
            # Check, fsync, rename and fsync the directory in one worker-thread call. It is
            # shielded: once the rename may have happened, the outcome must be reported.
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(self._commit_sync, expected_size, expected_sha256)
        except BaseException:
            self.abort()
            raise
        return self.path

    async def seal(
        self, expected_size: int | None = None, *, expected_sha256: str | None = None
    ) -> Path:
        """Verify, fsync and close the temporary file, but do not move it into place yet.

        Returns the temporary path, where the complete file can now be read (to check a zip,
        say) before `commit` publishes it or `abort` discards it. Checks as for `commit`.
        Leaving ``async with`` normally still commits; call `abort` to use the file as
        scratch space only.
        """
        if self._state != _OPEN:
            raise RuntimeError(f"cannot seal {self!r}")
        try:
            await anyio.to_thread.run_sync(self._seal_sync, expected_size, expected_sha256)
        except BaseException:
            self.abort()
            raise
        assert self._temp_path is not None
        return self._temp_path

    def abort(self) -> None:
        """Discard the temporary file; a no-op once committed. Synchronous on purpose, so that
        it cannot be interrupted by a cancellation in a cleanup path."""
        if self._state in (_COMMITTED, _ABORTED):
            return
        self._state = _ABORTED
        file, self._file = self._file, None
        if file is not None:
            with contextlib.suppress(OSError):
                file.close()
        if self._temp_path is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self._temp_path)

    # -- synchronous core (also used from worker threads by extract_zip) --------------------

    def _open_sync(self, *, buffered: bool = True) -> None:
        fd, self._temp_path = _create_temp(self.path, self._mode)
        self._state = _OPEN
        self._file = os.fdopen(fd, "wb", buffering=-1 if buffered else 0)

    def _write_sync(self, chunk: bytes | bytearray | memoryview) -> None:
        self._write_raw(chunk)
        self._account(memoryview(chunk).nbytes)

    def _write_raw(self, chunk: bytes | bytearray | memoryview) -> None:
        if self._state != _OPEN or self._file is None:
            raise RuntimeError(f"cannot write to {self!r}")
        written = self._file.write(chunk)
        if written is not None and written != len(chunk):  # an unbuffered write may be short
            view = memoryview(chunk).cast("B")[written:]
            while view:
                view = view[self._file.write(view) or 0 :]
        if self._hasher is not None:
            self._hasher.update(chunk)

    def _account(self, size: int) -> None:
        self.bytes_written += size
        if self._progress is not None:
            self._progress(self.bytes_written, self.expected_size)

    def _seal_sync(self, expected_size: int | None, expected_sha256: str | None) -> None:
        """Check size and digest, flush, fsync and close the temporary file."""
        if self._state != _OPEN or self._file is None:
            raise RuntimeError(f"cannot commit {self!r}")
        expected = self.expected_size if expected_size is None else expected_size
        if expected is not None and self.bytes_written != expected:
            raise IntegrityError(
                f"{self.path.name}: expected {expected} bytes, got {self.bytes_written}"
            )
        if expected_sha256 is not None:
            actual = self.sha256
            if actual is None:
                raise ValueError("expected_sha256 needs AtomicFile(..., sha256=True)")
            if actual != expected_sha256.lower():
                raise IntegrityError(f"{self.path.name}: SHA-256 mismatch")
        file, self._file = self._file, None
        try:
            file.flush()
            if self._fsync:
                os.fsync(file.fileno())
        finally:
            file.close()
        self._state = _SEALED

    def _commit_sync(self, expected_size: int | None, expected_sha256: str | None) -> None:
        if self._state == _OPEN:
            self._seal_sync(expected_size, expected_sha256)
        self._publish_sync(True)

    def _publish_sync(self, fsync_dir: bool) -> None:
        """Move the sealed temporary file onto the final path (see the overwrite policy)."""
        if self._state != _SEALED or self._temp_path is None:
            raise RuntimeError(f"cannot publish {self!r}")
        temp = self._temp_path
        if self.overwrite:
            os.replace(temp, self.path)
        else:
            _rename_no_replace(temp, self.path)
        self._state = _COMMITTED
        if fsync_dir and self._fsync:
            _fsync_dir(self.path.parent)


class _SmallWrite(NamedTuple):
    destination: Callable[[], str | os.PathLike[str]]
    data: bytes | bytearray | memoryview
    overwrite: bool
    expected_size: int | None
    fsync: bool


def _write_small_files_sync(jobs: list[_SmallWrite]) -> list[AtomicFile | BaseException]:
    """`AtomicFile.write_bytes` for a batch, step by step over all files: create and write
    each, then fsync each, then rename each, then fsync each directory once. Every file
    succeeds or fails on its own; a failed one leaves no temporary file behind."""
    outcomes: list[AtomicFile | BaseException] = []
    for job in jobs:
        try:
            file = AtomicFile(
                job.destination(),
                overwrite=job.overwrite,
                expected_size=job.expected_size,
                fsync=job.fsync,
            )
        except BaseException as exc:  # goes to the task that asked for this file
            outcomes.append(exc)
            continue
        outcomes.append(file)
        _step(outcomes, len(outcomes) - 1, _start_small_write, job.data)
    for i, outcome in enumerate(outcomes):
        if isinstance(outcome, AtomicFile):
            _step(outcomes, i, AtomicFile._seal_sync, None, None)
    for i, outcome in enumerate(outcomes):
        if isinstance(outcome, AtomicFile):
            _step(outcomes, i, AtomicFile._publish_sync, False)
    synced: dict[Path, BaseException | None] = {}
    for i, outcome in enumerate(outcomes):
        if isinstance(outcome, AtomicFile) and outcome._fsync:
            directory = outcome.path.parent
            if directory not in synced:
                try:
                    _fsync_dir(directory)
                    synced[directory] = None
                except BaseException as exc:  # the file is in place, but maybe not durable
                    synced[directory] = exc
            error = synced[directory]
            if error is not None:
                outcomes[i] = error
    return outcomes


def _start_small_write(file: AtomicFile, data: bytes | bytearray | memoryview) -> None:
    file._open_sync(buffered=False)  # one write: a buffer would only add syscalls
    file._write_sync(data)


def _step(
    outcomes: list[AtomicFile | BaseException],
    index: int,
    action: Callable[..., None],
    *args: object,
) -> None:
    file = outcomes[index]
    assert isinstance(file, AtomicFile)
    try:
        action(file, *args)
    except BaseException as exc:  # goes to the task that asked for this file
        file.abort()
        outcomes[index] = exc


_SMALL_WRITES: Batcher[_SmallWrite, AtomicFile] = Batcher(
    _write_small_files_sync, name="as2gw_async.small_writes"
)


def _exists_error(path: Path) -> FileExistsError:
    return FileExistsError(
        errno.EEXIST, "refusing to overwrite an existing file (pass overwrite=True)", str(path)
    )


def _rename_no_replace(temp: Path, final: Path) -> None:
    """Rename *temp* to *final*, atomically refusing if *final* exists."""
    try:
        os.link(temp, final, follow_symlinks=False)
    except FileExistsError:
        raise _exists_error(final) from None
    except OSError as exc:
        if exc.errno not in _LINK_UNSUPPORTED:
            raise
        # No hard links here (FAT, some network shares). Windows' rename refuses an existing
        # target atomically; elsewhere check-then-replace is the best the platform offers.
        if os.name == "nt":  # pragma: no cover
            try:
                os.rename(temp, final)
            except FileExistsError:
                raise _exists_error(final) from None
            return
        if os.path.lexists(final):
            raise _exists_error(final) from None
        os.replace(temp, final)
        return
    with contextlib.suppress(OSError):  # the final file is complete; a stray .part is harmless
        os.unlink(temp)


def remove_stale_temp_files(
    directory: str | os.PathLike[str], *, older_than: float = 3600.0
) -> list[Path]:
    """Delete ``.<name>.<random>.part`` files left in *directory* by a crash; return them.

    Only files untouched for *older_than* seconds are removed, so a write in progress in
    another process survives. Not recursive.
    """
    removed: list[Path] = []
    cutoff = time.time() - older_than
    with os.scandir(directory) as entries:
        for entry in entries:
            if not _TEMP_RE.match(entry.name) or not entry.is_file(follow_symlinks=False):
                continue
            try:
                if entry.stat(follow_symlinks=False).st_mtime <= cutoff:
                    os.unlink(entry.path)
                    removed.append(Path(entry.path))
            except FileNotFoundError:
                continue
    return removed


def _create_temp(path: Path, mode: int) -> tuple[int, Path]:
    """Create ``.<name>.<8 hex>.part`` beside *path* (exclusive, no symlink); return fd, path."""
    name = _truncate_utf8(path.name, 255 - 15)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    flags |= getattr(os, "O_NOFOLLOW", 0)
    for _ in range(100):
        candidate = path.with_name(f".{name}.{secrets.token_hex(4)}{_TEMP_SUFFIX}")
        try:
            fd = os.open(candidate, flags, mode)  # the umask applies, as for open()
        except FileExistsError:  # pragma: no cover - 2**32 names; practically never
            continue
        return fd, candidate
    raise FileExistsError(f"could not create a temporary file beside {path}")  # pragma: no cover


# --------------------------------------------------------------------------------------------
# Scratch data: private, never in the shared temp directory, swept after a crash
# --------------------------------------------------------------------------------------------

SCRATCH_DIR_ENV = "AS2GW_SCRATCH_DIR"
"""Environment variable naming the directory for scratch data that has no destination."""

_SWEPT: set[str] = set()  # directories swept by this process
_SWEPT_MAX = 4096


def create_scratch_file(directory: str | os.PathLike[str], name: str) -> tuple[int, Path]:
    """Create an empty private (mode 0600) scratch file in *directory*; return its fd and path.

    It is named like `AtomicFile`'s temporaries (``.<name>.<random>.part``), so that
    `remove_stale_temp_files` removes it if a crash leaves it behind. The caller removes it.
    Blocking: call it in a worker thread.
    """
    return _create_temp(Path(directory) / name, 0o600)


def scratch_directory(base: str | os.PathLike[str] | None = None) -> Path:
    """The directory for scratch data that has no destination of its own; made if missing.

    *base* when given (a destination's own state directory, say), else ``$AS2GW_SCRATCH_DIR``,
    else the user's cache directory (``$XDG_CACHE_HOME`` or ``~/.cache``, ``%LOCALAPPDATA%``,
    ``~/Library/Caches``) + ``as2gw_async/scratch``, created mode 0700. The shared system
    temporary directory only when no cache directory can be made, and then only a private
    ``as2gw_async-<uid>`` directory in it that this user owns and nobody else may enter.
    The first use of a directory in a process sweeps the temporaries a crash left there
    (`sweep_stale_temp_files_once`). Blocking: call it in a worker thread.
    """
    if base is not None:
        directory = Path(base)
        ensure_directory(directory)
    else:
        directory = _default_scratch_directory()
    sweep_stale_temp_files_once(directory)
    return directory


def _default_scratch_directory() -> Path:
    configured = os.environ.get(SCRATCH_DIR_ENV)
    if configured:
        directory = Path(configured)
        ensure_directory(directory)
        return directory
    try:
        directory = _user_cache_directory() / "as2gw_async" / "scratch"
        for made in ensure_directory(directory):
            os.chmod(made, 0o700)
        return directory
    except (OSError, RuntimeError):  # no home directory, a read-only one...
        return _private_temp_directory()


def _user_cache_directory() -> Path:
    if os.name == "nt":  # pragma: no cover - Windows
        local = os.environ.get("LOCALAPPDATA")
        return Path(local) if local else Path.home() / "AppData" / "Local"
    xdg = os.environ.get("XDG_CACHE_HOME")
    if xdg and os.path.isabs(xdg):
        return Path(xdg)
    if sys.platform == "darwin":  # pragma: no cover - macOS
        return Path.home() / "Library" / "Caches"
    return Path.home() / ".cache"


def _private_temp_directory() -> Path:
    uid = os.getuid() if hasattr(os, "getuid") else 0
    directory = Path(tempfile.gettempdir()) / f"as2gw_async-{uid}"
    with contextlib.suppress(FileExistsError):
        os.mkdir(directory, 0o700)
    info = os.lstat(directory)
    if (
        not stat.S_ISDIR(info.st_mode)
        or (hasattr(os, "getuid") and info.st_uid != uid)
        or stat.S_IMODE(info.st_mode) & 0o077
    ):
        raise PermissionError(
            errno.EACCES,
            f"refusing {directory} as a scratch directory: not a private directory of this "
            f"user; set {SCRATCH_DIR_ENV}",
            str(directory),
        )
    return directory


def sweep_stale_temp_files_once(directory: str | os.PathLike[str]) -> None:
    """`remove_stale_temp_files` in *directory*, the first time a process asks for it.

    What a crashed run left behind goes on the next run, for the price of one directory
    scan per directory and process. Errors are ignored: sweeping is housekeeping.
    """
    key = os.path.abspath(directory)
    if key in _SWEPT:
        return
    if len(_SWEPT) >= _SWEPT_MAX:
        _SWEPT.clear()
    _SWEPT.add(key)
    with contextlib.suppress(OSError):
        remove_stale_temp_files(directory)
