"""Each module computes the seed code's function: same parameters -> same output (1e-5, fp32), train and eval."""

import pytest
import torch

from yolo_attn.reference import seed
from module_checks import assert_same_function, over_cases_shapes_modes_devices, randomise
from yolo_attn import CBAM, EMA, SE, SRM, SimAM

SHAPES = [(2, 64, 8, 8), (3, 64, 5, 7), (4, 64, 1, 9), (2, 64, 20, 20)]


def _copy_seed_into_ours(ref: torch.nn.Module, ours: torch.nn.Module) -> None:
    state = dict(ref.state_dict())
    if isinstance(ours, SRM):  # documented layout difference: Conv1d weight (C, 1, 2) -> cfc (C, 2)
        state["cfc"] = state.pop("cfc.weight").view(-1, 2)
    ours.load_state_dict(state, strict=True)


def _assert_same(ref, ours, shape, train: bool, device: str = "cpu"):
    randomise(ref)
    _copy_seed_into_ours(ref, ours)
    assert_same_function(ref, ours, shape, train, device=device)


CASES = {
    "SE-r16": (lambda c: seed.SElayer(c, 16), lambda c: SE(c, 16)),
    "SE-r4": (lambda c: seed.SElayer(c, 4), lambda c: SE(c, 4)),
    "CBAM-r16-k7": (lambda c: seed.CBAM(c, 16, 7), lambda c: CBAM(c, 16, 7)),
    "CBAM-r8-k3": (lambda c: seed.CBAM(c, 8, 3), lambda c: CBAM(c, 8, 3)),
    "SimAM-1e-4": (lambda c: seed.Simam_module(c, 1e-4), lambda c: SimAM(c, 1e-4)),
    "SimAM-0.1": (lambda c: seed.Simam_module(c, 0.1), lambda c: SimAM(c, 0.1)),
    "SRM": (lambda c: seed.SRMLayer(c), lambda c: SRM(c)),
    "EMA-f32": (lambda c: seed.EMA(c, factor=32), lambda c: EMA(c, 32)),
    "EMA-f8": (lambda c: seed.EMA(c, factor=8), lambda c: EMA(c, 8)),
    "EMA-f4": (lambda c: seed.EMA(c, factor=4), lambda c: EMA(c, 4)),
}


@over_cases_shapes_modes_devices(CASES, SHAPES)
def test_same_function_as_seed(case, shape, train, device):
    make_ref, make_ours = CASES[case]
    if case.startswith("SimAM") and shape[2] * shape[3] == 1:
        pytest.fail("1x1 maps are not in SHAPES: the seed divides by zero there")
    _assert_same(make_ref(shape[1]), make_ours(shape[1]), shape, train, device)


def test_default_arguments_match_the_papers():
    assert SE(64).fc[0].out_features == 4  # reduction 16
    cbam = CBAM(64)
    assert cbam.channelattention.fc[0].out_channels == 4 and cbam.spatialattention.conv1.kernel_size == (7, 7)
    assert SimAM().e_lambda == 1e-4
    assert EMA(64).groups == 32
    assert torch.equal(SRM(8).cfc, torch.zeros(8, 2))  # authors' zero init


def test_parameter_counts_match_the_seed():
    for make_ref, make_ours in CASES.values():
        ref, ours = make_ref(64), make_ours(64)
        assert sum(p.numel() for p in ours.parameters()) == sum(p.numel() for p in ref.parameters())


def test_simam_on_a_1x1_map_is_finite_where_the_seed_is_nan():
    x = torch.randn(2, 8, 1, 1)
    assert torch.isnan(seed.Simam_module()(x)).all()
    torch.testing.assert_close(SimAM()(x), x * torch.sigmoid(torch.tensor(0.5)))


def test_srm_on_a_1x1_map_and_a_training_batch_of_one():
    srm = SRM(8).train()
    randomise(srm)
    assert torch.isfinite(srm(torch.randn(2, 8, 1, 1))).all()  # seed: std of one value is NaN
    running = srm.bn.running_mean.clone()
    y = srm(torch.randn(1, 8, 4, 4))  # seed: "Expected more than 1 value per channel when training"
    assert y.shape == (1, 8, 4, 4) and torch.isfinite(y).all()
    assert torch.equal(srm.bn.running_mean, running)  # a batch of one does not update the running statistics
