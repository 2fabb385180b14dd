"""Scenario ``structuring``: the CPU cost of turning a listing page into models.

What it measures: microseconds to structure one page of 100 received messages (as the
emulator serves them: 1 to 3 attachments, an MDN) into ``Page[AS2Message]`` with
``as2gw_async.converter.structure_page``, against ``json.loads`` of the same page (the floor:
every client pays it), and against the cattrs converter the library used before (generated
``make_dict_structure_fn`` hooks with camelCase renames and the lenient enum hook), rebuilt
here for the comparison. The target: structuring <= 2x ``json.loads``.

Why it is fair: the page is a real body fetched from the emulator; all three run in the
same fresh process on the same decoded (or raw, for ``json.loads``) page, each timed over
many rounds of many pages, best round quoted (the least disturbed by the rest of the
machine), and every structured page is checked against the expected record count.
"""

from __future__ import annotations

import json
import urllib.request
from typing import Any

from ._harness import (
    Config,
    Emulator,
    Scenario,
    VariantRuns,
    available,
    fmt,
    ratio,
    run_cases,
    worker_case,
)
from ._worker import Meter

MODULE = "benchmarks.structuring"
PAGE = 100


def _best_us(fn: Any, *, pages: int, rounds: int) -> float:
    """Best of ``rounds`` rounds of ``pages`` calls, in microseconds a call."""
    import time

    best = float("inf")
    for _ in range(rounds):
        t0 = time.perf_counter()
        for _ in range(pages):
            fn()
        best = min(best, (time.perf_counter() - t0) / pages)
    return best * 1e6


def _old_cattrs_structure() -> Any:
    """The library's previous converter: cattrs-generated hooks (for comparison only)."""
    import enum
    import types
    import typing

    import attrs
    import cattrs
    from cattrs.gen import make_dict_structure_fn, override

    from as2gw_async import AS2Message, Page
    from as2gw_async.converter import to_camel

    def lenient(tp: Any) -> bool:
        if typing.get_origin(tp) not in (typing.Union, types.UnionType):
            return False
        args = typing.get_args(tp)
        return str in args and any(isinstance(a, type) and issubclass(a, enum.Enum) for a in args)

    def enum_hook(tp: Any) -> Any:
        enum_cls = next(
            a for a in typing.get_args(tp) if isinstance(a, type) and issubclass(a, enum.Enum)
        )

        def hook(value: Any, _: Any) -> Any:
            if value is None:
                return None
            try:
                return enum_cls(value)
            except ValueError:
                return str(value)

        return hook

    conv = cattrs.Converter(forbid_extra_keys=False)

    def factory(cls: Any) -> Any:
        fields = attrs.fields(typing.get_origin(cls) or cls)
        overrides = {a.name: override(rename=to_camel(a.name)) for a in fields}
        if "bad_records" in overrides:
            overrides["bad_records"] = override(omit=True)
        return make_dict_structure_fn(cls, conv, **overrides)

    conv.register_structure_hook_factory(attrs.has, factory)
    conv.register_structure_hook_factory(lenient, enum_hook)
    return lambda data: conv.structure(data, Page[AS2Message])


def variant_structure(params: dict[str, Any], meter: Meter) -> dict[str, Any]:
    """``json.loads`` vs ``structure_page`` vs the previous cattrs converter, one page."""
    from pathlib import Path

    from as2gw_async import AS2Message
    from as2gw_async.converter import structure_page

    body = Path(params["page_path"]).read_bytes()
    data = json.loads(body)
    n = len(data["records"])
    old = _old_cattrs_structure()
    for build in (lambda d: structure_page(d, AS2Message), old):
        if len(build(data).records) != n:
            raise AssertionError("a structured page lost records")
    pages, rounds = params["pages"], params["rounds"]
    meter.start()
    loads = _best_us(lambda: json.loads(body), pages=pages, rounds=rounds)
    new = _best_us(lambda: structure_page(data, AS2Message), pages=pages, rounds=rounds)
    before = _best_us(lambda: old(data), pages=pages, rounds=rounds)
    meter.stop()
    return {
        "records": n,
        "loads_us": loads,
        "structure_us": new,
        "cattrs_us": before,
        "ratio": new / loads,
        "cattrs_ratio": before / loads,
        "body_bytes": len(body),
    }


KEYS = ["loads_us", "structure_us", "cattrs_us", "ratio", "cattrs_ratio", "cpu"]


def run(cfg: Config) -> Scenario:
    pages, rounds = (50, 5) if cfg.quick else (300, 9)
    reps = cfg.reps
    sc = Scenario(
        "structuring",
        "structuring: one page of 100 messages into models, against json.loads",
        __doc__.split("\n\n")[1].replace("\n", " ") if __doc__ else "",
        params={"page_length": PAGE, "pages_a_round": pages, "rounds": rounds, "repetitions": reps},
    )
    with Emulator(cfg.scratch / "as2gw-bench-emulator") as emu:
        emu.seed(PAGE, attachments=(1, 3), size=(64, 4096), seed=4)
        req = urllib.request.Request(
            f"{emu.base_url}/message/received?pageLength={PAGE}",
            headers={"Authorization": emu.token()},
        )
        with urllib.request.urlopen(req, timeout=30) as resp:
            body = resp.read()
        page_path = cfg.scratch / f"as2gw-bench-page-{emu.port}.json"
        page_path.write_bytes(body)
        try:
            common = {"page_path": str(page_path), "pages": pages, "rounds": rounds}
            case = worker_case("structure", "structure_page", MODULE, "structure", common)
            runs = run_cases(cfg, emu, [case], reps, tag="structuring")
        finally:
            page_path.unlink(missing_ok=True)
    sc.variants = {k: v.as_json(KEYS) for k, v in runs.items()}
    _tables(sc, runs["structure"], len(body))
    return sc


def _tables(sc: Scenario, vr: VariantRuns, size: int) -> None:
    if not available(vr):
        sc.target("structuring <= 2x json.loads", "<= 2x", "n/a", None)
        return
    loads, new, old = vr.median("loads_us"), vr.median("structure_us"), vr.median("cattrs_us")
    sc.table(
        f"one page of {PAGE} messages ({size:,} bytes of JSON), microseconds a page "
        f"(median over {len(vr.runs)} processes of each one's best round)",
        ["figure", "json.loads", "structure_page", "cattrs converter (before)"],
        [
            ["per page", fmt(loads, 0, "us"), fmt(new, 0, "us"), fmt(old, 0, "us")],
            [
                "per record",
                fmt(loads / PAGE, 2, "us"),
                fmt(new / PAGE, 2, "us"),
                fmt(old / PAGE, 2, "us"),
            ],
            [
                "vs json.loads",
                "1.00x",
                fmt(ratio(new, loads), 2, "x"),
                fmt(ratio(old, loads), 2, "x"),
            ],
        ],
    )
    r = ratio(new, loads)
    sc.target(
        "structuring a page <= 2x json.loads of it",
        "<= 2x",
        f"{fmt(r, 2, 'x')} ({fmt(new, 0, 'us')} vs {fmt(loads, 0, 'us')} a page; the cattrs "
        f"converter before: {fmt(ratio(old, loads), 2, 'x')})",
        r <= 2,
    )
