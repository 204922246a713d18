"""The plugin seam: a registry that knows nothing of ultralytics, one adapter in the hook, other plugins' wrappers
around parse_model (before and after ours), the import-time self-test, and a failed install that changes nothing."""

import ast
import re
import functools
import subprocess
import sys
from pathlib import Path

import pytest
import torch.nn as nn
import ultralytics.nn.tasks as tasks

import yolo_attn
from conftest import subprocess_env
from yolo_attn import registry
from yolo_attn.plugin import hook

PKG = Path(yolo_attn.__file__).resolve().parent


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            names.add(node.module or "")
    return names


def test_registry_imports_neither_ultralytics_nor_the_hook():
    imported = _imports(PKG / "registry.py")
    assert not any(n.split(".")[0] == "ultralytics" or n == "yolo_attn.plugin.hook" for n in imported), imported


def test_only_the_hook_touches_ultralytics_internals():
    """``sys._getframe`` and ``ultralytics.nn.tasks`` appear in hook.py and nowhere else in the seam."""
    for f in ("registry.py", "__init__.py"):
        text = (PKG / f).read_text()
        assert "_getframe" not in text and "nn.tasks" not in text, f
    # safe_load.py routes ultralytics' checkpoint loader (tasks.torch_safe_load) through ours: that and nothing more
    safe_load = (PKG / "plugin" / "safe_load.py").read_text()
    assert "_getframe" not in safe_load
    assert set(re.findall(r"tasks\.(\w+) = ", safe_load)) == {"torch_safe_load"}, safe_load
    assert "sys._getframe(1)" in (PKG / "plugin" / "hook.py").read_text()


class _Probe(nn.Module):
    def __init__(self, c1, k=1):
        super().__init__()
        self.c1, self.k = c1, k


def test_listener_api_replays_tells_and_can_veto():
    seen = []
    listener = lambda name, cls: seen.append(name)  # noqa: E731
    registry.add_registry_listener(listener)
    try:
        assert set(yolo_attn.ATTENTION_REGISTRY) <= set(seen)  # replayed the existing ones
        seen.clear()
        cls = type("SeamProbe", (_Probe,), {"__module__": __name__})
        registry.register_attention(cls)
        assert seen == ["SeamProbe"]
    finally:
        registry.remove_registry_listener(listener)
        registry.ATTENTION_REGISTRY.pop("SeamProbe", None)
        if hasattr(tasks, "SeamProbe"):
            delattr(tasks, "SeamProbe")

    def veto(name, cls):
        raise RuntimeError(f"no {name}")

    registry.add_registry_listener(veto, replay=False)
    try:
        with pytest.raises(RuntimeError, match="no Vetoed"):
            registry.register_attention(type("Vetoed", (_Probe,), {"__module__": __name__}))
        assert "Vetoed" not in registry.ATTENTION_REGISTRY
    finally:
        registry.remove_registry_listener(veto)
    registry.remove_registry_listener(veto)  # removing twice is harmless
    assert veto not in registry._listeners


def _se_twice_from_layer_0():
    d = {"backbone": [[-1, 1, "Conv", [8, 3, 2]], [-1, 1, "Conv", [16, 3, 2]], [0, 2, "SE", [4]], [1, 1, "SE", [4]]],
         "head": []}
    model, _ = tasks.parse_model(d, 3, verbose=False)
    return [m.fc[0].in_features for m in model[2]] + [model[3].fc[0].in_features]


@pytest.mark.parametrize("style", ["functools.wraps", "opaque"])
def test_a_wrapper_installed_after_ours_keeps_channels(style, monkeypatch):
    inner = tasks.parse_model
    calls = []

    def other_plugin(d, ch, verbose=True):
        calls.append(1)
        return inner(d, ch, verbose)

    monkeypatch.setattr(tasks, "parse_model", functools.wraps(inner)(other_plugin) if style != "opaque" else other_plugin)
    assert _se_twice_from_layer_0() == [8, 8, 16] and calls == [1]


CHILD_BEFORE = """
import functools, sys
import ultralytics.nn.tasks as t
orig = t.parse_model
calls = []
def other_plugin(d, ch, verbose=True):
    calls.append(1)
    return orig(d, ch, verbose)
t.parse_model = functools.wraps(orig)(other_plugin) if sys.argv[1] == "wraps" else other_plugin
import yolo_attn
d = {"backbone": [[-1, 1, "Conv", [8, 3, 2]], [-1, 1, "Conv", [16, 3, 2]], [0, 2, "SE", [4]]], "head": []}
model, _ = t.parse_model(d, 3, verbose=False)
print("channels", [m.fc[0].in_features for m in model[2]], "calls", len(calls))
"""


