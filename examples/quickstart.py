"""Send a file, wait until the partner has it, then sync the inbox to a local folder.

Run it against the emulator or the real gateway (see docs/getting-started.md):

    export AS2GW_USERNAME=demo@example.com AS2GW_PASSWORD=demo-password
    export AS2GW_BASE_URL=http://127.0.0.1:8080/v1   # leave unset for the real gateway
    python examples/quickstart.py
"""

import asyncio
from pathlib import Path

import as2gw_async as gw

STATION = "RJ_Station"  # your AS2 station id (the sender)
PARTNER = "RJ_Partner"  # your trading partner's AS2 id


async def main(s: gw.Session, workdir: Path) -> list[gw.Delivered]:
    # 1. Send a file. The receipt carries the new message's AS2 id.
    invoice = workdir / "invoice.xml"
    invoice.write_text('<invoice id="1001"><total>1000</total></invoice>\n')
    receipt = await s.send(STATION, PARTNER, invoice, subject="Invoice 1001")
    print("queued:", receipt.as2_message_id)

    # 2. Wait until the gateway has delivered it (or raise DeliveryFailedError).
    sent = await s.wait_for_delivery(receipt.as2_message_id, timeout=120)
    print("delivered:", sent.delivery_status, "MDN:", sent.mdn_status)

    # 3. Look at the inbox: one page of unread messages.
    page = await s.received.list(unread_only=True, page_length=10)
    print(f"{page.total_records} unread message(s)")
    for m in page.records:
        print(" ", m.as2_message_id, m.subject or "(no subject)", [a.name for a in m.attachments])

    # 4. Sync the inbox to disk: every unread message once, then marked read.
    delivered = []
    async with gw.InboxConsumer(s, workdir / "inbox") as consumer:
        async for d in consumer:
            print("stored", d.as2_message_id, "in", d.directory)
            delivered.append(d)
    return delivered


async def run(workdir: Path) -> None:
    async with gw.Session.from_env() as s:
        await main(s, workdir)


if __name__ == "__main__":
    workdir = Path("as2gw-quickstart")
    workdir.mkdir(exist_ok=True)
    asyncio.run(run(workdir))
