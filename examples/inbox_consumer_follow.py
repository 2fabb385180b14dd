"""Keep the inbox synced: poll for new messages until stopped (Ctrl+C, or a deadline).

Run: python examples/inbox_consumer_follow.py inbox/
"""

import asyncio
import sys
from pathlib import Path

import anyio

import as2gw_async as gw


# --8<-- [start:example]
async def main(
    s: gw.Session, inbox: Path, run_for: float | None = None, poll_interval: float = 30
) -> list[str]:
    seen = []
    # follow=True lists the inbox again every poll_interval seconds, forever. Cancelling
    # is safe at any point: finished messages are marked read on the way out, a message
    # cut off mid-download is fetched again by the next run.
    with anyio.move_on_after(run_for):  # None: run until cancelled
        async with gw.InboxConsumer(s, inbox, follow=True, poll_interval=poll_interval) as consumer:
            async for d in consumer:
                print("new:", d.as2_message_id, d.message.subject)
                seen.append(d.as2_message_id)
    return seen


# --8<-- [end:example]


async def run(inbox: Path) -> None:
    async with gw.Session.from_env() as s:
        await main(s, inbox)


if __name__ == "__main__":
    asyncio.run(run(Path(sys.argv[1])))
