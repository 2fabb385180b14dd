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


def _colour(key: str) -> str:
    if "inline" in key or "chunk" in key:
        return _PROTOTYPE
    if key.startswith("as2gw") or key in (
        "iter",
        "iter_prefetch8",
        "list_loop",
        "consumer",
        "server",
        "clock",
    ):
        return _AIOHTTP_T if "aiohttp" in key else _AS2GW
    return _OTHER


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
    fig, axes = plt.subplots(1, len(concs), figsize=(6 * len(concs), 4.2), squeeze=False)
    for i, conc in enumerate(concs):
        keys = [k for k in vs if k.endswith(f"@{conc}")] + (
            ["requests"] if "requests" in vs else []
        )
        labels = [vs[k]["label"].replace(f" @{conc}", "") for k in keys]
        _bars(
            axes[0][i],
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
    _bars(
        axes[0],
        [*labels, "API minimum"],
        [*[_med(vs[k], "api_requests") for k in keys], minimum],
        [*[_colour(k) for k in keys], "#2ca02c"],
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
    fig.tight_layout()
    name = f"{sc.name}.png"
    fig.savefig(out / name, dpi=110)
    plt.close(fig)
    return [name]
