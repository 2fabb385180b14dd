"""The crash test's gateway adapters see what they must, before any client drives them.

Each adapter (``_crash_gateways``) must notice an acknowledgement of a message whose files
are not on disk, and must inject its faults; checked here with plain HTTP calls, so the
harness is known to work for a gateway before its client lands.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import httpx

from as2gw_async.files import safe_message_dirname

from ._crash_gateways import V1, ECGrid, Mft


def _store(dest: Path, message_id: str, files: dict[str, bytes]) -> None:
    directory = dest / safe_message_dirname(message_id)
    directory.mkdir(parents=True)
    for name, body in files.items():
        (directory / name).write_bytes(body)


def test_v1_acknowledgement_before_the_files_is_caught(tmp_path: Path) -> None:
    gateway = V1(tmp_path)
    gateway.seed(2)
    early, safe = gateway.ids()
    message = gateway.gw.message("received", safe)
    _store(
        tmp_path,
        safe,
        {
            a.name: gateway.gw.attachment_bytes("received", safe, i)
            for i, a in enumerate(message.attachments)
        },
    )
    with gateway.running() as env, httpx.Client(base_url=env["AS2GW_BASE_URL"]) as api:
        token = api.post(
            "/authorize",
            json={"username": env["AS2GW_USERNAME"], "password": env["AS2GW_PASSWORD"]},
        ).json()["token"]
        for mid in (early, safe, safe):
            r = api.get(
                f"/message/received/{quote(mid, safe='')}",
                params={"markAsRead": "true"},
                headers={"Authorization": token},
            )
            assert r.status_code == 200
    assert [p.split(":")[0] for p in gateway.watch.premature] == [early]
    assert gateway.watch.calls == {early: 1, safe: 2}
    assert gateway.watch.transitions == {early: 1, safe: 1}
    assert gateway.acknowledged(early)
    assert gateway.acknowledged(safe)


def test_mft_acknowledgement_and_faults(tmp_path: Path) -> None:
    gateway = Mft(tmp_path)
    gateway.seed(3)
    first, second, third = gateway.ids()
    _store(tmp_path, second, {a.name: a.read() for a in gateway.gw.message(second).attachments})
    with gateway.running() as env, httpx.Client(base_url=env["MFTGW_BASE_URL"]) as api:
        token = api.post(
            "/authorize",
            json={"username": env["MFTGW_USERNAME"], "password": env["MFTGW_PASSWORD"]},
        ).json()["apiToken"]
        api.headers["Authorization"] = token
        api.get(f"/message/inbox/{quote(first, safe='')}")  # markAsRead defaults to true
        api.get(f"/message/inbox/{quote(second, safe='')}", params={"markAsRead": "true"})
        api.get(f"/message/inbox/{quote(third, safe='')}", params={"markAsRead": "false"})
        links = api.get(f"/message/inbox/{quote(third, safe='')}/attachments").json()
        url = links["attachments"][0]["url"]
        gateway.faults(True)
        gateway.api_faults.rate = gateway.store_faults.rate = 1.0
        statuses = {api.get("/message/inbox").status_code for _ in range(30)}
        store_failures = 0
        for _ in range(20):
            try:
                if httpx.get(url).status_code == 503:
                    store_failures += 1
            except httpx.HTTPError:  # reset mid-body
                store_failures += 1
        gateway.faults(False)
    assert [p.split(":")[0] for p in gateway.watch.premature] == [first]
    assert set(gateway.watch.transitions) == {first, second}
    assert not gateway.acknowledged(third)
    assert statuses <= {500, 503, 429}
    assert len(statuses) > 1
    injected, requests = gateway.fault_counts()
    assert set(injected) == {"500", "503", "429", "store-503", "store-reset"}
    assert store_failures == 20
    assert requests >= 50


def test_ecgrid_acknowledgement_and_faults(tmp_path: Path) -> None:
    gateway = ECGrid(tmp_path)
    gateway.seed(2)
    early, safe = gateway.ids()
    parcel = gateway.state.parcel(int(safe))
    _store(tmp_path, safe, {parcel.file_name: parcel.read()})
    with gateway.running() as env, httpx.Client(base_url=env["ECGRID_BASE_URL"]) as api:
        api.headers["X-API-Key"] = env["ECGRID_API_KEY"]
        for pid in (early, safe):
            r = api.post("/v2/parcels/confirm", json={"parcelId": int(pid)})
            assert r.json()["success"] is True
        gateway.faults(True)
        gateway.random_faults.rate = 1.0
        answers = [api.post("/v2/parcels/pending-inbox-list", json={}) for _ in range(30)]
        listing_faults = set(gateway.fault_counts()[0])
        refused = api.post("/v2/parcels/confirm", json={"parcelId": int(early)}).json()
        gateway.faults(False)
    assert [p.split(":")[0] for p in gateway.watch.premature] == [early]
    assert gateway.acknowledged(early)
    assert gateway.acknowledged(safe)
    assert {r.status_code for r in answers} <= {200, 429, 503}
    # a download fault never lands on a listing, nor (in this harness) an envelope error
    assert listing_faults == {"status", "rate_limit"}
    assert refused["success"] is False
    assert set(gateway.fault_counts()[0]) == {"status", "rate_limit", "envelope"}
