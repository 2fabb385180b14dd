"""Where `InboxConsumer` keeps each message's state: the interface and its backends.

`Journal` is the interface (`base.py`); `FileJournal` the default, a JSON-lines file in
``dest_dir/.as2gw/``; the states themselves are defined once, in `states.py`.
"""

from .base import Journal, JournalRecord, JournalScope, Recovery
from .file import FileJournal
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
    "Recovery",
    "State",
]
