"""Every registered attention module in fp16 and bf16: finite and close to fp32 on hard inputs.

Hard inputs are the ones that break the usual formulas: |x| up to 1e4 (SimAM's squared deviation overflows fp16's
65504), constant maps (zero variance: SimAM's energy, SRM's std), a 1x1 map (SimAM's ``n = h*w - 1 = 0``, SRM's
unbiased std) and ordinary random features. Modes: bf16 and fp16 autocast on CPU (what AMP does there), the whole module cast to
fp16 / bf16 (what ``model.half()`` inference does), and on CUDA, when present, fp16/bf16 autocast as in AMP training.

The reference is the fp32 module run on the same, already rounded input, so the test measures the module's own error:
its relative RMS distance to fp32 must stay within max(16 eps, 4 x the change that rounding the input by one eps of the
dtype causes in fp32 itself); a module that amplifies rounding (sigmoid logits of ~1e4) may amplify it in low precision
too. Where the fp32 module's own layers output values beyond the dtype's range (GAM's convs in fp16 at |x| ~ 1e4), the
dtype cannot follow and only finite output is required.
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


@pytest.mark.parametrize("name", sorted(ATTENTION_REGISTRY))
@pytest.mark.parametrize("device,how,dtype", _modes(), ids=lambda v: str(v).replace("torch.", ""))
def test_low_precision_is_finite_and_close_to_fp32(name, device, how, dtype):
    ref_module = _build(name).to(device)
    low_module = _build(name).to(device)
    if how == "cast":
        low_module = low_module.to(dtype)
    failures = []
    for case, x in _inputs().items():
        x_low = x.to(device, dtype)
        with torch.no_grad():
            ref = ref_module(x_low.float())
            # How far rounding at this dtype's precision moves the fp32 result by itself: a module whose sigmoid
            # logits reach ~1e4 on |x| ~ 1e4 (convs, MLPs) amplifies any rounding, so low precision may too.
            wiggle = 1 + EPS[dtype] * (torch.rand(x.shape, generator=torch.Generator().manual_seed(1)) * 2 - 1)
            sensitivity = _rel_rms(ref_module(x_low.float() * wiggle.to(device)), ref)
            if how == "autocast":
                with torch.autocast(device, dtype=dtype):
                    y = low_module(x_low)
            else:
                y = low_module(x_low)
        assert y.shape == x.shape, f"{name} {case}: shape {tuple(y.shape)} != {tuple(x.shape)}"
        assert torch.isfinite(ref).all(), f"{name} {case}: the fp32 reference itself is not finite"
        if not torch.isfinite(y).all():
            failures.append(f"{case}: {(~torch.isfinite(y)).sum().item()} non-finite outputs (dtype {y.dtype})")
            continue
        err, allowed = _rel_rms(y.float(), ref), max(16 * EPS[dtype], 4 * sensitivity)
        peak = _peak_layer_output(ref_module, x_low.float())
        if peak > torch.finfo(dtype).max:
            # The fp32 module's own layers leave the dtype's range (GAM's 7x7 convs reach ~1e5 on |x| ~ 1e4): no
            # computation in this dtype can follow them, so only finite output is required there.
            continue
        if err > allowed:
            failures.append(f"{case}: relative RMS error {err:.3g} > {allowed:.3g} (= max(16 eps, 4 x input-rounding "
                            f"sensitivity {sensitivity:.3g}))")
    assert not failures, f"{name} {how} {dtype} on {device}:\n" + "\n".join(failures)


@pytest.mark.parametrize("name", sorted(ATTENTION_REGISTRY))
def test_fp32_edge_inputs_are_finite(name):
    """The fp32 path itself must survive constant and 1x1 maps (the seeds' SimAM/SRM return NaN there)."""
    m = _build(name)
    with torch.no_grad():
        for case, x in _inputs().items():
            y = m(x)
            assert torch.isfinite(y).all(), f"{name} fp32 {case}: non-finite output"
