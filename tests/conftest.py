"""Shared test setup: offline, ultralytics settings in a temp dir, one import of yolo_attn."""

import os
import tempfile

# Before ultralytics is imported anywhere: no network, and settings/fonts/DDP files in a throwaway dir.
os.environ["YOLO_OFFLINE"] = "1"
os.environ.setdefault("YOLO_CONFIG_DIR", tempfile.mkdtemp(prefix="yolo_attn_cfg_"))
os.environ.setdefault("MPLBACKEND", "Agg")

import pytest  # noqa: E402
import torch  # noqa: E402

import yolo_attn  # noqa: E402,F401


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)
    yield


def subprocess_env(**extra):
    """Environment for a child Python process that must behave like the tests (offline, same config dir)."""
    env = dict(os.environ)
    env.update({k: str(v) for k, v in extra.items()})
    return env
