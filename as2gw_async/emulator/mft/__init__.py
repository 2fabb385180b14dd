"""A faithful local MFT Gateway (the AS2 Gateway's successor) and a fake S3 for its links.

It imports nothing from the ``as2gw_async`` client: it is a second, independent reading of
the spec (``mftgateway-api.md`` and the vendor's OpenAPI file), so that a misunderstanding
cannot hide in both. Two servers on two loopback ports: the gateway API, and an object
store serving the presigned attachment and MDN links (signed, expiring, refusing any
``Authorization`` header).

Quick start::

    from as2gw_async.emulator.mft import MftEmulator

    with MftEmulator(naming="current") as emu:
        ids = emu.seed_inbox(25)
        ...  # emu.base_url, emu.store_url, emu.username, emu.password, emu.stats

Readings of the spec where it is ambiguous (see ``docs/emulator-mft.md``):

* ``markAsRead`` on ``GET /message/inbox/{id}`` defaults to true; ``fetchAll`` defaults to
  false (read messages are left out of the inbox listing).
* Filters: ``partnerIdentifier``/``stationIdentifier`` combine; when either is present the
  secondary filters are ignored; of ``identifier`` and ``subject`` only the first present
  applies (identifier exact, subject a case-insensitive substring). Names of the other
  naming are ignored like any unknown parameter.
* Unknown message: 404 ``Message not found`` (get, markUnread), ``Unable to find message``
  (delete), ``Attachment(s) not found`` / ``MDN not found`` (links); a batch delete answers
  the ids it deleted, 404 ``Unable to find messages`` when none.
* A raw submit needs ``Attachment-Name`` (400 without); a body over ``max_body`` (10 MiB,
  the API gateway's payload cap) is 413 ``Request Too Long``.
* Tokens are JWT-shaped with an ``exp`` claim; expired ones are 401 ``The incoming token has
  expired``, unknown ones (``Bearer ...`` included) 401 ``Unauthorized``.
"""

from .faults import Fault, FaultScript
from .naming import NAMINGS, Naming
from .server import MftEmulator, MftServer, ready_lines, run, serve
from .state import (
    DEFAULT_PARTNER,
    DEFAULT_PASSWORD,
    DEFAULT_STATION,
    DEFAULT_TOKEN_ID,
    DEFAULT_TOKEN_SECRET,
    DEFAULT_USERNAME,
    GATEWAY_ROUTES,
    ApiToken,
    Attachment,
    Certificate,
    GatewayStats,
    Message,
    MftGateway,
    Partner,
    Station,
    Token,
)
from .store import STORE_ROUTES, ObjectStore, StoreStats, create_store_app
from .webhooks import (
    event_for,
    message_failed_event,
    message_received_event,
    message_sent_event,
    webhook_body,
)

__all__ = [
    "DEFAULT_PARTNER",
    "DEFAULT_PASSWORD",
    "DEFAULT_STATION",
    "DEFAULT_TOKEN_ID",
    "DEFAULT_TOKEN_SECRET",
    "DEFAULT_USERNAME",
    "GATEWAY_ROUTES",
    "NAMINGS",
    "STORE_ROUTES",
    "ApiToken",
    "Attachment",
    "Certificate",
    "Fault",
    "FaultScript",
    "GatewayStats",
    "Message",
    "MftEmulator",
    "MftGateway",
    "MftServer",
    "Naming",
    "ObjectStore",
    "Partner",
    "Station",
    "StoreStats",
    "Token",
    "create_store_app",
    "event_for",
    "message_failed_event",
    "message_received_event",
    "message_sent_event",
    "ready_lines",
    "run",
    "serve",
    "webhook_body",
]
