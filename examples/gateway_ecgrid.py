"""The same job on ECGrid: drain the inbox into a folder, then send (upload) a file.

Run it against the gateway's emulator or the real service:

    export ECGRID_API_KEY=...                      # or ECGRID_LOGIN and ECGRID_PASSWORD
    python examples/gateway_ecgrid.py
"""

import asyncio
from pathlib import Path

import as2gw_async as gw
from as2gw_async import ecgrid

PARTNER_ECGRID_ID = 445566  # the trading partner's ECGrid id (the emulator's partner)


# --8<-- [start:example]
async def main(s: ecgrid.Session, inbox: Path, outgoing: Path) -> tuple[list[str], int]:
    async with gw.InboxConsumer(s, inbox) as consumer:  # the same consumer, the same journal
        received = [d.message_id async for d in consumer]  # on disk, then confirmed
    parcel_id = await s.parcels.upload(outgoing, ecgrid_id_to=PARTNER_ECGRID_ID)
    return received, parcel_id


# --8<-- [end:example]


async def run() -> None:
    async with ecgrid.Session.from_env() as s:
        print(await main(s, Path("inbox"), Path("po.edi")))


if __name__ == "__main__":
    asyncio.run(run())
