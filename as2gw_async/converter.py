"""Between the gateway's camelCase JSON and our attrs models, in both directions.

Rules, in one place: field names map snake_case <-> camelCase; unknown JSON fields are
ignored; optional fields may be missing, and a JSON ``null`` reads as missing (so
``"attachments": null`` is no attachments); an enumerated value the library does not know
is kept as its raw string instead of failing; booleans are JSON booleans or the strings
``"true"``/``"false"`` in any case (``"false"`` is False), nothing else.

Structuring is on the hot path of every listing, so it does not go through cattrs: each
model class gets, once, a structure function generated from its attrs fields (a straight
line of ``dict.get`` and type checks, like the code cattrs generates, minus the detailed
validation machinery and exception groups). A value that does not fit raises
`InvalidRecordError` or `InvalidDataError` naming the endpoint, never a bare
``TypeError`` or cattrs exception. A page is structured record by record
(`structure_page`), so one bad record is reported, and skipped or raised as the caller
chooses, without failing the others. Unstructuring (cold: the CLI, the inbox journal)
stays on the cattrs ``converter``.
"""

from __future__ import annotations

import collections.abc
import enum
import logging
import types
import typing
from collections.abc import Callable
from typing import Any, Literal, TypeVar

import attrs
import cattrs
from cattrs.gen import make_dict_unstructure_fn, override

from .errors import InvalidDataError, InvalidRecordError
from .models import Page

__all__ = [
    "BadRecordPolicy",
    "check_bad_record_policy",
    "converter",
    "structure",
    "structure_page",
    "to_camel",
    "unstructure",
]

T = TypeVar("T")

_log = logging.getLogger("as2gw_async")

#: What to do with a listed record that does not fit the model: ``"skip"`` it (logged at
#: WARNING and kept in `Page.bad_records`), or ``"raise"`` `InvalidRecordError`.
BadRecordPolicy = Literal["skip", "raise"]


def check_bad_record_policy(value: object) -> BadRecordPolicy:
    """``"skip"`` or ``"raise"``, checked before any request."""
    if value == "skip":
        return "skip"
    if value == "raise":
        return "raise"
    raise ValueError(f"on_bad_record must be 'skip' or 'raise', not {value!r}")


def to_camel(name: str) -> str:
    """``as2_message_id`` -> ``as2MessageId``; ``mdn_error`` -> ``mdnError``."""
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


