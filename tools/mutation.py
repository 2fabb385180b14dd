"""Mutation testing, one core module at a time, against that module's own tests.

    python tools/mutation.py retries            # one module
    python tools/mutation.py auth ratelimit     # several, one after the other
    python tools/mutation.py --quick            # the small, fast ones (a few minutes)
    python tools/mutation.py --all              # every module listed below (slow)
    python tools/mutation.py --list             # the modules and their tests
    python tools/mutation.py batch --only 'as2gw_async.endpoints.batch.x_mark_read*'
                                                # only these mutants (names or globs)
    python tools/mutation.py inbox --resume     # go on with an interrupted run

A module's source may be a glob (``as2gw_async/mft/*.py``), or several separated by spaces:
the score is then printed for the whole and for each file.

Each run copies ``as2gw_async/`` and ``tests/`` into ``.mutation/<module>/`` (git-ignored),
adds a ``[tool.mutmut]`` section naming the one module and its tests, and runs mutmut there:
the working tree is never modified. It prints the score (killed / all mutants) and the diff of
every survivor; ``docs/mutation.md`` records each module's score and why each survivor is
equivalent (or which test now kills it). Needs the ``mutation`` extra
(``pip install -e ".[dev,mutation]"``) and a POSIX system (mutmut forks).
"""

from __future__ import annotations

import argparse
import contextlib
import fnmatch
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / ".mutation"

