"""In-memory state of the emulated AS2 Gateway: accounts, tokens, stations, partners, messages.

Everything lives in a :class:`Gateway`; every public method takes its lock, so it can be used
from the test's thread or task while the HTTP server (same loop or another thread) serves
requests. Time-driven changes (a queued message being sent, retried or failed) are applied
lazily from the clock whenever the state is looked at, so no background task is needed and
the behaviour is identical over ``httpx.ASGITransport``, an in-loop server or a threaded one.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
import operator
import random
import secrets
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from ._bodies import Body, GeneratedBody, body_sha256, body_size, iter_body
from ._zip import ZipEntry
from .faults import FaultPlan

__all__ = [
    "DEFAULT_PARTNER",
    "DEFAULT_PASSWORD",
    "DEFAULT_STATION",
    "DEFAULT_USERNAME",
    "FOLDERS",
    "Account",
    "Attachment",
    "BatchPlan",
    "Gateway",
    "Mdn",
    "Message",
    "Partner",
    "Stats",
    "Token",
]

DEFAULT_USERNAME = "demo@example.com"
DEFAULT_PASSWORD = "demo-password"
DEFAULT_STATION = "RJ_Station"
DEFAULT_PARTNER = "RJ_Partner"
TEN_MB = 10 * 1024 * 1024

Folder = Literal["received", "sent", "failed", "queued"]
FOLDERS: tuple[str, ...] = ("received", "sent", "failed", "queued")
PARTNER_TYPES: tuple[str, ...] = ("production", "test")
SORT_COLUMNS: tuple[str, ...] = ("persistedTimestamp", "receiverId", "senderId", "subject")

#: persistedTimestamp of the first message made by :meth:`Gateway.seed` (2019-11-08, the date
#: of the spec's example message id), so that seeded inboxes are identical run after run.
SEED_EPOCH_MS = 1_573_209_810_390


def _now_ms(t: float) -> int:
    return int(t * 1000)


@dataclass
class Account:
    """A user of the API (the username is an e-mail address, as in the spec)."""

    username: str
    password: str


@dataclass
class Token:
    """An issued token: its value, owner and expiry (clock seconds)."""

    value: str
    username: str
    expires_at: float

    @property
    def expiry_ms(self) -> int:
        """Expiry as the spec's ``expiry`` field: milliseconds since the epoch."""
        return _now_ms(self.expires_at)


@dataclass
class Partner:
    """A trading partner; ``fail=True`` makes every send attempt to it fail."""

    name: str
    partner_type: str = "production"
    fail: bool = False
    fail_status: int = 503


@dataclass
class Attachment:
    """One attachment of a message: file name, body (bytes or generated) and MIME type."""

    name: str
    body: Body
    content_type: str = "application/octet-stream"

    @property
    def size(self) -> int:
        """Size of the body in bytes."""
        return body_size(self.body)

    def read(self) -> bytes:
        """The whole body (materialises a generated body)."""
        return self.body.read() if isinstance(self.body, GeneratedBody) else self.body

    def sha256(self) -> str:
        """Hex SHA-256 of the body."""
        return body_sha256(self.body)


@dataclass
class Mdn:
    """A disposition notification: JSON fields plus the downloadable MDN document."""

    persisted_timestamp: int
    error: bool
    content: str
    body: bytes
    filename: str

    def to_json(self) -> dict[str, Any]:
        """The spec's MDN Message entity (section 3.3)."""
        return {
            "persistedTimestamp": self.persisted_timestamp,
            "mdnError": self.error,
            "content": self.content,
        }


