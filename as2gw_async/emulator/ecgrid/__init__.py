"""A faithful local ECGrid REST v2.6 network: in-memory state, an ASGI app, faults.

It imports nothing from the ``as2gw_async`` client: it is a second, independent reading of
the spec (``spec/ecgrid-rest-v2.6.md`` and the vendor's pages), so a misunderstanding cannot
hide in both. Quick start::

    from as2gw_async.emulator.ecgrid import ECGridState, start

    state = ECGridState(page_shape=3, spelling="guide")
    state.seed_inbox(60)
    with start(state) as emu:       # emu.base_url, emu.api_key, emu.login, emu.password
        ...

Readings where the vendor's pages disagree or are silent (see ``docs/emulator-ecgrid.md``):

* The inbound lifecycle follows the reference and confirm pages: a download changes nothing
  but a counter (the parcel stays ``InBoxReady`` and pending), ``confirm`` makes it
  ``InBoxTransferred`` (a second confirm is a no-op), ``reset-to-inbox`` makes it
  ``InBoxReady`` again.
* Both request spellings are accepted everywhere (``login``/``email``, ``token``/
  ``refreshToken``, ``ecGridIdFrom``/``fromECGridId``); the answer spelling, the page shape,
  the upload and confirm answers are switches on :class:`ECGridState`.
* A refresh kills the old token (and its refresh token) at once; a call with a token replaced
  by a refresh or a logout is counted in ``stats.stale_token_uses``.
* A failed login is 401 ``InvalidSession``; no header at all is 401 ``InvalidAPIKey``.
* ``pending-inbox-list`` pages only when ``pageNo`` or ``recordsPerPage`` is given.
"""

from ._codec import UploadError, UploadParser, b64_chunks, b64_length
from .app import create_app
from .faults import FAULT_KINDS, Fault, FaultQueue
from .server import ECGridServer, run_forever, serve_ecgrid, start
from .state import (
    DEFAULT_API_KEY,
    DEFAULT_LOGIN,
    DEFAULT_PASSWORD,
    HOSTILE_FILE_NAMES,
    PARCEL_STATUSES,
    ECGridError,
    ECGridState,
    Interchange,
    Parcel,
    Session,
    Stats,
)

__all__ = [
    "DEFAULT_API_KEY",
    "DEFAULT_LOGIN",
    "DEFAULT_PASSWORD",
    "FAULT_KINDS",
    "HOSTILE_FILE_NAMES",
    "PARCEL_STATUSES",
    "ECGridError",
    "ECGridServer",
    "ECGridState",
    "Fault",
    "FaultQueue",
    "Interchange",
    "Parcel",
    "Session",
    "Stats",
    "UploadError",
    "UploadParser",
    "b64_chunks",
    "b64_length",
    "create_app",
    "run_forever",
    "serve_ecgrid",
    "start",
]
