"""Upload a file as an ECGrid parcel, then find it in the outbox.

Run: ECGRID_API_KEY=... python examples/ecgrid_upload.py po.edi
"""

import asyncio
import sys
from pathlib import Path

from as2gw_async import ecgrid


# --8<-- [start:example]
async def main(s: ecgrid.Session, path: Path) -> ecgrid.Parcel:
    # The body is streamed: the file is base64-encoded in chunks as it is sent.
    pid = await s.parcels.upload(path, ecgrid_id_from=445566, ecgrid_id_to=112233)
    parcel = await s.parcels.get(pid)
    print(parcel.parcel_id, parcel.file_name, parcel.size, parcel.status)
    async for sent in s.parcels.outbox(status=parcel.status):
        print("in the outbox:", sent.parcel_id)
    return parcel


# --8<-- [end:example]


async def run() -> None:
    async with ecgrid.Session.from_env() as s:
        await main(s, Path(sys.argv[1]))


if __name__ == "__main__":
    asyncio.run(run())
