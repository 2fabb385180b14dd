import asyncio

import as2gw_async as gw


async def main() -> None:
    async with gw.Session.from_env() as s:  # AS2GW_USERNAME, AS2GW_PASSWORD
        r = await s.send("RJ_Station", "RJ_Partner", "invoice.xml", subject="Invoice 1001")
        sent = await s.wait_for_delivery(r.as2_message_id)  # or DeliveryFailedError
        print(r.as2_message_id, sent.delivery_status)

        async with gw.InboxConsumer(s, "inbox/") as inbox:
            async for d in inbox:  # each received message once, files complete on disk
                print(d.as2_message_id, [f.path for f in d.files])


if __name__ == "__main__":
    asyncio.run(main())
