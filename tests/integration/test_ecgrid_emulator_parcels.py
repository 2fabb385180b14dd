"""ECGrid emulator: the 15 parcel calls and the inbound lifecycle."""

from __future__ import annotations

import base64
import json

import httpx
import pytest

from as2gw_async.emulator.ecgrid import HOSTILE_FILE_NAMES, ECGridState

from ._ecgrid import api, fails, ok, state

__all__ = ["api", "state"]


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


async def pending_ids(api: httpx.AsyncClient) -> list[int]:
    return [p["parcelId"] for p in await ok(api, "POST", "/v2/parcels/pending-inbox-list", json={})]


async def test_upload_decodes_and_stores(api: httpx.AsyncClient, state: ECGridState) -> None:
    payload = b"ISA*00*          *00*          *ZZ*777            *ZZ*888            *x~"
    pid = await ok(
        api,
        "POST",
        "/v2/parcels/upload",
        json={
            "fileName": "po.edi",
            "content": b64(payload),
            "bytes": len(payload),
            "ecGridIdFrom": 1,
            "ecGridIdTo": 2,
            "mailboxId": 1001,
        },
    )
    assert isinstance(pid, int)
    parcel = state.parcel(pid)
    assert parcel.read() == payload
    assert (parcel.status, parcel.outbound, parcel.ecgrid_id_from, parcel.ecgrid_id_to) == (
        "outboxPending",
        True,
        1,
        2,
    )
    # without ids, routing follows the ISA segment (ISA06 / ISA08)
    pid2 = await ok(
        api, "POST", "/v2/parcels/upload", json={"fileName": "po2.edi", "content": b64(payload)}
    )
    assert (state.parcel(pid2).ecgrid_id_from, state.parcel(pid2).ecgrid_id_to) == (777, 888)
    # the guide's spelling of the ids
    pid3 = await ok(
        api,
        "POST",
        "/v2/parcels/upload",
        json={"fileName": "x.edi", "content": "", "fromECGridId": 5, "toECGridId": 6},
    )
    assert (
        state.parcel(pid3).ecgrid_id_from,
        state.parcel(pid3).ecgrid_id_to,
        state.parcel(pid3).size,
    ) == (5, 6, 0)
    assert state.stats.uploads == 3
    assert state.stats.uploaded_bytes == 2 * len(payload)


async def test_upload_answer_object_switch(api: httpx.AsyncClient, state: ECGridState) -> None:
    state.upload_answer = "object"
    data = await ok(
        api, "POST", "/v2/parcels/upload", json={"fileName": "a.edi", "content": b64(b"abc")}
    )
    assert data == {
        "parcelId": data["parcelId"],
        "fileName": "a.edi",
        "status": "outboxPending",
        "size": 3,
    }


async def test_upload_body_parsed_incrementally_with_escapes(
    api: httpx.AsyncClient, state: ECGridState
) -> None:
    data = bytes(range(256)) * 40
    text = b64(data).replace("/", "\\/")  # some encoders escape "/"
    body = json.dumps({"bytes": len(data), "fileName": "s.bin", "mailboxId": None})[:-1]
    body += ', "content": "' + text + '", "extra": {"a": [1, "}"]}}'
    raw = body.encode()

    async def chunks():  # type: ignore[no-untyped-def]
        for i in range(0, len(raw), 7):
            yield raw[i : i + 7]

    pid = await ok(
        api,
        "POST",
        "/v2/parcels/upload",
        content=chunks(),
        headers={"Content-Type": "application/json"},
    )
    assert state.parcel(pid).read() == data


@pytest.mark.parametrize(
    ("body", "why"),
    [
        ({"content": "aGk="}, "fileName"),
        ({"fileName": "a"}, "content"),
        ({"fileName": "a", "content": "not base64!"}, "base64"),
        ({"fileName": "a", "content": "aGk"}, "base64"),
        ({"fileName": "a", "content": "aGk=", "bytes": 3}, "does not match"),
        ({"fileName": "a", "content": "aGk=", "ecGridIdTo": "x"}, "integer"),
    ],
)
async def test_upload_rejects(
    api: httpx.AsyncClient, state: ECGridState, body: dict[str, object], why: str
) -> None:
    r = await fails(api, "POST", "/v2/parcels/upload", 400, "InvalidParameter", json=body)
    assert why in r.json()["message"]
    assert state.stats.uploads == 0


async def test_upload_rejects_non_object(api: httpx.AsyncClient) -> None:
    await fails(api, "POST", "/v2/parcels/upload", 400, "InvalidParameter", content=b"[1]")
    await fails(
        api, "POST", "/v2/parcels/upload", 400, "InvalidParameter", content=b'{"fileName": "a"'
    )


