"""In-memory state of the emulated ECGrid network: keys, users, sessions, parcels, interchanges.

Everything lives in an :class:`ECGridState`; every public method takes its lock, so a test can
seed, inspect and switch behaviour from its own thread while the server answers requests.
Nothing here knows HTTP: ``app.py`` turns requests into these calls and results into the
``{"success", "data", "errorCode", "message"}`` envelope.
"""

from __future__ import annotations

import base64
import datetime as dt
import hmac
import json
import random
import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from .._bodies import GeneratedBody
from .faults import Fault, FaultQueue

__all__ = [
    "DEFAULT_API_KEY",
    "DEFAULT_LOGIN",
    "DEFAULT_PASSWORD",
    "HOSTILE_FILE_NAMES",
    "PARCEL_STATUSES",
    "ECGridError",
    "ECGridState",
    "Interchange",
    "Parcel",
    "Session",
    "Stats",
]

DEFAULT_API_KEY = "ecgrid-test-key"
DEFAULT_LOGIN = "demo@example.com"
DEFAULT_PASSWORD = "Demo-Passw0rd!"
DEFAULT_USER_ID = 4821
DEFAULT_NETWORK_ID = 42
DEFAULT_MAILBOX_ID = 1001
DEFAULT_ECGRID_ID = 112233
PARTNER_ECGRID_ID = 445566

PARCEL_STATUSES: tuple[str, ...] = (
    "InBoxReady",
    "InBoxTransferred",
    "InBoxArchived",
    "as2Receive",
    "as2Sent",
    "ftpReceived",
    "ftpSent",
    "outboxPending",
    "outboxSent",
    "outboxAcknowledged",
    "outboxRetry",
    "outboxFailed",
    "outboxDeliveryError",
    "outboxTransferred",
    "Cancelled",
    "VaultReady",
)
_CANCELLABLE = ("outboxPending", "outboxRetry", "outboxDeliveryError")

#: File names a careful client must never use as paths (see :meth:`ECGridState.seed_inbox`).
HOSTILE_FILE_NAMES: tuple[str, ...] = (
    "../../etc/passwd",
    "/etc/passwd",
    "..\\..\\windows\\win.ini",
    "C:\\temp\\evil.edi",
    "bad\x00name.edi",
    "line\nbreak\r.edi",
    "tab\tand\x1bescape.edi",
    "..",
    ".",
    "",
    "a/b/../../c.edi",
    "CON",
)

#: the created/modified time of the first seeded parcel (the vendor's sample date)
SEED_EPOCH = dt.datetime(2026, 5, 7, 8, 0, 0, tzinfo=dt.timezone.utc).timestamp()
_BIG = 1 << 20  # seeded bodies above this size are generated on the fly, never stored


