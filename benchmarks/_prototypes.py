"""Proposed library fixes, applied by monkeypatching inside one worker process only.

They let a run measure what a fix would buy next to the library as it is, in the same run.
They are *not* the library: tables label them "proposed", and no target is judged on them.

``chunk``
    ``downloads.write_body`` reads ``response.aiter_bytes(256 KiB)``; httpx then re-buffers
    every network read through a ``BytesIO`` to cut exact 256 KiB pieces. The proposal reads
    ``aiter_bytes()`` (the pieces as they arrive, at most 64 KiB): no copy, same memory.
``inline``
    ``chunk``, plus every ``anyio.to_thread.run_sync`` runs inline in the event loop: the
    upper bound of what any cut in worker-thread round trips could buy (the library makes
    one per batch of small files, and a few per archive in ``batch_download``). Not a
    proposal to ship: fsync in the event loop would stall every other task on a real disk.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["apply"]


def _chunk() -> None:
    from as2gw_async.endpoints import downloads

    downloads.CHUNK_SIZE = None  # type: ignore[assignment]


def _inline() -> None:
    import anyio.from_thread
    import anyio.lowlevel
    import anyio.to_thread

    _chunk()

    async def run_inline(func: Callable[..., Any], *args: Any, **_: Any) -> Any:
        await anyio.lowlevel.checkpoint()
        return func(*args)

    anyio.to_thread.run_sync = run_inline  # type: ignore[assignment]
    anyio.from_thread.check_cancelled = lambda: None  # no worker thread to be cancelled in


_PATCHES: dict[str, Callable[[], None]] = {"chunk": _chunk, "inline": _inline}


def apply(name: str | None) -> None:
    """Apply the named prototype (nothing for None)."""
    if name:
        _PATCHES[name]()
