"""In-memory state of the emulated MFT Gateway: accounts, tokens, stations, partners,
certificates and messages, plus the object store that holds their bodies.

Every public method takes the gateway's lock, so a test may drive and inspect the state from
its own thread while the servers answer requests. Time-driven changes (a queued message
being sent or failing) are applied lazily whenever the state is looked at, so no background
task is needed. Bodies are built with the legacy field names (the OpenAPI file's) and renamed
on the way out by :mod:`.naming`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from .._bodies import Body, GeneratedBody, body_size
from .faults import FaultScript
from .naming import MESSAGE_FIELDS, Naming, check_naming, rename
from .store import ObjectStore

__all__ = [
    "DEFAULT_PARTNER",
    "DEFAULT_PASSWORD",
    "DEFAULT_STATION",
    "DEFAULT_TOKEN_ID",
    "DEFAULT_TOKEN_SECRET",
    "DEFAULT_USERNAME",
    "GATEWAY_ROUTES",
    "ApiToken",
    "Attachment",
    "Certificate",
    "GatewayStats",
    "Mdn",
    "Message",
    "MftGateway",
    "Partner",
    "Station",
    "Token",
]

DEFAULT_USERNAME = "demo@example.com"
DEFAULT_PASSWORD = "demo-password"
DEFAULT_TOKEN_ID = "demo-token-id"
DEFAULT_TOKEN_SECRET = "demo-token-secret"
DEFAULT_STATION = "MyStation"
DEFAULT_PARTNER = "MyPartner"
ID_DOMAIN = "mftgateway.com"

#: fault route names of the gateway
GATEWAY_ROUTES: tuple[str, ...] = (
    "authorize",
    "refresh",
    "submit",
    "list",
    "get",
    "mark_unread",
    "delete",
    "batch_delete",
    "attachments",
    "mdn",
    "certificates",
    "certificate",
    "station",
    "partner",
)

Outcome = Literal["deliver", "fail", "queue"]
OUTCOMES: tuple[str, ...] = ("deliver", "fail", "queue")
#: list folders: inbox, and the three listable outbox states
LIST_FOLDERS: tuple[str, ...] = ("inbox", "sent", "queued", "failed")
#: msgStatus of each folder
STATUS_OF: dict[str, str] = {
    "inbox": "Received",
    "sent": "Sent",
    "queued": "Queued",
    "failed": "Failed",
}

#: timestamp (ms) of the first message made by :meth:`MftGateway.seed_inbox`
SEED_EPOCH_MS = 1_594_924_304_442


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


@dataclass
class Token:
    """An issued api or refresh token: its value, owner, kind and expiry (clock seconds)."""

    value: str
    username: str
    kind: str
    expires_at: float


@dataclass
class ApiToken:
    """An API token made in the web console: ``tokenID``/``tokenSecret`` for ``/authorize``."""

    token_id: str
    secret: str
    username: str
    ttl: float | None = None


@dataclass
class Station:
    """A trading station (messages are sent from and received by it)."""

    as2_id: str
    name: str
    station_id: int
    email: str = "station@example.com"


@dataclass
class Partner:
    """A trading partner; ``outcome`` decides what happens to messages sent to it."""

    as2_id: str
    name: str
    partner_id: int
    url: str = "https://partner.example.com/as2"
    subject: str | None = None
    outcome: str = "deliver"
    failure_reason: str = "SSL Handshake Exception"


@dataclass
class Certificate:
    """Certificate metadata as ``GET /certificate/{alias}`` answers it."""

    alias: str
    cert_type: str
    common_name: str
    belongs_to: list[str]
    serial_number: str
    issuer_common_name: str | None = None

    def summary(self) -> dict[str, Any]:
        """The entry of ``GET /certificate``."""
        return {"alias": self.alias, "type": self.cert_type}

    def to_json(self) -> dict[str, Any]:
        """The metadata of ``GET /certificate/{alias}`` (its field names are snake_case)."""
        issuer = self.issuer_common_name or self.common_name
        return {
            "alias": self.alias,
            "type": self.cert_type,
            "serial_number": self.serial_number,
            "subject_common_name": self.common_name,
            "subject_distinguish_name": f"CN={self.common_name}, O=Emulated, C=US",
            "issuer_common_name": issuer,
            "issuer_distinguish_name": f"CN={issuer}, O=Emulated, C=US",
            "valid_from": "Tue May 26 00:00:00 UTC 2015",
            "expiry": "Sun Jan 17 00:00:00 UTC 2038",
            "belongsTo": list(self.belongs_to),
        }


@dataclass
class Attachment:
    """One attachment: its file name (not trusted: may be hostile), body and object key."""

    name: str
    body: Body
    key: str = ""
    content_type: str = "application/octet-stream"

    @property
    def size(self) -> int:
        """Size of the body in bytes."""
        return body_size(self.body)

    def read(self) -> bytes:
        """The whole body (materialises a generated body)."""
        return self.body.read() if isinstance(self.body, GeneratedBody) else self.body


@dataclass
class Mdn:
    """A disposition notification: JSON fields and the raw MDN document in the store."""

    mdn_id: str
    key: str
    body: bytes
    status: str
    incoming: bool
    timestamp: int
    mic: str
    human: str


@dataclass
class Message:
    """A message: received (``folder="inbox"``) or outbound (``sent``/``queued``/``failed``)."""

    folder: str
    identifier: str
    numeric_id: int
    station: str
    partner: str
    subject: str
    attachments: list[Attachment]
    timestamp: int
    seq: int
    api_fetched: bool = False
    failures: int = 0
    failure_reason: str | None = None
    transport_status: int = 0
    mdn: Mdn | None = None
    due_at: float = 0.0
    outcome: str | None = None

    @property
    def incoming(self) -> bool:
        """True for a received message."""
        return self.folder == "inbox"

    def to_json(self, naming: Naming) -> dict[str, Any]:
        """The message entity, with the field names of ``naming``."""
        sender, receiver = (
            (self.partner, self.station) if self.incoming else (self.station, self.partner)
        )
        mic = self.mdn.mic if self.mdn is not None else ""
        out: dict[str, Any] = {
            "id": self.numeric_id,
            "as2MessageId": self.identifier,
            "incoming": self.incoming,
            "msgStatus": STATUS_OF[self.folder],
            "mdnStatus": self.mdn.status if self.mdn is not None else "Pending",
            "receiverAS2Id": receiver,
            "senderAS2Id": sender,
            "subject": self.subject,
            "failures": self.failures,
            "attachmentPaths": [a.key for a in self.attachments],
            "compressed": False,
            "signed": True,
            "encrypted": True,
            "mic": mic,
            "micMatches": self.mdn is not None and not self.incoming,
            "transportStatusReceived": self.transport_status,
            "userAgent": "MFT Gateway" if not self.incoming else "AS2 Partner (emulated)",
            "timestamp": self.timestamp,
            "apiFetched": self.api_fetched,
            "transportHeaders": {
                "AS2-From": sender,
                "AS2-To": receiver,
                "AS2-Version": "1.1",
                "Message-ID": self.identifier,
                "Subject": self.subject,
                "MIME-Version": "1.0",
                "Content-Type": 'application/octet-stream; name="smime.p7m"; '
                "smime-type=enveloped-data",
                "From": f"{sender.lower()}@example.com",
                "User-Agent": "MFT Gateway",
            },
        }
        if self.failure_reason is not None:
            out["failureReason"] = self.failure_reason
        if self.mdn is not None:
            mdn = {
                "mdnId": self.mdn.mdn_id,
                "messageId": self.numeric_id,
                "as2MessageId": self.identifier,
                "disposition": "automatic-action/MDN-sent-automatically; processed",
                "humanMessage": self.mdn.human,
                "rawMdnS3Key": self.mdn.key,
                "mic": self.mdn.mic,
                "signed": True,
                "incoming": self.mdn.incoming,
                "status": self.mdn.status,
                "timestamp": self.mdn.timestamp,
            }
            out["mdnMessage"] = rename(mdn, MESSAGE_FIELDS, naming)
        return rename(out, MESSAGE_FIELDS, naming)


@dataclass
class GatewayStats:
    """Request counters of the gateway (the object store keeps its own)."""

    requests: int = 0
    routes: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)
    faults: Counter[str] = field(default_factory=Counter)
    authorize_calls: int = 0
    authorizations: int = 0
    refresh_calls: int = 0
    refreshes: int = 0
    refresh_failures: int = 0
    unauthorized: int = 0
    submits: int = 0

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready snapshot."""
        out: dict[str, Any] = {}
        for key, value in self.__dict__.items():
            if isinstance(value, Counter):
                out[key] = {str(k): v for k, v in sorted(value.items(), key=str)}
            else:
                out[key] = value
        return out


