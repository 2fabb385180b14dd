"""MFT emulator: one message (get, markAsRead, markUnread, delete), batch delete, namings."""

from __future__ import annotations

import pytest

from as2gw_async.emulator.mft import MftEmulator

from ._mft_emulator_helpers import api, q, submit


def test_get_marks_read_by_default(mft_emulator: MftEmulator) -> None:
    (mid,) = mft_emulator.seed_inbox(1)
    with api(mft_emulator) as c:
        r = c.get(f"/message/inbox/{q(mid)}")
        assert r.status_code == 200
        assert r.json()["apiFetched"] is True  # as the OpenAPI example of this call shows
        assert mft_emulator.gateway.is_fetched(mid)
        assert c.get("/message/inbox").json()["messages"] == []


def test_mark_as_read_false_leaves_read_state_alone(mft_emulator: MftEmulator) -> None:
    (mid,) = mft_emulator.seed_inbox(1)
    with api(mft_emulator) as c:
        for _ in range(2):
            r = c.get(f"/message/inbox/{q(mid)}", params={"markAsRead": "false"})
            assert r.status_code == 200
        assert not mft_emulator.gateway.is_fetched(mid)
        assert c.get("/message/inbox").json()["messages"] == [mid]
        bad = c.get(f"/message/inbox/{q(mid)}", params={"markAsRead": "yes"})
        assert bad.status_code == 400


def test_mark_unread_brings_it_back(mft_emulator: MftEmulator) -> None:
    (mid,) = mft_emulator.seed_inbox(1)
    with api(mft_emulator) as c:
        c.get(f"/message/inbox/{q(mid)}", params={"markAsRead": "true"})
        assert c.get("/message/inbox").json()["messages"] == []
        r = c.post(f"/message/inbox/{q(mid)}/markUnread")
        assert r.status_code == 200
        assert r.json() == {"message": f"Successfully marked message {mid} as unread"}
        assert c.get("/message/inbox").json()["messages"] == [mid]
        r = c.post(f"/message/inbox/{q('<nope@mftgateway.com>')}/markUnread")
        assert r.status_code == 404
        assert r.json() == {"message": "Message not found"}


def test_message_fields_current_names(mft_emulator: MftEmulator) -> None:
    mid = mft_emulator.deliver(
        "MyStation", "MyPartner", [("a.xml", b"<a/>"), ("b.xml", b"<b/>")], subject="Hi"
    )
    with api(mft_emulator) as c:
        m = c.get(f"/message/inbox/{q(mid)}", params={"markAsRead": "false"}).json()
    assert m["identifier"] == mid
    assert m["senderIdentifier"] == "MyPartner"
    assert m["receiverIdentifier"] == "MyStation"
    assert m["incoming"] is True
    assert m["msgStatus"] == "Received"
    assert m["subject"] == "Hi"
    assert isinstance(m["id"], int)
    assert len(m["attachmentPaths"]) == 2
    assert m["mdnMessage"]["identifier"] == mid
    assert not {"as2MessageId", "senderAS2Id", "receiverAS2Id"} & set(m)


@pytest.mark.mft_emulator(naming="legacy")
def test_message_fields_legacy_names(mft_emulator: MftEmulator) -> None:
    (mid,) = mft_emulator.seed_inbox(1)
    with api(mft_emulator) as c:
        m = c.get(f"/message/inbox/{q(mid)}", params={"markAsRead": "false"}).json()
    assert m["as2MessageId"] == mid
    assert m["senderAS2Id"] == "MyPartner"
    assert m["receiverAS2Id"] == "MyStation"
    assert m["mdnMessage"]["as2MessageId"] == mid
    assert not {"identifier", "senderIdentifier", "receiverIdentifier"} & set(m)


def test_naming_switches_at_runtime(mft_emulator: MftEmulator) -> None:
    (mid,) = mft_emulator.seed_inbox(1)
    with api(mft_emulator) as c:
        mft_emulator.naming = "legacy"
        assert "as2MessageId" in c.get(f"/message/inbox/{q(mid)}?markAsRead=false").json()
        mft_emulator.naming = "current"
        assert "identifier" in c.get(f"/message/inbox/{q(mid)}?markAsRead=false").json()
    with pytest.raises(ValueError, match="naming"):
        mft_emulator.naming = "other"


