"""Shared test setup: offline, ultralytics settings in a temp dir, one import of yolo_attn."""

import logging
import os
import tempfile

# Before ultralytics is imported anywhere: no network, and settings/fonts/DDP files in a throwaway dir.
os.environ["YOLO_OFFLINE"] = "1"
os.environ.setdefault("YOLO_CONFIG_DIR", tempfile.mkdtemp(prefix="yolo_attn_cfg_"))
os.environ.setdefault("MPLBACKEND", "Agg")

import pytest  # noqa: E402
import torch  # noqa: E402

import yolo_attn  # noqa: E402,F401
from ultralytics.utils import LOGGER  # noqa: E402


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)
    yield


class LoggerLines(logging.Handler):
    """Collect ultralytics LOGGER messages (it does not propagate, so caplog cannot see them)."""

    def __init__(self):
        super().__init__()
        self.lines = []

    def emit(self, record):
        self.lines.append(record.getMessage())


@pytest.fixture
def log_lines():
    """The messages ultralytics' LOGGER emits during the test, in order."""
    h = LoggerLines()
    LOGGER.addHandler(h)
    yield h.lines
    LOGGER.removeHandler(h)


class Gain(torch.nn.Module):
    """A user's own attention-like module (``c1`` first, then its own argument): multiplies by ``gain``."""

    def __init__(self, c1, gain=1.0):
        super().__init__()
        self.c1, self.gain = c1, gain

    def forward(self, x):
        return x * self.gain


def complete_epoch(last):
    """The epoch stored in checkpoint ``last`` (a Path) once the file is completely written (None while absent or
    partial)."""
    if not last.is_file():
        return None
    try:
        return torch.load(last, map_location="cpu", weights_only=False)["epoch"]
    except Exception:  # caught mid-write
        return None


def subprocess_env(**extra):
    """Environment for a child Python process that must behave like the tests (offline, same config dir)."""
    env = dict(os.environ)
    env.update({k: str(v) for k, v in extra.items()})
    return env


@pytest.fixture(scope="session")
def yolov5_ref():
    """The folder holding YOLOv5 v7.0's own code (``yolov5==7.0.14``, ``.ci/run`` installs it): ``$YOLO_ATTN_YOLOV5_REF``,
    else ``<repo>/.ci-yolov5``. Used only on a child process's PYTHONPATH. Fails (never skips) when missing."""
    from pathlib import Path

    folder = Path(os.environ.get("YOLO_ATTN_YOLOV5_REF") or Path(__file__).resolve().parents[1] / ".ci-yolov5")
    if not (folder / "yolov5" / "models" / "yolo.py").is_file():
        pytest.fail(
            f"YOLOv5's reference code not found: {folder}/yolov5/models/yolo.py is missing. Install it with .ci/run, "
            f"or pip install --no-deps --target {folder} yolov5==7.0.14 (plus pandas seaborn gitpython tqdm psutil "
            f"'setuptools<81'), or point YOLO_ATTN_YOLOV5_REF at such a folder"
        )
    return folder
