"""The states a message goes through in an inbox journal, in order: the one place they live.

``stored``: its files are complete in ``dest_dir/<id>/`` (and it is handed to your code);
``acked``: your code is done with it; ``marked``: the gateway was told (v1: marked read).
A later state wins over an earlier one, whatever order the records are read in.
"""

from __future__ import annotations

from typing import Final, Literal, TypeGuard

__all__ = ["ACKED", "MARKED", "STATES", "STORED", "State", "is_state", "later"]

State = Literal["stored", "acked", "marked"]

STORED: Final = "stored"
ACKED: Final = "acked"
MARKED: Final = "marked"
#: Every state, in the order a message goes through them.
STATES: Final[tuple[State, ...]] = (STORED, ACKED, MARKED)


def is_state(value: object) -> TypeGuard[State]:
    """True for one of `STATES` (a journal line holding anything else is ignored)."""
    return value in STATES


def later(a: State, b: State | None) -> State:
    """The later of two states (``b`` may be ``None``: nothing known yet)."""
    if b is None:
        return a
    return a if STATES.index(a) >= STATES.index(b) else b
