"""The cattrs converter between the gateway's camelCase JSON and our attrs models.

Rules, in one place: field names map snake_case <-> camelCase; unknown JSON fields are
ignored; optional fields may be missing; an enumerated value the library does not know is
kept as its raw string instead of failing the whole page.
"""

from __future__ import annotations

import enum
import types
import typing
from typing import Any, TypeVar

import attrs
import cattrs
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

__all__ = ["converter", "structure", "to_camel", "unstructure"]

T = TypeVar("T")


def to_camel(name: str) -> str:
    """``as2_message_id`` -> ``as2MessageId``; ``mdn_error`` -> ``mdnError``."""
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _is_lenient_enum_union(tp: Any) -> bool:
    """``SomeEnum | str | None``: the shape of every enumerated model field."""
    if typing.get_origin(tp) not in (typing.Union, types.UnionType):
        return False
    args = typing.get_args(tp)
    return str in args and any(isinstance(a, type) and issubclass(a, enum.Enum) for a in args)


def _make_lenient_enum_hook(tp: Any) -> Any:
    args = typing.get_args(tp)
    enum_cls = next(a for a in args if isinstance(a, type) and issubclass(a, enum.Enum))
    optional = type(None) in args

    def hook(value: Any, _: Any) -> Any:
        if value is None:
            if optional:
                return None
            raise ValueError("value may not be null")
        try:
            return enum_cls(value)
        except ValueError:
            return str(value)

    return hook


def _make_converter() -> cattrs.Converter:
    conv = cattrs.Converter(forbid_extra_keys=False)

    def structure_factory(cls: Any) -> Any:
        overrides: dict[str, Any] = {
            a.name: override(rename=to_camel(a.name)) for a in attrs.fields(cls)
        }
        return make_dict_structure_fn(cls, conv, **overrides)

    def unstructure_factory(cls: Any) -> Any:
        overrides: dict[str, Any] = {
            a.name: override(rename=to_camel(a.name)) for a in attrs.fields(cls)
        }
        fn = make_dict_unstructure_fn(cls, conv, **overrides)

        def unstructure_without_nulls(obj: Any) -> dict[str, Any]:
            # The gateway leaves absent optional fields out rather than sending null.
            return {k: v for k, v in fn(obj).items() if v is not None}

        return unstructure_without_nulls

    conv.register_structure_hook_factory(attrs.has, structure_factory)
    conv.register_unstructure_hook_factory(attrs.has, unstructure_factory)
    conv.register_structure_hook_factory(_is_lenient_enum_union, _make_lenient_enum_hook)
    conv.register_unstructure_hook_factory(
        _is_lenient_enum_union, lambda _: lambda v: v.value if isinstance(v, enum.Enum) else v
    )
    conv.register_unstructure_hook(enum.Enum, lambda e: e.value)
    return conv


converter = _make_converter()


def structure(data: Any, cls: type[T]) -> T:
    """Build a model from decoded JSON, e.g. ``structure(body, Page[AS2Message])``."""
    return converter.structure(data, cls)


def unstructure(obj: Any) -> Any:
    """The gateway's JSON shape (camelCase) of a model."""
    return converter.unstructure(obj)
