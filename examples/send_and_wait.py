"""Send a file and wait for its delivery, telling the three outcomes apart.

Run: python examples/send_and_wait.py invoice.xml
"""

import asyncio
import sys
from pathlib import Path

import as2gw_async as gw


# --8<-- [start:example]
async def main(s: gw.Session, path: Path, partner: str = "RJ_Partner") -> str:
    receipt = await s.send("RJ_Station", partner, path)
    try:
        sent = await s.wait_for_delivery(receipt.as2_message_id, timeout=300)
    except gw.DeliveryFailedError as e:
        # The gateway gave up after its retries; each attempt is a failed-folder record.
        last = e.attempts[-1] if e.attempts else None
        status = last.transport_status_received if last else None
        print(f"failed after {len(e.attempts)} attempt(s), partner answered {status}")
        return "failed"
    except gw.DeliveryTimeoutError as e:
        # Not settled yet: it may still be queued (e.last_seen says where it was).
        print(f"still {e.last_seen or 'unknown'} after 300 s")
        return "timeout"
    print("delivered:", sent.delivery_status, sent.mdn_status)
    return "delivered"


# --8<-- [end:example]


async def run() -> None:
    async with gw.Session.from_env() as s:
        await main(s, Path(sys.argv[1]))


if __name__ == "__main__":
    asyncio.run(run())
