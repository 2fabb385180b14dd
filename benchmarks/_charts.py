"""PNG charts of the results (matplotlib with the Agg backend: no display needed).

One chart per scenario, named ``<scenario>.png``, drawn from the medians in the scenario's
JSON so that a chart always agrees with the tables next to it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ._harness import Scenario

__all__ = ["draw"]

_AS2GW = "#1f77b4"
_OTHER = "#9e9e9e"
_AIOHTTP_T = "#17becf"
_PROTOTYPE = "#ff7f0e"


_BASELINES = frozenset({"httpx", "aiohttp", "curl", "requests", "naive", "httpx_loop", "floor"})


def _colour(key: str) -> str:
    base = key.split("@", 1)[0]
    if base in _BASELINES:
        return _OTHER
    if "inline" in base or "chunk" in base:
        return _PROTOTYPE
    return _AIOHTTP_T if "aiohttp" in base else _AS2GW


def _legend(fig: Any) -> None:
    from matplotlib.patches import Patch

    handles = [
        Patch(color=_AS2GW, label="as2gw_async"),
        Patch(color=_AIOHTTP_T, label="as2gw_async, aiohttp transport"),
        Patch(color=_PROTOTYPE, label="as2gw_async + proposed fix (prototype)"),
        Patch(color=_OTHER, label="baseline"),
    ]
    fig.legend(handles=handles, loc="lower center", ncol=4, fontsize=8, frameon=False)


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _med(variant: dict[str, Any], key: str) -> float:
    value = variant.get("median", {}).get(key)
    return float("nan") if value is None else float(value)


def _bars(
    ax: Any,
    labels: Sequence[str],
    values: Sequence[float],
    colours: Sequence[str],
    *,
    title: str,
    xlabel: str,
    fmt: str = "{:.0f}",
) -> None:
    y = list(range(len(labels)))
    ax.barh(y, values, color=colours)
    ax.set_yticks(y, labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_title(title, fontsize=10)
    ax.set_xlabel(xlabel, fontsize=8)
    ax.tick_params(axis="x", labelsize=8)
    top = max((v for v in values if v == v), default=1.0) or 1.0
    for yi, v in zip(y, values, strict=True):
        if v == v:
            ax.text(v + top * 0.01, yi, fmt.format(v), va="center", fontsize=7)
    ax.set_xlim(0, top * 1.18)


def _available(variants: dict[str, Any]) -> dict[str, Any]:
    return {
        k: v
        for k, v in variants.items()
        if v.get("runs") and all("unavailable" not in r for r in v["runs"])
    }


def _large(sc: dict[str, Any], plt: Any) -> Any:
    sizes = list(sc["variants"])
    fig, axes = plt.subplots(len(sizes), 2, figsize=(11, 2.6 * len(sizes)), squeeze=False)
    for row, size in enumerate(sizes):
        vs = _available(sc["variants"][size])
        keys = list(vs)
        labels = [vs[k]["label"] for k in keys]
        colours = [_colour(k) for k in keys]
        _bars(
            axes[row][0],
            labels,
            [_med(vs[k], "throughput_mib_s") for k in keys],
            colours,
            title=f"{size}: throughput (higher is better)",
            xlabel="MiB/s",
        )
        _bars(
            axes[row][1],
            labels,
            [_med(vs[k], "peak_rss_mb") for k in keys],
            colours,
            title=f"{size}: peak RSS of the client process",
            xlabel="MiB",
            fmt="{:.1f}",
        )
    return fig


def _bulk(sc: dict[str, Any], plt: Any) -> Any:
    vs = _available(sc["variants"])
    concs = sc["params"].get("concurrency", [16, 64])
    fig, axes = plt.subplots(len(concs), 1, figsize=(10, 4.0 * len(concs)), squeeze=False)
    for i, conc in enumerate(concs):
        keys = [k for k in vs if k.endswith(f"@{conc}")] + (
            ["requests"] if "requests" in vs else []
        )
        labels = [vs[k]["label"].replace(f" @{conc}", "") for k in keys]
        _bars(
            axes[i][0],
            labels,
            [_med(vs[k], "files_per_s") for k in keys],
            [_colour(k) for k in keys],
            title=f"concurrency {conc}: files/s (higher is better)",
            xlabel="files/s",
        )
    return fig


def _drain(sc: dict[str, Any], plt: Any) -> Any:
    vs = _available(sc["variants"])
    keys = list(vs)
    labels = [vs[k]["label"] for k in keys]
    minimum = float(sc["params"].get("minimum_requests", 0))
    fig, axes = plt.subplots(1, 2, figsize=(11, 2.6))
    safe = float(sc["params"].get("safe_minimum", 0))
    _bars(
        axes[0],
        [*labels, "API minimum (list + download)", "... + mark read after processing"],
        [*[_med(vs[k], "api_requests") for k in keys], minimum, safe],
        [*[_colour(k) for k in keys], "#2ca02c", "#98df8a"],
        title="HTTP requests (lower is better)",
        xlabel="requests",
    )
    _bars(
        axes[1],
        labels,
        [_med(vs[k], "wall") for k in keys],
        [_colour(k) for k in keys],
        title="wall time (lower is better)",
        xlabel="seconds",
        fmt="{:.2f}",
    )
    return fig


def _paging(sc: dict[str, Any], plt: Any) -> Any:
    vs = _available(sc["variants"])
    keys = list(vs)
    fig, ax = plt.subplots(figsize=(9, 2.8))
    _bars(
        ax,
        [vs[k]["label"] for k in keys],
        [_med(vs[k], "wall") for k in keys],
        [_colour(k) for k in keys],
        title="wall time to walk the folder (lower is better)",
        xlabel="seconds",
        fmt="{:.3f}",
    )
    return fig


def _auth(sc: dict[str, Any], plt: Any) -> Any:
    vs = _available(sc["variants"])
    keys = list(vs)
    labels = [vs[k]["label"] for k in keys]
    colours = [_colour(k) for k in keys]
    fig, axes = plt.subplots(1, 2, figsize=(11, 2.4))
    _bars(
        axes[0],
        labels,
        [max(r["authorize_requests"] for r in vs[k]["runs"]) for k in keys],
        colours,
        title="authorize requests (lower is better)",
        xlabel="requests",
    )
    _bars(
        axes[1],
        labels,
        [_med(vs[k], "first_response_s") * 1000 for k in keys],
        colours,
        title="time to first response",
        xlabel="ms",
    )
    return fig


_DRAW = {"large": _large, "bulk": _bulk, "drain": _drain, "paging": _paging, "auth": _auth}


def draw(sc: Scenario, out: Path) -> list[str]:
    """Draw the scenario's chart into ``out``; the file names written."""
    fn = _DRAW.get(sc.name)
    if fn is None or not sc.variants:
        return []
    plt = _plt()
    fig = fn(sc.as_json(), plt)
    fig.suptitle(sc.title, fontsize=11)
    _legend(fig)
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    name = f"{sc.name}.png"
    fig.savefig(out / name, dpi=110)
    plt.close(fig)
    return [name]
