"""Drain an ECGrid mailbox: download each waiting parcel, then confirm it.

Run it against the ECGrid emulator or the real network:

    export ECGRID_API_KEY=...                        # or ECGRID_LOGIN and ECGRID_PASSWORD
    export ECGRID_BASE_URL=http://127.0.0.1:8080     # leave unset for https://rest.ecgrid.io
    python examples/ecgrid_quickstart.py
"""

import asyncio
from pathlib import Path

from as2gw_async import ecgrid
from as2gw_async.models import DownloadedFile


# --8<-- [start:example]
async def main(s: ecgrid.Session, dest: Path) -> list[DownloadedFile]:
    saved = []
    async for parcel in s.parcels.pending():  # InBoxReady parcels, paged lazily
        print(parcel.parcel_id, parcel.file_name, parcel.size, parcel.status)
        folder = f"{dest}/{parcel.parcel_id}/"  # one folder a parcel: file names repeat
        f = await s.parcels.download(parcel.parcel_id, folder)  # decoded while streaming
        await s.parcels.confirm(parcel.parcel_id)  # only now: the file is safe on disk
        saved.append(f)
    return saved


# --8<-- [end:example]


async def run() -> None:
    async with ecgrid.Session.from_env() as s:
        for f in await main(s, Path("inbox")):
            print(f.path, f.size)


if __name__ == "__main__":
    asyncio.run(run())
