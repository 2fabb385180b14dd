"""Scratch data stays out of the shared system temp directory, private, and swept (13.5).

``mark_read`` used to write the archives it only reads to ``/tmp/.mark-read.*.part`` with
mode 0644, left behind by a crash; ``send`` spooled streams to ``/tmp`` too. Scratch files
now go to the caller's scratch directory or the user's cache directory (never the shared
temp directory), or beside the download they belong to; they are created 0600, and the
ones a crash left are removed by the next run.
"""

from __future__ import annotations

import json
import os
import stat
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import respx

import as2gw_async as gw
from as2gw_async.endpoints.batch import batch_download, mark_read

from .test_batch import FakeGateway

STALE = 2 * 3600  # seconds: older than any write in progress


@pytest.fixture
def dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """A private system temp dir and a private user cache dir, both empty."""
    system = tmp_path / "systmp"
    cache = tmp_path / "cache"
    system.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(system))
    monkeypatch.delenv("AS2GW_SCRATCH_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    monkeypatch.setenv("LOCALAPPDATA", str(cache))  # Windows
    return {"system": system, "cache": cache}


@pytest.fixture
def fake(router: respx.MockRouter, authorize: respx.Route, tmp_path: Path) -> FakeGateway:
    gateway = FakeGateway(tmp_path / "out")
    router.route().mock(side_effect=gateway.handle)
    return gateway


def files_under(directory: Path) -> dict[str, int]:
    """Every file below *directory* with its permission bits."""
    if not directory.exists():
        return {}
    return {
        str(p.relative_to(directory)): stat.S_IMODE(p.stat().st_mode)
        for p in directory.rglob("*")
        if p.is_file()
    }


def watch_archives(fake: FakeGateway, roots: list[Path]) -> list[dict[str, int]]:
    """Make the batch answers stream; snapshot the files under *roots* mid-body."""
    seen: list[dict[str, int]] = []

    def batch(request: httpx.Request) -> httpx.Response:
        fake.calls.append("batch")
        response = fake.batch(
            json.loads(request.content), request.url.params.get("markAsRead") == "true"
        )
        data = response.content

        async def body() -> AsyncIterator[bytes]:
            yield data[:10]
            seen.append({f"{r.name}/{k}": v for r in roots for k, v in files_under(r).items()})
            yield data[10:]

        headers = dict(response.headers)
        return httpx.Response(response.status_code, content=body(), headers=headers)

    fake.batch_override = batch
    return seen


def stale_leftover(directory: Path, name: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f".{name}.0123abcd.part"
    path.write_bytes(b"left by a crash")
    old = time.time() - STALE
    os.utime(path, (old, old))
    return path


async def test_mark_read_keeps_its_archive_out_of_the_system_temp_dir(
    session: gw.Session, fake: FakeGateway, dirs: dict[str, Path]
) -> None:
    ids = [fake.add("<a@x>", 100)]
    seen = watch_archives(fake, [dirs["system"], dirs["cache"]])
    assert await mark_read(session, ids) == ids
    [snapshot] = seen
    assert not any(k.startswith("systmp/") for k in snapshot), snapshot
    [(name, mode)] = snapshot.items()
    assert name.startswith("cache/as2gw_async/")
    assert name.endswith(".part")
    assert mode == 0o600
    assert files_under(dirs["cache"]) == {}  # thrown away afterwards


async def test_mark_read_uses_the_scratch_dir_it_is_given(
    session: gw.Session, fake: FakeGateway, dirs: dict[str, Path], tmp_path: Path
) -> None:
    ids = [fake.add("<a@x>", 100)]
    seen = watch_archives(fake, [tmp_path / "state"])
    await mark_read(session, ids, scratch_dir=tmp_path / "state")
    [snapshot] = seen
    assert list(snapshot.values()) == [0o600]
    assert files_under(dirs["cache"]) == files_under(dirs["system"]) == {}


async def test_mark_read_sweeps_what_a_crash_left(
    session: gw.Session, fake: FakeGateway, dirs: dict[str, Path], tmp_path: Path
) -> None:
    ids = [fake.add("<a@x>", 100)]
    state = tmp_path / "state"
    leftover = stale_leftover(state, "mark-read.zip")
    fresh = state / ".mark-read.zip.feedbeef.part"  # another process, writing right now
    fresh.write_bytes(b"busy")
    await mark_read(session, ids, scratch_dir=state)
    assert not leftover.exists()
    assert fresh.exists()


async def test_batch_download_archive_is_private_and_swept(
    session: gw.Session, fake: FakeGateway, dirs: dict[str, Path], tmp_path: Path
) -> None:
    dest = tmp_path / "out"
    leftover = stale_leftover(dest, "batch.zip")
    ids = [fake.add("<a@x>", 100)]
    seen = watch_archives(fake, [dest])
    await batch_download(session, ids, dest)
    [snapshot] = seen
    assert [v for k, v in snapshot.items() if k.endswith(".part")] == [0o600]  # swept first
    assert not leftover.exists()
    assert files_under(dirs["system"]) == {}


async def test_download_attachments_archive_is_private(
    session: gw.Session, router: respx.MockRouter, dirs: dict[str, Path], tmp_path: Path
) -> None:
    fake = FakeGateway(tmp_path / "out")
    mid = fake.add("<a@x>", 100)
    seen: list[dict[str, int]] = []
    data = fake.batch([mid], False).content

    async def body() -> AsyncIterator[bytes]:
        yield data[:10]
        seen.append(files_under(tmp_path / "out"))
        yield data[10:]

    router.get(url__regex=r"/attachments/all$").mock(
        side_effect=lambda _r: httpx.Response(200, content=body())
    )
    await session.received.download_attachments(mid, tmp_path / "out")
    [snapshot] = seen
    assert list(snapshot.values()) == [0o600]


async def test_send_spools_streams_to_the_scratch_dir(
    session: gw.Session, router: respx.MockRouter, dirs: dict[str, Path]
) -> None:
    seen: list[dict[str, int]] = []

    def accept(request: httpx.Request) -> httpx.Response:
        seen.append({**files_under(dirs["cache"]), **files_under(dirs["system"])})
        assert files_under(dirs["system"]) == {}, "spooled to the system temp dir"
        return httpx.Response(
            202, headers={"Link": "https://api.test/v1/message/sent/%3Cm%40x%3E"}, json={}
        )

    async def stream() -> AsyncIterator[bytes]:
        yield b"abc"

    router.post("/message/S/P").mock(side_effect=accept)
    await session.send("S", "P", gw.Upload(stream(), name="s.txt"))
    [snapshot] = seen
    assert files_under(dirs["system"]) == {}
    assert list(snapshot.values()) == [0o600]
    assert files_under(dirs["cache"]) == {}  # removed after the send