@dataclass
class Message:
    """An AS2 message record in one folder (a failed folder holds one record per attempt)."""

    folder: str
    as2_message_id: str
    persisted_timestamp: int
    seq: int
    station: str
    partner: str
    partner_type: str
    attachments: list[Attachment]
    subject: str | None = None
    compressed: bool = False
    encrypted: bool = True
    signed: bool = True
    mdn_status: str = "Pending"
    mdn: Mdn | None = None
    delivery_status: str | None = None
    transport_status: int | None = None
    read: bool = False
    # outbound queue state (queued records only)
    attempts: int = 0
    next_attempt_at: float = 0.0
    stopped: bool = False
    mdn_requested: bool = True

    def to_json(self, *, include_attachments: bool = True) -> dict[str, Any]:
        """The spec's AS2 Message entity (section 3.2), camelCase, optional fields omitted."""
        out: dict[str, Any] = {
            "as2MessageId": self.as2_message_id,
            "persistedTimestamp": self.persisted_timestamp,
            "compressed": self.compressed,
            "encrypted": self.encrypted,
            "signed": self.signed,
        }
        if self.subject:
            out["subject"] = self.subject
        out["receiverId"] = self.partner
        out["senderId"] = self.station
        if self.transport_status is not None:
            out["transportStatusReceived"] = self.transport_status
        if self.delivery_status is not None:
            out["deliveryStatus"] = self.delivery_status
        out["mdnStatus"] = self.mdn_status
        out["partnerType"] = self.partner_type.capitalize()
        if self.mdn is not None:
            out["mdnMessage"] = self.mdn.to_json()
        if include_attachments:
            out["attachments"] = [{"name": a.name, "size": a.size} for a in self.attachments]
        return out


