"""Tests that kill the surviving mutants of `as2gw_async/journal/file.py` (see docs/mutation.md).

Each test names the mutant it kills, so nobody deletes it as redundant.
"""

from __future__ import annotations
