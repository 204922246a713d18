"""Join a Ray cluster (or start a local one) for a grid, with one clear line when joining fails.

A head started with token authentication (``ray start --head`` once a token exists; Ray >= 2.5x) refuses a client
whose ``RAY_AUTH_MODE`` is not ``token``. Ray's client then retries for about 15 s, printing one ``InvalidAuthToken``
line per attempt from its C++ core, suggests running ``ray stop`` (which would end every Ray process on the machine,
wrong on a shared cluster) and raises ``ConnectionError``. ``init_ray`` holds back what Ray prints while it joins and
turns such a failure into a ``UsageError`` naming ``RAY_AUTH_MODE=token`` and where the token lives; on success the
held-back lines are printed as they were.
"""

from __future__ import annotations

import os
import sys
import tempfile
from contextlib import contextmanager

from yolo_attn.errors import UsageError

__all__ = ("init_ray", "TOKEN_HELP")

TOKEN_HELP = ("the token is read from ~/.ray/auth_token (or the file named by RAY_AUTH_TOKEN_PATH, or RAY_AUTH_TOKEN); "
              "copy it from the head's ~/.ray/auth_token (`ray get-auth-token` on the head prints it)")


@contextmanager
def _held_stderr():
    """Send file descriptor 2 (Ray's C++ core logs there) to a temp file; yield a function returning its text."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as tmp:
        os.dup2(tmp.fileno(), 2)
        try:
            yield lambda: (tmp.flush(), tmp.seek(0), tmp.read().decode(errors="replace"))[-1]
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)


def _auth_error(address: str, held: str, e: BaseException) -> UsageError | None:
    text = held + "\n" + str(e)
    if "InvalidAuthToken" not in text and "Unauthenticated" not in text and "AuthenticationError" not in type(e).__name__:
        return None
    if os.environ.get("RAY_AUTH_MODE", "").lower() != "token":
        return UsageError(f"--ray-address {address}: the Ray cluster requires token authentication; set "
                          f"RAY_AUTH_MODE=token in this shell and rerun ({TOKEN_HELP})")
    return UsageError(f"--ray-address {address}: the Ray cluster refused this machine's token (RAY_AUTH_MODE=token is "
                      f"set); {TOKEN_HELP}")


def init_ray(address: str | None, num_cpus: int | None = None) -> bool:
    """Join ``address`` (or ``RAY_ADDRESS``), or start a fresh local cluster; keep an already initialised Ray.

    Returns True when this call initialised Ray (the caller shuts it down). Raises ``UsageError`` when the cluster
    refuses this client's authentication, or cannot be reached at all.
    """
    import ray

    if ray.is_initialized():
        return False
    address = address or os.getenv("RAY_ADDRESS")
    env = {"RAY_CHDIR_TO_TRIAL_DIR": "0"}  # trials keep the driver's working directory (relative --data paths)
    env.update({k: os.environ[k] for k in ("YOLO_OFFLINE", "YOLO_CONFIG_DIR", "YOLO_ATTN_DATASETS", "PYTHONPATH")
                if k in os.environ})
    if not address:
        os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")  # a local cluster stays on 127.0.0.1
        ray.init(address="local", num_cpus=num_cpus, runtime_env={"env_vars": env}, include_dashboard=False)
        return True
    with _held_stderr() as held:
        try:
            ray.init(address=address, runtime_env={"env_vars": env}, log_to_driver=True)
            ok, err = True, None
        except Exception as e:  # ConnectionError, ray.exceptions.AuthenticationError, ...
            ok, err = False, e
        text = held()
    if ok:
        sys.stderr.write(text)
        return True
    ray.shutdown()
    raise _auth_error(address, text, err) or UsageError(
        f"--ray-address {address}: could not join the Ray cluster ({str(err).splitlines()[0] if str(err) else type(err).__name__}); "
        f"check the address (the head prints it at `ray start --head`) and that this machine reaches it") from err
