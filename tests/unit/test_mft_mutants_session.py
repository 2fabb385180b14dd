"""Tests that kill surviving mutants of `as2gw_async/mft/` (session, admin, webhooks, errors,
models, naming; see docs/mutation.md).

Each test names the mutants it kills, so nobody deletes it as redundant.
"""

from __future__ import annotations
