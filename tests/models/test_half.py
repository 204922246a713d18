"""Every registered attention module in fp16 and bf16: finite and close to fp32 on hard inputs.

Hard inputs are the ones that break the usual formulas: |x| up to 1e4 (SimAM's squared deviation overflows fp16's
65504), constant maps (zero variance: SimAM's energy, SRM's std), a 1x1 map (SimAM's ``n = h*w - 1 = 0``, SRM's
unbiased std) and ordinary random features. Modes: bf16 and fp16 autocast on CPU (what AMP does there), the whole module cast to
fp16 / bf16 (what ``model.half()`` inference does), and on CUDA, when present, fp16/bf16 autocast as in AMP training.

The reference is the fp32 module run on the same, already rounded input, so the test measures the module's own error:
its relative RMS distance to fp32, ``||y - ref|| / ||ref||``, must stay within ``K[case] * eps(dtype)`` (``eps``: the
dtype's unit roundoff, 2^-11 for fp16, 2^-8 for bf16). ``K`` is stated per input case below; each is about twice the
worst error measured over all thirteen modules and the four CPU modes (measured in units of eps: random 1.5,
constant 2.7, zeros 0.9, 1x1 map 6.1, |x| ~ 1e4 32.7, constant 1x1 at -1e4 4.6). Cases that cannot meet their bound
are listed in ``KNOWN`` with the measured error and why; they run as strict xfails, so one that starts to pass is
reported too. Finite output is required everywhere, with no exception.
"""

import pytest
import torch

from yolo_attn import ATTENTION_REGISTRY as _REGISTRY

# The package's own modules: other test files register their own classes in the same session.
ATTENTION_REGISTRY = {n: c for n, c in _REGISTRY.items() if c.__module__.startswith("yolo_attn.")}

C = 128  # divisible by EMA's factor 32 and SA's 2 * groups 64, >= SE/CBAM's reduction 16
EPS = {torch.float16: 2.0**-11, torch.bfloat16: 2.0**-8}  # unit roundoff of each dtype


def _inputs():
    g = torch.Generator().manual_seed(0)
    return {
        "random": torch.randn(2, C, 8, 8, generator=g),
        "large_1e4": (torch.rand(2, C, 8, 8, generator=g) * 2 - 1) * 1e4,
        "constant": torch.full((2, C, 8, 8), 3.0),
        "zeros": torch.zeros(2, C, 8, 8),
        "map_1x1": torch.randn(2, C, 1, 1, generator=g) * 100,
        "large_1x1_constant": torch.full((2, C, 1, 1), -1e4),
    }


def _modes():
    modes = [("cpu", "autocast", torch.bfloat16), ("cpu", "autocast", torch.float16),
             ("cpu", "cast", torch.bfloat16), ("cpu", "cast", torch.float16)]
    if torch.cuda.is_available():  # AMP training on GPU: autocast in both dtypes, and half() inference
        modes += [("cuda", "autocast", torch.float16), ("cuda", "autocast", torch.bfloat16), ("cuda", "cast", torch.float16)]
    return modes


def _rel_rms(a, b):
    """||a - b|| / ||b|| (0 when both are 0)."""
    return ((a - b).norm() / b.norm().clamp_min(1e-12)).item()


def _peak_layer_output(module, x):
    """Largest |value| any submodule of ``module`` outputs in fp32 on ``x``."""
    peaks = [0.0]

    def hook(_, __, out):
        if isinstance(out, torch.Tensor):
            peaks.append(out.detach().abs().max().item())

    handles = [m.register_forward_hook(hook) for m in module.modules() if m is not module]
    try:
        with torch.no_grad():
            module(x)
    finally:
        for h in handles:
            h.remove()
    return max(peaks)


def _build(name):
    torch.manual_seed(0)
    m = ATTENTION_REGISTRY[name](C).eval()
    # Random, not default, affine/BN state: SRM's cfc starts at zero, which would hide its style path entirely.
    with torch.no_grad():
        for p in m.parameters():
            p.add_(torch.randn_like(p) * 0.1)
        for mod in m.modules():
            if isinstance(mod, torch.nn.modules.batchnorm._BatchNorm):
                mod.running_mean.uniform_(-1, 1)
                mod.running_var.uniform_(0.5, 2)
    return m


# bound on the relative RMS error, in units of the dtype's eps, per input case (see the module docstring)
K = {"random": 4, "zeros": 4, "constant": 8, "map_1x1": 16, "large_1x1_constant": 16, "large_1e4": 64}

