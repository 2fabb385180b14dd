"""One crash-test harness, three gateways: what differs per gateway, behind one small interface.

The crash test (``test_inbox_crash.py``) drains an inbox through injected faults while it
SIGKILLs the consumer process at random moments, then checks the result. It needs, from
each gateway's emulator (run in this process, in a thread, so that its state outlives every
consumer and can be inspected exactly):

- ``seed(n)``: n new waiting messages; ``ids()``: every message ever seeded;
- ``expected(id)``: the files the message must end up as on disk, ``{name: sha256}``;
- ``faults(on)``: random faults of each of ``fault_kinds`` on about ``FAULT_RATE`` of the
  requests; ``fault_counts()``: the faults answered so far by kind, and the requests;
- ``acknowledged(id)``: whether the gateway shows it acknowledged (read / fetched /
  confirmed);
- the ``env`` a consumer process reads its credentials from (each gateway's ``from_env``).

Every acknowledgement the gateway receives goes through `AckWatch`, which checks, at that
very moment, that the message's files are already complete at their final place on disk
("acknowledged only after its files were safe") and counts the acknowledgements per message.
"""

from __future__ import annotations

import contextlib
import hashlib
import random
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from as2gw_async.files import safe_message_dirname

#: The share of requests that get a fault while the consumer is being killed.
FAULT_RATE = 0.15


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class AckWatch:
    """Counts acknowledgements per message and checks the files were safe before each one."""

    def __init__(self, dest: Path, expected: Callable[[str], dict[str, str]]) -> None:
        self.dest = dest
        self._expected = expected
        self._lock = threading.Lock()
        #: acknowledgement calls per message (a retry after a lost answer counts again)
        self.calls: Counter[str] = Counter()
        #: how many times a message went from waiting to acknowledged
        self.transitions: Counter[str] = Counter()
        #: messages acknowledged while their files were not complete on disk, and why
        self.premature: list[str] = []

    def on_ack(self, message_id: str, *, already: bool) -> None:
        """Called by the emulator (in its thread) just before it acknowledges a message."""
        problem = self._files_problem(message_id)
        with self._lock:
            self.calls[message_id] += 1
            if not already:
                self.transitions[message_id] += 1
            if problem:
                self.premature.append(f"{message_id}: {problem}")

    def _files_problem(self, message_id: str) -> str | None:
        directory = self.dest / safe_message_dirname(message_id)
        if not directory.is_dir():
            return "acknowledged before its directory was in place"
        try:
            on_disk = {p.name: sha256(p.read_bytes()) for p in directory.iterdir()}
        except OSError as exc:  # pragma: no cover - the consumer never removes a final dir
            return f"unreadable: {exc}"
        wanted = self._expected(message_id)
        if on_disk != wanted:
            return f"acknowledged with {sorted(on_disk)} on disk, not {sorted(wanted)}"
        return None


class RandomFaults:
    """An emulator's fault script, plus a fault drawn at random on ``rate`` of the calls.

    Wraps the script object the emulator asks ``take(route, ...)`` for each request (the
    scripted faults still come first); ``make(kind, route, stage)`` builds the fault, or
    None when that kind does not fit the route or the stage of the request. Counts what it
    injected by kind.
    """

    def __init__(
        self,
        inner: Any,
        make: Callable[[str, str, tuple[str, ...] | None], Any],
        kinds: tuple[str, ...],
        seed: int,
    ) -> None:
        self._inner = inner
        self._make = make
        self.kinds = kinds
        self.rate = 0.0
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self.injected: Counter[str] = Counter()

    def take(self, route: str, *args: Any) -> Any:
        """The emulator's call: a scripted fault, else a random one, else None.

        While faults are on, a kind not injected yet is used at its first chance (so every
        kind shows up even in a short run); after that each call draws one at ``rate``.
        """
        scripted = self._inner.take(route, *args)
        if scripted is not None or self.rate <= 0:
            return scripted
        stage = args[0] if args else None
        with self._lock:
            missing = [k for k in self.kinds if not self.injected[k]]
            if not missing and self._rng.random() >= self.rate:
                return None
            candidates = missing or [self._rng.choice(self.kinds)]
        for kind in candidates:
            fault = self._make(kind, route, stage)
            if fault is not None:
                with self._lock:
                    self.injected[kind] += 1
                return fault
        return None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


# -- AS2 Gateway v1 ------------------------------------------------------------------------


