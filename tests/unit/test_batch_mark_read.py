"""mark_read: many messages marked read per request through the batch endpoint."""

from __future__ import annotations

from pathlib import Path

import pytest
import respx

import as2gw_async as gw
from as2gw_async.endpoints.batch import mark_read

from .test_batch import FakeGateway


@pytest.fixture
def fake(router: respx.MockRouter, authorize: respx.Route, tmp_path: Path) -> FakeGateway:
    gateway = FakeGateway(tmp_path / "out")
    router.route().mock(side_effect=gateway.handle)
    return gateway


async def test_marks_a_hundred_messages_per_request(
    session: gw.Session, fake: FakeGateway, tmp_path: Path
) -> None:
    ids = [fake.add(f"<m{n}@x>", 10) for n in range(250)]
    marked = await mark_read(session, ids, scratch_dir=tmp_path)
    assert marked == ids
    assert fake.read == set(ids)
    assert fake.calls == ["batch", "batch", "batch"]
    assert [len(b) for b in fake.batches] == [100, 100, 50]
    assert list(tmp_path.iterdir()) == []  # the archives are thrown away


async def test_unknown_ids_are_left_out(
    session: gw.Session, fake: FakeGateway, tmp_path: Path
) -> None:
    known = fake.add("<known@x>", 10)
    assert await mark_read(session, ["<ghost@x>", known], scratch_dir=tmp_path) == [known]


async def test_resumes_after_truncation_and_marks_an_oversized_message_alone(
    session: gw.Session, fake: FakeGateway, tmp_path: Path
) -> None:
    fake.limit = 100
    small = [fake.add(f"<s{n}@x>", 40) for n in range(3)]
    huge = fake.add("<huge@x>", 80, 80)
    tail = fake.add("<tail@x>", 10)
    ids = [*small, huge, tail]
    marked = await mark_read(session, ids, scratch_dir=tmp_path)
    assert sorted(marked) == sorted(ids)
    assert fake.read == set(ids)
    # (0..1 fit, truncated at s2) -> (s2 fits, huge truncated) -> huge alone -> GET -> tail
    assert "get <huge@x> mark" in fake.calls
    assert fake.calls.count("batch") <= 5


async def test_a_single_string_is_refused(session: gw.Session) -> None:
    with pytest.raises(TypeError, match="iterable"):
        await mark_read(session, "<a@x>")
