"""Download the attachments of every unread message with the batch endpoint.

Run: python examples/batch_download.py downloads/
"""

import asyncio
import sys
from pathlib import Path

import as2gw_async as gw


# --8<-- [start:example]
async def main(s: gw.Session, dest: Path) -> gw.BatchResult:
    ids = [m.as2_message_id async for m in s.received.iter(unread_only=True)]
    # Up to 100 ids a request; a 206 (the 10 MB cap) is resumed where it stopped.
    # With mark_as_read, a message is marked read only once all its files are on disk.
    result = await s.received.batch_download(ids, dest, mark_as_read=True)
    for message_id, files in result.files.items():
        print(message_id, [f.path.name for f in files])
    for message_id, error in result.errors.items():
        print("not downloaded:", message_id, error)
    print(f"{len(ids)} messages in {result.requests} requests")
    return result


# --8<-- [end:example]


async def run(dest: Path) -> None:
    async with gw.Session.from_env() as s:
        await main(s, dest)


if __name__ == "__main__":
    asyncio.run(run(Path(sys.argv[1])))