# (module, how, dtype, case) -> why it cannot meet K[case] * eps, with the error measured on CPU (torch 2.x)
KNOWN = {
    ("GAM", "autocast", "float16", "large_1e4"): "GAM's 7x7 convs output ~1e5 on |x| ~ 1e4, beyond fp16's 65504: "
                                                 "measured relative RMS error 0.315 (645 eps) > 64 eps",
    ("GAM", "cast", "float16", "large_1e4"): "GAM's 7x7 convs output ~1e5 on |x| ~ 1e4, beyond fp16's 65504: "
                                             "measured relative RMS error 0.315 (646 eps) > 64 eps",
    ("NAM", "cast", "float16", "large_1x1_constant"): "sigmoid(bn(x) * share) ~ e^-60 on x = -1e4: the fp32 outputs "
                                                      "(~1e-22) lie below fp16's smallest subnormal (6e-8) and flush "
                                                      "to 0 in a half() model: measured error 0.178 (364 eps) > 16 eps",
}


def _mode_id(mode):
    device, how, dtype = mode
    return f"{device}-{how}-{str(dtype).replace('torch.', '')}"


def _run(name, device, how, dtype, x):
    """(fp32 reference on the rounded input, the module's output in ``dtype``) for input ``x``."""
    ref_module = _build(name).to(device)
    low_module = _build(name).to(device)
    if how == "cast":
        low_module = low_module.to(dtype)
    x_low = x.to(device, dtype)
    with torch.no_grad():
        ref = ref_module(x_low.float())
        if how == "autocast":
            with torch.autocast(device, dtype=dtype):
                y = low_module(x_low)
        else:
            y = low_module(x_low)
    return ref, y


@pytest.mark.parametrize("name", sorted(ATTENTION_REGISTRY))
@pytest.mark.parametrize("mode", _modes(), ids=_mode_id)
def test_low_precision_is_finite(name, mode):
    device, how, dtype = mode
    for case, x in _inputs().items():
        ref, y = _run(name, device, how, dtype, x)
        assert y.shape == x.shape, f"{name} {case}: shape {tuple(y.shape)} != {tuple(x.shape)}"
        assert torch.isfinite(ref).all(), f"{name} {case}: the fp32 reference itself is not finite"
        assert torch.isfinite(y).all(), f"{name} {case}: {(~torch.isfinite(y)).sum().item()} non-finite outputs"


def _close_cases():
    for name in sorted(ATTENTION_REGISTRY):
        for mode in _modes():
            for case in K:
                why = KNOWN.get((name, mode[1], str(mode[2]).replace("torch.", ""), case)) if mode[0] == "cpu" else None
                marks = [pytest.mark.xfail(strict=True, reason=why)] if why else []
                yield pytest.param(name, mode, case, marks=marks, id=f"{name}-{_mode_id(mode)}-{case}")


@pytest.mark.parametrize("name, mode, case", list(_close_cases()))
def test_low_precision_is_close_to_fp32(name, mode, case):
    device, how, dtype = mode
    ref, y = _run(name, device, how, dtype, _inputs()[case])
    err, bound = _rel_rms(y.float(), ref), K[case] * EPS[dtype]
    assert err <= bound, (f"{name} {how} {dtype} on {device}, {case}: relative RMS error {err:.3g} "
                          f"({err / EPS[dtype]:.1f} eps) > {K[case]} eps = {bound:.3g}")


@pytest.mark.parametrize("name", sorted(ATTENTION_REGISTRY))
def test_fp32_edge_inputs_are_finite(name):
    """The fp32 path itself must survive constant and 1x1 maps (the seeds' SimAM/SRM return NaN there)."""
    m = _build(name)
    with torch.no_grad():
        for case, x in _inputs().items():
            y = m(x)
            assert torch.isfinite(y).all(), f"{name} fp32 {case}: non-finite output"


def test_known_departures_have_their_stated_cause():
    """The KNOWN cases fail for the reason given, not another: GAM's layers leave fp16's range; NAM's outputs on
    -1e4 lie below fp16's smallest subnormal."""
    x = _inputs()["large_1e4"]
    assert _peak_layer_output(_build("GAM"), x.half().float()) > torch.finfo(torch.float16).max
    assert _peak_layer_output(_build("CBAM"), x.half().float()) < torch.finfo(torch.float16).max  # not every module
    with torch.no_grad():
        ref = _build("NAM")(_inputs()["large_1x1_constant"])
    assert 0 < ref.abs().max() < 2.0**-24  # fp16's smallest subnormal is 2^-24 ~ 6e-8