class _ModelError(ValueError):
    """A value that does not fit the model; ``reason`` says where (``attachments[0].name``)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _kind(value: object) -> str:
    return "null" if value is None else type(value).__name__


# -- scalar converters: called only when the value is not already of the right type ---------


def _to_str(value: Any, name: str) -> str:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)  # an id sent as a number: its text is the id
    raise _ModelError(f"{name} must be a string, not {_kind(value)}")


def _to_int(value: Any, name: str) -> int:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            pass
    if isinstance(value, int) and not isinstance(value, bool):
        return int(value)
    raise _ModelError(f"{name} must be an integer, not {_kind(value)} {value!r:.40}")


_BOOL_TEXT = {"true": True, "false": False}


def _to_bool(value: Any, name: str) -> bool:
    if isinstance(value, str):
        found = _BOOL_TEXT.get(value.strip().lower())
        if found is not None:
            return found
    raise _ModelError(f"{name} must be true or false, not {_kind(value)} {value!r:.40}")


_SCALARS: dict[Any, Callable[[Any, str], Any]] = {str: _to_str, int: _to_int, bool: _to_bool}


# -- per-class structure functions, generated once --------------------------------------------


_Structurer = Callable[[Any], Any]
_cache: dict[Any, _Structurer] = {}


def _lenient_enum(tp: Any) -> type[enum.Enum] | None:
    """The enum of ``SomeEnum | str | None`` (every enumerated model field), else None."""
    if typing.get_origin(tp) not in (typing.Union, types.UnionType):
        return None
    args = typing.get_args(tp)
    if str not in args:
        return None
    return next((a for a in args if isinstance(a, type) and issubclass(a, enum.Enum)), None)


def _enum_converter(enum_cls: type[enum.Enum], name: str) -> Callable[[Any], Any]:
    table: dict[Any, Any] = {m.value: m for m in enum_cls}

    def convert(value: Any) -> Any:
        found = table.get(value) if isinstance(value, str) else None
        if found is not None:
            return found
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(value)  # kept as its text, as an unknown string value is
        if not isinstance(value, str):
            raise _ModelError(f"{name} must be a string, not {_kind(value)}")
        try:
            return enum_cls(value)  # case-insensitive lookup (the enums' _missing_)
        except ValueError:
            return value  # a value this library does not know yet: kept as it is

    return convert


def _slow_tuple(sub: _Structurer, name: str) -> Callable[[Any], Any]:
    """The error path of a list of models: which item does not fit, and why."""

    def convert(value: Any) -> tuple[Any, ...]:
        for i, item in enumerate(value):
            try:
                sub(item)
            except _ModelError as inner:
                raise _ModelError(f"{name}[{i}].{inner.reason}") from None
        raise AssertionError("unreachable: every item fits")  # pragma: no cover

    return convert


def _optional_inner(tp: Any) -> tuple[Any, bool]:
    """``X | None`` -> (X, True); anything else -> (tp, False)."""
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if type(None) in args:
            rest = [a for a in args if a is not type(None)]
            if len(rest) == 1:
                return rest[0], True
    return tp, False


def _field_lines(i: int, tp: Any, key: str, env: dict[str, Any]) -> list[str]:
    """Lines turning ``v`` (not None) into field ``i``'s value, inline where it is cheap."""
    enum_cls = _lenient_enum(tp)
    if enum_cls is not None:
        env[f"_t{i}"] = {m.value: m for m in enum_cls}
        env[f"_c{i}"] = _enum_converter(enum_cls, key)
        return [
            f"        if type(v) is str and v in _t{i}:",
            f"            v = _t{i}[v]",
            "        else:",
            f"            v = _c{i}(v)",
        ]
    tp, _ = _optional_inner(tp)
    if tp in _SCALARS:
        env[f"_t{i}"] = tp
        env[f"_c{i}"] = _SCALARS[tp]
        return [f"        if type(v) is not _t{i}:", f"            v = _c{i}(v, {key!r})"]
    if attrs.has(tp):
        env[f"_s{i}"] = _structurer(tp)
        return [
            "        try:",
            f"            v = _s{i}(v)",
            "        except _ModelError as e:",
            f"            raise _ModelError({key + '.'!r} + e.reason) from None",
        ]
    if typing.get_origin(tp) is tuple and typing.get_args(tp)[0] in _SCALARS:
        env[f"_t{i}"] = typing.get_args(tp)[0]
        env[f"_c{i}"] = _SCALARS[typing.get_args(tp)[0]]
        return [  # a list of plain values (MFT's attachmentPaths): each one checked
            "        if type(v) is not list:",
            f"            raise _ModelError(f'{key} must be a list, not {{_kind(v)}}')",
            f"        v = tuple([x if type(x) is _t{i} else _c{i}(x, {key!r}) for x in v])",
        ]
    if typing.get_origin(tp) in (dict, collections.abc.Mapping):
        return [  # a JSON object kept as it is (MFT's transportHeaders, raw bodies)
            "        if type(v) is not dict:",
            f"            raise _ModelError(f'{key} must be an object, not {{_kind(v)}}')",
        ]
    if typing.get_origin(tp) is tuple:
        item, _ellipsis = typing.get_args(tp)
        sub = _structurer(item)
        env[f"_s{i}"] = sub
        env[f"_c{i}"] = _slow_tuple(sub, key)
        return [
            "        if type(v) is not list:",
            f"            raise _ModelError(f'{key} must be a list, not {{_kind(v)}}')",
            "        try:",
            f"            v = tuple([_s{i}(x) for x in v])",
            "        except _ModelError:",
            f"            v = _c{i}(v)",
        ]
    raise TypeError(f"no structure rule for {key}: {tp!r}")  # a model bug, found at import


