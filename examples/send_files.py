"""Send one file (the raw endpoint) and several files (multipart), from paths and memory.

Run: python examples/send_files.py invoice.xml
"""

import asyncio
import sys
from pathlib import Path

import as2gw_async as gw


# --8<-- [start:example]
async def main(s: gw.Session, path: Path) -> list[gw.SendReceipt]:
    # One file goes to the single-file endpoint, streamed from disk in chunks.
    one = await s.send("RJ_Station", "RJ_Partner", path, subject="Invoice 1001")

    # Several files make one multipart message. An Upload sends bytes (or an async
    # iterable of bytes) under a name of your choice, with an optional content type.
    several = await s.send(
        "RJ_Station",
        "RJ_Partner",
        path,
        gw.Upload(b"ISA*00*...~", name="order.edi", content_type="application/edi-x12"),
        subject="Invoice and order",
        partner_type="test",  # a partner set up as a test partner on the gateway
    )
    for r in (one, several):
        print(r.as2_message_id, r.message)
    return [one, several]


# --8<-- [end:example]


async def run() -> None:
    async with gw.Session.from_env() as s:
        await main(s, Path(sys.argv[1]))


if __name__ == "__main__":
    asyncio.run(run())