#: module name -> (source files: globs separated by spaces, the tests that are its own)
MODULES: dict[str, tuple[str, tuple[str, ...]]] = {
    "retries": (
        "as2gw_async/retries.py",
        ("tests/unit/test_retries.py", "tests/unit/test_retry_after.py"),
    ),
    "ratelimit": (
        "as2gw_async/ratelimit.py",
        ("tests/unit/test_ratelimit_timing.py", "tests/unit/test_ratelimit_session.py"),
    ),
    "auth": (
        "as2gw_async/auth.py",
        (
            "tests/unit/test_auth.py",
            "tests/unit/test_auth_expiry.py",
            "tests/unit/test_core_session.py",
        ),
    ),
    "paging": (
        "as2gw_async/endpoints/_paging.py",
        (
            "tests/unit/test_folders_iter.py",
            "tests/unit/test_paging_stall.py",
            "tests/unit/test_paging_engine.py",
            "tests/unit/test_listing_hostile.py",
            "tests/unit/test_paging_mutants.py",
        ),
    ),
    "batch": (
        "as2gw_async/endpoints/batch.py",
        (
            "tests/unit/test_batch.py",
            "tests/unit/test_batch_mark_read.py",
            "tests/unit/test_batch_rollback.py",
            "tests/unit/test_batch_safety.py",
            "tests/unit/test_batch_truncation_edges.py",
            "tests/unit/test_batch_mutants.py",
            "tests/unit/test_scratch_files.py",
        ),
    ),
    "atomic": (
        "as2gw_async/atomic.py",
        (
            "tests/unit/test_files.py",
            "tests/unit/test_files_durability.py",
            "tests/unit/test_downloads_files.py",
            "tests/unit/test_files_modules.py",
            "tests/unit/test_scratch_files.py",
            "tests/unit/test_atomic_mutants.py",
        ),
    ),
    "archives": (
        "as2gw_async/archives.py",
        (
            "tests/unit/test_files.py",
            "tests/unit/test_files_durability.py",
            "tests/unit/test_zip_verification.py",
            "tests/unit/test_downloads_files.py",
            "tests/unit/test_archives_mutants.py",
        ),
    ),
    "filenames": (
        "as2gw_async/filenames.py",
        (
            "tests/unit/test_files.py",
            "tests/unit/test_files_properties.py",
            "tests/unit/test_files_modules.py",
            "tests/unit/test_not_a_directory.py",
            "tests/unit/test_filenames_mutants.py",
        ),
    ),
    "journal": (
        "as2gw_async/journal/file.py",
        (
            "tests/unit/test_journal_file.py",
            "tests/integration/test_inbox_journal_gaps.py",
            "tests/integration/test_inbox_journal_compat.py",
            "tests/unit/test_journal_mutants.py",
        ),
    ),
    "inbox": (
        "as2gw_async/inbox.py",
        (
            "tests/unit/test_inbox_mailbox.py",
            "tests/unit/test_inbox_verify.py",
            "tests/unit/test_inbox_mutants.py",
            "tests/integration/test_inbox_consumer.py",
            "tests/integration/test_inbox_adopt_and_size.py",
            "tests/integration/test_inbox_journal_gaps.py",
        ),
    ),
    "session": (
        "as2gw_async/_core/session.py",
        (
            "tests/unit/test_core_session.py",
            "tests/unit/test_session.py",
            "tests/unit/test_deadline.py",
            "tests/unit/test_paced_deadline_steps.py",
            "tests/unit/test_redaction.py",
            "tests/unit/test_retries.py",
            "tests/unit/test_retry_after.py",
            "tests/unit/test_auth.py",
            "tests/unit/test_ratelimit_session.py",
            "tests/unit/test_hot_path.py",
            "tests/unit/test_content_encoding.py",
            "tests/unit/test_session_mutants.py",
        ),
    ),
    "uploads": (
        "as2gw_async/_core/uploads.py",
        (
            "tests/unit/test_send.py",
            "tests/unit/test_scratch_files.py",
            "tests/unit/test_mft_mutants_transfer.py",
            "tests/unit/test_ecgrid_client.py",
            "tests/integration/test_send_session.py",
            "tests/unit/test_uploads_mutants.py",
        ),
    ),
    "encoding": (
        "as2gw_async/_core/encoding.py",
        (
            "tests/unit/test_content_encoding.py",
            "tests/unit/test_downloads.py",
            "tests/unit/test_encoding_mutants.py",
        ),
    ),
    "core": (
        # every other _core module: bodies, client, credentials, polling, redaction, urls
        "as2gw_async/_core/[!seu]*.py as2gw_async/_core/urls.py",
        (
            "tests/unit/test_core_session.py",
            "tests/unit/test_session.py",
            "tests/unit/test_redaction.py",
            "tests/unit/test_send_wait.py",
            "tests/unit/test_hot_path.py",
            "tests/unit/test_folders_malformed.py",
            "tests/unit/test_core_mutants.py",
        ),
    ),
    # Its tests need a PostgreSQL server: run() starts one for the whole run (not one per
    # mutant) unless AS2GW_TEST_PG_DSN names yours. The several-hosts crash test is left out
    # (minutes per mutant); the consumer's own tests are in.
    "postgres": (
        "as2gw_async/journal/postgres.py as2gw_async/journal/_pg_schema.py",
        (
            "tests/postgres/test_journal_postgres.py",
            "tests/postgres/test_consumer_postgres.py",
            "tests/postgres/test_database_outage.py",
            "tests/postgres/test_postgres_mutants.py",
        ),
    ),
    "mft": (
        "as2gw_async/mft/*.py",
        (
            "tests/unit/test_mft_naming_and_errors.py",
            "tests/unit/test_mft_presigned_downloads.py",
            "tests/unit/test_converter_mft_shapes.py",
            "tests/unit/test_mft_mutants_session.py",
            "tests/unit/test_mft_mutants_transfer.py",
            "tests/unit/test_mft_mutants_messages.py",
            "tests/integration/test_mft_client_auth.py",
            "tests/integration/test_mft_client_folders.py",
            "tests/integration/test_mft_client_downloads.py",
            "tests/integration/test_mft_client_send.py",
            "tests/integration/test_mft_client_admin_and_mailbox.py",
        ),
    ),
    "ecgrid": (
        "as2gw_async/ecgrid/*.py",
        (
            "tests/unit/test_ecgrid_client.py",
            "tests/unit/test_ecgrid_scanner.py",
            "tests/integration/test_ecgrid_client.py",
            "tests/integration/test_ecgrid_envelope_retries.py",
            "tests/unit/test_ecgrid_mutants.py",
            "tests/unit/test_ecgrid_mutants_wire.py",
        ),
    ),
}
QUICK = ("retries", "ratelimit", "auth")
#: Modules whose tests need a PostgreSQL server (see _postgres_server).
NEEDS_POSTGRES = ("postgres",)
#: A mutant whose tests run this many times longer than the clean run (plus a second) is a
#: timeout. mutmut's default (15) made a hanging paging mutant cost minutes on 2 cores.
TIMEOUT_MULTIPLIER = 5
#: Every mutant status mutmut reports; only "killed" and "timeout" count as caught.
CAUGHT = ("killed", "timeout")


