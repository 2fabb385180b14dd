"""The same job on the MFT Gateway: drain the inbox into a folder, then send a file.

Run it against the gateway's emulator or the real service:

    export MFTGW_USERNAME=... MFTGW_PASSWORD=...   # or MFTGW_TOKEN_ID and MFTGW_TOKEN_SECRET
    python examples/gateway_mft.py
"""

import asyncio
from pathlib import Path

import as2gw_async as gw
from as2gw_async import mft


# --8<-- [start:example]
async def main(s: mft.Session, inbox: Path, outgoing: Path) -> tuple[list[str], str]:
    async with gw.InboxConsumer(s, inbox) as consumer:  # the same consumer, the same journal
        received = [d.message_id async for d in consumer]  # on disk, then markAsRead
    receipt = await s.send("MyStation", "MyPartner", outgoing, subject="Invoice 1001")
    return received, receipt.message_id


# --8<-- [end:example]


async def run() -> None:
    async with mft.Session.from_env() as s:
        print(await main(s, Path("inbox"), Path("invoice.xml")))


if __name__ == "__main__":
    asyncio.run(run())
