"""Batch download behaviour pinned by ``tools/mutation.py batch``'s survivors: each test's
comment names the mutants it kills (see docs/mutation.md for the ones left as equivalent).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import respx

import as2gw_async as gw
from as2gw_async.endpoints.batch import batch_download, mark_read

from .test_batch import FakeGateway, check_result, expected_tree, tree

K = 1000


@pytest.fixture
def dest(tmp_path: Path) -> Path:
    return tmp_path / "out"


@pytest.fixture
def fake(router: respx.MockRouter, authorize: respx.Route, dest: Path) -> FakeGateway:
    gateway = FakeGateway(dest)
    router.route().mock(side_effect=gateway.handle)
    return gateway


async def test_a_batch_download_marks_nothing_read_unless_asked(
    session: gw.Session, fake: FakeGateway, dest: Path
) -> None:
    # kills: `mark_as_read: bool = False` -> `= True` (a plain download would mark every
    # message read on the gateway)
    fake.limit = int(1.5 * K)  # a truncation too: the client-side marks stay off as well
    ids = [fake.add("<a@x>", K), fake.add("<b@x>", K, K)]
    result = await batch_download(session, ids, dest)
    check_result(result, fake, ids)
    assert tree(dest) == expected_tree(fake, ids)
    assert fake.read == set()
    assert not [call for call in fake.calls if call.endswith(" mark")]


@pytest.mark.parametrize("ids", ["<a@x>", b"<a@x>"])
async def test_a_single_id_instead_of_a_list_is_refused_with_its_reason(
    session: gw.Session, ids: str, dest: Path
) -> None:
    # kills: the TypeError's text replaced, emptied or upper-cased, in both functions
    message = r"\Aids must be an iterable of message ids, not a single string\Z"
    with pytest.raises(TypeError, match=message):
        await batch_download(session, ids, dest)
    with pytest.raises(TypeError, match=message):
        await mark_read(session, ids)
    assert not dest.exists()


@pytest.mark.parametrize("bad", ["", None, 7])
async def test_an_id_that_is_not_a_non_empty_string_is_named_in_the_error(
    session: gw.Session, bad: object, dest: Path
) -> None:
    # kills: `ValueError(f"a message id is ...")` -> `ValueError(None)`
    with pytest.raises(ValueError, match=rf"\Aa message id is a non-empty string, not {bad!r}\Z"):
        await batch_download(session, ["<a@x>", bad], dest)  # type: ignore[list-item]
    assert not dest.exists()
