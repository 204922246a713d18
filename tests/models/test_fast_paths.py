"""The fast paths compute the seed's function: inference in-place tails, the EMA/SRM/CBAM rewrites, torch.compile.

``test_modules_equivalence.py`` holds every module to the seed with autograd on; these tests cover what it cannot
reach: the no-grad / inference-mode branches, inputs that stress the rewritten statistics (large offsets, near-constant
maps, odd sizes, channels-last), the EMA closed forms on their own, and the modules under ``torch.compile``.
"""

import copy
import io
import pickle

import pytest
import torch
import torch.nn.functional as F

from yolo_attn.reference import seed
from module_checks import DEVICES, randomise
import yolo_attn
from yolo_attn import CBAM, EMA, SE, SRM, SimAM, compile_attention
from yolo_attn.engine.compile import attention_modules, compile_attention_callback, is_compiled
from yolo_attn.models.ema import _conv3x3_single_output
from yolo_attn.models.srm import style_stats

C = 64
SEEDS = {
    "SE": (lambda: seed.SElayer(C, 16), lambda: SE(C, 16)),
    "CBAM": (lambda: seed.CBAM(C, 16, 7), lambda: CBAM(C, 16, 7)),
    "SimAM": (lambda: seed.Simam_module(C, 1e-4), lambda: SimAM(C, 1e-4)),
    "SRM": (lambda: seed.SRMLayer(C), lambda: SRM(C)),
    "EMA": (lambda: seed.EMA(C, factor=8), lambda: EMA(C, 8)),
}


def _pair(name):
    """(seed, ours) holding the same random numbers, BatchNorm statistics included."""
    ref, ours = SEEDS[name][0](), SEEDS[name][1]()
    randomise(ref, seed=3)
    state = dict(ref.state_dict())
    if name == "SRM":
        state["cfc"] = state.pop("cfc.weight").view(-1, 2)
    ours.load_state_dict(state)
    return ref, ours


def _inputs():
    g = torch.Generator().manual_seed(0)
    # samples of different spread: SRM's train-mode BatchNorm over a batch of 2 near-equal styles divides by ~sqrt(eps)
    # and would turn fp32 rounding into 1e-4 differences for any implementation, the seed's own var included
    base = torch.randn(2, C, 12, 10, generator=g) * torch.tensor([1.0, 2.5]).view(2, 1, 1, 1)
    return {
        "randn*3": base * 3,
        "offset (mean 4x std)": base + 4.0,  # cancellation in sum(x^2) - n mean^2
        "near-constant": 2.0 + 1e-2 * base,  # tiny variance under a large mean: GroupNorm / std precision
        "odd 3x5x7": torch.randn(3, C, 5, 7, generator=g) * 2,
        "2x2 map": torch.randn(2, C, 2, 2, generator=g),
        "channels_last": (base * 2).contiguous(memory_format=torch.channels_last),
    }


MODES = {
    "no_grad": torch.no_grad,
    "inference_mode": torch.inference_mode,
}


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("mode", list(MODES))
@pytest.mark.parametrize("name", list(SEEDS))
def test_inference_paths_equal_the_seed(name, mode, device):
    ref, ours = _pair(name)
    if device == "cuda":
        torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False  # see module_checks
    ref.to(device), ours.to(device)
    for train in (False, True):  # eval, and train-mode statistics (SRM's BatchNorm) without autograd
        ref.train(train), ours.train(train)
        for case, x in _inputs().items():
            x = x.to(device)
            with torch.no_grad():
                expected = ref(x.clone())
            x_in = x.clone()
            with MODES[mode]():
                y = ours(x_in)
            torch.testing.assert_close(y, expected, atol=1e-5, rtol=1e-5, msg=lambda m: f"{name} {mode} train={train} {case}: {m}")
            torch.testing.assert_close(x_in, x, rtol=0, atol=0, msg=f"{name} modified its input in place ({case})")
        # running statistics after the train-mode passes: only SRM has any (its BatchNorm), the others none
        ours_b, ref_b = dict(ours.named_buffers()), dict(ref.named_buffers())
        assert list(ours_b) == list(ref_b) == (["bn.running_mean", "bn.running_var", "bn.num_batches_tracked"]
                                               if name == "SRM" else [])
        for k in ours_b:
            torch.testing.assert_close(ours_b[k].float(), ref_b[k].float(), atol=1e-6, rtol=1e-5, msg=f"{name} {mode} {k}")


