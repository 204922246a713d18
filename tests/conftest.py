"""Shared test setup: offline, ultralytics settings in a temp dir, one import of yolo_attn."""

import logging
import os
import tempfile

# Before ultralytics is imported anywhere: no network, and settings/fonts/DDP files in a throwaway dir.
os.environ["YOLO_OFFLINE"] = "1"
os.environ.setdefault("YOLO_CONFIG_DIR", tempfile.mkdtemp(prefix="yolo_attn_cfg_"))
os.environ.setdefault("MPLBACKEND", "Agg")
# pytest-xdist: each worker (and the processes its tests start) gets its share of the cores for torch's threads, the
# way Ray gives a trial its CPUs; two workers at two threads each on a 2-core machine spend their time waiting on each
# other. yolo_attn.plugin.threads.cpu_threads honours the cap; tests of the thread logic set their own.
if os.environ.get("PYTEST_XDIST_WORKER_COUNT"):
    os.environ.setdefault("OMP_NUM_THREADS",
                          str(max(1, (os.cpu_count() or 1) // int(os.environ["PYTEST_XDIST_WORKER_COUNT"]))))

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


# ------------------------------------------------------------------------------------------ the subprocess marker
# Tests that start a child process (a script, YOLOv5's reference code, a wheel build, DDP workers, Ray) carry the
# ``subprocess`` marker, so ``pytest -m "not slow and not subprocess"`` is the quick inner loop. A test is marked when
# it says so (@pytest.mark.subprocess), or when its code or one of its fixtures' (transitively) starts a process
# directly or through a helper of its own module that does (or this file's subprocess_env).
import inspect  # noqa: E402
import re  # noqa: E402

_SPAWNS = re.compile(r"\bsubprocess\.|\bsys\.executable\b|\bPopen\b|\bmultiprocessing\b|\bmp\.spawn\b|"
                     r"\bray\.init\b|\binit_ray\b|\bsubprocess_env\b|\bos\.system\b|\bexecv|\bspawn\(")
_module_helpers: dict = {}


def _source(obj) -> str:
    """The object's code without its string literals and comments (a payload naming "subprocess.call" starts
    nothing; child code in a string is started through sys.executable/subprocess, which the caller's code names)."""
    import io
    import tokenize

    try:
        src = inspect.getsource(obj)
    except (OSError, TypeError):
        return ""
    try:
        toks = tokenize.generate_tokens(io.StringIO(src).readline)
        return " ".join(t.string for t in toks if t.type not in (tokenize.STRING, tokenize.COMMENT)
                        and not t.type == getattr(tokenize, "FSTRING_MIDDLE", -1))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return src


def _spawning_helpers(module) -> set:
    """Names of the module's functions/classes that start a process, directly or through one another."""
    if module not in _module_helpers:
        sources = {n: _source(o) for n, o in vars(module).items()
                   if (inspect.isfunction(o) or inspect.isclass(o)) and getattr(o, "__module__", None) == module.__name__}
        found = {n for n, s in sources.items() if _SPAWNS.search(s)}
        grew = True
        while grew:
            pattern = re.compile(r"\b(" + "|".join(map(re.escape, found)) + r")\b") if found else None
            new = {n for n, s in sources.items() if n not in found and pattern and pattern.search(s)}
            found |= new
            grew = bool(new)
        # module-level strings run as child code (CHILD = "..."): a name like CHILD used with -c is caught by
        # sys.executable in the function itself
        _module_helpers[module] = found
    return _module_helpers[module]


def _starts_processes(item) -> bool:
    module = getattr(item, "module", None)
    helpers = _spawning_helpers(module) if module is not None else set()
    pattern = re.compile(r"\b(" + "|".join(map(re.escape, helpers)) + r")\b") if helpers else None
    sources = [_source(getattr(item, "function", None))]
    for defs in getattr(getattr(item, "_fixtureinfo", None), "name2fixturedefs", {}).values():
        for d in defs:
            sources.append(_source(d.func))
            fmod = inspect.getmodule(d.func)
            if fmod is not None and fmod is not module and fmod.__name__ not in ("conftest",) and \
                    _spawning_helpers(fmod) & set(re.findall(r"\w+", sources[-1])):
                return True
    return any(_SPAWNS.search(s) or (pattern and pattern.search(s)) for s in sources)


_RAY = re.compile(r"\bray\b|\binit_ray\b|\brun_grid\b|\brun_search\b|\bmain_search\b|ablate_attn")


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.get_closest_marker("subprocess") is None and _starts_processes(item):
            item.add_marker(pytest.mark.subprocess)
        # pytest-xdist (--dist loadgroup): tests that start a local Ray cluster run one after another on one worker,
        # so two clusters never compete for the same cores and memory
        if _RAY.search(_source(getattr(item, "function", None))) or "tests/grid/" in item.nodeid:
            item.add_marker(pytest.mark.xdist_group("ray"))


# ------------------------------------------------------------------------ pytest-xdist: shared files made once
def _warm_embedded_sets() -> None:
    """The embedded sets and ultralytics' label caches (``labels/*.cache``), made once by the controller before
    the workers start: two workers' first trainings would otherwise scan the same set at the same moment, and
    ultralytics' cache writer (unlink, then write) is not safe against a second process doing the same."""
    from ultralytics.cfg import get_cfg
    from ultralytics.data import build_yolo_dataset
    from ultralytics.data.utils import check_det_dataset

    from yolo_attn.data.embedded import EMBEDDED, embedded_dataset

    level = LOGGER.level
    LOGGER.setLevel(logging.WARNING)  # quiet: the run's output ends with pytest's summary line
    try:
        for name in EMBEDDED:
            data = check_det_dataset(str(embedded_dataset(name)))
            task = "segment" if name.endswith("seg") else "detect"
            args = get_cfg(overrides={"task": task, "imgsz": 128, "data": data["yaml_file"]})
            for split in ("train", "val"):
                build_yolo_dataset(args, data[split], 16, data, mode=split, stride=32)
    finally:
        LOGGER.setLevel(level)


def pytest_configure(config):
    # the controller of an xdist run (workers have PYTEST_XDIST_WORKER set)
    if getattr(config.option, "numprocesses", None) and not os.environ.get("PYTEST_XDIST_WORKER"):
        _warm_embedded_sets()
