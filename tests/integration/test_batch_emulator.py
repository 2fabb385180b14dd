"""Batch download against the emulator: splitting, 206 resumption, fallback, read marks."""

from __future__ import annotations

import hashlib
import random
import zlib
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

import as2gw_async as gw
from as2gw_async.emulator import EmulatorServer, FaultPlan, Gateway, GeneratedBody
from as2gw_async.endpoints.batch import batch_download
from as2gw_async.files import safe_message_dirname

FAST = gw.RetryPolicy(max_retries=3, initial_delay=0.0, max_delay=0.0)
K = 1000


class Recorder:
    """Every batch response's status and truncation header, in order."""

    def __init__(self) -> None:
        self.batches: list[tuple[int, str | None]] = []

    async def __call__(self, response: httpx.Response) -> None:
        if response.request.url.path.endswith("/batch/attachments"):
            header = response.headers.get("x-batch-truncation-index")
            self.batches.append((response.status_code, header))


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
async def session(as2gw_emulator: EmulatorServer, recorder: Recorder) -> AsyncIterator[gw.Session]:
    async with (
        httpx.AsyncClient(event_hooks={"response": [recorder]}, timeout=30) as client,
        gw.Session(
            as2gw_emulator.username,
            as2gw_emulator.password,
            base_url=as2gw_emulator.base_url,
            rate_limit=None,
            retry_policy=FAST,
            http_client=client,
        ) as s,
    ):
        yield s


def deliver(gateway: Gateway, name: str, *sizes: int) -> str:
    return gateway.deliver(
        attachments=[
            (f"{name}-{k}.bin", GeneratedBody(size=size, seed=zlib.crc32(f"{name}-{k}".encode())))
            for k, size in enumerate(sizes)
        ],
        message_id=f"<{name}@partner.example>",
    )


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def check_on_disk(result: gw.BatchResult, gateway: Gateway, dest: Path, ids: list[str]) -> None:
    """Exactly the gateway's attachments, byte for byte, and nothing else under ``dest``."""
    expected: set[Path] = set()
    for mid in ids:
        message = gateway.message("received", mid)
        files = result.files[mid]
        assert [f.name for f in files] == [a.name for a in message.attachments], mid
        for k, f in enumerate(files):
            assert f.path == dest / safe_message_dirname(mid) / message.attachments[k].name
            assert f.size == message.attachments[k].size
            assert sha256(f.path) == gateway.attachment_sha256("received", mid, k)
            expected.add(f.path)
    assert {p for p in dest.rglob("*") if p.is_file()} == expected  # no temp files, no dupes


@pytest.mark.as2gw_emulator(seed_messages=230)
async def test_more_than_100_ids_with_mark_as_read(
    session: gw.Session, as2gw_gateway: Gateway, tmp_path: Path, recorder: Recorder
) -> None:
    ids = [m.as2_message_id for m in as2gw_gateway.messages("received")]
    assert len(ids) == 230
    result = await batch_download(session, ids, tmp_path, mark_as_read=True, concurrency=3)
    assert recorder.batches == [(200, None)] * 3
    assert result.requests == 3
    assert result.errors == {}
    check_on_disk(result, as2gw_gateway, tmp_path, ids)
    assert all(as2gw_gateway.is_read(mid) for mid in ids)


@pytest.mark.as2gw_emulator(seed_messages=5)
async def test_through_the_received_folder_without_marking(
    session: gw.Session, as2gw_gateway: Gateway, tmp_path: Path
) -> None:
    ids = [m.as2_message_id for m in as2gw_gateway.messages("received")]
    result = await session.received.batch_download([*ids, "<unknown@x>"], tmp_path)
    check_on_disk(result, as2gw_gateway, tmp_path, ids)
    assert result.errors == {"<unknown@x>": "No received AS2 message found with ID <unknown@x>"}
    assert not any(as2gw_gateway.is_read(mid) for mid in ids)


