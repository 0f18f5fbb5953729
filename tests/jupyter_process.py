"""A real ``jupyter server`` for tests and benchmarks: loopback only, a token, the
mlops-nb server extension on, the store at ``home``; stopped by its pid and its process
group (where kernels it started live)."""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class JupyterServer:
    def __init__(self, root: Path, home: Path, within: float = 120.0) -> None:
        self.port, self.token = free_port(), secrets.token_hex(16)
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = root / "jupyter-server.log"
        env = {
            **os.environ,
            "MLOPS_NB_HOME": str(home),
            "JUPYTER_CONFIG_DIR": str(root / "config"),  # no user settings leak in
            "JUPYTER_RUNTIME_DIR": str(root / "runtime"),
        }
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen(
                [
                    str(Path(sys.executable).parent / "jupyter"), "server", "--allow-root",
                    "--no-browser", "--ip=127.0.0.1", f"--port={self.port}",
                    f"--ServerApp.root_dir={root}", f"--IdentityProvider.token={self.token}",
                    "--ServerApp.jpserver_extensions=mlops_nb=True",
                ],
                stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True,
            )  # fmt: skip
        deadline = time.monotonic() + within
        while not self._answers():
            if time.monotonic() > deadline:
                self.stop()
                raise AssertionError(
                    f"jupyter server did not answer in {within:g} s:\n{self.output()}"
                )
            time.sleep(0.2)

    def _answers(self) -> bool:
        if self.proc.poll() is not None:
            raise RuntimeError(f"jupyter server exited early:\n{self.output()}")
        try:
            with urllib.request.urlopen(self.request("api/status"), timeout=2) as response:
                return response.status == 200
        except OSError:
            return False

    def request(self, path: str, **kwargs) -> urllib.request.Request:
        headers = {"Authorization": f"token {self.token}", **kwargs.pop("headers", {})}
        return urllib.request.Request(f"{self.url}/{path}", headers=headers, **kwargs)

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-6000:]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            self.proc.send_signal(signal.SIGINT)  # jupyter asks for a confirmation
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
