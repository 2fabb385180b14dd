"""MFT emulator: id listings, paging (pageOffset is a page number), fetchAll, filter precedence."""

from __future__ import annotations

import pytest

from as2gw_async.emulator.mft import MftEmulator

from ._mft_emulator_helpers import api, q


def test_250_inbox_ids_over_3_pages(mft_emulator: MftEmulator) -> None:
    ids = mft_emulator.seed_inbox(250, sizes=[8])
    with api(mft_emulator) as c:
        pages = [
            c.get("/message/inbox", params={"pageLength": 100, "pageOffset": n}).json()["messages"]
            for n in range(4)
        ]
    assert [len(p) for p in pages] == [100, 100, 50, 0]
    seen = [mid for page in pages for mid in page]
    assert seen == list(reversed(ids))  # newest first by default


def test_page_length_default_and_bounds(mft_emulator: MftEmulator) -> None:
    mft_emulator.seed_inbox(15, sizes=[8])
    with api(mft_emulator) as c:
        assert len(c.get("/message/inbox").json()["messages"]) == 10
        for bad in ("0", "101", "x"):
            r = c.get("/message/inbox", params={"pageLength": bad})
            assert r.status_code == 400
            assert "pageLength" in r.json()["message"]
        assert c.get("/message/inbox", params={"pageOffset": "-1"}).status_code == 400
        assert c.get("/message/inbox", params={"sortDir": "up"}).status_code == 400


def test_sort_dir_and_page_number(mft_emulator: MftEmulator) -> None:
    ids = mft_emulator.seed_inbox(7, sizes=[8])
    with api(mft_emulator) as c:
        asc = c.get("/message/inbox", params={"sortDir": "asc", "pageLength": 3, "pageOffset": 1})
        assert asc.json()["messages"] == ids[3:6]
        desc = c.get("/message/inbox", params={"pageLength": 3, "pageOffset": 2})
        assert desc.json()["messages"] == [ids[0]]


def test_fetch_all_default_leaves_read_messages_out(mft_emulator: MftEmulator) -> None:
    ids = mft_emulator.seed_inbox(3, sizes=[8])
    with api(mft_emulator) as c:
        assert c.get(f"/message/inbox/{q(ids[1])}").status_code == 200  # marks it read
        unread = c.get("/message/inbox").json()["messages"]
        assert ids[1] not in unread
        assert len(unread) == 2
        every = c.get("/message/inbox", params={"fetchAll": "true"}).json()["messages"]
        assert ids[1] in every
        assert c.get("/message/inbox", params={"fetchAll": "maybe"}).status_code == 400


def _setup_filters(emu: MftEmulator) -> dict[str, str]:
    gw = emu.gateway
    return {
        "a": gw.deliver("MyStation", "Acme", subject="Invoice 1"),
        "b": gw.deliver("MyStation", "Globex", subject="Invoice 2"),
        "c": gw.deliver("OtherStation", "Acme", subject="Order 3"),
        "d": gw.deliver("OtherStation", "Globex", subject="invoice 4"),
    }


def _ids(c, **params: str) -> set[str]:  # type: ignore[no-untyped-def]
    return set(c.get("/message/inbox", params={"pageLength": 100, **params}).json()["messages"])


def test_filters_and_their_precedence(mft_emulator: MftEmulator) -> None:
    m = _setup_filters(mft_emulator)
    with api(mft_emulator) as c:
        assert _ids(c, partnerIdentifier="Acme") == {m["a"], m["c"]}
        assert _ids(c, stationIdentifier="OtherStation") == {m["c"], m["d"]}
        # primary filters combine
        assert _ids(c, partnerIdentifier="Acme", stationIdentifier="OtherStation") == {m["c"]}
        # a primary filter silences the secondary ones
        assert _ids(c, partnerIdentifier="Acme", subject="Order") == {m["a"], m["c"]}
        assert _ids(c, stationIdentifier="MyStation", identifier=m["c"]) == {m["a"], m["b"]}
        # secondary: subject is a case-insensitive substring
        assert _ids(c, subject="INVOICE") == {m["a"], m["b"], m["d"]}
        # secondary: identifier wins over subject
        assert _ids(c, identifier=m["c"], subject="Invoice") == {m["c"]}


def test_current_server_ignores_legacy_filter_names(mft_emulator: MftEmulator) -> None:
    m = _setup_filters(mft_emulator)
    with api(mft_emulator) as c:
        assert _ids(c, partnerAS2Id="Acme") == set(m.values())
        assert _ids(c, as2MessageId=m["a"]) == set(m.values())


@pytest.mark.mft_emulator(naming="legacy")
def test_legacy_server_reads_legacy_filter_names(mft_emulator: MftEmulator) -> None:
    m = _setup_filters(mft_emulator)
    with api(mft_emulator) as c:
        assert _ids(c, partnerAS2Id="Acme") == {m["a"], m["c"]}
        assert _ids(c, stationAS2Id="MyStation", as2MessageId=m["c"]) == {m["a"], m["b"]}
        assert _ids(c, as2MessageId=m["b"]) == {m["b"]}
        assert _ids(c, partnerIdentifier="Acme") == set(m.values())


def test_outbox_lists_filter_too(mft_emulator: MftEmulator) -> None:
    gw = mft_emulator.gateway
    gw.send_delay = 0
    gw.add_partner("Acme")
    with api(mft_emulator) as c:
        headers = {"AS2-From": "MyStation", "Attachment-Name": "a.txt"}
        one = c.post("/message/submit", headers={**headers, "AS2-To": "Acme"}, content=b"1")
        two = c.post("/message/submit", headers={**headers, "AS2-To": "MyPartner"}, content=b"2")
        acme = c.get("/message/outbox", params={"partnerIdentifier": "Acme"}).json()["messages"]
        assert acme == [one.json()["messageIdentifier"]]
        every = c.get("/message/outbox", params={"fetchAll": "false"}).json()["messages"]
        assert len(every) == 2  # fetchAll means nothing outside the inbox
        assert two.json()["messageIdentifier"] in every
        assert c.get("/message/outbox/incomplete").json() == {"messages": []}
