"""A throwaway PostgreSQL server for the tests, from the Debian packages (initdb + pg_ctl).

It listens on a free loopback port only (no Unix socket), trusts local connections for
the user ``as2gw``, and lives in a temporary directory removed by `PostgresServer.remove`.
PostgreSQL refuses to run as root: as root, the server runs as the ``postgres`` system user
(the Debian package creates it; else a system user ``as2gw-pg`` is made), through ``runuser``.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

__all__ = ["PostgresServer", "find_bin"]

USER = "as2gw"


def find_bin(name: str) -> str | None:
    """The newest Debian server binary ``name`` (``initdb``, ``pg_ctl``), else from PATH."""
    found = sorted(
        glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
        key=lambda p: int(p.split("/")[4]) if p.split("/")[4].isdigit() else 0,
    )
    return found[-1] if found else shutil.which(name)


def _system_user() -> pwd.struct_passwd:
    """``postgres`` (the Debian package creates it), else a system user made for the tests."""
    for name in ("postgres", "as2gw-pg"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    subprocess.run(["useradd", "--system", "--no-create-home", "as2gw-pg"], check=True)
    return pwd.getpwnam("as2gw-pg")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class PostgresServer:
    """One cluster in a temp dir: `start`, `stop` (like a crash, or cleanly), `remove`."""

    def __init__(self) -> None:
        initdb, pg_ctl = find_bin("initdb"), find_bin("pg_ctl")
        if initdb is None or pg_ctl is None:
            raise FileNotFoundError("no initdb/pg_ctl: apt-get install postgresql")
        self._initdb, self._pg_ctl = initdb, pg_ctl
        self._as: list[str] = []
        self.base = Path(tempfile.mkdtemp(prefix="as2gw-pg-"))
        if os.geteuid() == 0:
            account = _system_user()
            os.chown(self.base, account.pw_uid, account.pw_gid)
            self._as = ["runuser", "-u", account.pw_name, "--"]
        self.data = self.base / "data"
        self.log = self.base / "server.log"
        self.port = _free_port()
        self._run(
            self._initdb, "-D", str(self.data), "-U", USER, "--auth=trust",
            "--encoding=UTF8", "--locale=C", "--no-sync",
        )  # fmt: skip

    @property
    def dsn(self) -> str:
        """Where to connect (loopback TCP, trusted)."""
        return f"postgresql://{USER}@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        """Start the server and wait until it accepts connections (a new port if taken)."""
        for _ in range(5):
            options = (
                f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories='' "
                "-c fsync=off -c max_connections=100"
            )
            done = self._run(
                self._pg_ctl, "-D", str(self.data), "-l", str(self.log), "-o", options,
                "-w", "-t", "60", "start", check=False,
            )  # fmt: skip
            if done.returncode == 0:
                return
            self.port = _free_port()  # most likely the port was taken meanwhile
        raise RuntimeError(f"PostgreSQL did not start: {self.log.read_text()[-2000:]}")

    def stop(self, *, crash: bool = False) -> None:
        """Stop the server: ``crash`` kills it at once (immediate mode), else a clean stop."""
        self._run(
            self._pg_ctl, "-D", str(self.data), "-m", "immediate" if crash else "fast",
            "-w", "-t", "60", "stop", check=False,
        )  # fmt: skip

    def remove(self) -> None:
        """Stop it and delete its directory."""
        self.stop()
        shutil.rmtree(self.base, ignore_errors=True)

    def _run(self, *argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [*self._as, *argv], capture_output=True, text=True, cwd=self.base, timeout=120
        )
        if check and done.returncode != 0:
            raise RuntimeError(f"{argv[0]} failed: {done.stdout}{done.stderr}")
        return done
