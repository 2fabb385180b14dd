"""The ECGrid emulator from Python: seed parcels, serve them, poll/download/confirm, check state.

Plain httpx, to show the wire format; the `as2gw_async.ecgrid` client does the same for you.
Run: python examples/ecgrid_emulator_tour.py
"""

import asyncio
import base64

import httpx

from as2gw_async.emulator.ecgrid import HOSTILE_FILE_NAMES, ECGridState, serve_ecgrid


# --8<-- [start:example]
async def main() -> ECGridState:
    state = ECGridState(page_shape=3, spelling="reference")  # the switches: see the table
    ids = state.seed_inbox(30, sizes=[120, 4096])  # 30 InBoxReady parcels
    state.seed_inbox(2, file_names=HOSTILE_FILE_NAMES[:2])  # "../../etc/passwd", "/etc/passwd"
    state.rate_limit_next("parcels/pending-inbox-list", retry_after=0.1)  # one 429 first

    async with (
        serve_ecgrid(state) as emu,  # in this event loop, on a free 127.0.0.1 port
        httpx.AsyncClient(base_url=emu.base_url, headers={"X-API-Key": emu.api_key}) as http,
    ):
        r = await http.post("/v2/parcels/pending-inbox-list", json={"pageNo": 1})
        print(r.status_code, r.headers["Retry-After"], r.json()["errorCode"])  # 429 0.1 ...
        await asyncio.sleep(float(r.headers["Retry-After"]))
        body = (
            await http.post(
                "/v2/parcels/pending-inbox-list", json={"pageNo": 1, "recordsPerPage": 25}
            )
        ).json()
        print(body["totalRecords"], len(body["data"]))  # 32 25 (shape 3: totals beside data)

        first = body["data"][0]["parcelId"]
        data = (await http.post("/v2/parcels/download", json={"parcelId": first})).json()["data"]
        content = base64.b64decode(data["content"])
        assert len(content) == data["bytes"]
        await http.post("/v2/parcels/confirm", json={"parcelId": first})  # after it is safe

    # The state, for assertions.
    print(state.parcel(first).status, state.parcel(first).downloads)  # InBoxTransferred 1
    print(len(state.pending()), state.stats.error_codes)  # 31 Counter({'RateLimitExceeded': 1})
    assert first == ids[0]
    return state


# --8<-- [end:example]


if __name__ == "__main__":
    asyncio.run(main())