class V1:
    """AS2 Gateway v1: unread listing, batch download, batch mark-read; its own fault plan."""

    name = "as2gateway"
    fault_kinds = ("500", "503", "reset", "short")

    def __init__(self, dest: Path) -> None:
        from as2gw_async.emulator import Gateway

        self.gw = Gateway(seed=11)
        self.gw.latency = 0.005
        self.watch = AckWatch(dest, self.expected)
        self._ids: list[str] = []
        self._seeds = 0
        self._instrument()

    def _instrument(self) -> None:
        gw, watch = self.gw, self.watch
        mark_read, plan_batch = gw.mark_read, gw.plan_batch

        def watched_mark_read(message_id: str, read: bool = True) -> bool:
            if read and gw.find("received", message_id) is not None:
                watch.on_ack(message_id, already=gw.is_read(message_id))
            return mark_read(message_id, read)

        def watched_plan_batch(message_ids: Any, *, mark_as_read: bool) -> Any:
            if mark_as_read:
                for mid in dict.fromkeys(message_ids):
                    if gw.find("received", mid) is not None:
                        watch.on_ack(mid, already=gw.is_read(mid))
            return plan_batch(message_ids, mark_as_read=mark_as_read)

        gw.mark_read = watched_mark_read  # type: ignore[method-assign]
        gw.plan_batch = watched_plan_batch  # type: ignore[method-assign]

    @contextlib.contextmanager
    def running(self) -> Iterator[dict[str, str]]:
        from as2gw_async.emulator import serve_in_thread

        with serve_in_thread(self.gw, host="127.0.0.1", port=0) as server:
            yield {
                "AS2GW_BASE_URL": server.base_url,
                "AS2GW_USERNAME": server.username,
                "AS2GW_PASSWORD": server.password,
            }

    def seed(self, n: int) -> None:
        self._seeds += 1
        self._ids += self.gw.seed(n, attachments=(1, 3), seed=100 + self._seeds)

    def ids(self) -> list[str]:
        return list(self._ids)

    def expected(self, message_id: str) -> dict[str, str]:
        message = self.gw.message("received", message_id)
        return {
            a.name: self.gw.attachment_sha256("received", message_id, i)
            for i, a in enumerate(message.attachments)
        }

    def faults(self, on: bool) -> None:
        from as2gw_async.emulator.faults import FaultPlan

        # v1 batches 100 messages a request, so a run makes few requests: each kind is
        # scripted once up front, then drawn at random on a larger share than elsewhere
        plan = FaultPlan(seed=20261121, rate=0.2, kinds=self.fault_kinds, retry_after=0)
        self.gw.faults = plan.script(*self.fault_kinds) if on else None

    def fault_counts(self) -> tuple[Counter[str], int]:
        return Counter(self.gw.stats.faults), self.gw.stats.requests

    def acknowledged(self, message_id: str) -> bool:
        return bool(self.gw.is_read(message_id))


# -- MFT Gateway ---------------------------------------------------------------------------


class Mft:
    """MFT Gateway: inbox ids, presigned downloads from the object store, markAsRead."""

    name = "mft"
    gateway_kinds = ("500", "503", "429")
    store_kinds = ("store-503", "store-reset")
    fault_kinds = gateway_kinds + store_kinds

    def __init__(self, dest: Path) -> None:
        from as2gw_async.emulator.mft import MftEmulator

        self.emu = MftEmulator(seed=11, token_ttl=3600)
        self.gw = self.emu.gateway
        self.watch = AckWatch(dest, self.expected)
        self._ids: list[str] = []
        self._seeds = 0
        self.api_faults = RandomFaults(self.gw.faults, self._api_fault, self.gateway_kinds, 1)
        self.store_faults = RandomFaults(
            self.gw.store.faults, self._store_fault, self.store_kinds, 2
        )
        self.gw.faults = self.api_faults
        self.gw.store.faults = self.store_faults
        mark_fetched = self.gw.mark_fetched
        gw, watch = self.gw, self.watch

        def watched_mark_fetched(message_id: str, fetched: bool = True) -> bool:
            if fetched and message_id in self._ids:
                watch.on_ack(message_id, already=gw.is_fetched(message_id))
            return mark_fetched(message_id, fetched)

        self.gw.mark_fetched = watched_mark_fetched  # type: ignore[method-assign]

    @staticmethod
    def _api_fault(kind: str, route: str, _kinds: Any) -> Any:
        from as2gw_async.emulator.mft import Fault

        if route in ("authorize", "refresh"):
            return None  # a refused login is not the fault under test here
        if kind == "429":
            return Fault("status", route, 1, status=429, retry_after=0)
        return Fault("status", route, 1, status=int(kind))

    @staticmethod
    def _store_fault(kind: str, route: str, _kinds: Any) -> Any:
        from as2gw_async.emulator.mft import Fault

        if kind == "store-reset":
            return Fault("reset", route, 1, after_bytes=random.randint(0, 64))
        return Fault("status", route, 1, status=503)

    @contextlib.contextmanager
    def running(self) -> Iterator[dict[str, str]]:
        with self.emu:
            yield {
                "MFTGW_BASE_URL": self.emu.base_url,
                "MFTGW_USERNAME": self.emu.username,
                "MFTGW_PASSWORD": self.emu.password,
            }

    def seed(self, n: int) -> None:
        self._seeds += 1
        self._ids += self.emu.seed_inbox(
            n, attachments=1 + self._seeds % 3, sizes=(64, 4096), seed=100 + self._seeds
        )

    def ids(self) -> list[str]:
        return list(self._ids)

    def expected(self, message_id: str) -> dict[str, str]:
        return {a.name: sha256(a.read()) for a in self.gw.message(message_id).attachments}

    def faults(self, on: bool) -> None:
        rate = FAULT_RATE if on else 0.0
        self.api_faults.rate = self.store_faults.rate = rate

    def fault_counts(self) -> tuple[Counter[str], int]:
        injected = self.api_faults.injected + self.store_faults.injected
        return injected, self.gw.stats.requests + self.gw.store.stats.requests

    def acknowledged(self, message_id: str) -> bool:
        return bool(self.gw.is_fetched(message_id))


