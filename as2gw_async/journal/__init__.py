"""Where `InboxConsumer` keeps each message's state: the interface and its backends.

`Journal` is the interface (`base.py`); `FileJournal` the default, a JSON-lines file in
``dest_dir/.as2gw/``; `PostgresJournal` for consumers on several hosts, with claims and
leases (extra ``postgres``); the states themselves are defined once, in `states.py`.
"""

from .base import Journal, JournalRecord, JournalScope, Recovery
from .file import FileJournal
from .postgres import PostgresJournal
from .states import ACKED, MARKED, STATES, STORED, State

__all__ = [
    "ACKED",
    "MARKED",
    "STATES",
    "STORED",
    "FileJournal",
    "Journal",
    "JournalRecord",
    "JournalScope",
    "PostgresJournal",
    "Recovery",
    "State",
]
