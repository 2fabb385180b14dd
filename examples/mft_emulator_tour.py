"""The MFT Gateway emulator from Python, driven with plain httpx: seed, list, download, refuse.

Run: python examples/mft_emulator_tour.py out/
"""

import sys
from pathlib import Path
from urllib.parse import quote

import httpx

from as2gw_async.emulator.mft import MftEmulator


# --8<-- [start:example]
def main(dest: Path) -> MftEmulator:
    with MftEmulator(naming="current", token_ttl=3600) as emu:  # two free loopback ports
        [mid] = emu.seed_inbox(1, sizes=[2048], names=["../../etc/passwd"])
        api = httpx.Client(base_url=emu.base_url)
        r = api.post("/authorize", json={"username": emu.username, "password": emu.password})
        api.headers["Authorization"] = r.json()["apiToken"]  # bare, no "Bearer"

        unread = api.get("/message/inbox", params={"pageLength": 100}).json()["messages"]
        one = quote(mid, safe="")  # <...@mftgateway.com> as one path segment
        api.get(f"/message/inbox/{one}", params={"markAsRead": "false"})  # read state kept
        [link] = api.get(f"/message/inbox/{one}/attachments").json()["attachments"]
        print(unread, link["name"])  # the name is hostile: never use it as a path as is

        emu.store_faults.reset(after_bytes=100)  # the next download breaks off mid-body
        try:
            httpx.get(link["url"])
        except httpx.RemoteProtocolError:
            print("reset after 100 bytes")
        body = httpx.get(link["url"]).content  # no Authorization header to the store
        (dest / "attachment.bin").write_bytes(body)

        httpx.get(link["url"], headers={"Authorization": api.headers["Authorization"]})
        emu.expire_links()  # every link issued so far: 403 "Request has expired"
        print(httpx.get(link["url"]).status_code)
        emu.faults.fail("list", 503, times=2)  # the next two listings answer 503
        print([api.get("/message/inbox").status_code for _ in range(3)])
        print(emu.store_stats.authorization_headers, emu.stats.authorizations)  # 1 1
    return emu


# --8<-- [end:example]


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    out.mkdir(parents=True, exist_ok=True)
    main(out)
