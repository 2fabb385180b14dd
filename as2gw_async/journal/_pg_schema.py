"""The PostgreSQL journal's tables: names, the migrations, and applying them in order.

Two tables, named from a prefix (default ``as2gw_``): ``<prefix>schema_version`` (one row
per migration applied) and ``<prefix>messages`` (one row per gateway, account and message
id: its state, its claim, where its stored copy is). Migrations run in order, each once,
inside one transaction holding an advisory lock, so consumers starting together never
create a table twice or skip a step. A database already at a newer version than this code
knows is refused rather than written to.
"""

from __future__ import annotations

import re
import zlib
from typing import TYPE_CHECKING, Any, Final

from ..errors import JournalDatabaseError

if TYPE_CHECKING:
    import psycopg

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "Tables", "migrate", "validate_prefix"]

#: What a prefix may be: a lower-case SQL identifier (no quoting needed, no case surprises).
_PREFIX = re.compile(r"[a-z_][a-z0-9_]*\Z")
#: PostgreSQL truncates identifiers longer than this many bytes.
_MAX_IDENTIFIER = 63
_LONGEST_SUFFIX = "messages_holder_idx"

#: Each migration: (version, statements). ``{messages}`` is the messages table's name and
#: ``{prefix}`` the prefix (for index names). Append only; never edit an applied one.
MIGRATIONS: Final[tuple[tuple[int, str], ...]] = (
    (
        1,
        """
        CREATE TABLE {messages} (
            gateway      text NOT NULL,
            account      text NOT NULL,
            message_id   text NOT NULL,
            state        text CHECK (state IN ('stored', 'acked', 'marked')),
            holder       text,
            holder_site  text,
            lease_until  timestamptz,
            stored_by    text,
            stored_site  text,
            directory    text,
            metadata     jsonb,
            updated_at   timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (gateway, account, message_id)
        );
        CREATE INDEX {prefix}messages_holder_idx ON {messages} (holder)
            WHERE holder IS NOT NULL;
        CREATE INDEX {prefix}messages_site_idx ON {messages} (stored_site, state)
            WHERE state IN ('stored', 'acked');
        """,
    ),
)
#: The version this code writes.
SCHEMA_VERSION: Final = MIGRATIONS[-1][0]


def validate_prefix(prefix: str) -> str:
    """``prefix`` if it makes valid, unquoted table names, else `ValueError`."""
    if not isinstance(prefix, str) or not _PREFIX.match(prefix):
        raise ValueError(
            f"table_prefix must be a lower-case SQL identifier (letters, digits, _; "
            f"not starting with a digit), not {prefix!r}"
        )
    if len(prefix) + len(_LONGEST_SUFFIX) > _MAX_IDENTIFIER:
        raise ValueError(
            f"table_prefix {prefix!r} is too long: at most "
            f"{_MAX_IDENTIFIER - len(_LONGEST_SUFFIX)} characters"
        )
    return prefix


class Tables:
    """The table names for one prefix (already validated: safe to put in SQL text)."""

    def __init__(self, prefix: str) -> None:
        self.prefix = validate_prefix(prefix)
        self.messages = f"{prefix}messages"
        self.schema_version = f"{prefix}schema_version"

    @property
    def lock_key(self) -> int:
        """The advisory lock that serialises migrations of these tables (a signed 64-bit int)."""
        return zlib.crc32(f"as2gw_async:{self.prefix}".encode())


async def migrate(conn: psycopg.AsyncConnection[Any], tables: Tables) -> int:
    """Create or upgrade the tables to `SCHEMA_VERSION`; return the version found before."""
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(%s)", (tables.lock_key,))
        await conn.execute(
            f"CREATE TABLE IF NOT EXISTS {tables.schema_version} ("
            "version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        cur = await conn.execute(f"SELECT max(version) FROM {tables.schema_version}")
        row = await cur.fetchone()
        found = int(row[0]) if row is not None and isinstance(row[0], int) else 0
        if found > SCHEMA_VERSION:
            raise JournalDatabaseError(
                f"the journal tables {tables.messages!r} are at schema version {found}, newer "
                f"than this as2gw_async knows ({SCHEMA_VERSION}): upgrade as2gw_async"
            )
        for version, statements in MIGRATIONS:
            if version <= found:
                continue
            await conn.execute(statements.format(messages=tables.messages, prefix=tables.prefix))
            await conn.execute(
                f"INSERT INTO {tables.schema_version} (version) VALUES (%s)", (version,)
            )
    return found