AttachmentSpec = Attachment | tuple[str, Body] | tuple[str, Body, str]


class MftGateway:
    """The emulated MFT Gateway's whole state and behaviour (HTTP aside).

    ``naming`` is ``"current"`` (the service today) or ``"legacy"`` (the OpenAPI file's
    names); it may be changed at any time. ``token_ttl`` is the api token lifetime (3600 s,
    as the service); ``refresh_ttl`` the refresh token's. ``send_delay`` is how long a
    submitted message stays queued before its partner's ``outcome`` applies.

    Example::

        gw = MftGateway(seed=0)
        mid = gw.deliver(attachments=[("a.txt", b"hello")], subject="Greetings")
        gw.message(mid).api_fetched   # False until a GET with markAsRead (default true)
    """

    def __init__(
        self,
        *,
        seed: int = 0,
        naming: str = "current",
        token_ttl: float = 3600.0,
        refresh_ttl: float = 30 * 86400.0,
        send_delay: float = 0.2,
        max_body: int = 10 * 1024 * 1024,
        username: str = DEFAULT_USERNAME,
        password: str = DEFAULT_PASSWORD,
        token_id: str = DEFAULT_TOKEN_ID,
        token_secret: str = DEFAULT_TOKEN_SECRET,
        clock: Callable[[], float] = time.time,
        store: ObjectStore | None = None,
        defaults: bool = True,
    ) -> None:
        self._lock = threading.RLock()
        self._rng = random.Random(seed)
        self._secret = random.Random(seed ^ 0x3F7).randbytes(32)
        self.clock = clock
        self.naming: Naming = check_naming(naming)
        self.token_ttl = token_ttl
        self.refresh_ttl = refresh_ttl
        self.send_delay = send_delay
        #: a submit body over this many bytes is answered 413
        self.max_body = max_body
        #: when True every /refresh-session fails (500), whatever the refresh token
        self.refresh_fails = False
        #: when False, a tokenID/tokenSecret authorize leaves out ``apiTokenExpiryIn``
        self.send_token_expiry = True
        self.store = store if store is not None else ObjectStore(clock=clock)
        self.faults = FaultScript(GATEWAY_ROUTES)
        self.stats = GatewayStats()
        self.username = username
        self.password = password
        self.token_id = token_id
        self.token_secret = token_secret
        self._accounts: dict[str, str] = {username: password}
        self._api_tokens: dict[str, ApiToken] = {
            token_id: ApiToken(token_id, token_secret, username)
        }
        self._tokens: dict[str, Token] = {}
        self._stations: dict[str, Station] = {}
        self._partners: dict[str, Partner] = {}
        self._certificates: dict[str, Certificate] = {}
        self._messages: dict[str, Message] = {}
        self._seq = 0
        self._entity_ids = 555_119_144_483_000
        if defaults:
            self.add_station(DEFAULT_STATION)
            self.add_partner(DEFAULT_PARTNER)
            self._add_certificate("HTTPS", "Amazon Root CA 1", [DEFAULT_PARTNER])

    # ------------------------------------------------------------------ configuration

    def add_account(self, username: str, password: str) -> None:
        """Add (or replace the password of) an account that may authorize."""
        with self._lock:
            self._accounts[username] = password

    def add_api_token(
        self,
        token_id: str,
        secret: str,
        *,
        username: str | None = None,
        ttl: float | None = None,
    ) -> ApiToken:
        """Add an API token (``tokenID``/``tokenSecret``); ``ttl`` overrides ``token_ttl``."""
        with self._lock:
            token = ApiToken(token_id, secret, username or self.username, ttl)
            self._api_tokens[token_id] = token
            return token

    def _next_entity_id(self) -> int:
        self._entity_ids += 1
        return self._entity_ids

    def add_station(self, as2_id: str, name: str | None = None, email: str = "") -> Station:
        """Add a station (with its identity certificate)."""
        with self._lock:
            station = Station(
                as2_id, name or as2_id, self._next_entity_id(), email or "station@example.com"
            )
            self._stations[as2_id] = station
            self._add_certificate("STATION", f"{as2_id} identity", [as2_id])
            return station

    def add_partner(
        self,
        as2_id: str,
        name: str | None = None,
        *,
        outcome: str = "deliver",
        subject: str | None = None,
        url: str = "https://partner.example.com/as2",
    ) -> Partner:
        """Add a partner. ``outcome`` (``deliver``, ``fail``, ``queue``) is what happens to
        messages sent to it once ``send_delay`` has passed; change ``partner.outcome`` later."""
        if outcome not in OUTCOMES:
            raise ValueError(f"outcome must be one of {OUTCOMES}, not {outcome!r}")
        with self._lock:
            partner = Partner(as2_id, name or as2_id, self._next_entity_id(), url, subject, outcome)
            self._partners[as2_id] = partner
            self._add_certificate("PARTNER", f"{as2_id} encryption", [as2_id])
            return partner

    def partner(self, as2_id: str) -> Partner:
        """The partner record (mutable: ``gateway.partner("P").outcome = "fail"``)."""
        with self._lock:
            return self._partners[as2_id]

    def station(self, as2_id: str) -> Station:
        """The station record."""
        with self._lock:
            return self._stations[as2_id]

    def has_station(self, as2_id: str) -> bool:
        """Whether a station with this AS2 id exists."""
        with self._lock:
            return as2_id in self._stations

    def has_partner(self, as2_id: str) -> bool:
        """Whether a partner with this AS2 id exists."""
        with self._lock:
            return as2_id in self._partners

    def _add_certificate(self, cert_type: str, common_name: str, owners: list[str]) -> Certificate:
        rnd = self._rng.getrandbits(128)
        alias = (
            f"{rnd >> 96:08x}-{(rnd >> 80) & 0xFFFF:04x}-4{(rnd >> 68) & 0xFFF:03x}-"
            f"{(rnd >> 52) & 0xFFFF:04x}-{rnd & 0xFFFFFFFFFFFF:012x}"
        )
        cert = Certificate(alias, cert_type, common_name, owners, f"{rnd:x}"[:37])
        self._certificates[alias] = cert
        return cert

    def certificates(self, cert_type: str | None = None) -> list[Certificate]:
        """Every certificate, or those of one type (STATION, PARTNER, HTTPS, ...)."""
        with self._lock:
            return [
                c
                for c in self._certificates.values()
                if cert_type is None or c.cert_type == cert_type
            ]

    def certificate(self, alias: str) -> Certificate | None:
        """The certificate with this alias, or None."""
        with self._lock:
            return self._certificates.get(alias)

    def create_station(self, body: dict[str, Any]) -> Station:
        """``POST /station`` after validation: the station and its certificate."""
        with self._lock:
            return self.add_station(
                str(body["as2Identifier"]), str(body["name"]), str(body.get("email", ""))
            )

    def create_partner(self, body: dict[str, Any]) -> Partner:
        """``POST /partner`` after validation."""
        with self._lock:
            subject = body.get("messageSubject")
            return self.add_partner(
                str(body["as2Identifier"]),
                str(body["name"]),
                subject=str(subject) if subject else None,
                url=str(body["url"]),
            )

    # ------------------------------------------------------------------ tokens

    def _jwt(self, username: str, kind: str, ttl: float) -> Token:
        now = self.clock()
        header = {"alg": "HS256", "typ": "JWT"}
        claims = {
            "sub": username,
            "token_use": kind,
            "iat": int(now),
            "exp": int(now + ttl),
            "jti": f"{self._rng.getrandbits(64):016x}",
            "iss": "https://emulator.mftgateway.local",
        }
        signing_input = (
            _b64url(json.dumps(header, separators=(",", ":")).encode())
            + "."
            + _b64url(json.dumps(claims, separators=(",", ":")).encode())
        )
        signature = hmac.new(self._secret, signing_input.encode(), hashlib.sha256).digest()
        token = Token(f"{signing_input}.{_b64url(signature)}", username, kind, now + ttl)
        self._tokens[token.value] = token
        return token

    def _pair(self, username: str, ttl: float) -> tuple[Token, Token]:
        return self._jwt(username, "access", ttl), self._jwt(username, "refresh", self.refresh_ttl)

    def authorize(self, username: str, password: str) -> tuple[Token, Token] | None:
        """``(api token, refresh token)`` for valid credentials, else None."""
        with self._lock:
            self.stats.authorize_calls += 1
            known = self._accounts.get(username)
            if known is None or not hmac.compare_digest(known, password):
                return None
            self.stats.authorizations += 1
            return self._pair(username, self.token_ttl)

    def authorize_api_token(self, token_id: str, secret: str) -> tuple[Token, Token, float] | None:
        """``(api token, refresh token, lifetime)`` for a valid API token id/secret, else None."""
        with self._lock:
            self.stats.authorize_calls += 1
            api = self._api_tokens.get(token_id)
            if api is None or not hmac.compare_digest(api.secret, secret):
                return None
            self.stats.authorizations += 1
            ttl = api.ttl if api.ttl is not None else self.token_ttl
            access, refresh = self._pair(api.username, ttl)
            return access, refresh, ttl

    def refresh(self, username: str, refresh_token: str) -> tuple[Token, Token] | None:
        """A new api token (and the same refresh token) for a live refresh token, else None."""
        with self._lock:
            self.stats.refresh_calls += 1
            token = self._tokens.get(refresh_token)
            if (
                self.refresh_fails
                or token is None
                or token.kind != "refresh"
                or token.username != username
                or token.expires_at <= self.clock()
            ):
                self.stats.refresh_failures += 1
                return None
            self.stats.refreshes += 1
            return self._jwt(username, "access", self.token_ttl), token

    def check_token(self, value: str | None) -> tuple[str | None, str]:
        """``(username, "")`` for a live api token, else ``(None, reason)``."""
        with self._lock:
            token = self._tokens.get(value or "")
            if token is None or token.kind != "access":
                return None, "Unauthorized"
            if token.expires_at <= self.clock():
                return None, "The incoming token has expired"
            return token.username, ""

    def expire_tokens(self, *, refresh: bool = False) -> None:
        """Expire every api token issued so far (and the refresh tokens too if asked)."""
        with self._lock:
            now = self.clock()
            for token in self._tokens.values():
                if token.kind == "access" or refresh:
                    token.expires_at = min(token.expires_at, now)

    def expire_token(self, value: str) -> bool:
        """Expire one token now; True if it was known."""
        with self._lock:
            token = self._tokens.get(value)
            if token is None:
                return False
            token.expires_at = min(token.expires_at, self.clock())
            return True

    def tokens(self, kind: str = "access") -> list[Token]:
        """Every token of a kind (``access`` or ``refresh``) issued so far."""
        with self._lock:
            return [t for t in self._tokens.values() if t.kind == kind]

    # ------------------------------------------------------------------ messages

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def _new_id(self, ts_ms: int, rng: random.Random | None = None) -> str:
        r = rng or self._rng
        while True:
            mid = f"<{ts_ms}{r.randrange(10**4):04d}@{ID_DOMAIN}>"
            if mid not in self._messages:
                return mid

    def _store_attachments(
        self, specs: Iterable[AttachmentSpec], folder: str, station: str, partner: str, ts: int
    ) -> list[Attachment]:
        box = "inbox" if folder == "inbox" else "outbox"
        prefix = f"AS2/files/{station}/{partner}/{box}/{ts}-{self._seq}"
        out: list[Attachment] = []
        for i, spec in enumerate(specs):
            if isinstance(spec, Attachment):
                att = Attachment(spec.name, spec.body, content_type=spec.content_type)
            elif len(spec) == 2:
                att = Attachment(spec[0], spec[1])
            else:
                att = Attachment(spec[0], spec[1], content_type=spec[2])
            # one folder per attachment: two attachments may carry the same (hostile) name
            att.key = f"{prefix}/{i}/{att.name}"
            self.store.put(att.key, att.body, att.content_type)
            out.append(att)
        return out

    def _make_mdn(self, msg: Message, *, incoming: bool) -> Mdn:
        ts = msg.timestamp + 1
        digest = hashlib.sha1(msg.identifier.encode(), usedforsecurity=False).digest()
        mic = base64.b64encode(digest).decode() + ", sha1"
        sender, recipient = (
            (msg.station, msg.partner) if msg.incoming else (msg.partner, msg.station)
        )
        human = (
            f"MDN for Message-ID: {msg.identifier}\r\nFrom: {recipient}\r\nTo: {sender}\r\n"
            "Status: processed\r\nPowered by MFT Gateway (emulated)\r\n"
        )
        body = (
            "Content-Type: multipart/report; report-type=disposition-notification; "
            'boundary="mdn"\r\n\r\n--mdn\r\nContent-Type: text/plain\r\n\r\n'
            f"{human}\r\n--mdn\r\nContent-Type: message/disposition-notification\r\n\r\n"
            f"Original-Message-ID: {msg.identifier}\r\n"
            "Disposition: automatic-action/MDN-sent-automatically; processed\r\n"
            f"Received-Content-MIC: {mic}\r\n\r\n--mdn--\r\n"
        ).encode()
        direction = "outgoing" if msg.incoming else "incoming"
        key = f"AS2/raw-mdn/{direction}/{msg.numeric_id}/mdn.raw"
        self.store.put(key, body, "message/disposition-notification")
        status = "Sent Signed MDN" if msg.incoming else "Received; MDN Signature Verified"
        mdn_id = f"<{self._rng.randrange(10**9)}.0.{ts}@{ID_DOMAIN}>"
        return Mdn(mdn_id, key, body, status, not msg.incoming, ts, mic, human)

    def deliver(
        self,
        station: str = DEFAULT_STATION,
        partner: str = DEFAULT_PARTNER,
        attachments: Iterable[AttachmentSpec] = (("message.txt", b"Hello from the emulator\n"),),
        *,
        subject: str | None = None,
        message_id: str | None = None,
        timestamp_ms: int | None = None,
        fetched: bool = False,
        mdn: bool = True,
    ) -> str:
        """Put a message into the inbox, as if ``partner`` sent it to ``station``.

        ``attachments`` are ``(name, body)`` or ``(name, body, content_type)``; a body is
        bytes or a :class:`GeneratedBody`; names are stored as given (hostile ones too).
        Unknown stations and partners are created. Returns the message identifier.
        """
        specs = list(attachments)
        with self._lock:
            self._advance()
            if station not in self._stations:
                self.add_station(station)
            if partner not in self._partners:
                self.add_partner(partner)
            ts = int(self.clock() * 1000) if timestamp_ms is None else timestamp_ms
            mid = message_id if message_id is not None else self._new_id(ts)
            if mid in self._messages:
                raise ValueError(f"a message with identifier {mid} already exists")
            seq = self._next_seq()
            msg = Message(
                folder="inbox",
                identifier=mid,
                numeric_id=10_959_001_000_000 + seq,
                station=station,
                partner=partner,
                subject=subject if subject is not None else f"AS2 Message from {partner}",
                attachments=self._store_attachments(specs, "inbox", station, partner, ts),
                timestamp=ts,
                seq=seq,
                api_fetched=fetched,
            )
            if mdn:
                msg.mdn = self._make_mdn(msg, incoming=False)
            self._messages[mid] = msg
            return mid

    def seed_inbox(
        self,
        n: int,
        *,
        sizes: Sequence[int] | tuple[int, int] = (64, 4096),
        attachments: int = 1,
        names: Sequence[str] | None = None,
        seed: int = 0,
        station: str = DEFAULT_STATION,
        partner: str = DEFAULT_PARTNER,
        generated: bool = False,
    ) -> list[str]:
        """Fill the inbox with ``n`` messages of ``attachments`` attachments each, reproducibly.

        ``sizes`` is a ``(low, high)`` range of attachment sizes, or a list of exact sizes
        used in turn; ``names`` (cycled) gives attachment names, hostile ones included
        (``"../../etc/passwd"``), else ``invoice_00001_0.xml`` and so on. With ``generated``
        bodies are :class:`GeneratedBody` (large sizes cost no memory). Messages are one
        second apart from a fixed date. Returns the identifiers, oldest first.
        """
        rng = random.Random(seed)
        exact = list(sizes) if not (isinstance(sizes, tuple) and len(sizes) == 2) else None
        ids: list[str] = []
        k = 0
        with self._lock:
            base = SEED_EPOCH_MS + self._seq * 1000
            for i in range(n):
                specs: list[AttachmentSpec] = []
                for j in range(attachments):
                    size = exact[k % len(exact)] if exact else rng.randint(sizes[0], sizes[1])
                    name = names[k % len(names)] if names else f"invoice_{i:05d}_{j}.xml"
                    k += 1
                    body: Body
                    if generated:
                        body = GeneratedBody(size, seed=seed * 100_003 + k)
                    else:
                        body = rng.randbytes(size)
                    specs.append((name, body))
                ts = base + i * 1000
                ids.append(
                    self.deliver(
                        station,
                        partner,
                        specs,
                        subject=f"Seeded message {i}",
                        message_id=self._new_id(ts, rng),
                        timestamp_ms=ts,
                    )
                )
        return ids

    def submit(
        self,
        station: str,
        partner: str,
        attachments: Sequence[AttachmentSpec],
        *,
        subject: str | None = None,
    ) -> str:
        """Enqueue an outbound message (what ``/message/submit`` does); its identifier.

        Raises LookupError naming the unknown station or partner.
        """
        with self._lock:
            self._advance()
            if station not in self._stations:
                raise LookupError(f"Unable to find station with AS2 identifier: {station}")
            if partner not in self._partners:
                raise LookupError(f"Unable to find partner with AS2 identifier: {partner}")
            now = self.clock()
            ts = int(now * 1000)
            mid = self._new_id(ts)
            seq = self._next_seq()
            default_subject = self._partners[partner].subject or f"AS2 Message from {station}"
            msg = Message(
                folder="queued",
                identifier=mid,
                numeric_id=159_592_985_000_000 + seq,
                station=station,
                partner=partner,
                subject=subject or default_subject,
                attachments=self._store_attachments(attachments, "queued", station, partner, ts),
                timestamp=ts,
                seq=seq,
                due_at=now + self.send_delay,
            )
            self._messages[mid] = msg
            self.stats.submits += 1
            return mid

    def release(self, message_id: str, outcome: str = "deliver", reason: str | None = None) -> None:
        """Send (``deliver``) or fail (``fail``) a queued message now, whatever its partner."""
        if outcome not in ("deliver", "fail"):
            raise ValueError("outcome must be 'deliver' or 'fail'")
        with self._lock:
            msg = self._messages.get(message_id)
            if msg is None or msg.folder != "queued":
                raise KeyError(f"no queued message {message_id}")
            self._settle(msg, outcome, reason)

    def advance(self) -> None:
        """Apply every change due by now (done implicitly by all other methods)."""
        with self._lock:
            self._advance()

    def _advance(self) -> None:
        now = self.clock()
        for msg in list(self._messages.values()):
            if msg.folder != "queued" or msg.due_at > now:
                continue
            partner = self._partners.get(msg.partner)
            outcome = msg.outcome or (partner.outcome if partner else "fail")
            if outcome != "queue":
                self._settle(msg, outcome, None)

    def _settle(self, msg: Message, outcome: str, reason: str | None) -> None:
        partner = self._partners.get(msg.partner)
        msg.timestamp = max(msg.timestamp, int(self.clock() * 1000))
        if outcome == "deliver":
            msg.folder = "sent"
            msg.transport_status = 200
            msg.mdn = self._make_mdn(msg, incoming=True)
            return
        msg.folder = "failed"
        msg.failures += 1
        msg.transport_status = 0
        msg.failure_reason = reason or (partner.failure_reason if partner else "Unknown partner")

    def find(self, message_id: str) -> Message | None:
        """The message with that identifier (any folder), or None."""
        with self._lock:
            self._advance()
            return self._messages.get(message_id)

    def message(self, message_id: str) -> Message:
        """The message with that identifier (for assertions); KeyError if absent."""
        msg = self.find(message_id)
        if msg is None:
            raise KeyError(f"no message {message_id}")
        return msg

    def messages(self, folder: str) -> list[Message]:
        """Every message of a folder (``inbox``, ``sent``, ``queued``, ``failed``), oldest first."""
        with self._lock:
            self._advance()
            return sorted(
                (m for m in self._messages.values() if m.folder == folder),
                key=lambda m: (m.timestamp, m.seq),
            )

    def list_ids(
        self,
        folder: str,
        *,
        sort_dir: str = "desc",
        page_length: int = 10,
        page_offset: int = 0,
        partner: str | None = None,
        station: str | None = None,
        identifier: str | None = None,
        subject: str | None = None,
        fetch_all: bool = True,
    ) -> list[str]:
        """One page of identifiers, filtered as the service does.

        Primary filters (``partner``, ``station``) combine; when either is given the
        secondary ones are ignored. Of the secondary ones only the first given applies:
        ``identifier`` (exact), else ``subject`` (case-insensitive substring). With
        ``fetch_all=False`` messages already read through the API are left out.
        ``page_offset`` is a page number.
        """
        if folder not in LIST_FOLDERS:
            raise ValueError(f"unknown folder {folder!r}; one of {LIST_FOLDERS}")
        records = self.messages(folder)
        if partner is not None or station is not None:
            if partner is not None:
                records = [m for m in records if m.partner == partner]
            if station is not None:
                records = [m for m in records if m.station == station]
        elif identifier is not None:
            records = [m for m in records if m.identifier == identifier]
        elif subject is not None:
            needle = subject.casefold()
            records = [m for m in records if needle in m.subject.casefold()]
        if not fetch_all:
            records = [m for m in records if not m.api_fetched]
        if sort_dir == "desc":
            records.reverse()
        start = page_offset * page_length
        return [m.identifier for m in records[start : start + page_length]]

    def mark_fetched(self, message_id: str, fetched: bool = True) -> bool:
        """Mark an inbox message read (or unread) at API scope; False if no such message."""
        with self._lock:
            msg = self._messages.get(message_id)
            if msg is None or msg.folder != "inbox":
                return False
            msg.api_fetched = fetched
            return True

    def is_fetched(self, message_id: str) -> bool:
        """Whether an inbox message was read through the API (``apiFetched``)."""
        return self.message(message_id).api_fetched

    def delete(self, message_id: str, *, inbox: bool) -> bool:
        """Delete an inbox (or outbox) message and its objects; False if there is none."""
        with self._lock:
            self._advance()
            msg = self._messages.get(message_id)
            if msg is None or msg.incoming != inbox:
                return False
            del self._messages[message_id]
            for att in msg.attachments:
                self.store.delete(att.key)
            if msg.mdn is not None:
                self.store.delete(msg.mdn.key)
            return True

    def attachment_links(self, message_id: str, *, inbox: bool) -> list[tuple[str, str]] | None:
        """``(name, presigned url)`` of each attachment, or None if there are none."""
        with self._lock:
            msg = self.find(message_id)
            if msg is None or msg.incoming != inbox or not msg.attachments:
                return None
            return [(a.name, self.store.presign(a.key)) for a in msg.attachments]

    def mdn_link(self, message_id: str, *, inbox: bool) -> str | None:
        """A presigned link to the raw MDN, or None if there is none."""
        with self._lock:
            msg = self.find(message_id)
            if msg is None or msg.incoming != inbox or msg.mdn is None:
                return None
            return self.store.presign(msg.mdn.key)

    def set_naming(self, naming: str) -> None:
        """Serve the ``current`` or the ``legacy`` field names from now on."""
        self.naming = check_naming(naming)
