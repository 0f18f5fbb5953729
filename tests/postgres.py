"""A real, throw-away PostgreSQL server for the tests.

:func:`provide` gives the session one server, found in this order:

1. ``MLOPS_NB_TEST_PG_URL``: an existing server, as a URL whose user may
   create databases (``postgresql://postgres@127.0.0.1:5432/postgres``);
   nothing is started and only the test databases are dropped afterwards.
2. The PostgreSQL binaries (``initdb``, ``postgres``) on ``PATH``, in
   ``MLOPS_NB_TEST_PG_BIN``, from ``pg_config --bindir`` or in
   ``/usr/lib/postgresql/<version>/bin`` (Debian/Ubuntu's
   ``apt-get install postgresql``): a new cluster in a temporary folder,
   trust authentication, listening on 127.0.0.1 only, on a free port,
   ``fsync`` off. Run as root (a CI container), the server runs as the
   ``postgres`` user, since ``initdb`` refuses root. It is stopped and its
   folder removed when the session ends.

Without either, :class:`Unavailable` says why; the fixture turns that into a
skip locally and a failure under CI, so CI cannot skip silently.

Every test gets a database of its own (:meth:`Server.create_database`),
dropped afterwards. On a server that has ICU, test databases use the
``en-US`` collation rather than ``C``, the way real servers are often set
up, so anything relying on byte order that the schema does not guarantee
shows up here.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ENV_URL = "MLOPS_NB_TEST_PG_URL"
ENV_BIN = "MLOPS_NB_TEST_PG_BIN"
SUPERUSER = "postgres"
START_TIMEOUT_S = 60.0


class Unavailable(Exception):
    """No PostgreSQL server could be found or started."""


def find_bindir() -> Path | None:
    """The folder holding ``initdb`` and ``postgres``, if any."""
    candidates: list[str] = []
    if os.environ.get(ENV_BIN):
        candidates.append(os.environ[ENV_BIN])
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(str(Path(on_path).parent))
    pg_config = shutil.which("pg_config")
    if pg_config:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            out = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, timeout=10
            )
            candidates.append(out.stdout.strip())
    versioned = glob.glob("/usr/lib/postgresql/*/bin")
    versioned.sort(key=lambda p: int(re.sub(r"\D", "", Path(p).parent.name) or 0), reverse=True)
    candidates.extend(versioned)
    candidates.extend(
        ["/usr/local/pgsql/bin", *sorted(glob.glob("/opt/homebrew/opt/postgresql*/bin"))]
    )
    for folder in candidates:
        path = Path(folder)
        if (path / "initdb").is_file() and (path / "postgres").is_file():
            return path
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _plain(url: str) -> str:
    """``url`` in the form psycopg itself accepts (no SQLAlchemy driver suffix)."""
    scheme, _, rest = url.partition("://")
    return f"postgresql://{rest}" if scheme.startswith("postgres") else url


class Server:
    """A PostgreSQL server the tests may create databases on."""

    def __init__(self, admin_url: str) -> None:
        self.admin_url = _plain(admin_url)
        self._icu: bool | None = None

    def _admin(self) -> Any:
        import psycopg

        return psycopg.connect(self.admin_url, autocommit=True, connect_timeout=10)

    def url(self, database: str) -> str:
        """The URL of ``database`` on this server (SQLAlchemy's psycopg form)."""
        import sqlalchemy as sa

        base = sa.engine.make_url(self.admin_url).set(drivername="postgresql+psycopg")
        return base.set(database=database).render_as_string(hide_password=False)

    def create_database(self) -> str:
        """A new, empty database; returns its name."""
        name = f"mlops_nb_test_{uuid.uuid4().hex[:12]}"
        with self._admin() as conn:
            if self._icu is None:
                self._icu = bool(
                    conn.execute(
                        "SELECT current_setting('server_version_num')::int >= 150000 AND "
                        "EXISTS (SELECT 1 FROM pg_collation WHERE collname = 'en-US-x-icu')"
                    ).fetchone()[0]
                )
            locale = " LOCALE_PROVIDER icu ICU_LOCALE 'en-US'" if self._icu else ""
            conn.execute(f"CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8'{locale}")
        return name

    def drop_database(self, name: str) -> None:
        """Drop ``name``, disconnecting whoever still uses it."""
        with self._admin() as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def stop(self) -> None:
        """Nothing to stop for a server someone else runs."""


class LocalServer(Server):
    """A cluster of our own in a temporary folder, run from ``bindir``."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix="mlops-nb-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.run_as: dict[str, Any] = {}
        if os.geteuid() == 0:
            # initdb refuses to run as root; the server gets an ordinary user.
            try:
                user = pwd.getpwnam(SUPERUSER)
            except KeyError:
                user = pwd.getpwnam("nobody")
            os.chown(self.root, user.pw_uid, user.pw_gid)
            self.run_as = {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}
        try:
            self._initdb()
            port = self._start()
        except BaseException:
            self.stop()
            raise
        super().__init__(f"postgresql://{SUPERUSER}@127.0.0.1:{port}/postgres")

    def _run(self, *args: str) -> None:
        proc = subprocess.run(
            args,
            capture_output=True,
            text=True,
            timeout=120,
            cwd=self.root,
            env={**os.environ, "LC_ALL": "C", "LANG": "C"},
            **self.run_as,
        )
        if proc.returncode != 0:
            raise Unavailable(f"{Path(args[0]).name} failed: {proc.stderr.strip()[-2000:]}")

    def _initdb(self) -> None:
        self._run(
            str(self.bindir / "initdb"),
            "--pgdata",
            str(self.data),
            "--username",
            SUPERUSER,
            "--auth",
            "trust",
            "--encoding",
            "UTF8",
            "--no-locale",
            "--no-sync",
        )

    def _start(self) -> int:
        for _attempt in range(3):  # another process may take the free port first
            port = _free_port()
            with open(self.log, "ab") as log:
                self.proc = subprocess.Popen(
                    [
                        str(self.bindir / "postgres"),
                        "-D",
                        str(self.data),
                        "-p",
                        str(port),
                        "-c",
                        "listen_addresses=127.0.0.1",
                        "-c",
                        f"unix_socket_directories={self.root}",
                        "-c",
                        "fsync=off",
                        "-c",
                        "synchronous_commit=off",
                        "-c",
                        "full_page_writes=off",
                        "-c",
                        "max_connections=300",
                    ],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    cwd=self.root,
                    start_new_session=True,  # Ctrl-C in pytest does not hit it first
                    **self.run_as,
                )
            if self._wait_ready(port):
                return port
            self._kill()
        raise Unavailable(f"PostgreSQL did not start; its log:\n{self._log_tail()}")

    def _wait_ready(self, port: int) -> bool:
        import psycopg

        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                return False
            try:
                psycopg.connect(
                    f"postgresql://{SUPERUSER}@127.0.0.1:{port}/postgres", connect_timeout=2
                ).close()
                return True
            except psycopg.OperationalError:
                time.sleep(0.1)
        return False

    def _log_tail(self) -> str:
        try:
            return self.log.read_text(errors="replace")[-3000:]
        except OSError:
            return "(no log)"

    def _kill(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGINT)  # "fast" shutdown: disconnect everyone
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def stop(self) -> None:
        """Stop the server and delete its cluster."""
        self._kill()
        shutil.rmtree(self.root, ignore_errors=True)


def provide() -> Server:
    """The session's server (see the module doc); raises :class:`Unavailable`."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        raise Unavailable("psycopg is not installed (pip install 'mlops-nb[team]')") from None
    if os.environ.get(ENV_URL):
        server = Server(os.environ[ENV_URL])
        try:
            server._admin().close()
        except Exception as exc:
            raise Unavailable(f"{ENV_URL} is set but unusable: {exc}") from None
        return server
    bindir = find_bindir()
    if bindir is None:
        raise Unavailable(
            "no PostgreSQL binaries (initdb, postgres) found; install PostgreSQL "
            f"(apt-get install postgresql), set {ENV_BIN}, or point {ENV_URL} at a server"
        )
    return LocalServer(bindir)