# -- ECGrid --------------------------------------------------------------------------------


class ECGrid:
    """ECGrid: pending-inbox-list, base64 download in the envelope, confirm."""

    name = "ecgrid"
    fault_kinds = ("status", "rate_limit", "envelope", "reset", "mismatch")

    def __init__(self, dest: Path) -> None:
        from as2gw_async.emulator.ecgrid import ECGridState

        self.state = ECGridState(seed=11)
        self.watch = AckWatch(dest, self.expected)
        self._ids: list[str] = []
        self.random_faults = RandomFaults(self.state.faults, self._fault, self.fault_kinds, 3)
        self.state.faults = self.random_faults
        confirm = self.state.confirm
        state, watch = self.state, self.watch

        def watched_confirm(parcel_id: int) -> Any:
            if str(parcel_id) in self._ids:
                watch.on_ack(str(parcel_id), already=state.parcel(parcel_id).confirmed)
            return confirm(parcel_id)

        self.state.confirm = watched_confirm  # type: ignore[method-assign]

    @staticmethod
    def _fault(kind: str, route: str, kinds: tuple[str, ...] | None) -> Any:
        from as2gw_async.emulator.ecgrid import Fault

        if kinds is not None and kind not in kinds:
            return None  # asked at another stage of the request (answer / mid-body)
        if kind in ("reset", "mismatch") and route != "parcels/download":
            return None
        if route.startswith("auth/"):
            return None
        if kind == "status":
            return Fault("status", route, status=503, error_code="InternalError")
        if kind == "rate_limit":
            return Fault("rate_limit", route, status=429, retry_after=0)
        if kind == "envelope":
            # HTTP 200 with success: false on downloads and confirms only (a confirm's is not
            # retried: it skips that parcel until the next pass); the listing's retry of it
            # is tested in test_ecgrid_envelope_retries.py
            if route.endswith("-list"):
                return None
            return Fault("envelope", route, status=200, error_code="InternalError")
        return Fault(kind, route)

    @contextlib.contextmanager
    def running(self) -> Iterator[dict[str, str]]:
        from as2gw_async.emulator.ecgrid import start

        with start(self.state) as server:
            yield {"ECGRID_BASE_URL": server.base_url, "ECGRID_API_KEY": server.api_key}

    def seed(self, n: int) -> None:
        sizes = [random.Random(len(self._ids) + i).randint(64, 4096) for i in range(n)]
        self._ids += [str(pid) for pid in self.state.seed_inbox(n, sizes=sizes)]

    def ids(self) -> list[str]:
        return list(self._ids)

    def expected(self, message_id: str) -> dict[str, str]:
        parcel = self.state.parcel(int(message_id))
        return {parcel.file_name: sha256(parcel.read())}

    def faults(self, on: bool) -> None:
        self.random_faults.rate = FAULT_RATE if on else 0.0

    def fault_counts(self) -> tuple[Counter[str], int]:
        return Counter(self.random_faults.injected), self.state.stats.requests

    def acknowledged(self, message_id: str) -> bool:
        return bool(self.state.parcel(int(message_id)).confirmed)


GATEWAYS: dict[str, type[V1] | type[Mft] | type[ECGrid]] = {
    "as2gateway": V1,
    "mft": Mft,
    "ecgrid": ECGrid,
}
