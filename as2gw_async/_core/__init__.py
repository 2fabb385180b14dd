"""The provider-neutral core under every gateway session (imports no gateway).

`BaseSession` (``session.py``) owns the HTTP client and sends in layers; credentials,
redaction, checked content decoding, URL rules and JSON bodies each have a module.
"""

from .bodies import endpoint_of, json_body
from .credentials import APIKeyHeader, BareToken, BearerToken, Credentials, check_token
from .redaction import Redactor
from .session import (
    DEFAULT_DEADLINE,
    BaseSession,
    BodyFactory,
    ErrorFunction,
    RequestContent,
    SessionStats,
    default_error,
)

__all__ = [
    "DEFAULT_DEADLINE",
    "APIKeyHeader",
    "BareToken",
    "BaseSession",
    "BearerToken",
    "BodyFactory",
    "Credentials",
    "ErrorFunction",
    "Redactor",
    "RequestContent",
    "SessionStats",
    "check_token",
    "default_error",
    "endpoint_of",
    "json_body",
]
