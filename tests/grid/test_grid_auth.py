"""A grid against a Ray head that requires token authentication, joined without ``RAY_AUTH_MODE=token``.

The head is a real ``ray start --head --block`` started here with ``RAY_AUTH_MODE=token`` and a token of the test's
own (``RAY_AUTH_TOKEN``, HOME in a temp folder: the user's ~/.ray is never touched), on 127.0.0.1 with its own
``--temp-dir``; it is stopped by its process group (never ``ray stop``, which would end every Ray on the machine).
"""

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from conftest import subprocess_env

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def token_head(tmp_path):
    port = _free_port()
    env = subprocess_env(HOME=str(tmp_path / "head-home"), RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=secrets.token_hex(16),
                         RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER="0")
    env.pop("RAY_ADDRESS", None)
    (tmp_path / "head-home").mkdir()
    ray_bin = str(Path(sys.executable).with_name("ray"))
    raytmp = tempfile.mkdtemp(prefix="ya-ray-", dir="/tmp")  # Ray's socket paths must stay under 107 bytes
    log = open(tmp_path / "head.log", "w")
    head = subprocess.Popen([ray_bin, "start", "--head", "--block", "--port", str(port), "--num-cpus", "1",
                             "--include-dashboard", "false", "--node-ip-address", "127.0.0.1",
                             "--temp-dir", raytmp],
                            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.time() + 180
        while "--block" not in (tmp_path / "head.log").read_text() and time.time() < deadline:
            assert head.poll() is None, (tmp_path / "head.log").read_text()[-3000:]
            time.sleep(0.5)
        assert "--block" in (tmp_path / "head.log").read_text(), "the Ray head did not start in time"
        yield f"127.0.0.1:{port}"
    finally:
        try:
            os.killpg(head.pid, signal.SIGTERM)  # ray start --block drains, then ends the processes it started
            head.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(head.pid, signal.SIGKILL)
            head.wait()
        except ProcessLookupError:
            pass
        log.close()
        shutil.rmtree(raytmp, ignore_errors=True)


def test_grid_without_ray_auth_mode_is_one_error_line_and_writes_nothing(token_head, tmp_path):
    from yolo_attn.data.synthetic import make_dataset

    data = make_dataset(tmp_path / "data", n_train=2, n_val=2, imgsz=64, seed=0)
    env = subprocess_env(HOME=str(tmp_path / "client-home"), RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER="0")
    for k in ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH", "RAY_ADDRESS"):
        env.pop(k, None)
    (tmp_path / "client-home").mkdir()
    grids = tmp_path / "grids"
    r = subprocess.run([sys.executable, str(ROOT / "ablate_attn.py"), "--attn", "SE", "--at", "neck", "--seed", "0",
                        "--project", str(grids), "--name", "head", "--ray-address", token_head, "--data", str(data),
                        "--epochs", "1", "--imgsz", "64"],
                       cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 2, r.stdout[-3000:] + r.stderr[-3000:]
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), r.stderr[-3000:]
    assert "RAY_AUTH_MODE=token" in lines[0] and "~/.ray/auth_token" in lines[0]
    for noise in ("InvalidAuthToken", "ray stop", "ConnectionError", "Traceback"):
        assert noise not in r.stdout + r.stderr, noise
    assert not grids.exists()  # nothing written: no grid folder, no cfg/
