"""The parent side of the benchmarks: the emulator process, worker processes, medians.

Nothing here runs inside a measured worker (see ``_worker.py`` for that side), so it may use
whatever it likes; it still imports only the standard library at module level.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "REPO_ROOT",
    "RESULT_MARK",
    "Config",
    "Emulator",
    "Scenario",
    "VariantRuns",
    "fmt",
    "median_of",
    "run_command",
    "run_worker",
]

REPO_ROOT = Path(__file__).resolve().parent.parent
RESULT_MARK = "AS2GW_BENCH_RESULT "
READY_MARK = "AS2GW_EMULATOR_READY"
MB = 1024 * 1024


@dataclass
class Config:
    """What the command line asked for."""

    quick: bool = False
    full: bool = False
    reps: int = 3
    out_dir: Path = REPO_ROOT / "benchmarks" / "results"
    scratch: Path = Path(tempfile.gettempdir())
    verbose: bool = True
    #: before each scenario, wait up to this many seconds for other processes to go quiet
    wait_quiet: float = 0.0
    #: messages of the ``ratelimit`` drain (None: 5,000, or 300 with ``quick``)
    ratelimit_messages: int | None = None

    def log(self, text: str) -> None:
        """Progress on stderr (stdout stays clean for piping)."""
        if self.verbose:
            print(text, file=sys.stderr, flush=True)


def busy_cpu_seconds() -> float:
    """CPU seconds all processes of the machine have spent busy since boot (``/proc/stat``)."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    except OSError:
        return float("nan")
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(x) for x in fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def own_cpu_seconds() -> float:
    """CPU seconds of this (the harness) process."""
    t = os.times()
    return t.user + t.system


def machine_busy(seconds: float = 2.0) -> float:
    """Cores kept busy on average over the next ``seconds`` (by anyone but this process)."""
    b0, o0 = busy_cpu_seconds(), own_cpu_seconds()
    time.sleep(seconds)
    return ((busy_cpu_seconds() - b0) - (own_cpu_seconds() - o0)) / seconds


def wait_for_quiet(cfg: Config, *, threshold: float = 0.25) -> float:
    """Wait (up to ``cfg.wait_quiet`` seconds) until others keep < ``threshold`` cores busy."""
    deadline = time.monotonic() + cfg.wait_quiet
    busy = machine_busy(1.0)
    while busy >= threshold and time.monotonic() < deadline:
        cfg.log(f"  machine busy ({busy:.2f} cores used by other processes); waiting")
        busy = machine_busy(5.0)
    return busy


def default_scratch() -> Path:
    """Where downloaded files go: tmpfs when there is one, so the disk does not add noise."""
    shm = Path("/dev/shm")
    if shm.is_dir() and os.access(shm, os.W_OK):
        return shm
    return Path(tempfile.gettempdir())


# --------------------------------------------------------------------------- emulator


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _emulator_command(port: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "as2gw_async.emulator",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]


