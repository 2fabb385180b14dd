"""ECGrid emulator: the 8 interchange calls and the administration lists."""

from __future__ import annotations

import httpx

from as2gw_async.emulator.ecgrid import ECGridState

from ._ecgrid import api, fails, ok, state

__all__ = ["api", "state"]

ISA = (
    "ISA*00*          *00*          *ZZ*ACMECORP       *ZZ*BUYERINC       "
    "*260501*1030*^*00501*000000001*0*P*>"
)


async def test_get_and_lists(api: httpx.AsyncClient, state: ECGridState) -> None:
    inbound = state.seed_inbox(120)
    out = state.seed_inbox(2, outbound=True, status="outboxPending")
    first = state.parcel(inbound[0]).interchanges[0]
    data = await ok(api, "GET", f"/v2/interchanges/{first.interchange_id}")
    assert data == {
        "interchangeId": first.interchange_id,
        "parcelId": inbound[0],
        "sender": "445566",
        "receiver": "112233",
        "standard": "X12",
        "documentType": "850",
        "status": "Active",
        "created": "2026-05-07T08:00:00Z",
    }
    page = await ok(api, "POST", "/v2/interchanges/inbox-list", json={})
    assert (page["totalRecords"], page["pageNo"], page["recordsPerPage"]) == (120, 1, 100)
    assert len(page["interchanges"]) == 100
    page = await ok(api, "POST", "/v2/interchanges/inbox-list", json={"pageNo": 2})
    assert [i["parcelId"] for i in page["interchanges"]] == inbound[100:]
    page = await ok(api, "POST", "/v2/interchanges/outbox-list", json={"recordsPerPage": 500})
    assert [i["parcelId"] for i in page["interchanges"]] == out
    await fails(
        api,
        "POST",
        "/v2/interchanges/inbox-list",
        400,
        "InvalidParameter",
        json={"recordsPerPage": 501},
    )
    await fails(api, "GET", "/v2/interchanges/1", 404, "ObjectNotFound")


async def test_cancel_resend_manifest(api: httpx.AsyncClient, state: ECGridState) -> None:
    (out,) = state.seed_inbox(1, outbound=True, status="outboxPending")
    (inbound,) = state.seed_inbox(1)
    ich = state.parcel(out).interchanges[0]
    in_ich = state.parcel(inbound).interchanges[0]
    assert await ok(api, "POST", f"/v2/interchanges/cancel/{ich.interchange_id}") is True
    assert ich.status == "Cancelled"
    await fails(
        api, "POST", f"/v2/interchanges/cancel/{ich.interchange_id}", 400, "InvalidParameter"
    )
    await fails(
        api, "POST", f"/v2/interchanges/cancel/{in_ich.interchange_id}", 400, "InvalidParameter"
    )
    assert await ok(api, "POST", f"/v2/interchanges/resend/{in_ich.interchange_id}") is True
    assert in_ich.resends == 1
    (group,) = await ok(api, "GET", f"/v2/interchanges/get-manifest/{in_ich.interchange_id}")
    assert (
        group["functionalGroup"],
        group["transactionSetType"],
        group["transactionSetCount"],
    ) == ("PO", "850", 1)


async def test_header_and_date(api: httpx.AsyncClient) -> None:
    header = await ok(api, "POST", "/v2/interchanges/get-header", json={"interchangeHeader": ISA})
    assert header["senderId"] == "ACMECORP       "
    assert header["receiverIdQualifier"] == "ZZ"
    assert header["controlNumber"] == "000000001"
    assert header["componentElementSeparator"] == ">"
    assert len(header) == 16
    assert await ok(api, "POST", "/v2/interchanges/get-date", json={"interchangeHeader": ISA}) == (
        "2026-05-01T10:30:00Z"
    )
    for bad in ("", "GS*PO", ISA.replace("260501", "2605xx"), "ISA*00*short"):
        await fails(
            api,
            "POST",
            "/v2/interchanges/get-date",
            400,
            "InvalidParameter",
            json={"interchangeHeader": bad},
        )


async def test_admin_lists(api: httpx.AsyncClient, state: ECGridState) -> None:
    page = await ok(
        api, "POST", "/v2/mailboxes/list", json={"networkId": 42, "recordsPerPage": 1, "pageNo": 2}
    )
    assert (page["totalRecords"], page["pageNo"], page["recordsPerPage"]) == (2, 2, 1)
    assert [m["mailboxId"] for m in page["mailboxes"]] == [1002]
    assert (await ok(api, "POST", "/v2/mailboxes/list", json={"status": "Suspended"}))[
        "mailboxes"
    ] == []
    page = await ok(api, "POST", "/v2/networks/list", json={})
    assert [n["networkId"] for n in page["networks"]] == [42]
    assert (await ok(api, "GET", "/v2/mailboxes/1001"))["uniqueId"] == "DEMOMBOX01"
    assert (await ok(api, "GET", "/v2/networks/42"))["companyName"] == "Demo Network"
    await fails(api, "GET", "/v2/mailboxes/7", 404, "ObjectNotFound")