@dataclass
class Stats:
    """Request counters, readable as attributes or as JSON via :meth:`as_dict`."""

    requests: int = 0
    routes: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)
    faults: Counter[str] = field(default_factory=Counter)
    rate_limited: int = 0
    tokens_issued: int = 0
    sends: int = 0

    @property
    def throttled(self) -> int:
        """All 429 answers, whether from the rate limit or injected by a fault plan."""
        return self.statuses.get(429, 0)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready snapshot."""
        return {
            "requests": self.requests,
            "routes": dict(self.routes),
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "faults": dict(self.faults),
            "rate_limited": self.rate_limited,
            "throttled": self.throttled,
            "tokens_issued": self.tokens_issued,
            "sends": self.sends,
        }


@dataclass
class BatchPlan:
    """Outcome of a batch download: zip entries, status (200/206) and truncation index."""

    entries: list[ZipEntry]
    status: int
    truncation: tuple[int, int] | None
    marked: list[str]


class NotFoundError(LookupError):
    """A station, partner or message the request names does not exist."""


AttachmentSpec = Attachment | tuple[str, Body] | tuple[str, Body, str]


def _to_attachment(spec: AttachmentSpec) -> Attachment:
    if isinstance(spec, Attachment):
        return spec
    if len(spec) == 2:
        name, body = spec
        return Attachment(name, body)
    name, body, ctype = spec
    return Attachment(name, body, ctype)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


_SEED_PARTNERS = ("RJ_Partner", "ACME_Corp", "Globex_EDI")
_SEED_STATIONS = ("RJ_Station", "RJ_Station_EU")
_SEED_KINDS = (
    ("invoice", "xml", "application/xml"),
    ("order", "edi", "application/edi-x12"),
    ("asn", "x12", "application/edi-x12"),
    ("report", "csv", "text/csv"),
    ("despatch", "edi", "application/edifact"),
)


def _fake_document(rng: random.Random, kind: str, ext: str, size: int) -> bytes:
    """Plausible EDI/XML/CSV text of exactly ``size`` bytes."""
    parts: list[str] = []
    total = 0
    n = 0
    if ext == "xml":
        head = f'<?xml version="1.0" encoding="UTF-8"?>\n<{kind} id="{rng.randrange(10**6)}">\n'
    elif ext == "csv":
        head = "sku,qty,price,total\n"
    else:
        head = (
            f"ISA*00*{' ' * 10}*00*{' ' * 10}*ZZ*SENDER*ZZ*RECEIVER*{rng.randrange(10**9):09d}~\n"
        )
    parts.append(head)
    total += len(head)
    while total < size:
        n += 1
        sku, qty = rng.randrange(10000, 99999), rng.randrange(1, 500)
        price = rng.randrange(100, 100000)
        if ext == "xml":
            line = f'  <item n="{n}" sku="{sku}" qty="{qty}" price="{price}"/>\n'
        elif ext == "csv":
            line = f"{sku},{qty},{price / 100:.2f},{qty * price / 100:.2f}\n"
        else:
            line = f"LIN*{n}*SK*{sku}~QTY*{qty}*EA~PRI*{price / 100:.2f}~\n"
        parts.append(line)
        total += len(line)
    return "".join(parts).encode("ascii")[:size]


class Gateway:
    """The emulated gateway's whole state and behaviour (HTTP aside).

    ``seed`` makes message ids and :meth:`seed` content reproducible; ``send_delay`` is how
    long (seconds) a sent message stays queued before it is delivered or an attempt fails;
    failing partners are retried every ``retry_interval`` seconds (default: ``send_delay``)
    up to ``max_attempts`` times; tokens live ``token_ttl`` seconds. With ``defaults`` the
    gateway starts with station ``RJ_Station`` and partner ``RJ_Partner`` (production and
    test), as in the spec's examples.

    Example::

        gw = Gateway(seed=0, send_delay=0.2)
        msg_id = gw.deliver(attachments=[("a.txt", b"hello")], subject="Greetings")
        gw.is_read(msg_id)  # False
    """

    def __init__(
        self,
        seed: int = 0,
        send_delay: float = 0.2,
        token_ttl: float = 86400.0,
        *,
        retry_interval: float | None = None,
        max_attempts: int = 10,
        username: str = DEFAULT_USERNAME,
        password: str = DEFAULT_PASSWORD,
        clock: Callable[[], float] = time.time,
        defaults: bool = True,
        batch_limit: int = TEN_MB,
        send_limit: int = TEN_MB,
        max_files: int = 10,
    ) -> None:
        self._lock = threading.RLock()
        self._rng = random.Random(seed)
        self._secret = random.Random(seed ^ 0x5EED).randbytes(32)
        self.clock = clock
        self.send_delay = send_delay
        self.retry_interval = send_delay if retry_interval is None else retry_interval
        self.max_attempts = max_attempts
        self.token_ttl = token_ttl
        #: the 10 MB aggregation cap of the batch download (spec 4.2.2.2)
        self.batch_limit = batch_limit
        #: the 10 MB cap of a send (spec 4.1.1 and 4.1.2)
        self.send_limit = send_limit
        #: at most this many files in a multipart send (spec 4.1.2)
        self.max_files = max_files
        #: a queued message whose next attempt is at most this many seconds away is
        #: "processing" and left out of the queued *list* (spec 4.4.4); 0 = never
        self.processing_window: float = 0.0
        #: fixed latency (seconds) added to every spec request
        self.latency: float = 0.0
        #: ``(requests, window_seconds)`` per account, or None; beyond it: 429 + Retry-After
        self.rate_limit: tuple[int, float] | None = None
        #: serve at most this many records a list page whatever ``pageLength`` asks (the page
        #: number then counts in pages of this size): a non-conforming server, for clients'
        #: tests; None (the default) follows the spec
        self.max_page_length: int | None = None
        #: a :class:`FaultPlan`, or None (the default): no faults
        self.faults: FaultPlan | None = None
        self.stats = Stats()
        self.username = username
        self.password = password
        self._accounts: dict[str, Account] = {username: Account(username, password)}
        self._tokens: dict[str, Token] = {}
        self._windows: dict[str, deque[float]] = {}
        self._stations: dict[str, str] = {}
        self._partners: dict[tuple[str, str], Partner] = {}
        self._received: dict[str, Message] = {}
        self._sent: dict[str, Message] = {}
        self._failed: list[Message] = []
        self._queued: dict[str, Message] = {}
        self._seq = 0
        self._id_counter = 0
        if defaults:
            self.add_station(DEFAULT_STATION)
            self.add_partner(DEFAULT_PARTNER, partner_type="production")
            self.add_partner(DEFAULT_PARTNER, partner_type="test")

    # ------------------------------------------------------------------ configuration

    def add_account(self, username: str, password: str) -> Account:
        """Add (or replace the password of) an account that may authorize."""
        with self._lock:
            account = Account(username, password)
            self._accounts[username] = account
            return account

    def add_station(self, name: str) -> str:
        """Add a trading station (an AS2 id messages are sent from / received by)."""
        with self._lock:
            self._stations[name] = name
            return name

    def add_partner(
        self,
        name: str,
        partner_type: str = "production",
        fail: bool = False,
        *,
        fail_status: int = 503,
    ) -> Partner:
        """Add a partner of a type (the same AS2 id may exist as production and as test).

        With ``fail=True`` every send attempt to it fails (a failed record per attempt, the
        partner's endpoint answering ``fail_status``); set ``partner.fail`` later to change.
        """
        ptype = _partner_type(partner_type)
        with self._lock:
            partner = Partner(name, ptype, fail, fail_status)
            self._partners[(name, ptype)] = partner
            return partner

    def partner(self, name: str, partner_type: str = "production") -> Partner:
        """The partner record (mutable: e.g. ``gateway.partner("P").fail = True``)."""
        with self._lock:
            return self._partners[(name, _partner_type(partner_type))]

    # ------------------------------------------------------------------ tokens and limits

    def authorize(self, username: str, password: str) -> Token | None:
        """Issue a token for valid credentials (the ``/v1/authorize`` logic), else None."""
        with self._lock:
            account = self._accounts.get(username)
            if account is None or not hmac.compare_digest(
                account.password.encode(), password.encode()
            ):
                return None
            now = self.clock()
            expires = now + self.token_ttl
            header = _b64url(b'{"alg":"HS256","typ":"JWT"}')
            claims = {
                "sub": username,
                "iat": int(now),
                "exp": int(expires),
                "jti": secrets.token_hex(8),
            }
            payload = _b64url(json.dumps(claims, separators=(",", ":")).encode())
            signing_input = f"{header}.{payload}".encode()
            sig = _b64url(hmac.new(self._secret, signing_input, hashlib.sha256).digest())
            token = Token(f"{header}.{payload}.{sig}", username, expires)
            self._tokens[token.value] = token
            self.stats.tokens_issued += 1
            return token

    def check_token(self, value: str | None) -> tuple[str | None, str]:
        """``(username, "")`` for a live token, else ``(None, reason)``."""
        with self._lock:
            if not value:
                return None, "Authorization header is missing"
            token = self._tokens.get(value)
            if token is None:
                return None, "Invalid authorization token"
            if token.expires_at <= self.clock():
                return None, "Authorization token has expired"
            return token.username, ""

    def expire_token(self, value: str) -> bool:
        """Expire one token now; True if it was known."""
        with self._lock:
            token = self._tokens.get(value)
            if token is None:
                return False
            token.expires_at = min(token.expires_at, self.clock())
            return True

    def expire_all_tokens(self) -> None:
        """Expire every issued token now (the next request with any of them gets 401)."""
        with self._lock:
            now = self.clock()
            for token in self._tokens.values():
                token.expires_at = min(token.expires_at, now)

    def tokens(self) -> list[Token]:
        """Every token issued so far."""
        with self._lock:
            return list(self._tokens.values())

    def check_rate(self, username: str) -> float | None:
        """Count one request of ``username``; seconds to wait if over the rate limit."""
        with self._lock:
            if self.rate_limit is None:
                return None
            limit, window = self.rate_limit
            now = self.clock()
            times = self._windows.setdefault(username, deque())
            while times and times[0] <= now - window:
                times.popleft()
            if len(times) >= limit:
                return max(times[0] + window - now, 0.001)
            times.append(now)
            return None

    # ------------------------------------------------------------------ messages

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def _new_id(self, ts_ms: int, rng: random.Random | None = None) -> str:
        r = rng or self._rng
        while True:
            self._id_counter += 1
            mid = f"<{r.randrange(10**7, 10**8)}.{self._id_counter}.{ts_ms}@as2gateway.com>"
            if not self._exists(mid):
                return mid

    def _exists(self, mid: str) -> bool:
        return (
            mid in self._received
            or mid in self._sent
            or mid in self._queued
            or any(m.as2_message_id == mid for m in self._failed)
        )

    def deliver(
        self,
        station: str = DEFAULT_STATION,
        partner: str = DEFAULT_PARTNER,
        attachments: Iterable[AttachmentSpec] = (("message.txt", b"Hello from the emulator\n"),),
        *,
        subject: str | None = None,
        partner_type: str = "production",
        mdn: bool = True,
        message_id: str | None = None,
        timestamp_ms: int | None = None,
        signed: bool = True,
        encrypted: bool = True,
        compressed: bool = False,
        read: bool = False,
    ) -> str:
        """Put a message into the received folder, as if ``partner`` sent it to ``station``.

        ``attachments`` are ``(name, body)`` or ``(name, body, content_type)`` tuples, where a
        body is ``bytes`` or a :class:`GeneratedBody`. Unknown stations/partners are created.
        Returns the AS2 message id (``<...@as2gateway.com>`` unless ``message_id`` is given).
        """
        atts = [_to_attachment(a) for a in attachments]
        if not atts:
            raise ValueError("an AS2 message carries at least one attachment")
        ptype = _partner_type(partner_type)
        with self._lock:
            self._advance()
            self._stations.setdefault(station, station)
            if (partner, ptype) not in self._partners:
                self._partners[(partner, ptype)] = Partner(partner, ptype)
            ts = _now_ms(self.clock()) if timestamp_ms is None else timestamp_ms
            mid = message_id if message_id is not None else self._new_id(ts)
            if mid in self._received:
                raise ValueError(f"a received message with id {mid} already exists")
            msg = Message(
                folder="received",
                as2_message_id=mid,
                persisted_timestamp=ts,
                seq=self._next_seq(),
                station=station,
                partner=partner,
                partner_type=ptype,
                attachments=atts,
                subject=subject or None,
                compressed=compressed,
                encrypted=encrypted,
                signed=signed,
                read=read,
            )
            if mdn:
                msg.mdn_status = "Received"
                msg.mdn = _make_mdn(msg, ts + 1, sender=partner, recipient=station)
            else:
                msg.mdn_status = "Not Requested"
            self._received[mid] = msg
            return mid

    def seed(
        self,
        n: int,
        attachments: tuple[int, int] = (1, 3),
        size: tuple[int, int] = (64, 4096),
        seed: int = 0,
        *,
        station: str | None = None,
        partner: str | None = None,
        partner_type: str = "production",
        subject_ratio: float = 0.8,
        mdn_ratio: float = 0.9,
    ) -> list[str]:
        """Fill the received folder with ``n`` realistic messages, deterministic from ``seed``.

        Each message has between ``attachments[0]`` and ``attachments[1]`` attachments of
        ``size[0]..size[1]`` bytes of EDI/XML/CSV-like text. Messages come from a few partners
        to a couple of stations (unless ``partner``/``station`` fix them), most have a subject
        and an MDN. Timestamps start at a fixed date (2019-11-08), so a fresh gateway seeded
        the same way holds the same ids and content. Returns the ids, oldest first.
        """
        rng = random.Random(seed)
        ptype = _partner_type(partner_type)
        ids: list[str] = []
        with self._lock:
            ts = SEED_EPOCH_MS
            for i in range(n):
                ts += rng.randrange(1_000, 3_600_000)
                st = station or rng.choice(_SEED_STATIONS)
                pa = partner or rng.choice(_SEED_PARTNERS)
                atts: list[Attachment] = []
                count = rng.randint(attachments[0], attachments[1])
                for j in range(count):
                    kind, ext, ctype = rng.choice(_SEED_KINDS)
                    nbytes = rng.randint(size[0], size[1])
                    name = f"{kind}_{i:05d}_{j}.{ext}"
                    atts.append(Attachment(name, _fake_document(rng, kind, ext, nbytes), ctype))
                subject = None
                if rng.random() < subject_ratio:
                    subject = f"{atts[0].name.split('_')[0].capitalize()} {rng.randrange(10**5)}"
                mdn = rng.random() < mdn_ratio
                mid = self._new_id(ts, rng)
                self.deliver(
                    st,
                    pa,
                    atts,
                    subject=subject,
                    partner_type=ptype,
                    mdn=mdn,
                    message_id=mid,
                    timestamp_ms=ts,
                )
                ids.append(mid)
        return ids

    def submit(
        self,
        station: str,
        partner: str,
        attachments: Sequence[AttachmentSpec],
        *,
        partner_type: str = "production",
        subject: str | None = None,
        mdn: bool = True,
    ) -> str:
        """Enqueue an outbound message (what the send endpoints do); returns its id.

        Raises :class:`NotFoundError` for an unknown station or partner (of that type).
        """
        atts = [_to_attachment(a) for a in attachments]
        ptype = _partner_type(partner_type)
        with self._lock:
            self._advance()
            if station not in self._stations:
                raise NotFoundError(f"No AS2 station found with AS2 ID {station}")
            if (partner, ptype) not in self._partners:
                raise NotFoundError(f"No {ptype} AS2 partner found with AS2 ID {partner}")
            now = self.clock()
            ts = _now_ms(now)
            mid = self._new_id(ts)
            msg = Message(
                folder="queued",
                as2_message_id=mid,
                persisted_timestamp=ts,
                seq=self._next_seq(),
                station=station,
                partner=partner,
                partner_type=ptype,
                attachments=atts,
                subject=subject or None,
                mdn_status="Pending",
                next_attempt_at=now + self.send_delay,
                mdn_requested=mdn,
            )
            self._queued[mid] = msg
            self.stats.sends += 1
            return mid

    def stop(self, message_id: str) -> bool:
        """Stop retrying a queued message (it stays queued); False if not queued."""
        with self._lock:
            self._advance()
            msg = self._queued.get(message_id)
            if msg is None:
                return False
            msg.stopped = True
            return True

    def retry(self, message_id: str) -> bool:
        """Resume a stopped queued message: next attempt after ``send_delay``."""
        with self._lock:
            self._advance()
            msg = self._queued.get(message_id)
            if msg is None:
                return False
            if msg.stopped:
                msg.stopped = False
                msg.next_attempt_at = self.clock() + self.send_delay
            return True

    def advance(self) -> None:
        """Apply every state change due by now (done implicitly by all other methods)."""
        with self._lock:
            self._advance()

    def _advance(self) -> None:
        now = self.clock()
        for msg in list(self._queued.values()):
            while (
                not msg.stopped
                and msg.next_attempt_at <= now
                and self._queued.get(msg.as2_message_id) is msg
            ):
                self._attempt(msg, msg.next_attempt_at)

    def _attempt(self, msg: Message, at: float) -> None:
        partner = self._partners.get((msg.partner, msg.partner_type))
        ts = _now_ms(at)
        if partner is None or partner.fail:
            last = max(
                (
                    f.persisted_timestamp
                    for f in self._failed
                    if f.as2_message_id == msg.as2_message_id
                ),
                default=-1,
            )
            ts = max(ts, last + 1)
            failed = self._record_of(
                msg,
                "failed",
                ts,
                mdn_status="No MDN",
                delivery_status="Not Delivered",
                transport_status=partner.fail_status if partner is not None else None,
            )
            self._failed.append(failed)
            msg.attempts += 1
            if msg.attempts >= self.max_attempts:
                del self._queued[msg.as2_message_id]
            else:
                msg.next_attempt_at = at + self.retry_interval
            return
        del self._queued[msg.as2_message_id]
        sent = self._record_of(msg, "sent", ts, delivery_status="Delivered", transport_status=200)
        if msg.mdn_requested:
            sent.mdn_status = "Received"
            sent.mdn = _make_mdn(sent, ts + 1, sender=msg.station, recipient=msg.partner)
        else:
            sent.mdn_status = "Not Requested"
        self._sent[sent.as2_message_id] = sent

    # ------------------------------------------------------------------ queries

    def _folder_records(self, folder: str) -> list[Message]:
        if folder == "received":
            return list(self._received.values())
        if folder == "sent":
            return list(self._sent.values())
        if folder == "failed":
            return list(self._failed)
        if folder == "queued":
            return list(self._queued.values())
        raise ValueError(f"unknown folder {folder!r}; one of {FOLDERS}")

    def _record_of(self, msg: Message, folder: str, ts: int, **outcome: Any) -> Message:
        """A new record of the queued ``msg`` in ``folder`` (sent, or one failed attempt)."""
        return Message(
            folder=folder,
            as2_message_id=msg.as2_message_id,
            persisted_timestamp=ts,
            seq=self._next_seq(),
            station=msg.station,
            partner=msg.partner,
            partner_type=msg.partner_type,
            attachments=list(msg.attachments),
            subject=msg.subject,
            compressed=msg.compressed,
            encrypted=msg.encrypted,
            signed=msg.signed,
            **outcome,
        )

    def messages(self, folder: str) -> list[Message]:
        """Every record of a folder, in insertion order (failed: one per attempt)."""
        with self._lock:
            self._advance()
            return self._folder_records(folder)

    def find(self, folder: str, message_id: str) -> Message | None:
        """The record with that id in that folder (failed: the latest attempt), or None."""
        with self._lock:
            self._advance()
            if folder == "received":
                return self._received.get(message_id)
            if folder == "sent":
                return self._sent.get(message_id)
            if folder == "queued":
                return self._queued.get(message_id)
            if folder == "failed":
                matches = [m for m in self._failed if m.as2_message_id == message_id]
                return matches[-1] if matches else None
            raise ValueError(f"unknown folder {folder!r}; one of {FOLDERS}")

    def message(self, folder: str, message_id: str) -> Message:
        """The record with that id in that folder (for assertions); KeyError if absent."""
        msg = self.find(folder, message_id)
        if msg is None:
            raise KeyError(f"no {folder} message {message_id}")
        return msg

    def list_messages(
        self,
        folder: str,
        *,
        sort_col: str = "persistedTimestamp",
        sort_dir: str = "desc",
        partner_type: str = "production",
        page_offset: int = 0,
        page_length: int = 10,
        partner: str | None = None,
        station: str | None = None,
        message_id: str | None = None,
        subject: str | None = None,
        query: str | None = None,
        unread_only: bool = False,
    ) -> tuple[int, list[Message]]:
        """One page of a folder, filtered and sorted as the list endpoints do (spec 4.4)."""
        ptype = _partner_type(partner_type)
        with self._lock:
            self._advance()
            records = [m for m in self._folder_records(folder) if m.partner_type == ptype]
            if partner is not None:
                records = [m for m in records if m.partner == partner]
            if station is not None:
                records = [m for m in records if m.station == station]
            if message_id is not None:
                records = [m for m in records if m.as2_message_id == message_id]
            if subject is not None:
                needle = subject.casefold()
                records = [m for m in records if needle in (m.subject or "").casefold()]
            if query is not None:
                q = query.casefold()
                records = [
                    m
                    for m in records
                    if query in (m.partner, m.station, m.as2_message_id)
                    or q in (m.subject or "").casefold()
                ]
            if unread_only:
                records = [m for m in records if not m.read]
            if folder == "queued" and self.processing_window > 0:
                soon = self.clock() + self.processing_window
                records = [m for m in records if m.stopped or m.next_attempt_at > soon]

            # Sorted by (column, seq) in two stable passes with C-level keys (the list
            # endpoints re-sort the folder on every page): by seq in the direction asked,
            # then by the column; equal columns keep their seq order.
            desc = sort_dir == "desc"
            records.sort(key=_BY_SEQ, reverse=desc)
            records.sort(key=_SORT_KEYS.get(sort_col, _SORT_KEYS[""]), reverse=desc)
            start = page_offset * page_length
            return len(records), records[start : start + page_length]

    def is_read(self, message_id: str) -> bool:
        """Whether a received message is marked as read at API scope."""
        with self._lock:
            return self._received[message_id].read

    def mark_read(self, message_id: str, read: bool = True) -> bool:
        """Mark a received message read (or unread); False if it does not exist."""
        with self._lock:
            msg = self._received.get(message_id)
            if msg is None:
                return False
            msg.read = read
            return True

    def attachment(self, folder: str, message_id: str, index: int) -> Attachment:
        """One attachment record; KeyError/IndexError if absent."""
        msg = self.message(folder, message_id)
        return msg.attachments[index]

    def attachment_bytes(self, folder: str, message_id: str, index: int = 0) -> bytes:
        """The bytes of one attachment (materialises a generated body)."""
        return self.attachment(folder, message_id, index).read()

    def attachment_sha256(self, folder: str, message_id: str, index: int = 0) -> str:
        """Hex SHA-256 of one attachment."""
        return self.attachment(folder, message_id, index).sha256()

    def plan_batch(self, message_ids: Sequence[str], *, mark_as_read: bool) -> BatchPlan:
        """The batch download (spec 4.2.2.2): entries in order, truncation, read marks.

        Attachments are added in request order; when adding the next one would take the
        total of attachment sizes over :attr:`batch_limit`, aggregation stops: status 206 and
        the ``(message, attachment)`` index of the last one added. If nothing was added yet,
        that attachment is included anyway, so a client always progresses. Unknown ids get a
        ``<id>/.error`` entry; a repeated id is archived once. With ``mark_as_read`` only
        messages whose every attachment is in the archive are marked.
        """
        with self._lock:
            self._advance()
            entries: list[ZipEntry] = []
            total = 0
            added = 0
            last: tuple[int, int] | None = None
            complete: list[str] = []
            seen: set[str] = set()
            truncated = False
            for m_index, mid in enumerate(message_ids):
                if mid in seen:
                    continue
                seen.add(mid)
                msg = self._received.get(mid)
                if msg is None:
                    text = f"No received AS2 message found with ID {mid}\n"
                    entries.append(ZipEntry(f"{mid}/.error", text.encode(), 0))
                    continue
                for a_index, att in enumerate(msg.attachments):
                    if added and total + att.size > self.batch_limit:
                        truncated = True
                        break
                    entries.append(ZipEntry(f"{mid}/{att.name}", att.body, msg.persisted_timestamp))
                    total += att.size
                    added += 1
                    last = (m_index, a_index)
                if truncated:
                    break
                complete.append(mid)
            if mark_as_read:
                for mid in complete:
                    self._received[mid].read = True
            return BatchPlan(
                entries,
                206 if truncated else 200,
                last if truncated else None,
                complete if mark_as_read else [],
            )


def _partner_type(value: str) -> str:
    v = value.strip().lower()
    if v not in PARTNER_TYPES:
        raise ValueError(f"partner type must be production or test, not {value!r}")
    return v


def _make_mdn(msg: Message, ts: int, *, sender: str, recipient: str) -> Mdn:
    """A realistic MDN (multipart/report) that ``recipient`` returns to ``sender`` for ``msg``."""
    mic = hashlib.sha256()
    for att in msg.attachments:
        if isinstance(att.body, GeneratedBody):
            mic.update(f"{att.name}:{att.size}:{att.body.seed}".encode())
        else:
            for chunk in iter_body(att.body):
                mic.update(chunk)
    mic_b64 = base64.b64encode(mic.digest()).decode()
    human = (
        f"The AS2 message with ID {msg.as2_message_id} sent to {recipient} "
        f"has been received and processed successfully."
    )
    boundary = f"----=_Part_{msg.seq}_{ts}"
    date = time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime(ts / 1000))
    body = (
        f"Content-Type: multipart/report; report-type=disposition-notification; "
        f'boundary="{boundary}"\r\n'
        f"AS2-From: {recipient}\r\nAS2-To: {sender}\r\nDate: {date}\r\n\r\n"
        f"--{boundary}\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n{human}\r\n"
        f"--{boundary}\r\nContent-Type: message/disposition-notification\r\n\r\n"
        f"Reporting-UA: AS2 Gateway (emulated)\r\n"
        f"Original-Recipient: rfc822; {recipient}\r\nFinal-Recipient: rfc822; {recipient}\r\n"
        f"Original-Message-ID: {msg.as2_message_id}\r\n"
        f"Disposition: automatic-action/MDN-sent-automatically; processed\r\n"
        f"Received-Content-MIC: {mic_b64}, sha-256\r\n\r\n"
        f"--{boundary}--\r\n"
    ).encode()
    safe = msg.as2_message_id.strip("<>").replace("/", "_").replace("\\", "_") or "message"
    return Mdn(ts, False, human, body, f"{safe}.mdn")


def format_retry_after(seconds: float, *, integer: bool) -> str:
    """A ``Retry-After`` value: whole seconds (rounded up) or, if asked, a decimal."""
    if integer or float(seconds).is_integer():
        return str(max(1, math.ceil(seconds)) if integer else int(seconds))
    return f"{seconds:.3f}".rstrip("0").rstrip(".")


def _subject_key(m: Message) -> str:
    return m.subject or ""


_BY_SEQ = operator.attrgetter("seq")
#: the sort key of each ``sortCol`` ("" is the default, persistedTimestamp)
_SORT_KEYS: dict[str, Callable[[Message], Any]] = {
    "": operator.attrgetter("persisted_timestamp"),
    "receiverId": operator.attrgetter("partner"),
    "senderId": operator.attrgetter("station"),
    "subject": _subject_key,
}