class Emulator:
    """The emulator served by uvicorn in its own process on loopback, plus its control routes.

    >>> with Emulator(workdir) as emu:  # doctest: +SKIP
    ...     ids = emu.seed(100, size=(32768, 32768))
    """

    def __init__(self, workdir: Path, *, args: Sequence[str] = ()) -> None:
        self.workdir = workdir
        self.args = list(args)
        self.port = _free_port()
        self.base_url = ""
        self.origin = ""
        self.command: list[str] = []
        self._proc: subprocess.Popen[bytes] | None = None
        self._log_path = workdir / f"emulator-{self.port}.log"

    @property
    def pid(self) -> int:
        assert self._proc is not None
        return self._proc.pid

    def __enter__(self) -> Emulator:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self, timeout: float = 60.0) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.command = [*_emulator_command(self.port), *self.args]
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        with self._log_path.open("wb") as log:
            self._proc = subprocess.Popen(
                self.command, stdout=log, stderr=subprocess.STDOUT, cwd=REPO_ROOT, env=env
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"emulator exited early:\n{self.log_text()}")
            for line in self.log_text().splitlines():
                if line.startswith(READY_MARK):
                    url = line.split(None, 1)[1].strip().rstrip("/")
                    self.base_url = url if url.endswith("/v1") else url + "/v1"
                    self.origin = self.base_url[: -len("/v1")]
                    self._wait_healthy(deadline)
                    return
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"emulator not ready after {timeout}s:\n{self.log_text()}")

    def _wait_healthy(self, deadline: float) -> None:
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                self.control("GET", "health")
                return
            time.sleep(0.05)

    def log_text(self) -> str:
        try:
            return self._log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def stop(self) -> None:
        proc = self._proc
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)

    def cpu_seconds(self) -> float:
        """User + system CPU the emulator process has used so far."""
        try:
            fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return float("nan")
        ticks = os.sysconf("SC_CLK_TCK")
        return (int(fields[11]) + int(fields[12])) / ticks

    # -- control routes -----------------------------------------------------------

    def control(self, method: str, route: str, body: Any = None, timeout: float = 600) -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(
            f"{self.origin}/_emulator/{route}",
            data=data,
            method=method,
            headers={"Content-Type": "application/json"} if data is not None else {},
        )
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return json.loads(resp.read() or b"null")

    def seed(
        self,
        n: int,
        *,
        attachments: tuple[int, int] = (1, 1),
        size: tuple[int, int] = (64, 4096),
        seed: int = 0,
    ) -> list[str]:
        """Put ``n`` messages into the received folder; their ids, oldest first."""
        body = {"n": n, "attachments": list(attachments), "size": list(size), "seed": seed}
        ids: list[str] = self.control("POST", "seed", body)["ids"]
        return ids

    def deliver_generated(self, name: str, size: int, seed: int = 1) -> str:
        """A received message with one generated attachment of ``size`` bytes; its id."""
        body = {"attachments": [{"name": name, "generatedSize": size, "seed": seed}]}
        return str(self.control("POST", "deliver", body)["as2MessageId"])

    def configure(self, **settings: Any) -> dict[str, Any]:
        result: dict[str, Any] = self.control("POST", "config", settings)
        return result

    def stats(self) -> dict[str, Any]:
        result: dict[str, Any] = self.control("GET", "stats")
        return result

    def reset_stats(self) -> None:
        self.control("POST", "stats/reset", {})

    def expire_tokens(self) -> None:
        self.control("POST", "expire-tokens", {})

    def credentials(self) -> tuple[str, str]:
        """The default account, as the emulator announces it on start."""
        found: dict[str, str] = {}
        for line in self.log_text().splitlines():
            for key in ("USERNAME", "PASSWORD"):
                prefix = f"AS2GW_EMULATOR_{key} "
                if line.startswith(prefix):
                    found[key] = line[len(prefix) :].strip()
        if len(found) != 2:
            raise RuntimeError(f"the emulator did not announce its account:\n{self.log_text()}")
        return found["USERNAME"], found["PASSWORD"]

    def token(self) -> str:
        """A fresh token (for curl, which we do not ask to authorize inside its timing)."""
        username, password = self.credentials()
        req = urllib.request.Request(
            f"{self.base_url}/authorize",
            data=json.dumps({"username": username, "password": password}).encode(),
            method="POST",
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=30) as resp:
            return str(json.loads(resp.read())["token"])


# --------------------------------------------------------------------------- workers


