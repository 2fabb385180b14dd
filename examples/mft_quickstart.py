"""The MFT Gateway: send a file, wait for its delivery, save what is waiting in the inbox.

Run: MFTGW_USERNAME=... MFTGW_PASSWORD=... python examples/mft_quickstart.py invoice.xml out/
"""

import asyncio
import sys
from pathlib import Path

from as2gw_async import mft


# --8<-- [start:example]
async def main(s: mft.Session, path: Path, dest: Path) -> list[Path]:
    receipt = await s.send("MyStation", "MyPartner", path, subject="Invoice 1")
    sent = await s.wait_for_delivery(receipt.message_id, timeout=300)
    print("delivered:", sent.identifier, sent.mdn_status)

    # Ids first (the listing has no total: marking read while paging would skip some).
    waiting = [mid async for mid in s.inbox.iter_ids(fetch_all=False)]
    saved: list[Path] = []
    for mid in waiting:
        message = await s.inbox.get(mid)  # markAsRead=false: still unread
        files = await s.inbox.download_attachments(mid, dest / message.identifier.strip("<>"))
        saved += [f.path for f in files]  # complete, verified, names made safe
        await s.inbox.get(mid, mark_as_read=True)  # only once the files are on disk
    return saved


# --8<-- [end:example]


async def run() -> None:
    async with mft.Session.from_env() as s:
        for path in await main(s, Path(sys.argv[1]), Path(sys.argv[2])):
            print(path)


if __name__ == "__main__":
    asyncio.run(run())