async def test_download_reference_spelling(api: httpx.AsyncClient, state: ECGridState) -> None:
    parcel = state.add_parcel("inv.edi", b"hello world")
    r = await api.post("/v2/parcels/download", json={"parcelId": parcel.parcel_id})
    assert r.headers["content-length"] == str(len(r.content))
    assert r.json() == {
        "success": True,
        "data": {
            "parcelId": parcel.parcel_id,
            "fileName": "inv.edi",
            "content": b64(b"hello world"),
            "bytes": 11,
        },
        "errorCode": "",
        "message": "",
    }


async def test_download_guide_spelling(api: httpx.AsyncClient, state: ECGridState) -> None:
    state.spelling = "guide"
    state.success_fields = "absent"
    parcel = state.add_parcel("inv.edi", b"hello")
    data = await ok(api, "POST", "/v2/parcels/download", json={"parcelId": parcel.parcel_id})
    assert data == {
        "parcelId": parcel.parcel_id,
        "fileName": "inv.edi",
        "content": b64(b"hello"),
        "contentEncoding": "Base64",
        "size": 5,
    }


async def test_inbound_lifecycle(api: httpx.AsyncClient, state: ECGridState) -> None:
    a, b = state.seed_inbox(2)
    assert await pending_ids(api) == [a, b]
    await ok(api, "POST", "/v2/parcels/download", json={"parcelId": a})
    # downloaded but not confirmed: still pending, delivered again on the next poll
    assert await pending_ids(api) == [a, b]
    assert (await ok(api, "GET", f"/v2/parcels/{a}"))["status"] == "InBoxReady"
    assert await ok(api, "POST", "/v2/parcels/confirm", json={"parcelId": a}) is True
    assert await pending_ids(api) == [b]
    assert (await ok(api, "GET", f"/v2/parcels/{a}"))["status"] == "InBoxTransferred"
    assert state.parcel(a).confirmed
    assert await ok(api, "POST", "/v2/parcels/confirm", json={"parcelId": a}) is True  # no-op
    assert state.parcel(a).status == "InBoxTransferred"
    assert await ok(api, "POST", f"/v2/parcels/reset-to-inbox/{a}") is True
    assert await pending_ids(api) == [a, b]
    assert (state.parcel(a).downloads, state.parcel(a).confirms, state.parcel(b).downloads) == (
        1,
        2,
        0,
    )
    assert (state.stats.downloads, state.stats.confirms) == (1, 2)


async def test_confirm_answer_object_switch(api: httpx.AsyncClient, state: ECGridState) -> None:
    state.confirm_answer = "object"
    (pid,) = state.seed_inbox(1)
    assert await ok(api, "POST", "/v2/parcels/confirm", json={"parcelId": pid}) == {
        "parcelId": pid,
        "status": "InBoxTransferred",
    }


async def test_unknown_parcel(api: httpx.AsyncClient) -> None:
    for method, path, body in [
        ("GET", "/v2/parcels/1", None),
        ("GET", "/v2/parcels/manifest/1", None),
        ("POST", "/v2/parcels/cancel/1", None),
        ("POST", "/v2/parcels/reset-to-inbox/1", None),
        ("POST", "/v2/parcels/download", {"parcelId": 1}),
        ("POST", "/v2/parcels/confirm", {"parcelId": 1}),
        ("POST", "/v2/parcels/update", {"parcelId": 1}),
        ("POST", "/v2/parcels/acknowledgment-note", {"parcelId": 1, "note": "n"}),
        ("POST", "/v2/parcels/set-mailbagcontrolid", {"parcelId": 1, "mailbagControlId": "m"}),
    ]:
        await fails(api, method, path, 404, "ObjectNotFound", json=body)
    await fails(api, "POST", "/v2/parcels/download", 400, "InvalidParameter", json={})


async def test_get_and_manifest(api: httpx.AsyncClient, state: ECGridState) -> None:
    parcel = state.add_parcel("a.edi", b"x" * 10, document_type="810")
    data = await ok(api, "GET", f"/v2/parcels/{parcel.parcel_id}")
    assert data == {
        "parcelId": parcel.parcel_id,
        "mailboxId": 1001,
        "networkId": 42,
        "fileName": "a.edi",
        "bytes": 10,
        "status": "InBoxReady",
        "ecGridIdFrom": 445566,
        "ecGridIdTo": 112233,
        "created": data["created"],
        "modified": data["modified"],
    }
    (item,) = await ok(api, "GET", f"/v2/parcels/manifest/{parcel.parcel_id}")
    assert item == {
        "interchangeId": parcel.interchanges[0].interchange_id,
        "sender": "445566",
        "receiver": "112233",
        "documentType": "810",
        "count": 1,
    }