def vm_hwm_mb(pid: int | str = "self") -> float:
    """A process's own peak RSS (``VmHWM``, reset by exec), in MiB; NaN if unreadable."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    return float("nan")


def run_command(
    cmd: Sequence[str],
    *,
    timeout: float = 600,
    cwd: Path = REPO_ROOT,
    env: dict[str, str] | None = None,
    sample_hwm: bool = False,
) -> dict[str, Any]:
    """Run a process to completion; its stdout, exit code, wall time and kernel rusage.

    The rusage (``os.wait4``) gives the CPU seconds and peak RSS of that child alone.
    """
    with tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(
            list(cmd), stdout=subprocess.PIPE, stderr=err, cwd=cwd, env=env or dict(os.environ)
        )
        # wait4 reaps the child itself; a watchdog kills it if it overstays.
        fired: list[bool] = []
        done = threading.Event()

        def watchdog() -> None:
            if not done.wait(timeout):
                fired.append(True)
                with contextlib.suppress(ProcessLookupError):
                    os.kill(proc.pid, signal.SIGKILL)

        hwm = [0.0]

        def sampler() -> None:
            # ru_maxrss of a child started from this (big) process counts our own image
            # too (Linux carries the pre-exec high-water mark over exec), so we sample the
            # child's own VmHWM instead while it runs.
            while not done.is_set():
                value = vm_hwm_mb(proc.pid)
                if value == value:
                    hwm[0] = max(hwm[0], value)
                done.wait(0.002)

        threading.Thread(target=watchdog, daemon=True).start()
        if sample_hwm:
            threading.Thread(target=sampler, daemon=True).start()
        assert proc.stdout is not None
        out = proc.stdout.read()
        if sample_hwm:
            value = vm_hwm_mb(proc.pid)  # exited but not reaped: no mm, nothing to read
            if value == value:
                hwm[0] = max(hwm[0], value)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        done.set()
        proc.returncode = os.waitstatus_to_exitcode(status)
        proc.stdout.close()
        err.seek(0)
        stderr = err.read().decode(errors="replace")
    return {
        "returncode": proc.returncode,
        "stdout": out.decode(errors="replace"),
        "stderr": stderr,
        "timed_out": bool(fired),
        "wall_total": wall,
        "cpu_total": usage.ru_utime + usage.ru_stime,
        "maxrss_mb": usage.ru_maxrss / 1024,
        "vm_hwm_mb": hwm[0] if sample_hwm else float("nan"),
    }


def run_worker(
    module: str, variant: str, params: dict[str, Any], *, timeout: float = 600
) -> dict[str, Any]:
    """Run one variant in a fresh ``python -m benchmarks._worker`` process; its figures."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(params, f)
        params_path = f.name
    try:
        env = dict(os.environ, PYTHONHASHSEED="0")
        res = run_command(
            [sys.executable, "-m", "benchmarks._worker", module, variant, params_path],
            timeout=timeout,
            env=env,
        )
    finally:
        os.unlink(params_path)
    result: dict[str, Any] | None = None
    for line in res["stdout"].splitlines():
        if line.startswith(RESULT_MARK):
            result = json.loads(line[len(RESULT_MARK) :])
    if res["returncode"] != 0 or result is None:
        tail = "\n".join(res["stderr"].splitlines()[-30:])
        why = "timed out" if res["timed_out"] else f"exit code {res['returncode']}"
        raise RuntimeError(f"worker {module}:{variant} failed ({why}):\n{tail}")
    # The kernel's figures for the whole process life (imports included), as a cross-check.
    result["process_cpu_total"] = res["cpu_total"]
    return result


# --------------------------------------------------------------------------- results


def median_of(runs: Sequence[dict[str, Any]], key: str) -> float:
    values = [float(r[key]) for r in runs if r.get(key) is not None]
    return statistics.median(values) if values else float("nan")


@dataclass
class VariantRuns:
    """Every run of one variant, and the medians quoted."""

    key: str
    label: str
    runs: list[dict[str, Any]] = field(default_factory=list)

    def median(self, key: str) -> float:
        return median_of(self.runs, key)

    def as_json(self, keys: Sequence[str]) -> dict[str, Any]:
        return {
            "label": self.label,
            "median": {k: self.median(k) for k in keys},
            "runs": self.runs,
        }


@dataclass
class Scenario:
    """What a scenario hands to the report: figures, tables, targets, charts, notes."""

    name: str
    title: str
    summary: str
    params: dict[str, Any] = field(default_factory=dict)
    variants: dict[str, Any] = field(default_factory=dict)
    tables: list[dict[str, Any]] = field(default_factory=list)
    targets: list[dict[str, Any]] = field(default_factory=list)
    charts: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    wall_seconds: float = 0.0
    other_load_before: float = float("nan")

    def table(self, title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        self.tables.append(
            {"title": title, "columns": list(columns), "rows": [list(r) for r in rows]}
        )

    def target(
        self, name: str, target: str, measured: str, met: bool | None, note: str = ""
    ) -> bool | None:
        self.targets.append(
            {"name": name, "target": target, "measured": measured, "met": met, "note": note}
        )
        return met

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "summary": self.summary,
            "params": self.params,
            "variants": self.variants,
            "tables": self.tables,
            "targets": self.targets,
            "charts": self.charts,
            "notes": self.notes,
            "wall_seconds": self.wall_seconds,
            "other_load_before": self.other_load_before,
            "other_load_runs": self.other_load(),
        }

    def other_load(self) -> dict[str, float]:
        """Cores other processes kept busy during this scenario's runs: median and worst."""
        loads: list[float] = []

        def collect(node: Any) -> None:
            if isinstance(node, dict):
                if isinstance(node.get("runs"), list):
                    loads.extend(float(r["other_load"]) for r in node["runs"] if "other_load" in r)
                else:
                    for value in node.values():
                        collect(value)

        collect(self.variants)
        if not loads:
            return {}
        return {"median": statistics.median(loads), "max": max(loads)}