def _grads(module, x, w):
    x = x.clone().requires_grad_()
    module.zero_grad()
    y = module(x)
    (y * w.to(y.dtype)).sum().backward()
    return y.detach(), [x.grad] + [p.grad.reshape(-1) for p in module.parameters() if p.grad is not None]


@pytest.mark.parametrize("name", list(SEEDS))
def test_training_gradients_on_hard_inputs_equal_the_seed(name):
    """Output and every gradient as close to the seed run in fp64 (the exact function) as the seed in fp32 is."""
    ref, ours = _pair(name)
    ref64 = copy.deepcopy(ref).double()
    for m in (ref, ours, ref64):
        m.train()
    for case in ("offset (mean 4x std)", "near-constant", "odd 3x5x7", "channels_last"):
        x = _inputs()[case]
        w = torch.randn(x.shape, generator=torch.Generator().manual_seed(5))
        y64, g64 = _grads(ref64, x.double(), w)
        y32, g32 = _grads(ref, x, w)
        y, g = _grads(ours, x, w)
        torch.testing.assert_close(y, y32, atol=1e-5, rtol=1e-5, msg=lambda m: f"{name} {case}: {m}")
        assert len(g) == len(g64)
        for k, (ours_g, seed_g, exact) in enumerate(zip(g, g32, g64)):
            exact = exact.float()
            scale = exact.abs().max().clamp(min=1e-3)
            seed_err = ((seed_g - exact).abs().max() / scale).item()
            err = ((ours_g - exact).abs().max() / scale).item()
            assert err <= max(1e-5, 4 * seed_err), f"{name} {case} grad {k}: error {err:.2e} vs seed's {seed_err:.2e}"