async def test_cancel_only_undelivered_outbound(api: httpx.AsyncClient, state: ECGridState) -> None:
    out = state.add_parcel("o.edi", b"o", status="outboxPending", outbound=True)
    sent = state.add_parcel("s.edi", b"s", status="outboxSent", outbound=True)
    inbound = state.add_parcel("i.edi", b"i")
    assert await ok(api, "POST", f"/v2/parcels/cancel/{out.parcel_id}") is True
    assert state.parcel(out.parcel_id).status == "Cancelled"
    await fails(api, "POST", f"/v2/parcels/cancel/{out.parcel_id}", 400, "InvalidParameter")
    await fails(api, "POST", f"/v2/parcels/cancel/{sent.parcel_id}", 400, "InvalidParameter")
    await fails(api, "POST", f"/v2/parcels/cancel/{inbound.parcel_id}", 400, "InvalidParameter")
    await fails(api, "POST", f"/v2/parcels/reset-to-inbox/{out.parcel_id}", 400, "InvalidParameter")
    await fails(
        api,
        "POST",
        "/v2/parcels/confirm",
        400,
        "InvalidParameter",
        json={"parcelId": out.parcel_id},
    )


async def test_update(api: httpx.AsyncClient, state: ECGridState) -> None:
    (pid,) = state.seed_inbox(1)
    data = await ok(
        api, "POST", "/v2/parcels/update", json={"parcelId": pid, "status": "InBoxArchived"}
    )
    assert data["status"] == "InBoxArchived"
    assert await pending_ids(api) == []
    await fails(
        api,
        "POST",
        "/v2/parcels/update",
        400,
        "InvalidParameter",
        json={"parcelId": pid, "status": "Nonsense"},
    )


async def test_mailbag_control_id(api: httpx.AsyncClient, state: ECGridState) -> None:
    a, b = state.seed_inbox(2)
    assert (
        await ok(
            api,
            "POST",
            "/v2/parcels/set-mailbagcontrolid",
            json={"parcelId": b, "mailbagControlId": "ACME-1"},
        )
        is True
    )
    found = await ok(
        api, "POST", "/v2/parcels/find-mailbagcontrolid", json={"mailbagControlId": "ACME-1"}
    )
    assert [p["parcelId"] for p in found] == [b]
    assert (
        await ok(
            api,
            "POST",
            "/v2/parcels/find-mailbagcontrolid",
            json={"mailboxId": 9, "mailbagControlId": "ACME-1"},
        )
        == []
    )
    await fails(
        api,
        "POST",
        "/v2/parcels/set-mailbagcontrolid",
        400,
        "InvalidParameter",
        json={"parcelId": a, "mailbagControlId": ""},
    )


async def test_acknowledgment_note(api: httpx.AsyncClient, state: ECGridState) -> None:
    (pid,) = state.seed_inbox(1)
    assert (
        await ok(
            api, "POST", "/v2/parcels/acknowledgment-note", json={"parcelId": pid, "note": "seen"}
        )
        is True
    )
    assert state.parcel(pid).notes == ["seen"]
    await fails(
        api,
        "POST",
        "/v2/parcels/acknowledgment-note",
        400,
        "InvalidParameter",
        json={"parcelId": pid},
    )


async def test_send_test_file(api: httpx.AsyncClient, state: ECGridState) -> None:
    pid = await ok(
        api,
        "POST",
        "/v2/parcels/send-test-file",
        json={"ecGridIdFrom": 112233, "ecGridIdTo": 445566, "documentType": "856"},
    )
    parcel = state.parcel(pid)
    assert (parcel.outbound, parcel.status, parcel.interchanges[0].document_type) == (
        True,
        "outboxPending",
        "856",
    )
    assert parcel.read().startswith(b"ISA*")
    await fails(
        api, "POST", "/v2/parcels/send-test-file", 400, "InvalidParameter", json={"ecGridIdFrom": 1}
    )


async def test_hostile_file_names_survive_json(api: httpx.AsyncClient, state: ECGridState) -> None:
    ids = state.seed_inbox(len(HOSTILE_FILE_NAMES), file_names=HOSTILE_FILE_NAMES)
    listed = await ok(api, "POST", "/v2/parcels/pending-inbox-list", json={})
    assert [p["fileName"] for p in listed] == list(HOSTILE_FILE_NAMES)
    for pid, name in zip(ids, HOSTILE_FILE_NAMES, strict=True):
        data = await ok(api, "POST", "/v2/parcels/download", json={"parcelId": pid})
        assert data["fileName"] == name
        assert base64.b64decode(data["content"]) == state.parcel(pid).read()


async def test_unknown_status_is_listed_as_is(api: httpx.AsyncClient, state: ECGridState) -> None:
    state.add_parcel("x.edi", b"x", status="OutBoxDelivered", outbound=True)
    (item,) = await ok(api, "POST", "/v2/parcels/outbox-list", json={})
    assert item["status"] == "OutBoxDelivered"
