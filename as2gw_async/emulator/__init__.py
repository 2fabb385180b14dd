"""A faithful local AS2 Gateway (API v1): in-memory state, an ASGI app, faults, a CLI.

What moto is to boto3: run it in-process or as a separate process and point any client at it.
It imports nothing from the ``as2gw_async`` client — it is an independent reading of the spec.

Quick start::

    from as2gw_async.emulator import Gateway, serve

    gateway = Gateway(seed=0, send_delay=0.2)
    gateway.seed(25)
    async with serve(gateway) as server:
        ...  # server.base_url, server.username, server.password

Readings of the spec where it is ambiguous (see also ``docs/emulator.md``):

* Batch download truncation: attachments are aggregated in request order; when adding the
  next one would take the total of *attachment sizes* over ``gateway.batch_limit`` (10 MB),
  aggregation stops with 206 and ``X-Batch-Truncation-Index: (m,i)``, the zero-based
  (message, attachment) index of the last attachment added. If the very first attachment
  alone exceeds the cap it is included anyway (the response is then 206 if anything else
  was left out), so a client resuming from the truncation point always progresses.
  Unknown ids get ``<id>/.error``; a repeated id is archived once; ``.error`` entries do not
  count towards the cap; with ``markAsRead`` only messages with every attachment in the
  archive are marked.
* ``receiverId`` is always the partner and ``senderId`` always the station, whatever the
  direction (spec 3.2 read literally); ``partnerAS2Id``/``stationAS2Id`` filter on them.
* Filters: ids match exactly; ``subject`` is a case-insensitive substring match; the queued
  ``query`` matches a partner/station/message id exactly or a subject by substring.
* A failed send attempt is a failed-folder record with ``deliveryStatus: "Not Delivered"``,
  ``mdnStatus: "No MDN"`` and ``transportStatusReceived`` = the partner's HTTP status;
  ``GET /message/failed/<id>`` returns the latest attempt. Queued records carry no
  ``attachments``, ``deliveryStatus`` or ``transportStatusReceived`` on GET.
* Limits on sends: more than 10 files, duplicate names, no file part, no ``Name`` header ->
  400; more than 10 MB -> 413; unknown station/partner -> 404. All with ``{"message": ...}``.
* The token must be the bare ``Authorization`` value; ``Bearer <token>`` is refused (401).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._bodies import GeneratedBody
from ._extra import MissingExtraError, require_extra
from .faults import ALL_FAULT_KINDS, ROUTE_NAMES, FaultPlan
from .state import (
    DEFAULT_PARTNER,
    DEFAULT_PASSWORD,
    DEFAULT_STATION,
    DEFAULT_USERNAME,
    Account,
    Attachment,
    Gateway,
    Mdn,
    Message,
    Partner,
    Stats,
    Token,
)

__all__ = [
    "ALL_FAULT_KINDS",
    "DEFAULT_PARTNER",
    "DEFAULT_PASSWORD",
    "DEFAULT_STATION",
    "DEFAULT_USERNAME",
    "ROUTE_NAMES",
    "Account",
    "Attachment",
    "EmulatorServer",
    "FaultPlan",
    "Gateway",
    "GeneratedBody",
    "InjectedFault",
    "Mdn",
    "Message",
    "MissingExtraError",
    "Partner",
    "Stats",
    "Token",
    "content_disposition",
    "create_app",
    "create_redirect_app",
    "serve",
    "serve_in_thread",
]

if TYPE_CHECKING:
    from .app import InjectedFault, content_disposition, create_app, create_redirect_app
    from .server import EmulatorServer, serve, serve_in_thread

#: Names that need the ``emulator`` extra (starlette, uvicorn), imported on first use so that
#: ``import as2gw_async.emulator`` (the pytest plugin, ``Gateway``) works without it.
_SERVING = {
    "InjectedFault": "app",
    "content_disposition": "app",
    "create_app": "app",
    "create_redirect_app": "app",
    "EmulatorServer": "server",
    "serve": "server",
    "serve_in_thread": "server",
}


def __getattr__(name: str) -> Any:
    """Import the serving names lazily; without the extra, say which one to install."""
    module = _SERVING.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    with require_extra():
        imported = importlib.import_module(f".{module}", __name__)
    value = getattr(imported, name)
    globals()[name] = value
    return value