def _prepare(name: str) -> Path:
    """A scratch copy of the package and the tests, configured for this one module."""
    source, tests = MODULES[name]
    missing = [p for p in tests if not (ROOT / p).exists()]
    missing[:0] = [glob for glob in source.split() if not any(ROOT.glob(glob))]
    if missing:
        raise SystemExit(f"{name}: not found (moved?): {', '.join(missing)}; update MODULES")
    work = WORK / name
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".hypothesis")
    for tree in ("as2gw_async", "tests"):
        shutil.copytree(ROOT / tree, work / tree, ignore=ignore)
    config = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    config += (
        "\n[tool.mutmut]\n"
        'source_paths = ["as2gw_async/"]\n'
        f"only_mutate = {json.dumps(source.split())}\n"
        f"pytest_add_cli_args_test_selection = {json.dumps(list(tests))}\n"
        'pytest_add_cli_args = ["-p", "no:cacheprovider", "-q", "-x"]\n'
        f"timeout_multiplier = {TIMEOUT_MULTIPLIER}\n"
    )
    (work / "pyproject.toml").write_text(config, encoding="utf-8")
    return work


def _mutmut(work: Path, *args: str, capture: bool = True) -> str:
    command = [sys.executable, "-m", "mutmut", *args]
    done = subprocess.run(
        command, cwd=work, text=True, capture_output=capture, check=False, env=os.environ.copy()
    )
    if done.returncode != 0:
        sys.stderr.write((done.stdout or "") + (done.stderr or ""))
        raise SystemExit(f"mutmut {' '.join(args)} failed with exit code {done.returncode}")
    return done.stdout or ""


class Score(NamedTuple):
    """One module's result: mutants caught, mutants made, and the names of the rest."""

    module: str
    caught: int
    total: int
    survivors: list[str]

    @property
    def percent(self) -> float:
        """Caught as a percentage of all mutants (100 when there were none)."""
        return 100.0 * self.caught / self.total if self.total else 100.0


def _file_of(mutant: str) -> str:
    """``as2gw_async.mft.session.xǁSessionǁget__mutmut_3`` -> ``as2gw_async.mft.session``."""
    match = re.search(r"\.x(?:_|ǁ)", mutant)  # functions are x_name, methods xǁClassǁname
    return mutant[: match.start()] if match else mutant.rsplit(".", 1)[0]


@contextlib.contextmanager
def _postgres_server() -> Iterator[None]:
    """One PostgreSQL server for a whole run, its DSN in ``AS2GW_TEST_PG_DSN`` (the tests'
    fixture then uses it instead of starting a server per mutant); yours if already set."""
    if os.environ.get("AS2GW_TEST_PG_DSN"):
        yield
        return
    sys.path.insert(0, str(ROOT))
    from tests.postgres._server import PostgresServer

    # SIGTERM too must end in the finally below, or the server outlives the run
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    server = PostgresServer()
    server.start()
    os.environ["AS2GW_TEST_PG_DSN"] = server.dsn
    try:
        yield
    finally:
        del os.environ["AS2GW_TEST_PG_DSN"]
        server.remove()


