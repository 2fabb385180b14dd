"""Tests that kill the surviving mutants of `as2gw_async/inbox.py` (see docs/mutation.md).

Each test names the mutants it kills, so nobody deletes it as redundant.
"""

from __future__ import annotations
