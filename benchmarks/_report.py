"""Results writer: ``latest.json`` (every figure), ``README.md`` (tables) and PNG charts."""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

from ._harness import REPO_ROOT, Config, Scenario

__all__ = ["machine_info", "render_only", "write_results"]

_PACKAGES = [
    "as2gw_async",
    "httpx",
    "httpcore",
    "h11",
    "anyio",
    "aiohttp",
    "httpx-aiohttp",
    "requests",
    "urllib3",
    "uvicorn",
    "starlette",
    "matplotlib",
]


def _git(*args: str) -> str:
    try:
        return subprocess.run(
            ["git", *args], cwd=REPO_ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _mem_total_gib() -> float:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 1024 / 1024
    except OSError:
        pass
    return float("nan")


def machine_info() -> dict[str, Any]:
    versions: dict[str, str | None] = {}
    for name in _PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    curl = shutil.which("curl")
    curl_version = ""
    if curl:
        curl_version = subprocess.run(
            [curl, "--version"], capture_output=True, text=True
        ).stdout.split("\n", 1)[0]
    return {
        "platform": platform.platform(),
        "cpu": _cpu_model(),
        "cpus": os.cpu_count(),
        "memory_gib": round(_mem_total_gib(), 1),
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "versions": versions,
        "curl": curl_version,
        "git_commit": _git("rev-parse", "--short", "HEAD"),
        "git_dirty": bool(_git("status", "--porcelain", "--", "as2gw_async")),
    }


def _clean(value: Any) -> Any:
    """JSON has no NaN: write null instead."""
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


def write_results(
    cfg: Config, scenarios: list[Scenario], wall: float, *, charts: bool = True
) -> Path:
    out = cfg.out_dir
    out.mkdir(parents=True, exist_ok=True)
    now = _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()
    run = {
        "date": now,
        "mode": "quick" if cfg.quick else ("full" if cfg.full else "default"),
        "repetitions": cfg.reps,
        "command": "python -m benchmarks " + " ".join(sys.argv[1:]),
        "wall_seconds": round(wall, 1),
        "scratch": str(cfg.scratch),
    }
    machine = machine_info()
    data: dict[str, Any] = {"run": run, "machine": machine, "scenarios": {}}
    latest = out / "latest.json"
    if latest.exists():  # a partial run (--scenario) keeps the other scenarios' last figures
        try:
            old = json.loads(latest.read_text())
            for name, sc in old.get("scenarios", {}).items():
                data["scenarios"][name] = sc
        except (ValueError, OSError):
            pass
    for sc in scenarios:
        if charts:
            from ._charts import draw

            try:
                sc.charts = draw(sc, out)
            except Exception as exc:  # a chart must never lose the figures
                sc.notes.append(f"chart failed: {type(exc).__name__}: {exc}")
        entry = sc.as_json()
        entry["run"] = {"date": now, "mode": run["mode"], "git_commit": machine["git_commit"]}
        data["scenarios"][sc.name] = entry
    from . import SCENARIOS

    order = {name: i for i, name in enumerate(SCENARIOS)}
    data["scenarios"] = dict(sorted(data["scenarios"].items(), key=lambda kv: order.get(kv[0], 99)))
    latest.write_text(json.dumps(_clean(data), indent=2) + "\n")
    (out / "README.md").write_text(render_readme(data))
    return latest


def _cell(value: Any) -> str:
    if value is True:
        return "**met**"
    if value is False:
        return "**missed**"
    if value is None:
        return "n/a"
    return str(value).replace("|", "\\|").replace("\n", " ")


def _md_table(columns: list[str], rows: list[list[Any]]) -> list[str]:
    lines = ["| " + " | ".join(_cell(c) for c in columns) + " |"]
    lines.append("|" + "|".join("---" for _ in columns) + "|")
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return lines


def render_readme(data: dict[str, Any]) -> str:
    run, machine = data["run"], data["machine"]
    v = machine["versions"]
    lines = [
        "# Benchmark results",
        "",
        "Generated by `python -m benchmarks` (see [docs/benchmarks.md](../../docs/benchmarks.md)"
        " for the method). Medians of several runs; every client variant ran in its own fresh",
        "process against one emulator process (uvicorn, loopback) per scenario.",
        "",
        f"- run: {run['date']}, mode `{run['mode']}`, {run['repetitions']} repetitions, "
        f"{run['wall_seconds']} s, commit `{machine['git_commit']}`"
        + (" (library files modified)" if machine["git_dirty"] else ""),
        f"- machine: {machine['cpu']}, {machine['cpus']} CPUs (client and server share them), "
        f"{machine['memory_gib']} GiB RAM, {machine['platform']}",
        f"- Python {machine['python']}; as2gw_async {v.get('as2gw_async')}, httpx {v.get('httpx')}"
        f" (httpcore {v.get('httpcore')}), aiohttp {v.get('aiohttp')}, httpx-aiohttp "
        f"{v.get('httpx-aiohttp')}, requests {v.get('requests')}, uvicorn {v.get('uvicorn')} "
        f"(server); {machine['curl']}",
        f"- downloads written to `{run['scratch']}`",
        "",
        "## Targets",
        "",
    ]
    rows: list[list[Any]] = []
    for name, sc in data["scenarios"].items():
        for t in sc.get("targets", []):
            rows.append([name, t["name"], t["measured"], t["target"], t["met"]])
    lines += _md_table(["scenario", "target", "measured", "wanted", "met?"], rows) if rows else []
    for name, sc in data["scenarios"].items():
        lines += ["", f"## {sc['title']}", ""]
        if sc.get("summary"):
            lines += [sc["summary"], ""]
        scr = sc.get("run", {})
        if scr.get("date") and scr["date"] != run["date"]:
            lines += [f"_Figures from an earlier run: {scr['date']} ({scr.get('mode')})._", ""]
        load = sc.get("other_load_runs") or {}
        if load:
            busy = load["max"] > 0.3
            lines += [
                f"_Other processes on the machine kept {load['median']:.2f} cores busy during "
                f"these runs (median; worst run {load['max']:.2f})"
                + (": figures are noisy, compare ratios within this run only._" if busy else "._"),
                "",
            ]
        for chart in sc.get("charts", []):
            lines += [f"![{name}]({chart})", ""]
        for table in sc.get("tables", []):
            lines += [f"**{table['title']}**", ""]
            lines += _md_table(table["columns"], table["rows"])
            lines.append("")
        if sc.get("targets"):
            lines += ["**Targets**", ""]
            lines += _md_table(
                ["figure", "measured", "target", "met?", "note"],
                [
                    [t["name"], t["measured"], t["target"], t["met"], t["note"]]
                    for t in sc["targets"]
                ],
            )
            lines.append("")
        for note in sc.get("notes", []):
            lines += [f"- {note}" if "\n" not in note else note, ""]
    return "\n".join(lines).rstrip() + "\n"


def render_only(out: Path, *, charts: bool = True) -> None:
    """Redraw the charts and README.md of ``out`` from its latest.json, measuring nothing."""
    latest = out / "latest.json"
    data = json.loads(latest.read_text())
    if charts:
        from ._charts import draw

        for name, entry in data["scenarios"].items():
            fields = {
                k: entry[k]
                for k in ("title", "summary", "params", "variants", "tables", "targets", "notes")
                if k in entry
            }
            entry["charts"] = draw(Scenario(name, **fields), out)
        latest.write_text(json.dumps(_clean(data), indent=2) + "\n")
    (out / "README.md").write_text(render_readme(data))