def fmt(value: float | None, digits: int = 2, unit: str = "") -> str:
    """A figure for a table: ``12.3 MB``; ``n/a`` for a missing one."""
    if value is None or value != value:  # NaN
        return "n/a"
    if abs(value) >= 100:
        text = f"{value:,.0f}"
    elif abs(value) >= 10:
        text = f"{value:.1f}"
    else:
        text = f"{value:.{digits}f}"
    return f"{text} {unit}".rstrip()


def ratio(a: float, b: float) -> float:
    if not b or a != a or b != b:
        return float("nan")
    return a / b


@contextlib.contextmanager
def scratch_dir(root: Path, name: str) -> Iterator[Path]:
    """A fresh directory for one run's downloads, removed afterwards (outside the timing)."""
    path = Path(tempfile.mkdtemp(prefix=f"as2gw-bench-{name}-", dir=root))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


# --------------------------------------------------------------------------- run matrix


@dataclass
class Case:
    """One thing to measure: a key, a label for tables, and how to run it once."""

    key: str
    label: str
    run: Callable[[Path], dict[str, Any]]
    reps: int | None = None  # None: the scenario's repetitions
    #: called before each run (outside all figures), e.g. to seed fresh unread messages;
    #: what it returns is merged into the run's figures
    prepare: Callable[[], dict[str, Any]] | None = None


def worker_case(
    key: str, label: str, module: str, variant: str, params: dict[str, Any], **kw: Any
) -> Case:
    """A case run by ``run_worker`` with ``params`` plus ``dest`` (the scratch directory)."""
    timeout = float(kw.pop("timeout", 900))
    extra: dict[str, Any] = {}
    prepare = kw.pop("prepare", None)

    def prepared() -> dict[str, Any]:
        extra.clear()
        extra.update(prepare() if prepare is not None else {})
        return dict(extra)

    def run(dest: Path) -> dict[str, Any]:
        return run_worker(module, variant, {**params, **extra, "dest": str(dest)}, timeout=timeout)

    kw["prepare"] = prepared

    return Case(key, label, run, **kw)


def run_cases(
    cfg: Config, emu: Emulator, cases: Sequence[Case], reps: int, *, tag: str
) -> dict[str, VariantRuns]:
    """Run every case ``reps`` times, interleaved (rotating the order each repetition) so
    that a drift of the machine spreads over all cases instead of favouring one.

    Each run gets a fresh scratch directory, and the emulator's CPU seconds and request
    counters over that run are added to its figures (``server_cpu``, ``server``).
    """
    out = {c.key: VariantRuns(c.key, c.label) for c in cases}
    for rep in range(reps):
        shift = rep % max(1, len(cases))
        for case in [*cases[shift:], *cases[:shift]]:
            if rep >= (case.reps if case.reps is not None else reps):
                continue
            with scratch_dir(cfg.scratch, tag) as dest:
                prepared = case.prepare() if case.prepare is not None else {}
                emu.reset_stats()
                cpu0 = emu.cpu_seconds()
                busy0, own0, t0 = busy_cpu_seconds(), own_cpu_seconds(), time.perf_counter()
                result = case.run(dest)
                result["server_cpu"] = emu.cpu_seconds() - cpu0
                elapsed = time.perf_counter() - t0
                ours = (
                    result["server_cpu"]
                    + (own_cpu_seconds() - own0)
                    + float(result.get("process_cpu_total", result.get("cpu", 0.0)))
                )
                # cores kept busy by everything else on the machine while this run lasted
                result["other_load"] = max(0.0, (busy_cpu_seconds() - busy0 - ours) / elapsed)
                result["server"] = emu.stats()
            result["rep"] = rep
            result.update({k: v for k, v in prepared.items() if k not in result})
            out[case.key].runs.append(result)
            if "unavailable" in result:
                cfg.log(f"  [{tag}] {case.label}: unavailable ({result['unavailable']})")
            else:
                cfg.log(
                    f"  [{tag}] rep {rep + 1}/{reps} {case.label}: wall {result['wall']:.3f}s "
                    f"cpu {result['cpu']:.3f}s peak {result['peak_rss_mb']:.1f} MiB "
                    f"server cpu {result['server_cpu']:.2f}s other load {result['other_load']:.2f}"
                )
    return out


def available(runs: VariantRuns | None) -> bool:
    return runs is not None and bool(runs.runs) and all("unavailable" not in r for r in runs.runs)
