"""The shared converter on the shapes the MFT models added: lists of plain values, JSON
objects kept as they are, and fields inherited from a base class."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from attrs import define

from as2gw_async import InvalidRecordError
from as2gw_async.converter import structure


@define(frozen=True, kw_only=True)
class _Base:
    name: str
    paths: tuple[str, ...] = ()


@define(frozen=True, kw_only=True)
class _Child(_Base):
    headers: Mapping[str, Any] | None = None
    count: int | None = None


def test_inherited_fields_lists_of_values_and_objects() -> None:
    got = structure({"name": "n", "paths": ["a", 7], "headers": {"A": "b"}, "count": 2}, _Child)
    assert got == _Child(name="n", paths=("a", "7"), headers={"A": "b"}, count=2)
    assert structure({"name": "n"}, _Child) == _Child(name="n")


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"name": "n", "paths": "a"}, "paths must be a list"),
        ({"name": "n", "paths": [None]}, "paths must be a string"),
        ({"name": "n", "headers": ["x"]}, "headers must be an object"),
    ],
)
def test_values_that_do_not_fit(body: dict[str, Any], reason: str) -> None:
    with pytest.raises(InvalidRecordError, match=reason):
        structure(body, _Child, endpoint="GET /x")