def test_cbam_in_place_tail_is_skipped_when_a_hook_holds_the_intermediate():
    """The inference path scales the channel-attention output in place; a hook that kept it must see it unscaled."""
    ref, ours = _pair("CBAM")
    ref.eval(), ours.eval()
    x = _inputs()["randn*3"]
    seen = {}
    h = ours.spatialattention.register_forward_pre_hook(lambda m, args: seen.__setitem__("x", args[0]))
    try:
        with torch.no_grad():
            y = ours(x)
            expected_mid = ref.channelattention(x)
    finally:
        h.remove()
    torch.testing.assert_close(seen["x"], expected_mid, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(y, ref(x), atol=1e-5, rtol=1e-5)


def test_srm_style_stats_equal_var_mean():
    g = torch.Generator().manual_seed(0)
    for flat in (torch.randn(4, 16, 300, generator=g) * 5 + 20, torch.full((2, 3, 9), 7.0), torch.randn(2, 3, 2, generator=g)):
        mean, std = style_stats(flat)
        var_ref, mean_ref = torch.var_mean(flat, -1, correction=1)
        torch.testing.assert_close(mean, mean_ref, atol=1e-5, rtol=1e-6)
        torch.testing.assert_close(std, var_ref.sqrt(), atol=2e-3 if flat.std() == 0 else 1e-5, rtol=1e-4)
        assert torch.isfinite(std).all()


def test_srm_trace_keeps_large_mean_inputs_exact():
    """A trace (TorchScript, ONNX export) must not freeze the streaming-variance shortcut taken on its example input."""
    import warnings

    g = torch.Generator().manual_seed(0)
    srm = SRM(8).eval()
    with torch.no_grad():
        srm.cfc[:, 1].copy_(torch.randn(8, generator=g))  # weight on the std only: the mean (1e3) would saturate
        srm.bn.running_var.fill_(1e-4)  # std ~ 1e-2 -> BatchNorm output ~ 1: the std decides the weights
        example = torch.randn(1, 8, 16, 16, generator=g)  # mean ~ 0: eager takes the streaming shortcut here
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the 1x1-map branch on the spatial size is a TracerWarning
            traced = torch.jit.trace(srm, example)
        hard = torch.randn(1, 8, 16, 16, generator=g) * 1e-2 + 1e3  # mean^2 / var = 1e10: the shortcut loses all digits
        torch.testing.assert_close(traced(hard), srm(hard), atol=1e-5, rtol=1e-5)
        var, _ = torch.var_mean(hard.flatten(2), -1, correction=1)
        z = (hard.mean((2, 3)) * srm.cfc[:, 0] + var.sqrt() * srm.cfc[:, 1] - srm.bn.running_mean) / (1e-4 + srm.bn.eps) ** 0.5
        torch.testing.assert_close(traced(hard), hard * torch.sigmoid(z)[..., None, None], atol=1e-4, rtol=1e-5)




@pytest.mark.parametrize("hw", [(8, 6), (1, 1)])
def test_channel_scale_backward_passes_gradcheck(hw):
    from yolo_attn.models._scale import scale_channels

    x = torch.randn(2, 3, *hw, dtype=torch.float64, requires_grad=True)
    w = torch.rand(2, 3, 1, 1, dtype=torch.float64, requires_grad=True)
    assert type(scale_channels(x, w).grad_fn).__name__ == "_ChannelScaleBackward"
    assert torch.autograd.gradcheck(scale_channels, (x, w))
    assert scale_channels(x.detach(), w.detach()).grad_fn is None  # inference: the plain product


def test_channel_scale_mixed_dtypes_give_autograds_gradients():
    """Under autocast the weights and the map can differ in dtype: the mul + sum branch, same as autograd."""
    from yolo_attn.models._scale import scale_channels

    x = torch.randn(2, 3, 5, 4, dtype=torch.float64, requires_grad=True)
    w = torch.rand(2, 3, 1, 1, requires_grad=True)  # float32
    g = torch.randn(2, 3, 5, 4, dtype=torch.float64)
    grads = torch.autograd.grad(scale_channels(x, w), (x, w), g)
    expected = torch.autograd.grad(x * w, (x, w), g)
    for got, want in zip(grads, expected):
        assert got.dtype == want.dtype
        torch.testing.assert_close(got, want)



@pytest.mark.parametrize("make", [lambda: SE(16, 4), lambda: SRM(16), lambda: CBAM(16, 4).channelattention],
                         ids=["SE", "SRM", "CBAM-channel"])
def test_channel_modules_train_through_the_channel_scale_backward(make):
    """Their gradients against the seed are checked in test_modules_equivalence; here, that training takes this path."""
    x = torch.randn(2, 16, 6, 5, requires_grad=True)
    assert type(make().train()(x).grad_fn).__name__ == "_ChannelScaleBackward"
    with torch.no_grad():
        assert make().eval()(x).grad_fn is None

def test_se_training_backward_equals_the_seed_at_full_size():
    """The bmm backward against the seed's autograd, input and weight gradients, at a full feature-map size."""
    ref = seed.SElayer(64, 16)
    ours = SE(64, 16)
    ours.load_state_dict(ref.state_dict())
    x = torch.randn(2, 64, 40, 40, requires_grad=True)
    x2 = x.detach().clone().requires_grad_()
    g = torch.randn_like(x)
    ref(x).backward(g)
    y = ours(x2)
    assert type(y.grad_fn).__name__ == "_ChannelScaleBackward"
    y.backward(g)
    torch.testing.assert_close(x2.grad, x.grad, atol=1e-5, rtol=1e-5)
    for p_ref, p in zip(ref.parameters(), ours.parameters()):
        torch.testing.assert_close(p.grad, p_ref.grad, atol=1e-4, rtol=1e-4)

@pytest.mark.parametrize("e_lambda", [1e-4, 0.1])
@pytest.mark.parametrize("shape", [(2, 3, 5, 4), (1, 2, 1, 6), (2, 2, 1, 1)], ids=["5x4", "1x6", "1x1"])
def test_simam_hand_written_backward_passes_gradcheck(shape, e_lambda):
    """The eager training path's backward (derived by hand) against numerical gradients, in float64."""
    m = SimAM(e_lambda=e_lambda).train()
    x = (torch.randn(shape, dtype=torch.float64) * 2).requires_grad_()
    assert type(m(x).grad_fn).__name__ == "_SimAMFunctionBackward"  # the path under test is the one training runs
    assert torch.autograd.gradcheck(m, (x,))


def test_simam_training_path_equals_the_seed_and_keeps_only_x():
    seed_m, m = seed.Simam_module(e_lambda=1e-4), SimAM(e_lambda=1e-4)
    x = (torch.randn(2, 8, 7, 6) * 3).requires_grad_()
    x2 = x.detach().clone().requires_grad_()
    saved = []
    with torch.autograd.graph.saved_tensors_hooks(lambda t: saved.append(t) or t, lambda t: t):
        y = m(x2)
    assert len(saved) == 1 and saved[0] is x2  # autograd on the formula keeps four full-size maps besides x
    g = torch.randn_like(x)
    seed_m(x).backward(g)
    y.backward(g)
    torch.testing.assert_close(y, seed_m(x), atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(x2.grad, x.grad, atol=1e-5, rtol=1e-5)
    with pytest.raises(RuntimeError, match="once_differentiable|does not require grad"):  # never a wrong 2nd order
        (gx,) = torch.autograd.grad(m(x2).sum(), x2, create_graph=True)
        gx.sum().backward()


def test_simam_training_path_in_half_precision_is_finite_and_close_to_fp32():
    x = (torch.randn(2, 8, 9, 9) * 300).requires_grad_()  # (x - mu)^2 > fp16's max: stats must run in fp32
    xh = x.detach().half().requires_grad_()
    g = torch.randn_like(x)
    SimAM()(x).backward(g)
    SimAM()(xh).backward(g.half())
    assert xh.grad.dtype == torch.float16 and torch.isfinite(xh.grad).all()
    torch.testing.assert_close(xh.grad.float(), x.grad, atol=2e-2, rtol=1e-2)

@pytest.mark.parametrize("hw", [(9, 7), (1, 5), (4, 1), (1, 1), (2, 2)])
def test_ema_single_output_conv_equals_conv2d(hw):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(5, 8, *hw, generator=g)
    k = torch.randn(8, 3, 3, generator=g)
    torch.testing.assert_close(_conv3x3_single_output(x, k), F.conv2d(x, k[None], padding=1), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("hw", [(9, 7), (1, 5), (4, 1), (1, 1)])
def test_ema_conv3x3_mean_from_border_sums_equals_the_conv(hw):
    m = EMA(C, 8)
    torch.nn.init.normal_(m.conv3x3.bias)
    x = torch.randn(2 * 8, C // 8, *hw) * 3 + 1
    x_h = x.mean(3, keepdim=True)
    x_w = x.mean(2, keepdim=True).transpose(2, 3)
    torch.testing.assert_close(m._conv3x3_mean(x, x_h, x_w), m.conv3x3(x).mean((2, 3)), atol=1e-5, rtol=1e-5)


def test_compile_attention_compiles_each_module_in_place_and_keeps_state_and_pickling():
    model = torch.nn.Sequential(torch.nn.Conv2d(3, C, 3, padding=1), SimAM(C), torch.nn.Conv2d(C, C, 1), SE(C, 16))
    keys = list(model.state_dict())
    assert compile_attention(model) is model
    assert [n for n, _ in attention_modules(model)] == ["1", "3"]
    assert is_compiled(model[1]) and is_compiled(model[3]) and not is_compiled(model[0])
    assert list(model.state_dict()) == keys  # no _orig_mod. prefix: checkpoints stay interchangeable
    for m in (copy.deepcopy(model), pickle.loads(pickle.dumps(model))):  # ultralytics' EMA copy and checkpoints
        assert not is_compiled(m[1]) and list(m.state_dict()) == keys
    buf = io.BytesIO()
    torch.save(model, buf)
    assert torch.load(io.BytesIO(buf.getvalue()), weights_only=False)[1].e_lambda == 1e-4
    with pytest.raises(ValueError, match="no attention module"):
        compile_attention(torch.nn.Sequential(torch.nn.Conv2d(3, 8, 1)))

    class Trainer:  # what ultralytics passes to callbacks: the model being trained is trainer.model
        model = torch.nn.Sequential(torch.nn.Conv2d(3, C, 1), CBAM(C))

    compile_attention_callback(Trainer)
    assert is_compiled(Trainer.model[1]) and not is_compiled(Trainer.model[1].channelattention)



def test_compile_attention_exclude_leaves_the_named_modules_eager():
    model = torch.nn.Sequential(SE(C, 16), EMA(C, 8), SimAM(C))
    compile_attention(model, exclude=("EMA",))
    assert is_compiled(model[0]) and not is_compiled(model[1]) and is_compiled(model[2])
    compile_attention(ema_only := torch.nn.Sequential(EMA(C, 8), SE(C, 16)), exclude="SE")  # one name as a string
    assert is_compiled(ema_only[0]) and not is_compiled(ema_only[1])
    with pytest.raises(ValueError, match=r"exclude=\['Ema'\] names no registered.*registered: .*EMA"):
        compile_attention(torch.nn.Sequential(EMA(C, 8)), exclude=["Ema"])
    with pytest.raises(ValueError, match=r"no attention module .*left after exclude=\['EMA'\]"):
        compile_attention(torch.nn.Sequential(EMA(C, 8)), exclude=["EMA"])

class _Side(torch.nn.Module):
    """Modules side by side on one input, so one compiled graph covers all of them."""

    def __init__(self, mods):
        super().__init__()
        self.mods = torch.nn.ModuleList(mods)

    def forward(self, x):
        return [m(x) for m in self.mods]


def test_compiled_modules_equal_the_seed_in_training():
    """torch.compile (inductor, C++ on CPU) of SimAM and SRM, training: outputs, input gradients, BatchNorm state.

    One graph (forward + backward) keeps the cold-cache compile inside the suite's budget; SimAM is the module the
    compiler changes most (one fused kernel instead of five passes), SRM the one with a compile-only branch
    (``torch.var_mean`` in ``style_stats``) and train-mode state. ``python -m yolo_attn.tools.bench`` compiles all five
    at full size, forward and forward+backward, and checks each compiled output against eager before timing it.
    """
    names = ["SimAM", "SRM"]
    pairs = [_pair(n) for n in names]
    refs, ours = _Side([p[0] for p in pairs]).train(), _Side([p[1] for p in pairs]).train()
    compiled = torch.compile(ours, fullgraph=True, dynamic=False)  # compile_attention's default
    x = _inputs()["randn*3"] + 1.0
    w = torch.randn(x.shape, generator=torch.Generator().manual_seed(5))
    xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
    ya, yb = refs(xa), compiled(xb)
    for name, y, y_ref in zip(names, yb, ya):
        torch.testing.assert_close(y, y_ref, atol=1e-5, rtol=1e-5, msg=lambda m: f"compiled {name} train: {m}")
    sum((y * w).sum() for y in ya).backward()
    sum((y * w).sum() for y in yb).backward()
    torch.testing.assert_close(xb.grad, xa.grad, atol=1e-4, rtol=1e-4)
    ref_srm, our_srm = pairs[1]
    torch.testing.assert_close(our_srm.cfc.grad, ref_srm.cfc.weight.grad.view(-1, 2), atol=1e-3, rtol=1e-4)
    torch.testing.assert_close(our_srm.bn.running_var, ref_srm.bn.running_var, atol=1e-6, rtol=1e-5)
    assert yolo_attn.compile_attention is compile_attention


def test_ema_closed_form_has_the_seed_forms_gradients():
    """EMA's closed form (inference, torch.compile) is differentiable to the same gradients as the seed's form."""
    _, m = _pair("EMA")
    x = _inputs()["odd 3x5x7"] + 0.5
    w = torch.randn(x.shape[0] * 8, 1, *x.shape[2:], generator=torch.Generator().manual_seed(2))
    xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
    la, lb = m._logits_autograd(xa), m._logits(xb)
    torch.testing.assert_close(lb, la, atol=1e-5, rtol=1e-5)
    ga = torch.autograd.grad((la * w).sum(), [xa, *m.parameters()])
    gb = torch.autograd.grad((lb * w).sum(), [xb, *m.parameters()], allow_unused=True)
    for k, (a, b) in enumerate(zip(ga, gb)):
        torch.testing.assert_close(b if b is not None else torch.zeros_like(a), a, atol=1e-4, rtol=1e-4, msg=f"grad {k}")