class ECGridError(Exception):
    """An error answer: the envelope's ``errorCode``, the HTTP status and the message."""

    def __init__(self, error_code: str, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.error_code = error_code
        self.message = message
        self.status = status if status is not None else _STATUS.get(error_code, 400)


_STATUS = {
    "InvalidAPIKey": 401,
    "InvalidSession": 401,
    "AccessDenied": 403,
    "ObjectNotFound": 404,
    "InvalidParameter": 400,
    "DuplicateObject": 400,
    "RateLimitExceeded": 429,
    "InternalError": 500,
}


def iso(ts: float) -> str:
    """A clock time as the API writes it: ISO 8601 UTC with a ``Z``."""
    return dt.datetime.fromtimestamp(ts, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text: Any, name: str) -> float:
    """An ISO 8601 date-time (``Z`` or offset; naive = UTC) as clock seconds."""
    if not isinstance(text, str) or not text:
        raise ECGridError("InvalidParameter", f"{name} must be an ISO 8601 date-time")
    try:
        value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ECGridError("InvalidParameter", f"{name} is not an ISO 8601 date-time") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return value.timestamp()


Body = bytes | bytearray | GeneratedBody


@dataclass
class Interchange:
    """One EDI interchange (ISA envelope) inside a parcel."""

    interchange_id: int
    parcel_id: int
    sender: str
    receiver: str
    document_type: str
    created: float
    outbound: bool
    standard: str = "X12"
    status: str = "Active"
    count: int = 1
    resends: int = 0

    def to_json(self) -> dict[str, Any]:
        """The vendor's ``InterchangeIDInfo``."""
        return {
            "interchangeId": self.interchange_id,
            "parcelId": self.parcel_id,
            "sender": self.sender,
            "receiver": self.receiver,
            "standard": self.standard,
            "documentType": self.document_type,
            "status": self.status,
            "created": iso(self.created),
        }


@dataclass
class Parcel:
    """A file on the network: its body, routing, status and what clients did to it."""

    parcel_id: int
    file_name: str
    body: Body
    status: str
    outbound: bool
    mailbox_id: int
    network_id: int
    ecgrid_id_from: int
    ecgrid_id_to: int
    created: float
    modified: float
    mailbag_control_id: str | None = None
    notes: list[str] = field(default_factory=list)
    downloads: int = 0
    confirms: int = 0
    #: ``bytes`` announced by a download instead of the real size (a size-mismatch fault)
    declared_bytes: int | None = None
    interchanges: list[Interchange] = field(default_factory=list)

    @property
    def size(self) -> int:
        """Size of the body in bytes."""
        return self.body.size if isinstance(self.body, GeneratedBody) else len(self.body)

    @property
    def confirmed(self) -> bool:
        """True once a client confirmed it (and it was not reset to the inbox since)."""
        return self.status in ("InBoxTransferred", "InBoxArchived")

    def read(self) -> bytes:
        """The whole body (materialises a generated one: only for small sizes)."""
        if isinstance(self.body, GeneratedBody):
            return self.body.read()
        return bytes(self.body)

    def iter_body(self, chunk: int = 3 << 18) -> Iterator[bytes]:
        """The body in chunks (a generated body is produced lazily)."""
        if isinstance(self.body, GeneratedBody):
            yield from self.body.iter_chunks()
            return
        view = memoryview(self.body)
        for i in range(0, len(view), chunk):
            yield bytes(view[i : i + chunk])

    def to_json(self, spelling: str) -> dict[str, Any]:
        """The vendor's ``ParcelIDInfo`` in one of the two documented spellings."""
        if spelling == "guide":
            return {
                "parcelId": self.parcel_id,
                "fileName": self.file_name,
                "fromECGridId": self.ecgrid_id_from,
                "toECGridId": self.ecgrid_id_to,
                "status": self.status,
                "receivedDate": iso(self.created),
                "size": self.size,
            }
        return {
            "parcelId": self.parcel_id,
            "mailboxId": self.mailbox_id,
            "networkId": self.network_id,
            "fileName": self.file_name,
            "bytes": self.size,
            "status": self.status,
            "ecGridIdFrom": self.ecgrid_id_from,
            "ecGridIdTo": self.ecgrid_id_to,
            "created": iso(self.created),
            "modified": iso(self.modified),
        }


@dataclass
class Session:
    """A login session: the bearer token, its refresh token and when it expires."""

    token: str
    refresh_token: str
    login: str
    expires_at: float
    alive: bool = True


@dataclass
class Stats:
    """Counters a test asserts on (readable as attributes or JSON via :meth:`as_dict`)."""

    requests: int = 0
    routes: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)
    error_codes: Counter[str] = field(default_factory=Counter)
    faults: Counter[str] = field(default_factory=Counter)
    logins: int = 0
    login_failures: int = 0
    refreshes: int = 0
    logouts: int = 0
    #: calls made with a token that a refresh or logout had already replaced (must stay 0)
    stale_token_uses: int = 0
    uploads: int = 0
    uploaded_bytes: int = 0
    downloads: int = 0
    confirms: int = 0

    @property
    def invalid_session(self) -> int:
        """How many answers carried ``errorCode: InvalidSession``."""
        return self.error_codes.get("InvalidSession", 0)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready snapshot."""
        return {
            "requests": self.requests,
            "routes": dict(self.routes),
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "errorCodes": dict(self.error_codes),
            "faults": dict(self.faults),
            "logins": self.logins,
            "loginFailures": self.login_failures,
            "refreshes": self.refreshes,
            "logouts": self.logouts,
            "staleTokenUses": self.stale_token_uses,
            "uploads": self.uploads,
            "uploadedBytes": self.uploaded_bytes,
            "downloads": self.downloads,
            "confirms": self.confirms,
        }


@dataclass
class Principal:
    """Who made a call: a login session or an API key."""

    login: str
    session: Session | None = None
    api_key: str | None = None


class ECGridState:
    """The emulated network's whole state and behaviour (HTTP aside).

    Switches (plain attributes, change them any time):

    * ``page_shape`` 1, 2 or 3: how parcel lists answer (1: ``data`` is the array; 2: ``data``
      is ``{totalRecords, pageNo, recordsPerPage, parcels}``; 3: the array, with the totals
      beside ``data``);
    * ``spelling`` ``"reference"`` (``ecGridIdFrom``, ``ecGridIdTo``, ``created``, ``bytes``)
      or ``"guide"`` (``fromECGridId``, ``toECGridId``, ``receivedDate``, ``size``);
    * ``refresh_tokens``: login answers carry a ``refreshToken`` (the authentication guide);
    * ``token_ttl``: seconds a login token lives; ``refresh_grace``: seconds after its expiry
      a token may still be refreshed (0); ``latency``: seconds added to every call;
    * ``upload_answer`` ``"id"`` (``data`` is the number) or ``"object"`` (``data.parcelId``);
    * ``confirm_answer`` ``"bool"`` (``true``) or ``"object"`` (``{parcelId, status}``);
    * ``success_fields`` ``"empty"``, ``"null"`` or ``"absent"``: errorCode/message on success.

    Example::

        state = ECGridState(page_shape=2, spelling="guide")
        ids = state.seed_inbox(60, sizes=[100, 5000])
        state.fail_next("parcels/pending-inbox-list", status=503, count=2)
    """

    def __init__(
        self,
        *,
        api_keys: Iterable[str] = (DEFAULT_API_KEY,),
        login: str = DEFAULT_LOGIN,
        password: str = DEFAULT_PASSWORD,
        page_shape: int = 1,
        spelling: str = "reference",
        refresh_tokens: bool = False,
        token_ttl: float = 3600.0,
        clock: Callable[[], float] = time.time,
        seed: int = 0,
    ) -> None:
        self._lock = threading.RLock()
        self._rng = random.Random(seed)
        self.clock = clock
        self.page_shape = page_shape
        self.spelling = spelling
        self.refresh_tokens = refresh_tokens
        self.token_ttl = token_ttl
        #: seconds after its expiry during which a token may still be refreshed (0: none)
        self.refresh_grace = 0.0
        self.latency = 0.0
        self.upload_answer = "id"
        self.confirm_answer = "bool"
        self.success_fields = "empty"
        self.faults = FaultQueue()
        self.stats = Stats()
        self.login = login
        self.password = password
        self.user_id = DEFAULT_USER_ID
        self.network_id = DEFAULT_NETWORK_ID
        self.mailbox_id = DEFAULT_MAILBOX_ID
        self.ecgrid_id = DEFAULT_ECGRID_ID
        self.partner_ecgrid_id = PARTNER_ECGRID_ID
        self.api_keys: set[str] = set(api_keys)
        self._users: dict[str, str] = {login: password}
        self._sessions: dict[str, Session] = {}
        self._refresh: dict[str, Session] = {}
        self._dead_tokens: set[str] = set()
        self._parcels: dict[int, Parcel] = {}
        self._interchanges: dict[int, Interchange] = {}
        self._next_parcel = 987_654_321
        self._next_interchange = 5_550_001
        self._seeded = 0
        self.mailboxes: list[dict[str, Any]] = [
            {
                "mailboxId": self.mailbox_id,
                "networkId": self.network_id,
                "uniqueId": "DEMOMBOX01",
                "companyName": "Demo Mailbox",
                "status": "Active",
                "created": "2021-06-10T09:00:00Z",
                "modified": "2025-02-14T11:30:00Z",
            },
            {
                "mailboxId": self.mailbox_id + 1,
                "networkId": self.network_id,
                "uniqueId": "DEMOMBOX02",
                "companyName": "Demo Mailbox Two",
                "status": "Active",
                "created": "2022-01-03T10:00:00Z",
                "modified": "2025-03-01T12:00:00Z",
            },
        ]
        self.networks: list[dict[str, Any]] = [
            {
                "networkId": self.network_id,
                "uniqueId": "DEMONET",
                "companyName": "Demo Network",
                "status": "Active",
                "created": "2020-03-15T08:00:00Z",
                "modified": "2024-11-01T14:22:10Z",
            }
        ]

    # ------------------------------------------------------------------ switches and faults

    def fail_next(
        self,
        route: str = "*",
        *,
        status: int = 500,
        count: int = 1,
        error_code: str | None = None,
        message: str = "",
    ) -> None:
        """Answer the next ``count`` calls of ``route`` with HTTP ``status`` (500, 503, ...)."""
        code = error_code or ("InternalError" if status >= 500 else "InvalidParameter")
        self.faults.add(
            Fault("status", route, status=status, error_code=code, message=message), count
        )

    def rate_limit_next(
        self, route: str = "*", *, count: int = 1, retry_after: float = 1.0
    ) -> None:
        """Answer the next ``count`` calls of ``route`` with 429 and ``Retry-After``."""
        self.faults.add(Fault("rate_limit", route, status=429, retry_after=retry_after), count)

    def envelope_error_next(
        self,
        route: str = "*",
        error_code: str = "InternalError",
        *,
        count: int = 1,
        message: str = "",
    ) -> None:
        """Answer the next ``count`` calls of ``route`` with HTTP 200 and ``success: false``."""
        self.faults.add(
            Fault("envelope", route, status=200, error_code=error_code, message=message), count
        )

    def reset_next_download(self, *, count: int = 1, fraction: float = 0.5) -> None:
        """Drop the connection after ``fraction`` of the next ``count`` download bodies."""
        self.faults.add(Fault("reset", "parcels/download", fraction=fraction), count)

    def mismatch_next_download(self, *, count: int = 1, delta: int = 1) -> None:
        """Make the next ``count`` downloads announce ``bytes`` = real size + ``delta``."""
        self.faults.add(Fault("mismatch", "parcels/download", delta=delta), count)

    def delay_next(self, route: str = "*", seconds: float = 0.1, *, count: int = 1) -> None:
        """Answer the next ``count`` calls of ``route`` ``seconds`` late."""
        self.faults.add(Fault("latency", route, seconds=seconds), count)

    # ------------------------------------------------------------------ auth

    def check_api_key(self, key: str) -> Principal:
        """The principal of an ``X-API-Key``, or InvalidAPIKey."""
        with self._lock:
            if key not in self.api_keys:
                raise ECGridError(
                    "InvalidAPIKey", "The provided API key is not valid or has been revoked."
                )
            return Principal(self.login, api_key=key)

    def check_token(self, token: str) -> Principal:
        """The principal of a live bearer token, or InvalidSession."""
        with self._lock:
            session = self._sessions.get(token)
            if session is None or not session.alive:
                if token in self._dead_tokens:
                    self.stats.stale_token_uses += 1
                raise ECGridError("InvalidSession", "The session token is invalid or has ended.")
            if session.expires_at <= self.clock():
                raise ECGridError("InvalidSession", "The session token has expired.")
            return Principal(session.login, session=session)

    def _new_session(self, login: str) -> Session:
        expires = self.clock() + self.token_ttl
        session = Session(
            token=_jwt(login, expires),
            refresh_token=secrets.token_urlsafe(32),
            login=login,
            expires_at=expires,
        )
        self._sessions[session.token] = session
        self._refresh[session.refresh_token] = session
        return session

    def _session_json(self, session: Session) -> dict[str, Any]:
        out: dict[str, Any] = {
            "token": session.token,
            "expiresAt": iso(session.expires_at),
            "userId": self.user_id,
        }
        if self.refresh_tokens:
            out["refreshToken"] = session.refresh_token
        return out

    def do_login(self, login: str, password: str) -> dict[str, Any]:
        """``POST /v2/auth/login``: a new session for valid credentials."""
        with self._lock:
            known = self._users.get(login)
            if known is None or not hmac.compare_digest(known.encode(), password.encode()):
                self.stats.login_failures += 1
                raise ECGridError("InvalidSession", "Invalid login or password.", 401)
            self.stats.logins += 1
            return self._session_json(self._new_session(login))

    def _kill(self, session: Session) -> None:
        session.alive = False
        self._sessions.pop(session.token, None)
        self._refresh.pop(session.refresh_token, None)
        self._dead_tokens.add(session.token)

    def do_refresh(self, token: str | None, refresh_token: str | None) -> dict[str, Any]:
        """``POST /v2/auth/refresh``: a new session; the old token stops working at once."""
        with self._lock:
            session: Session | None = None
            if refresh_token:
                session = self._refresh.get(refresh_token)
            if session is None and token:
                session = self._sessions.get(token)
                if session is not None and session.expires_at + self.refresh_grace <= self.clock():
                    session = None
                if session is None and token in self._dead_tokens:
                    self.stats.stale_token_uses += 1
            if session is None or not session.alive:
                raise ECGridError(
                    "InvalidSession", "The token to refresh is invalid or has expired."
                )
            self._kill(session)
            self.stats.refreshes += 1
            return self._session_json(self._new_session(session.login))

    def do_logout(self, principal: Principal) -> None:
        """``POST /v2/auth/logout``: a login session ends; an API key stays valid."""
        with self._lock:
            if principal.session is not None:
                self._kill(principal.session)
            self.stats.logouts += 1

    def session_info(self, principal: Principal) -> dict[str, Any]:
        """``POST /v2/auth/session``."""
        expires = principal.session.expires_at if principal.session else None
        return {
            "userId": self.user_id,
            "login": principal.login,
            "networkId": self.network_id,
            "mailboxId": self.mailbox_id,
            "authLevel": "MailboxAdmin",
            "expiresAt": iso(expires) if expires is not None else None,
        }

    def change_password(self, principal: Principal, current: Any, new: Any) -> None:
        """``PUT /v2/auth/password``: checks the current password and the password policy."""
        with self._lock:
            if not isinstance(current, str) or not isinstance(new, str):
                raise ECGridError(
                    "InvalidParameter", "currentPassword and newPassword are required"
                )
            if self._users.get(principal.login) != current:
                raise ECGridError("InvalidParameter", "currentPassword does not match")
            if not (
                any(c.islower() for c in new)
                and any(c.isupper() for c in new)
                and any(c.isdigit() for c in new)
                and any(not c.isalnum() for c in new)
            ):
                raise ECGridError(
                    "InvalidParameter", "newPassword does not meet the password policy"
                )
            self._users[principal.login] = new
            if principal.login == self.login:
                self.password = new

    def expire_tokens(self) -> None:
        """Expire every login token now (the next call with one gets InvalidSession)."""
        with self._lock:
            now = self.clock()
            for session in self._sessions.values():
                session.expires_at = min(session.expires_at, now)

    def expire_token(self, token: str) -> bool:
        """Expire one login token now; True if it was live."""
        with self._lock:
            session = self._sessions.get(token)
            if session is None:
                return False
            session.expires_at = min(session.expires_at, self.clock())
            return True

    def live_tokens(self) -> list[str]:
        """The login tokens that still work."""
        with self._lock:
            now = self.clock()
            return [t for t, s in self._sessions.items() if s.alive and s.expires_at > now]

    # ------------------------------------------------------------------ parcels: seeding

    def add_parcel(
        self,
        file_name: str = "parcel.edi",
        content: Body | None = None,
        *,
        size: int | None = None,
        status: str = "InBoxReady",
        outbound: bool = False,
        mailbox_id: int | None = None,
        ecgrid_id_from: int | None = None,
        ecgrid_id_to: int | None = None,
        created: float | None = None,
        document_type: str = "850",
    ) -> Parcel:
        """Add one parcel (inbound ``InBoxReady`` unless told); ``size`` generates content.

        Any ``status`` string is accepted, documented or not (a client must keep unknown ones).
        """
        if content is None:
            n = 64 if size is None else size
            content = (
                GeneratedBody(n, self._rng.randrange(1 << 30)) if n > _BIG else _edi(self._rng, n)
            )
        with self._lock:
            now = self.clock() if created is None else created
            pid = self._next_parcel
            self._next_parcel += 1
            sender = (
                ecgrid_id_from
                if ecgrid_id_from is not None
                else (self.ecgrid_id if outbound else self.partner_ecgrid_id)
            )
            receiver = (
                ecgrid_id_to
                if ecgrid_id_to is not None
                else (self.partner_ecgrid_id if outbound else self.ecgrid_id)
            )
            parcel = Parcel(
                parcel_id=pid,
                file_name=file_name,
                body=content,
                status=status,
                outbound=outbound,
                mailbox_id=self.mailbox_id if mailbox_id is None else mailbox_id,
                network_id=self.network_id,
                ecgrid_id_from=sender,
                ecgrid_id_to=receiver,
                created=now,
                modified=now,
            )
            ich = Interchange(
                interchange_id=self._next_interchange,
                parcel_id=pid,
                sender=str(sender),
                receiver=str(receiver),
                document_type=document_type,
                created=now,
                outbound=outbound,
            )
            self._next_interchange += 1
            parcel.interchanges.append(ich)
            self._interchanges[ich.interchange_id] = ich
            self._parcels[pid] = parcel
            return parcel

    def seed_inbox(
        self,
        n: int,
        *,
        sizes: int | Sequence[int] = 256,
        file_names: Sequence[str] | None = None,
        status: str = "InBoxReady",
        outbound: bool = False,
        mailbox_id: int | None = None,
    ) -> list[int]:
        """Add ``n`` parcels (pending inbound by default); returns their ids in order.

        ``sizes`` and ``file_names`` are used in turn (``file_names=HOSTILE_FILE_NAMES`` for
        names that must never become paths); each parcel is created one second after the last.
        """
        size_list = [sizes] if isinstance(sizes, int) else list(sizes)
        ids = []
        for i in range(n):
            with self._lock:
                created = SEED_EPOCH + self._seeded
                self._seeded += 1
            name = (
                file_names[i % len(file_names)]
                if file_names
                else f"{'out' if outbound else 'in'}_{i + 1:05d}.edi"
            )
            p = self.add_parcel(
                name,
                size=size_list[i % len(size_list)],
                status=status,
                outbound=outbound,
                mailbox_id=mailbox_id,
                created=created,
            )
            ids.append(p.parcel_id)
        return ids

    # ------------------------------------------------------------------ parcels: calls

    def parcel(self, parcel_id: int) -> Parcel:
        """The parcel record (mutable), or ObjectNotFound."""
        with self._lock:
            p = self._parcels.get(parcel_id)
            if p is None:
                raise ECGridError("ObjectNotFound", f"Parcel {parcel_id} not found.")
            return p

    def parcels(self) -> list[Parcel]:
        """Every parcel, in id order."""
        with self._lock:
            return [self._parcels[k] for k in sorted(self._parcels)]

    def pending(self, mailbox_id: int | None = None) -> list[Parcel]:
        """Inbound parcels waiting for a download and confirm (``InBoxReady``)."""
        return self.list_parcels(outbound=False, status="InBoxReady", mailbox_id=mailbox_id)

    def list_parcels(
        self,
        *,
        outbound: bool,
        mailbox_id: int | None = None,
        ecgrid_id_from: int | None = None,
        ecgrid_id_to: int | None = None,
        status: str | None = None,
        begin: float | None = None,
        end: float | None = None,
        mailbag_control_id: str | None = None,
    ) -> list[Parcel]:
        """Parcels of one direction matching every given filter (0/None = no filter)."""
        with self._lock:
            out = []
            for p in self.parcels():
                if p.outbound != outbound and mailbag_control_id is None:
                    continue
                if mailbox_id and p.mailbox_id != mailbox_id:
                    continue
                if ecgrid_id_from and p.ecgrid_id_from != ecgrid_id_from:
                    continue
                if ecgrid_id_to and p.ecgrid_id_to != ecgrid_id_to:
                    continue
                if status and p.status != status:
                    continue
                if begin is not None and p.created < begin:
                    continue
                if end is not None and p.created > end:
                    continue
                if mailbag_control_id is not None and p.mailbag_control_id != mailbag_control_id:
                    continue
                out.append(p)
            return out

    def upload(
        self,
        file_name: str,
        content: bytearray,
        *,
        mailbox_id: int | None,
        ecgrid_id_from: int | None,
        ecgrid_id_to: int | None,
    ) -> Parcel:
        """``POST /v2/parcels/upload``: a new outbound parcel (``outboxPending``)."""
        if not ecgrid_id_from or not ecgrid_id_to:
            isa_from, isa_to = _isa_route(bytes(content[:200]))
            ecgrid_id_from = ecgrid_id_from or isa_from
            ecgrid_id_to = ecgrid_id_to or isa_to
        p = self.add_parcel(
            file_name,
            content,
            status="outboxPending",
            outbound=True,
            mailbox_id=mailbox_id or None,
            ecgrid_id_from=ecgrid_id_from or self.ecgrid_id,
            ecgrid_id_to=ecgrid_id_to or 0,
        )
        with self._lock:
            self.stats.uploads += 1
            self.stats.uploaded_bytes += p.size
        return p

    def begin_download(self, parcel_id: int) -> Parcel:
        """``POST /v2/parcels/download``: count it; the parcel stays pending until confirmed."""
        with self._lock:
            p = self.parcel(parcel_id)
            p.downloads += 1
            self.stats.downloads += 1
            return p

    def confirm(self, parcel_id: int) -> Parcel:
        """``POST /v2/parcels/confirm``: ``InBoxTransferred``; confirming twice is a no-op."""
        with self._lock:
            p = self.parcel(parcel_id)
            if p.outbound:
                raise ECGridError(
                    "InvalidParameter", f"Parcel {parcel_id} is not an inbound parcel."
                )
            p.confirms += 1
            self.stats.confirms += 1
            if p.status == "InBoxReady":
                p.status = "InBoxTransferred"
                p.modified = self.clock()
            return p

    def cancel(self, parcel_id: int) -> None:
        """``POST /v2/parcels/cancel/{id}``: only outbound parcels not delivered yet."""
        with self._lock:
            p = self.parcel(parcel_id)
            if not p.outbound or p.status not in _CANCELLABLE:
                raise ECGridError(
                    "InvalidParameter",
                    f"Parcel {parcel_id} ({p.status}) is not an undelivered outbound parcel.",
                )
            p.status = "Cancelled"
            p.modified = self.clock()
            for ich in p.interchanges:
                ich.status = "Cancelled"

    def reset_to_inbox(self, parcel_id: int) -> None:
        """``POST /v2/parcels/reset-to-inbox/{id}``: an inbound parcel is ``InBoxReady`` again."""
        with self._lock:
            p = self.parcel(parcel_id)
            if p.outbound:
                raise ECGridError(
                    "InvalidParameter", f"Parcel {parcel_id} is not an inbound parcel."
                )
            p.status = "InBoxReady"
            p.modified = self.clock()

    def update(self, parcel_id: int, status: str | None) -> Parcel:
        """``POST /v2/parcels/update``: set a documented status."""
        with self._lock:
            p = self.parcel(parcel_id)
            if status is not None:
                if status not in PARCEL_STATUSES:
                    raise ECGridError("InvalidParameter", f"Unknown parcel status {status!r}.")
                p.status = status
                p.modified = self.clock()
            return p

    def set_mailbag_control_id(self, parcel_id: int, value: str) -> None:
        """``POST /v2/parcels/set-mailbagcontrolid``."""
        with self._lock:
            p = self.parcel(parcel_id)
            p.mailbag_control_id = value
            p.modified = self.clock()

    def add_note(self, parcel_id: int, note: str) -> None:
        """``POST /v2/parcels/acknowledgment-note``."""
        with self._lock:
            self.parcel(parcel_id).notes.append(note)

    def send_test_file(self, ecgrid_id_from: int, ecgrid_id_to: int, document_type: str) -> Parcel:
        """``POST /v2/parcels/send-test-file``: a synthetic outbound X12 parcel."""
        body = _edi(self._rng, 512, sender=str(ecgrid_id_from), receiver=str(ecgrid_id_to))
        return self.add_parcel(
            f"test_{document_type}.edi",
            body,
            status="outboxPending",
            outbound=True,
            ecgrid_id_from=ecgrid_id_from,
            ecgrid_id_to=ecgrid_id_to,
            document_type=document_type,
        )

    # ------------------------------------------------------------------ interchanges

    def interchange(self, interchange_id: int) -> Interchange:
        """The interchange record, or ObjectNotFound."""
        with self._lock:
            ich = self._interchanges.get(interchange_id)
            if ich is None:
                raise ECGridError("ObjectNotFound", f"Interchange {interchange_id} not found.")
            return ich

    def list_interchanges(
        self,
        *,
        outbound: bool,
        mailbox_id: int | None,
        ecgrid_id_from: int | None,
        ecgrid_id_to: int | None,
        begin: float | None,
        end: float | None,
    ) -> list[Interchange]:
        """Interchanges of the parcels of one direction matching the filters."""
        with self._lock:
            out = []
            for p in self.list_parcels(
                outbound=outbound,
                mailbox_id=mailbox_id,
                ecgrid_id_from=ecgrid_id_from,
                ecgrid_id_to=ecgrid_id_to,
                begin=begin,
                end=end,
            ):
                out.extend(p.interchanges)
            return out

    def cancel_interchange(self, interchange_id: int) -> None:
        """``POST /v2/interchanges/cancel/{id}``: outbound, its parcel not delivered yet."""
        with self._lock:
            ich = self.interchange(interchange_id)
            parcel = self._parcels[ich.parcel_id]
            if not ich.outbound or parcel.status not in _CANCELLABLE or ich.status == "Cancelled":
                raise ECGridError(
                    "InvalidParameter", f"Interchange {interchange_id} cannot be cancelled."
                )
            ich.status = "Cancelled"

    def resend_interchange(self, interchange_id: int) -> None:
        """``POST /v2/interchanges/resend/{id}``: counted in ``interchange.resends``."""
        with self._lock:
            self.interchange(interchange_id).resends += 1


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _jwt(login: str, expires: float) -> str:
    """A JWT-shaped token (HS256 header, ``sub``/``exp``/``jti`` claims, a random signature)."""
    header = _b64url(b'{"alg":"HS256","typ":"JWT"}')
    claims = {"sub": login, "exp": int(expires), "jti": secrets.token_hex(8)}
    payload = _b64url(json.dumps(claims, separators=(",", ":")).encode())
    return f"{header}.{payload}.{_b64url(secrets.token_bytes(32))}"


def _edi(
    rng: random.Random, size: int, sender: str = "SENDER", receiver: str = "RECEIVER"
) -> bytes:
    """Plausible X12 text of exactly ``size`` bytes."""
    head = (
        f"ISA*00*{' ' * 10}*00*{' ' * 10}*ZZ*{sender:<15}*ZZ*{receiver:<15}*260507*0800*^*00501*"
        f"{rng.randrange(10**9):09d}*0*P*>~\n"
    )
    parts = [head]
    total = len(head)
    n = 0
    while total < size:
        n += 1
        line = f"LIN*{n}*SK*{rng.randrange(10000, 99999)}~QTY*{rng.randrange(1, 500)}*EA~\n"
        parts.append(line)
        total += len(line)
    return "".join(parts).encode("ascii")[:size]


def _isa_route(head: bytes) -> tuple[int | None, int | None]:
    """ECGrid ids from ISA06/ISA08 when they are numbers (the emulator's routing by header)."""
    if not head.startswith(b"ISA") or len(head) < 4:
        return None, None
    elements = head.split(head[3:4])
    if len(elements) < 9:
        return None, None

    def num(b: bytes) -> int | None:
        s = b.strip()
        return int(s) if s.isdigit() else None

    return num(elements[6]), num(elements[8])


def parse_isa(header: Any) -> dict[str, str]:
    """``POST /v2/interchanges/get-header``: the 16 ISA elements by name."""
    if not isinstance(header, str) or not header.startswith("ISA") or len(header) < 4:
        raise ECGridError("InvalidParameter", "interchangeHeader must be an ISA segment")
    elements = header.rstrip("~\r\n").split(header[3])
    if len(elements) < 17:
        raise ECGridError("InvalidParameter", "interchangeHeader has fewer than 16 elements")
    names = (
        "authorizationInfoQualifier",
        "authorizationInfo",
        "securityInfoQualifier",
        "securityInfo",
        "senderIdQualifier",
        "senderId",
        "receiverIdQualifier",
        "receiverId",
        "interchangeDate",
        "interchangeTime",
        "repetitionSeparator",
        "controlVersionNumber",
        "controlNumber",
        "acknowledgmentRequested",
        "usageIndicator",
        "componentElementSeparator",
    )
    return dict(zip(names, elements[1:17], strict=True))


def isa_date(header: Any) -> str:
    """``POST /v2/interchanges/get-date``: ISA09 + ISA10 as ISO 8601 UTC."""
    fields = parse_isa(header)
    try:
        when = dt.datetime.strptime(
            fields["interchangeDate"] + fields["interchangeTime"], "%y%m%d%H%M"
        )
    except ValueError:
        raise ECGridError("InvalidParameter", "ISA09/ISA10 are not a date and time") from None
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")