def _generate(cls: type) -> _Structurer:
    """Write and compile the structure function of one attrs class (see the module doc).

    The object is made with ``object.__new__`` and its slots are filled directly (what the
    attrs ``__init__`` of a frozen class does, minus the keyword-argument handling), which
    is safe because models have no validators, converters or post-init hooks.
    """
    attrs.resolve_types(cls)
    fields = attrs.fields(cls)
    direct = "__slots__" in cls.__dict__ and not hasattr(cls, "__attrs_post_init__")
    direct = direct and all(a.validator is None and a.converter is None for a in fields)
    env: dict[str, Any] = {
        "_cls": cls,
        "_new": object.__new__,
        "_ModelError": _ModelError,
        "_kind": _kind,
    }
    lines = [
        "def structure(d):",
        "    if type(d) is not dict:",
        "        raise _ModelError(f'expected an object, not {_kind(d)}')",
        "    g = d.get",
    ]
    for i, a in enumerate(fields):
        key = to_camel(a.name)
        lines.append(f"    v = g({key!r})")
        if a.default is attrs.NOTHING:
            lines += ["    if v is None:", f"        raise _ModelError({key + ' is missing'!r})"]
            lines += ["    if True:"]
        else:
            if isinstance(a.default, attrs.Factory):  # type: ignore[arg-type]
                raise TypeError(f"{cls.__name__}.{a.name}: no factory defaults on models")
            env[f"_d{i}"] = a.default
            lines += ["    if v is None:", f"        v = _d{i}", "    else:"]
        lines += _field_lines(i, a.type, key, env)
        lines.append(f"    a{i} = v")
    if direct:
        lines.append("    o = _new(_cls)")
        for i, a in enumerate(fields):
            # through the MRO: an inherited field's slot lives on the base class
            env[f"_set{i}"] = getattr(cls, a.name).__set__
            lines.append(f"    _set{i}(o, a{i})")
        lines.append("    return o")
    else:  # pragma: no cover - every model is slotted today
        kwargs = ", ".join(f"{a.name}=a{i}" for i, a in enumerate(fields))
        lines.append(f"    return _cls({kwargs})")
    exec(compile("\n".join(lines), f"<structure {cls.__qualname__}>", "exec"), env)
    fn: _Structurer = env["structure"]
    return fn


def _structurer(cls: Any) -> _Structurer:
    fn = _cache.get(cls)
    if fn is None:
        fn = _cache[cls] = _generate(cls)
    return fn


# -- the public entry points -------------------------------------------------------------------


def _where(endpoint: str | None) -> str:
    return f" from {endpoint}" if endpoint else ""


def _record_id(data: Any) -> str | None:
    mid = data.get("as2MessageId") if isinstance(data, dict) else None
    return mid if isinstance(mid, str) else None


def structure(data: Any, cls: type[T], *, endpoint: str | None = None) -> T:
    """Build a model from decoded JSON, e.g. ``structure(body, AS2Message)``.

    A value that does not fit raises `InvalidRecordError` (`InvalidDataError` for a page)
    naming ``endpoint``. ``Page[X]`` is structured with every bad record raised.
    """
    if typing.get_origin(cls) is Page:
        (item,) = typing.get_args(cls)
        return structure_page(data, item, endpoint=endpoint, on_bad_record="raise")  # type: ignore[return-value]
    if not attrs.has(cls):
        return converter.structure(data, cls)
    try:
        result: T = _structurer(cls)(data)
    except _ModelError as exc:
        mid = _record_id(data)
        raise InvalidRecordError(
            f"{cls.__name__}{_where(endpoint)} does not fit the model: {exc.reason}"
            + (f" (as2MessageId {mid})" if mid else ""),
            endpoint=endpoint,
            reason=exc.reason,
            as2_message_id=mid,
        ) from None
    return result


