"""The same job on AS2 Gateway v1: drain the inbox into a folder, then send a file.

Run it against the gateway's emulator or the real service:

    export AS2GW_USERNAME=... AS2GW_PASSWORD=...   # AS2GW_BASE_URL for the emulator
    python examples/gateway_as2gateway.py
"""

import asyncio
from pathlib import Path

import as2gw_async as gw


# --8<-- [start:example]
async def main(s: gw.Session, inbox: Path, outgoing: Path) -> tuple[list[str], str]:
    async with gw.InboxConsumer(s, inbox) as consumer:  # inbox/<message id>/<files>
        received = [d.message_id async for d in consumer]  # on disk, then marked read
    receipt = await s.send("RJ_Station", "RJ_Partner", outgoing, subject="Invoice 1001")
    return received, receipt.as2_message_id


# --8<-- [end:example]


async def run() -> None:
    async with gw.Session.from_env() as s:
        print(await main(s, Path("inbox"), Path("invoice.xml")))


if __name__ == "__main__":
    asyncio.run(run())
