"""Checking and encoding request parameters, shared by the send and folder endpoints.

Every check runs before a request is made, so a bad value fails fast with a clear error
instead of a 400 from the gateway. Query strings are percent-encoded here (a space is
``%20``, never ``+``), so ids and subjects holding spaces, ``+``, ``&``, ``<``, ``>``,
``@`` or ``/`` reach the gateway exactly as given.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal, Union
from urllib.parse import quote, urlencode

from ..models import PartnerType

__all__ = [
    "MAX_PAGE_LENGTH",
    "SORT_COLUMNS",
    "PartnerTypeArg",
    "SortColumn",
    "SortDirection",
    "bool_param",
    "check_id",
    "check_text",
    "page_length_param",
    "page_offset_param",
    "partner_type_param",
    "sort_col_param",
    "sort_dir_param",
    "with_query",
]

#: The largest ``pageLength`` the list endpoints accept (spec 4.4).
MAX_PAGE_LENGTH = 100

#: Accepted ``sort_col`` values (the spec's names and their snake_case forms).
SortColumn = Literal[
    "persistedTimestamp",
    "receiverId",
    "senderId",
    "subject",
    "persisted_timestamp",
    "receiver_id",
    "sender_id",
]
SortDirection = Literal["asc", "desc"]
PartnerTypeArg = Union[PartnerType, Literal["production", "test"], str]  # noqa: UP007

#: The spec's sort columns, keyed by every accepted spelling folded to lower case.
SORT_COLUMNS: dict[str, str] = {
    "persistedtimestamp": "persistedTimestamp",
    "persisted_timestamp": "persistedTimestamp",
    "receiverid": "receiverId",
    "receiver_id": "receiverId",
    "senderid": "senderId",
    "sender_id": "senderId",
    "subject": "subject",
}


def partner_type_param(value: PartnerType | str) -> PartnerType:
    """``PartnerType`` or ``"production"``/``"test"`` in any case, as a `PartnerType`."""
    if isinstance(value, PartnerType):
        return value
    if isinstance(value, str):
        try:
            return PartnerType(value)
        except ValueError:
            pass
    raise ValueError(f"partner_type must be 'production' or 'test', not {value!r}")


def sort_col_param(value: str) -> str:
    """The spec's name of a sort column: ``sender_id`` -> ``senderId``."""
    column = SORT_COLUMNS.get(value.lower()) if isinstance(value, str) else None
    if column is None:
        raise ValueError(
            f"sort_col must be one of persistedTimestamp, receiverId, senderId, subject "
            f"(or their snake_case forms), not {value!r}"
        )
    return column


def sort_dir_param(value: str) -> str:
    """``asc`` or ``desc``, in any case."""
    if isinstance(value, str) and value.lower() in ("asc", "desc"):
        return value.lower()
    raise ValueError(f"sort_dir must be 'asc' or 'desc', not {value!r}")


def _int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, not {type(value).__name__}")
    return value


def page_offset_param(value: int) -> int:
    """A page *number* (spec 4.4), zero or more."""
    if _int("page_offset", value) < 0:
        raise ValueError(f"page_offset is a page number, 0 or more, not {value}")
    return value


def page_length_param(value: int) -> int:
    """Records a page, 1 to 100."""
    if not 1 <= _int("page_length", value) <= MAX_PAGE_LENGTH:
        raise ValueError(f"page_length must be between 1 and {MAX_PAGE_LENGTH}, not {value}")
    return value


def bool_param(name: str, value: bool) -> str:
    """``true`` or ``false``, as the gateway spells booleans in a query."""
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be a bool, not {type(value).__name__}")
    return "true" if value else "false"


def check_text(name: str, value: str) -> str:
    """A filter or subject string (any text, empty included)."""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, not {type(value).__name__}")
    return value


def check_id(name: str, value: str) -> str:
    """A non-empty identifier (AS2 message, station or partner id)."""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, not {type(value).__name__}")
    if not value:
        raise ValueError(f"{name} must not be empty")
    return value


def with_query(path: str, params: Mapping[str, str | int | None]) -> str:
    """``path`` plus a percent-encoded query of the params that are not None.

    >>> with_query("/message/received", {"subject": "a b+c", "pageOffset": 2, "x": None})
    '/message/received?subject=a%20b%2Bc&pageOffset=2'
    """
    items = [(k, str(v)) for k, v in params.items() if v is not None]
    if not items:
        return path
    return f"{path}?{urlencode(items, safe='', quote_via=quote)}"
