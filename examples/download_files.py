"""Download a received message's attachments: one, all (extracted), or the zip as it is.

Run: python examples/download_files.py '<message-id>' downloads/
"""

import asyncio
import sys
from pathlib import Path

import as2gw_async as gw


# --8<-- [start:example]
async def main(s: gw.Session, message_id: str, dest: Path) -> list[gw.DownloadedFile]:
    # One attachment (index is zero-based; None means the first). A directory as dest
    # keeps the gateway's file name, sanitised; a file path names the file yourself.
    first = await s.received.download_attachment(message_id, dest / "first", index=0)
    print(first.name, first.size, first.path)

    # Every attachment: the gateway's zip, checked and extracted safely, then deleted.
    files = await s.received.download_attachments(message_id, dest / "all")
    for f in files:
        print(f.path, f.size)

    # The zip itself, kept as one file (CRCs checked before it appears).
    archive = await s.received.download_zip(message_id, dest / "message.zip")

    # The MDN (the receipt) of the message, if it has one.
    mdn = await s.received.download_mdn(message_id, dest / "receipts")
    return [first, *files, archive, mdn]


# --8<-- [end:example]


async def run(message_id: str, dest: Path) -> None:
    async with gw.Session.from_env() as s:
        await main(s, message_id, dest)


if __name__ == "__main__":
    asyncio.run(run(sys.argv[1], Path(sys.argv[2])))
