"""``mlops-nb serve --engine ray``, in a network of loopback only.

Ray's own servers (GCS, raylet, workers, the dashboard agent) listen on
every interface of the machine whatever address Ray is given, and servers
the tests start must be reachable from this machine only. So the Ray tests
(serve_ray_private.py) run in a network namespace of their own, whose only
interface is loopback: there Ray binds 127.0.0.1, and nothing it opens can
be reached from outside. One pytest run inside the namespace; this test
requires it to pass in full, with nothing skipped.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import skip_or_fail

PRIVATE = Path(__file__).with_name("serve_ray_private.py")

pytestmark = pytest.mark.slow


def test_the_ray_engine_in_a_network_of_loopback_only():
    # Found, not imported: the server imports it, in its own process.
    if importlib.util.find_spec("ray") is None or importlib.util.find_spec("ray.serve") is None:
        skip_or_fail("Ray Serve is not installed: pip install 'mlops-nb[ray]'")
    unshare, ip = shutil.which("unshare"), shutil.which("ip")
    if unshare is None or ip is None:
        skip_or_fail("the Ray tests need unshare (util-linux) and ip (iproute2)")
    probe = subprocess.run([unshare, "--net", ip, "link", "set", "lo", "up"], capture_output=True)
    if probe.returncode != 0:
        skip_or_fail(f"cannot make a network namespace here: {probe.stderr.decode().strip()}")
    # The namespace starts with loopback down; bring it up, then run the tests in it.
    script = 'ip link set lo up && exec "$0" -m pytest "$1" -p no:cacheprovider -q -rs -m slow'
    done = subprocess.run(
        [unshare, "--net", "sh", "-c", script, sys.executable, str(PRIVATE)],
        env={**os.environ, "MLOPS_NB_TEST_PRIVATE_NETWORK": "1"},
        cwd=Path(__file__).parent.parent,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    print(done.stdout[-6000:])
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-3000:]
    summary = done.stdout.strip().splitlines()[-1]
    assert " passed" in summary and "skipped" not in summary and "failed" not in summary, summary
