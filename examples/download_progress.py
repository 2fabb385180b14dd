"""Show a progress bar while a large attachment streams to disk (rich comes with [cli]).

Run: python examples/download_progress.py '<message-id>' downloads/
"""

import asyncio
import sys
from pathlib import Path

from rich.progress import Progress

import as2gw_async as gw


# --8<-- [start:example]
async def main(s: gw.Session, message_id: str, dest: Path) -> gw.DownloadedFile:
    with Progress() as bar:
        task = bar.add_task("attachment", total=None)

        def progress(done: int, total: int | None) -> None:
            # Called from the event loop after each chunk: keep it quick.
            bar.update(task, completed=done, total=total)

        return await s.received.download_attachment(message_id, dest, progress=progress)


# --8<-- [end:example]


async def run(message_id: str, dest: Path) -> None:
    async with gw.Session.from_env() as s:
        print((await main(s, message_id, dest)).path)


if __name__ == "__main__":
    asyncio.run(run(sys.argv[1], Path(sys.argv[2])))