def test_unknown_ids_answer_the_documented_404s(mft_emulator: MftEmulator) -> None:
    nope = q("<0@mftgateway.com>")
    with api(mft_emulator) as c:
        expected = {
            ("GET", f"/message/inbox/{nope}"): "Message not found",
            ("GET", f"/message/outbox/{nope}"): "Message not found",
            ("DELETE", f"/message/inbox/{nope}"): "Unable to find message",
            ("DELETE", f"/message/outbox/{nope}"): "Unable to find message",
            ("GET", f"/message/inbox/{nope}/attachments"): "Attachment(s) not found",
            ("GET", f"/message/outbox/{nope}/attachments"): "Attachment(s) not found",
            ("GET", f"/message/inbox/{nope}/mdn"): "MDN not found",
            ("GET", f"/message/outbox/{nope}/mdn"): "MDN not found",
        }
        for (method, path), message in expected.items():
            r = c.request(method, path)
            assert (r.status_code, r.json()) == (404, {"message": message}), path


def test_inbox_and_outbox_do_not_see_each_other(mft_emulator: MftEmulator) -> None:
    (received,) = mft_emulator.seed_inbox(1)
    with api(mft_emulator) as c:
        sent = submit(c).json()["messageIdentifier"]
        assert c.get(f"/message/outbox/{q(received)}").status_code == 404
        assert c.get(f"/message/inbox/{q(sent)}").status_code == 404
        assert c.get(f"/message/outbox/{q(sent)}").status_code == 200


def test_delete_one(mft_emulator: MftEmulator) -> None:
    (mid,) = mft_emulator.seed_inbox(1)
    with api(mft_emulator) as c:
        sent = submit(c).json()["messageIdentifier"]
        r = c.delete(f"/message/inbox/{q(mid)}")
        assert r.json() == {"deleted": mid}
        assert c.get(f"/message/inbox/{q(mid)}").status_code == 404
        assert c.delete(f"/message/outbox/{q(sent)}").json() == {"deleted": sent}
        assert c.get(f"/message/outbox/{q(sent)}").status_code == 404


@pytest.mark.parametrize("field", ["messageIdentifiers", "as2MessageIds"])
def test_batch_delete(mft_emulator: MftEmulator, field: str) -> None:
    ids = mft_emulator.seed_inbox(5, sizes=[8])
    with api(mft_emulator) as c:
        r = c.post("/message/inbox/delete", json={field: [*ids[:3], "<gone@mftgateway.com>"]})
        assert r.status_code == 200
        assert r.json() == {"deleted": ids[:3]}
        left = c.get("/message/inbox", params={"fetchAll": "true"}).json()["messages"]
        assert set(left) == set(ids[3:])
        r = c.post("/message/inbox/delete", json={field: ["<gone@mftgateway.com>"]})
        assert (r.status_code, r.json()) == (404, {"message": "Unable to find messages"})


def test_batch_delete_limits(mft_emulator: MftEmulator) -> None:
    ids = mft_emulator.seed_inbox(101, sizes=[1])
    with api(mft_emulator) as c:
        assert c.post("/message/inbox/delete", json={"messageIdentifiers": ids}).status_code == 400
        assert c.post("/message/inbox/delete", json={"messageIdentifiers": []}).status_code == 400
        r = c.post("/message/inbox/delete", json={"messageIdentifiers": ids[:100]})
        assert len(r.json()["deleted"]) == 100


def test_outbox_batch_delete(mft_emulator: MftEmulator) -> None:
    with api(mft_emulator) as c:
        sent = [submit(c).json()["messageIdentifier"] for _ in range(2)]
        r = c.post("/message/outbox/delete", json={"messageIdentifiers": sent})
        assert r.json() == {"deleted": sent}


@pytest.mark.parametrize(
    "mid", ["<a/b%c@mftgateway.com>", "<with space+plus@mftgateway.com>", "<ü@x>"]
)
def test_identifiers_travel_as_one_path_segment(mft_emulator: MftEmulator, mid: str) -> None:
    mft_emulator.deliver(message_id=mid)
    with api(mft_emulator) as c:
        r = c.get(f"/message/inbox/{q(mid)}", params={"markAsRead": "false"})
        assert r.status_code == 200
        assert r.json()["identifier"] == mid
        assert c.get(f"/message/inbox/{q(mid)}/attachments").json()["total"] == 1
        assert c.delete(f"/message/inbox/{q(mid)}").json() == {"deleted": mid}