@pytest.mark.parametrize("style", ["wraps", "opaque"])
def test_a_wrapper_installed_before_ours_keeps_channels(style):
    r = subprocess.run([sys.executable, "-c", CHILD_BEFORE, style], capture_output=True, text=True,
                       env=subprocess_env(), timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "channels [8, 8] calls 2" in r.stdout  # the self-test and the build both went through the other plugin


CHILD_FAIL = """
import functools, sys
import ultralytics.nn.tasks as t
orig_check_yaml = t.check_yaml
orig = t.parse_model
def broken(d, ch, verbose=True):  # a builder that no longer hands channels to plugin classes
    return orig({**d, "backbone": [[-1, 1, "Conv", [8, 3, 2]]] * 3}, ch, verbose)
t.parse_model = functools.wraps(orig)(broken) if sys.argv[1] == "wraps" else broken
found = t.parse_model
before = dict(vars(t))
try:
    import yolo_attn
except ImportError as e:
    print("ImportError:", e)
else:
    raise SystemExit("import did not fail")
from yolo_attn.registry import ATTENTION_REGISTRY, _listeners
assert t.parse_model is found and t.check_yaml is orig_check_yaml
assert dict(vars(t)) == before, set(vars(t)) ^ set(before)
assert not any(n in vars(t) for n in ATTENTION_REGISTRY), "names were left injected"
assert all("_plain_init" not in c.__dict__ for c in ATTENTION_REGISTRY.values()), "classes left wrapped"
assert not _listeners
from yolo_attn.models import SE
assert SE(64, 8).fc[0].in_features == 64
print("restored")
"""


@pytest.mark.parametrize("style, cause", [
    ("wraps", "yolo_attn supports ultralytics>=8.4.0,<8.5, found"),
    ("opaque", "ultralytics.nn.tasks.parse_model is __main__.broken, not ultralytics' own: another plugin replaced it"),
])
def test_a_failed_install_leaves_ultralytics_as_it_found_it(style, cause):
    r = subprocess.run([sys.executable, "-c", CHILD_FAIL, style], capture_output=True, text=True, env=subprocess_env(),
                       timeout=300)
    assert r.returncode == 0, (r.stdout + r.stderr)[-3000:]
    assert cause in r.stdout and "restored" in r.stdout
    assert "self-test: SE repeated twice from layer 0 got input channels" in r.stdout  # names what failed


def test_self_test_covers_repeats_and_a_non_adjacent_from(monkeypatch):
    hook._self_test()  # passes as installed
    build_site = hook._adapter.build_site

    def no_generator(frame):  # a builder whose n > 1 path no longer reaches us
        return None if frame is not None and frame.f_code.co_name == "<genexpr>" else build_site(frame)

    monkeypatch.setattr(hook._adapter, "build_site", no_generator)
    with pytest.raises(ValueError, match="reduction 16 is larger than the 4 input channels"):
        hook._self_test()  # the repeated SE are built without channels: the yaml's 4 is read as c1
    monkeypatch.setattr(hook._adapter, "build_site", build_site)

    def adjacent_only(frame):  # a builder that hands every layer the previous layer's channels
        site = build_site(frame)
        if site is not None:
            site.f = -1
        return site

    monkeypatch.setattr(hook._adapter, "build_site", adjacent_only)
    with pytest.raises(RuntimeError, match=r"got input channels \[16, 16\], expected \[8, 8\]"):
        hook._self_test()


def test_builder_code_is_found_through_wrapped_chains():
    adapter = hook.UltralyticsAdapter()
    code = adapter.builder_code
    assert code is not None and code.co_name == "parse_model" and code.co_filename == tasks.__file__

    def outer(d, ch, verbose=True):
        return None

    outer.__wrapped__ = functools.wraps(tasks.parse_model)(lambda *a: None)  # ours and two more levels, as plugins do
    assert adapter._find_builder_code(outer) is code
    assert adapter._find_builder_code(lambda *a: None) is None


def test_import_is_silent():
    """``import yolo_attn`` (hook install and self-test) logs nothing: no graph-check warning about the self-test."""
    r = subprocess.run([sys.executable, "-c", "import yolo_attn"], capture_output=True, text=True, timeout=300,
                       env=subprocess_env())
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout == "" and "WARNING" not in r.stderr, (r.stdout, r.stderr)
