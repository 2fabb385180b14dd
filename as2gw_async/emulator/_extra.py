"""The one message for a missing ``emulator`` extra (starlette, uvicorn, python-multipart).

The emulator imports nothing from the client, so it says this itself: in ``python -m
as2gw_async.emulator``, in the pytest fixture that serves it, and on ``from
as2gw_async.emulator import serve``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["INSTALL_HINT", "MissingExtraError", "missing_extra_message", "require_extra"]

#: What to run to get the serving half of the emulator.
INSTALL_HINT = 'pip install "as2gw_async[emulator]"'

#: Top-level modules of the extra (python-multipart is imported as ``multipart``).
_EXTRA_MODULES = frozenset({"starlette", "uvicorn", "multipart", "python_multipart"})


class MissingExtraError(ImportError):
    """The emulator's server needs the ``emulator`` extra, which is not installed."""


def missing_extra_message(missing: str | None) -> str:
    """``the emulator needs the 'emulator' extra (starlette is missing): pip install ...``."""
    what = f" ({missing} is missing)" if missing else ""
    return f"the emulator needs the 'emulator' extra{what}: {INSTALL_HINT}"


@contextmanager
def require_extra() -> Iterator[None]:
    """Turn an import error of the extra's modules into `MissingExtraError` with the hint."""
    try:
        yield
    except ImportError as exc:
        top = (exc.name or "").split(".")[0]
        if top not in _EXTRA_MODULES:
            raise
        raise MissingExtraError(missing_extra_message(top), name=exc.name) from exc