def structure_page(
    data: Any,
    item: type[T],
    *,
    endpoint: str | None = None,
    on_bad_record: BadRecordPolicy = "skip",
) -> Page[T]:
    """A listing page (spec 3.5), structured record by record.

    A record that does not fit becomes an `InvalidRecordError`: raised with
    ``on_bad_record="raise"``; with ``"skip"`` logged at WARNING, left out of ``records``
    and kept in ``bad_records`` (so ``len(records) + len(bad_records)`` is what the page
    held). A page that is not a page raises `InvalidDataError`.
    """
    if type(data) is not dict:
        raise _bad_page(endpoint, f"expected an object, not {_kind(data)}")
    total = data.get("totalRecords")
    if type(total) is not int:
        try:
            total = _to_int(total, "totalRecords") if total is not None else None
        except _ModelError:
            total = None
        if total is None:
            raise _bad_page(
                endpoint, f"totalRecords must be an integer, not {_kind(data.get('totalRecords'))}"
            )
    raw = data.get("records")
    if raw is None:
        raw = []
    elif type(raw) is not list:
        raise _bad_page(endpoint, f"records must be a list, not {_kind(raw)}")
    build = _structurer(item)
    try:
        records = [build(r) for r in raw]  # the hot path: every record fits
    except _ModelError:
        pass
    else:
        return Page(total, tuple(records))
    good: list[T] = []
    bad: list[InvalidRecordError] = []
    for index, r in enumerate(raw):
        try:
            good.append(build(r))
        except _ModelError as exc:
            mid = _record_id(r)
            error = InvalidRecordError(
                f"record {index} of the page{_where(endpoint)} does not fit the model: "
                f"{exc.reason}" + (f" (as2MessageId {mid})" if mid else ""),
                endpoint=endpoint,
                reason=exc.reason,
                index=index,
                as2_message_id=mid,
            )
            if on_bad_record == "raise":
                raise error from None
            _log.warning("skipped a bad record: %s", error)
            bad.append(error)
    return Page(total, tuple(good), bad_records=tuple(bad))


def _bad_page(endpoint: str | None, reason: str) -> InvalidDataError:
    return InvalidDataError(
        f"the page{_where(endpoint)} is not a listing page: {reason}",
        endpoint=endpoint,
        reason=reason,
    )


# -- unstructuring (and anything that is not a model) through cattrs ---------------------------


def _make_converter() -> cattrs.Converter:
    conv = cattrs.Converter(forbid_extra_keys=False)

    def structure_factory(cls: Any) -> Any:
        build = _structurer(cls)
        return lambda data, _: build(data)

    def unstructure_factory(cls: Any) -> Any:
        overrides: dict[str, Any] = {
            a.name: override(omit=True)
            if a.metadata.get("json") is False
            else override(rename=to_camel(a.name))
            for a in attrs.fields(cls)
        }
        fn = make_dict_unstructure_fn(cls, conv, **overrides)

        def unstructure_without_nulls(obj: Any) -> dict[str, Any]:
            # The gateway leaves absent optional fields out rather than sending null.
            return {k: v for k, v in fn(obj).items() if v is not None}

        return unstructure_without_nulls

    def is_lenient_enum(tp: Any) -> bool:
        return _lenient_enum(tp) is not None

    conv.register_structure_hook_factory(
        lambda t: attrs.has(t) and typing.get_origin(t) is not Page and t is not Page,
        structure_factory,
    )
    conv.register_unstructure_hook_factory(attrs.has, unstructure_factory)
    conv.register_unstructure_hook_factory(
        is_lenient_enum, lambda _: lambda v: v.value if isinstance(v, enum.Enum) else v
    )
    conv.register_unstructure_hook(enum.Enum, lambda e: e.value)
    return conv


converter = _make_converter()


def unstructure(obj: Any) -> Any:
    """The gateway's JSON shape (camelCase) of a model."""
    return converter.unstructure(obj)
