"""The emulator from Python: arrange a gateway, serve it, drive it, then check its state.

Run: python examples/emulator_tour.py out/
"""

import asyncio
import sys
from pathlib import Path

import as2gw_async as gw
from as2gw_async.emulator import FaultPlan, Gateway, GeneratedBody, serve


# --8<-- [start:example]
async def main(dest: Path) -> Gateway:
    gateway = Gateway(seed=0, send_delay=0.2, token_ttl=86400.0)
    gateway.add_station("Acme_Station")
    gateway.add_partner("Down_Partner", partner_type="production", fail=True)

    msg_id = gateway.deliver(  # a received message, as if the partner had sent it
        station="RJ_Station",
        partner="RJ_Partner",
        attachments=[("a.txt", b"hello"), ("big.bin", GeneratedBody(size=8 << 20, seed=1))],
        subject="Invoice 42",
    )
    gateway.seed(20, attachments=(1, 3), size=(64, 4096), seed=0)  # a realistic inbox
    # One precise failure for the next attachment download: the connection resets mid-body.
    gateway.faults = FaultPlan(rate=0.0).script("reset", route="attachment")

    async with (
        serve(gateway, host="127.0.0.1", port=0) as server,  # in this event loop
        gw.Session(
            server.username, server.password, base_url=server.base_url, rate_limit=None
        ) as s,
    ):
        page = await s.received.list(unread_only=True, page_length=100)
        print(page.total_records, "unread")
        f = await s.received.download_attachment(msg_id, dest, index=1)
        print(f.name, f.size, "after", s.stats.retries, "retry")

    # The state, for assertions.
    print(gateway.is_read(msg_id), gateway.attachment_sha256("received", msg_id, 1))
    print(gateway.stats.as_dict()["faults"])  # {'reset': 1}
    return gateway


# --8<-- [end:example]


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1])))
