"""ECGrid emulator: paging in the three documented shapes, both spellings, filters."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from as2gw_async.emulator.ecgrid import ECGridState

from ._ecgrid import api, fails, ok, state

__all__ = ["api", "state"]

LISTS = [
    ("/v2/parcels/pending-inbox-list", False),
    ("/v2/parcels/inbox-list", False),
    ("/v2/parcels/outbox-list", True),
]


def items_of(body: dict[str, Any], shape: int) -> tuple[list[dict[str, Any]], int | None]:
    """The items and total of one page, read the way the shape documents them."""
    if shape == 1:
        assert isinstance(body["data"], list)
        assert "totalRecords" not in body
        return body["data"], None
    if shape == 2:
        data = body["data"]
        assert set(data) == {"totalRecords", "pageNo", "recordsPerPage", "parcels"}
        return data["parcels"], data["totalRecords"]
    assert isinstance(body["data"], list)
    return body["data"], body["totalRecords"]


@pytest.mark.parametrize("shape", [1, 2, 3])
@pytest.mark.parametrize(("path", "outbound"), LISTS)
async def test_three_pages_in_each_shape(
    api: httpx.AsyncClient, state: ECGridState, shape: int, path: str, outbound: bool
) -> None:
    state.page_shape = shape
    ids = state.seed_inbox(25, outbound=outbound, status="outboxSent" if outbound else "InBoxReady")
    state.seed_inbox(3, outbound=not outbound)  # the other direction never shows up
    seen: list[int] = []
    for page_no, expected in ((1, 10), (2, 10), (3, 5), (4, 0)):
        r = await api.post(path, json={"pageNo": page_no, "recordsPerPage": 10})
        assert r.status_code == 200
        body = r.json()
        assert body["success"] is True
        items, total = items_of(body, shape)
        assert len(items) == expected
        if shape != 1:
            assert total == 25
            pos = body if shape == 3 else body["data"]
            assert (pos["pageNo"], pos["recordsPerPage"]) == (page_no, 10)
        seen += [p["parcelId"] for p in items]
    assert seen == ids


async def test_default_page_size_is_25(api: httpx.AsyncClient, state: ECGridState) -> None:
    state.seed_inbox(30)
    assert len(await ok(api, "POST", "/v2/parcels/inbox-list", json={})) == 25
    # pending-inbox-list without paging fields answers everything
    assert len(await ok(api, "POST", "/v2/parcels/pending-inbox-list", json={"mailboxId": 0})) == 30


@pytest.mark.parametrize("spelling", ["reference", "guide"])
async def test_spellings(api: httpx.AsyncClient, state: ECGridState, spelling: str) -> None:
    state.spelling = spelling
    state.seed_inbox(1, sizes=77)
    (item,) = await ok(api, "POST", "/v2/parcels/inbox-list", json={})
    if spelling == "reference":
        assert set(item) == {
            "parcelId",
            "mailboxId",
            "networkId",
            "fileName",
            "bytes",
            "status",
            "ecGridIdFrom",
            "ecGridIdTo",
            "created",
            "modified",
        }
        assert (item["bytes"], item["ecGridIdFrom"], item["created"]) == (
            77,
            445566,
            "2026-05-07T08:00:00Z",
        )
    else:
        assert set(item) == {
            "parcelId",
            "fileName",
            "fromECGridId",
            "toECGridId",
            "status",
            "receivedDate",
            "size",
        }
        assert (item["size"], item["fromECGridId"], item["receivedDate"]) == (
            77,
            445566,
            "2026-05-07T08:00:00Z",
        )


async def test_filters(api: httpx.AsyncClient, state: ECGridState) -> None:
    ids = state.seed_inbox(5)  # created 08:00:00 .. 08:00:04
    state.update(ids[1], "InBoxTransferred")
    state.add_parcel(
        "odd.edi", b"x", status="SomethingNew", ecgrid_id_from=999, created=ids and 1.0
    )
    pick = await ok(
        api,
        "POST",
        "/v2/parcels/inbox-list",
        json={"beginDate": "2026-05-07T08:00:01Z", "endDate": "2026-05-07T08:00:03Z"},
    )
    assert [p["parcelId"] for p in pick] == ids[1:4]
    pick = await ok(api, "POST", "/v2/parcels/inbox-list", json={"status": "InBoxTransferred"})
    assert [p["parcelId"] for p in pick] == [ids[1]]
    pick = await ok(api, "POST", "/v2/parcels/inbox-list", json={"ecGridIdFrom": 999})
    assert [p["status"] for p in pick] == ["SomethingNew"]
    assert await ok(api, "POST", "/v2/parcels/inbox-list", json={"mailboxId": 5}) == []
    assert len(await ok(api, "POST", "/v2/parcels/inbox-list", json={"mailboxId": 1001})) == 6


@pytest.mark.parametrize(
    "body",
    [
        {"pageNo": 0},
        {"recordsPerPage": 0},
        {"recordsPerPage": 501},
        {"pageNo": "x"},
        {"beginDate": "yesterday"},
    ],
)
async def test_bad_paging(api: httpx.AsyncClient, body: dict[str, object]) -> None:
    await fails(api, "POST", "/v2/parcels/inbox-list", 400, "InvalidParameter", json=body)
