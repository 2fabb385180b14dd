"""Download big MFT attachments: links refreshed when they expire, resumed with Range.

Run: MFTGW_USERNAME=... MFTGW_PASSWORD=... python examples/mft_resilient_download.py '<id>' out/
"""

import asyncio
import sys
from pathlib import Path

from as2gw_async import mft


# --8<-- [start:example]
async def main(s: mft.Session, message_id: str, dest: Path) -> list[mft.DownloadedFile]:
    def progress(done: int, total: int | None) -> None:
        print(f"\r{done:,} / {total or 0:,} bytes", end="", file=sys.stderr)

    # Each link is fetched with no gateway credentials (only its own signature); a 403 (an
    # expired link) fetches fresh links and resumes where the body stopped.
    return await s.inbox.download_attachments(message_id, dest, progress=progress)


# --8<-- [end:example]


async def run() -> None:
    async with mft.Session.from_env() as s:
        for f in await main(s, sys.argv[1], Path(sys.argv[2])):
            print(f.path, f.size)


if __name__ == "__main__":
    asyncio.run(run())