@pytest.mark.as2gw_emulator(batch_limit=10 * K)
async def test_206_at_0_0_falls_back_to_single_attachments(
    session: gw.Session, as2gw_gateway: Gateway, tmp_path: Path, recorder: Recorder
) -> None:
    ids = [deliver(as2gw_gateway, "big", 6 * K, 6 * K, 6 * K), deliver(as2gw_gateway, "b", K)]
    result = await batch_download(session, ids, tmp_path, mark_as_read=True)
    assert recorder.batches == [(206, "(0,0)"), (200, None)]
    # 2 batches + the attachment count + 2 single attachments + marking "big" read
    assert result.requests == 6
    check_on_disk(result, as2gw_gateway, tmp_path, ids)
    assert all(as2gw_gateway.is_read(mid) for mid in ids)


@pytest.mark.as2gw_emulator(batch_limit=int(6.5 * K))
async def test_206_in_the_middle_and_at_a_message_s_last_attachment(
    session: gw.Session, as2gw_gateway: Gateway, tmp_path: Path, recorder: Recorder
) -> None:
    ids = [
        deliver(as2gw_gateway, "a", K),
        deliver(as2gw_gateway, "b", K, K, K, 3 * K),
        deliver(as2gw_gateway, "c", K),
    ]
    result = await batch_download(session, ids, tmp_path, mark_as_read=True)
    assert recorder.batches == [(206, "(1,2)"), (206, "(0,3)"), (200, None)]
    check_on_disk(result, as2gw_gateway, tmp_path, ids)
    assert all(as2gw_gateway.is_read(mid) for mid in ids)


@pytest.mark.as2gw_emulator(batch_limit=int(3.5 * K))
async def test_206_at_the_last_message(
    session: gw.Session, as2gw_gateway: Gateway, tmp_path: Path, recorder: Recorder
) -> None:
    ids = [
        deliver(as2gw_gateway, "a", K),
        deliver(as2gw_gateway, "b", K),
        deliver(as2gw_gateway, "c", K, K, K),
    ]
    result = await batch_download(session, ids, tmp_path)
    assert recorder.batches == [(206, "(2,0)"), (200, None)]
    check_on_disk(result, as2gw_gateway, tmp_path, ids)
    assert not any(as2gw_gateway.is_read(mid) for mid in ids)


@pytest.mark.as2gw_emulator(batch_limit=8 * K)
@pytest.mark.parametrize("seed", range(3))
async def test_random_inboxes(
    session: gw.Session, as2gw_gateway: Gateway, tmp_path: Path, seed: int
) -> None:
    rng = random.Random(seed)
    ids = [
        deliver(as2gw_gateway, f"m{n}", *(rng.choice([1, 2, 3, 5, 9]) * K for _ in range(k)))
        for n, k in enumerate(rng.choices([1, 2, 3, 6], k=40))
    ]
    unknown = [f"<gone{n}@x>" for n in range(3)]
    asked = ids + unknown
    rng.shuffle(asked)
    result = await batch_download(session, asked, tmp_path, mark_as_read=True, concurrency=2)
    assert set(result.errors) == set(unknown)
    check_on_disk(result, as2gw_gateway, tmp_path, ids)
    assert all(as2gw_gateway.is_read(mid) for mid in ids)


@pytest.mark.as2gw_emulator(batch_limit=4 * K)
async def test_broken_batch_bodies_are_fetched_again(
    session: gw.Session, as2gw_gateway: Gateway, tmp_path: Path
) -> None:
    ids = [deliver(as2gw_gateway, f"m{n}", K, 2 * K) for n in range(4)]
    as2gw_gateway.faults = FaultPlan(rate=0.0).script("short", "reset", "503", route="batch")
    result = await batch_download(session, ids, tmp_path, mark_as_read=True)
    check_on_disk(result, as2gw_gateway, tmp_path, ids)
    assert all(as2gw_gateway.is_read(mid) for mid in ids)
    assert session.stats.retries == 3


async def test_a_local_failure_marks_unread_what_is_not_on_disk(
    session: gw.Session, as2gw_gateway: Gateway, tmp_path: Path
) -> None:
    ids = [deliver(as2gw_gateway, name, K) for name in ("a", "b", "c")]
    taken = tmp_path / safe_message_dirname(ids[1]) / "b-0.bin"
    taken.parent.mkdir(parents=True)
    taken.write_bytes(b"someone else's")
    with pytest.raises(FileExistsError):
        await batch_download(session, ids, tmp_path, mark_as_read=True)
    assert [as2gw_gateway.is_read(mid) for mid in ids] == [True, False, False]
    assert taken.read_bytes() == b"someone else's"
