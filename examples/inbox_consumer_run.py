"""The callback form of InboxConsumer: a message is marked read only if the handler returns.

Run: python examples/inbox_consumer_run.py inbox/ archive/
"""

import asyncio
import shutil
import sys
from pathlib import Path

import anyio

import as2gw_async as gw


# --8<-- [start:example]
async def main(s: gw.Session, inbox: Path, archive: Path) -> gw.InboxConsumer:
    async def handle(d: gw.Delivered) -> None:
        if d.redelivered:
            # Stored by an earlier run that stopped before this handler finished:
            # make your processing idempotent (here, copying again is harmless).
            print("again:", d.as2_message_id)
        target = archive / d.directory.name
        await anyio.to_thread.run_sync(shutil.copytree, d.directory, target, True)
        # Raising here leaves the message unread and journaled: the next run hands it
        # over again from disk, without downloading it twice.

    async with gw.InboxConsumer(s, inbox) as consumer:
        stats = await consumer.run(handle)
    print(f"{stats.delivered} delivered, {stats.skipped} skipped, {stats.requests} requests")
    for message_id, reason in consumer.skipped.items():
        print("skipped", message_id, reason)
    return consumer


# --8<-- [end:example]


async def run(inbox: Path, archive: Path) -> None:
    async with gw.Session.from_env() as s:
        await main(s, inbox, archive)


if __name__ == "__main__":
    asyncio.run(run(Path(sys.argv[1]), Path(sys.argv[2])))
