"""mft presigned downloads against the MFT emulator and its object store (own port)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from as2gw_async import NotFoundError, PermissionDeniedError, mft
from as2gw_async.emulator._bodies import GeneratedBody
from as2gw_async.emulator.mft import MftEmulator

from ._mft_client import session, sha256

HOSTILE = ["../../etc/passwd", "/abs/evil.sh", "..\\..\\win.ini", "CON", ".hidden", "a/../../b"]


@pytest.mark.parametrize("naming", ["current", "legacy"])
async def test_attachments_arrive_byte_exact_with_no_credentials_at_the_store(
    mft_emulator: MftEmulator, tmp_path: Path, naming: str
) -> None:
    mft_emulator.naming = naming
    bodies = [os.urandom(300_000), b"small", b""]
    mid = mft_emulator.deliver(attachments=[("a.bin", bodies[0]), ("b.txt", bodies[1]), ("c", b"")])
    async with session(mft_emulator) as s:
        files = await s.inbox.download_attachments(mid, tmp_path / "out")
    assert [f.name for f in files] == ["a.bin", "b.txt", "c"]
    assert [f.path.read_bytes() for f in files] == bodies
    assert [f.size for f in files] == [len(b) for b in bodies]
    assert mft_emulator.store_stats.authorization_headers == 0
    assert mft_emulator.store_stats.downloads == 3
    assert not mft_emulator.gateway.is_fetched(mid)  # downloading never marks read


async def test_hostile_names_stay_inside_dest(mft_emulator: MftEmulator, tmp_path: Path) -> None:
    (mid,) = mft_emulator.seed_inbox(1, attachments=len(HOSTILE), names=HOSTILE, sizes=[10])
    dest = tmp_path / "dest"
    async with session(mft_emulator) as s:
        files = await s.inbox.download_attachments(mid, dest)
    assert len(files) == len(HOSTILE)
    for f in files:
        assert f.path.resolve().parent == dest.resolve()
        assert "/" not in f.name
        assert "\\" not in f.name
    assert sorted(p.name for p in dest.iterdir()) == sorted(f.name for f in files)
    assert [p for p in tmp_path.rglob("*") if p.is_file() and dest not in p.parents] == []


async def test_a_link_that_expires_mid_run_is_refreshed_and_the_file_is_byte_exact(
    mft_emulator: MftEmulator, tmp_path: Path
) -> None:
    big = GeneratedBody(size=3 * 1024 * 1024, seed=7)
    mid = mft_emulator.deliver(attachments=[("big.bin", big), ("after.txt", b"after")])
    # The body breaks off after 1 MiB; by then every link issued so far has expired.
    mft_emulator.store_faults.reset(after_bytes=1 << 20, times=1)
    expired = False

    def progress(done: int, total: int | None) -> None:
        nonlocal expired
        if not expired and done > 0:
            mft_emulator.expire_links()
            expired = True

    async with session(mft_emulator) as s:
        files = await s.inbox.download_attachments(mid, tmp_path, progress=progress)
        attachment_calls = mft_emulator.stats.routes["attachments"]
    assert sha256(files[0].path) == big.sha256()
    assert files[0].size == big.size
    assert files[1].path.read_bytes() == b"after"
    assert mft_emulator.store_stats.expired >= 1
    assert mft_emulator.store_stats.ranges >= 1  # resumed, not started again
    assert attachment_calls >= 2  # fresh links were fetched from the gateway
    assert mft_emulator.store_stats.authorization_headers == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["after.txt", "big.bin"]


async def test_a_reset_mid_body_is_retried(mft_emulator: MftEmulator, tmp_path: Path) -> None:
    body = os.urandom(500_000)
    mid = mft_emulator.deliver(attachments=[("a.bin", body)])
    mft_emulator.store_faults.reset(after_bytes=100_000, times=2)
    async with session(mft_emulator) as s:
        (f,) = await s.inbox.download_attachments(mid, tmp_path)
    assert f.path.read_bytes() == body
    assert mft_emulator.store_stats.resets == 2


async def test_a_link_refused_for_good_is_permission_denied_and_leaves_nothing(
    mft_emulator: MftEmulator, tmp_path: Path
) -> None:
    mid = mft_emulator.deliver(attachments=[("a.bin", b"x" * 1000)])
    mft_emulator.store_faults.fail("download", 403, times=100)
    async with session(mft_emulator) as s:
        with pytest.raises(PermissionDeniedError):
            await s.inbox.download_attachments(mid, tmp_path)
    assert list(tmp_path.iterdir()) == []  # no partial or temporary file


async def test_existing_files_are_kept_unless_overwrite(
    mft_emulator: MftEmulator, tmp_path: Path
) -> None:
    mid = mft_emulator.deliver(attachments=[("a.txt", b"new")])
    (tmp_path / "a.txt").write_bytes(b"old")
    async with session(mft_emulator) as s:
        with pytest.raises(FileExistsError):
            await s.inbox.download_attachments(mid, tmp_path)
        assert (tmp_path / "a.txt").read_bytes() == b"old"
        (f,) = await s.inbox.download_attachments(mid, tmp_path, overwrite=True)
    assert f.path.read_bytes() == b"new"


async def test_mdn_of_a_sent_message_and_missing_ones(
    mft_emulator: MftEmulator, tmp_path: Path
) -> None:
    gw = mft_emulator.gateway
    async with session(mft_emulator) as s:
        r = await s.send("MyStation", "MyPartner", mft.Upload(b"x", name="a.txt"))
        gw.release(r.message_id, "deliver")
        mdn = await s.outbox.download_mdn(r.message_id, f"{tmp_path / 'receipts'}/")
        assert mdn.path.parent == tmp_path / "receipts"
        assert mdn.path.read_bytes() == gw.message(r.message_id).mdn.body
        out = await s.outbox.download_attachments(r.message_id, tmp_path / "sent")
        assert out[0].path.read_bytes() == b"x"
        with pytest.raises(NotFoundError, match="MDN not found"):
            await s.inbox.download_mdn("<nope@x>", tmp_path)
    assert mft_emulator.store_stats.authorization_headers == 0
