"""Typed MFT Gateway webhook events: dispatch on the event class, keep unknown ones.

Run: python examples/mft_webhook.py < event.json
"""

import sys

from as2gw_async import mft


# --8<-- [start:example]
def handle(body: bytes) -> str:
    event = mft.parse_webhook(body)  # WebhookError if it is not a JSON object
    if isinstance(event, mft.MessageReceivedEvent):
        return f"received {event.message_as2_id} from {event.partner_as2_id}"
    if isinstance(event, mft.MessageSentEvent):
        return f"sent {event.message_as2_id} to {event.partner_as2_id}"
    if isinstance(event, mft.MessageFailedEvent):
        return f"failed {event.message_as2_id}: {event.failure_reason}"
    return f"ignored {event.event_type}"  # mft.UnknownEvent: a type added later


# --8<-- [end:example]

if __name__ == "__main__":
    print(handle(sys.stdin.buffer.read()))