def run(name: str, max_children: int, only: tuple[str, ...] = (), resume: bool = False) -> Score:
    """Mutate one module, run its tests against every mutant (or those named in ``only``,
    mutmut names or globs, to re-check survivors); return the tally. With ``resume``, the
    scratch copy of an interrupted run is kept and mutmut runs only the mutants it has no
    result for."""
    work = WORK / name
    if not (resume and (work / "pyproject.toml").exists()):
        work = _prepare(name)
    started = time.monotonic()
    with _postgres_server() if name in NEEDS_POSTGRES else contextlib.nullcontext():
        # shows progress
        _mutmut(work, "run", "--max-children", str(max_children), *only, capture=False)
    elapsed = time.monotonic() - started
    statuses: dict[str, str] = {}
    for line in _mutmut(work, "results", "--all", "true").splitlines():
        mutant, sep, status = line.strip().rpartition(": ")
        if sep and (not only or any(fnmatch.fnmatchcase(mutant, p) for p in only)):
            statuses[mutant] = status
    counts: dict[str, int] = {}
    for status in statuses.values():
        counts[status] = counts.get(status, 0) + 1
    caught = sum(counts.get(s, 0) for s in CAUGHT)
    total = len(statuses)
    survivors = sorted(m for m, s in statuses.items() if s not in CAUGHT)
    score = Score(name, caught, total, survivors)
    tally = ", ".join(f"{s} {n}" for s, n in sorted(counts.items()))
    print(f"\n== {name} ({MODULES[name][0]}): {caught}/{total} caught = {score.percent:.1f} %")
    print(f"   [{tally}] in {elapsed:.0f} s")
    by_file: dict[str, list[str]] = {}
    for mutant, status in statuses.items():
        by_file.setdefault(_file_of(mutant), []).append(status)
    if len(by_file) > 1:
        for module, found in sorted(by_file.items()):
            hit = sum(s in CAUGHT for s in found)
            print(f"   {module}: {hit}/{len(found)} = {100.0 * hit / len(found):.1f} %")
    for mutant in survivors:
        print(f"\n-- {mutant}: {statuses[mutant]}")
        print(_mutmut(work, "show", mutant).rstrip())
    return score


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run each module asked for."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("modules", nargs="*", metavar="MODULE", help=", ".join(MODULES))
    parser.add_argument("--quick", action="store_true", help=f"run {', '.join(QUICK)}")
    parser.add_argument("--all", action="store_true", help="run every module")
    parser.add_argument("--list", action="store_true", help="list the modules and their tests")
    parser.add_argument(
        "--max-children", type=int, default=2, help="parallel test processes (default 2)"
    )
    parser.add_argument(
        "--resume", action="store_true", help="keep an interrupted run's results and go on"
    )
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="MUTANT",
        help="run only this mutant (a mutmut name or glob; repeat, or @FILE of names)",
    )
    args = parser.parse_args(argv)
    only: list[str] = []
    for item in args.only:
        if item.startswith("@"):
            only += Path(item[1:]).read_text(encoding="utf-8").split()
        else:
            only.append(item)
    if args.list:
        for name, (source, tests) in MODULES.items():
            print(f"{name:10} {source}\n{'':10} tests: {' '.join(tests)}")
        return 0
    unknown = [m for m in args.modules if m not in MODULES]
    if unknown:
        parser.error(f"unknown module(s) {', '.join(unknown)}; choose from {', '.join(MODULES)}")
    names = list(MODULES) if args.all else [*args.modules, *(QUICK if args.quick else ())]
    if not names:
        parser.error("name a MODULE, or pass --quick, --all or --list")
    if only and len(names) != 1:
        parser.error("--only needs exactly one MODULE")
    results = [
        run(name, args.max_children, tuple(only), args.resume) for name in dict.fromkeys(names)
    ]
    print("\nmodule      score")
    for r in results:
        print(f"{r.module:10}  {r.caught}/{r.total} = {r.percent:.1f} %")
    return 0


if __name__ == "__main__":
    sys.exit(main())
