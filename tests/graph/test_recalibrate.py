"""BatchNorm statistics after an insertion (``yolo_attn.graph.transfer.recalibrate``) and the trainer's use of it.

``--weights`` into a model with new attention layers: the BatchNorm layers fed by them (through ``from``) get their
running statistics re-estimated on training images; every other BatchNorm keeps the checkpoint's statistics bit for
bit, and no parameter changes. The neck yaml (``tests/yamls/yolov5n-se-neck.yaml``: SE at 18, 22, 26, each read by
Detect) is the case measured in docs/YOLOV5.md.
"""

from pathlib import Path

import pytest
import torch
import torch.nn as nn
from ultralytics.nn.tasks import DetectionModel

from yolo_attn import load_weights
from yolo_attn.engine.trainers import TransferMixin
from yolo_attn.graph.transfer.recalibrate import affected_layers, recalibrate_bn

YAMLS = Path(__file__).resolve().parents[1] / "yamls"
NECK = str(YAMLS / "yolov5n-se-neck.yaml")


@pytest.fixture(scope="module")
def plain_ckpt(tmp_path_factory):
    """A plain yolov5n with random weights and random BatchNorm statistics, as a checkpoint file."""
    torch.manual_seed(3)
    m = DetectionModel("yolov5n.yaml", nc=4, verbose=False)
    with torch.no_grad():
        for k, t in m.state_dict().items():
            if k.endswith("running_var"):
                t.uniform_(0.5, 2.0)
            elif t.is_floating_point():
                t.copy_(torch.randn_like(t) * 0.1)
    path = tmp_path_factory.mktemp("recal") / "plain.pt"
    torch.save({"model": m}, path)
    return path


def _neck_model(ckpt):
    m = DetectionModel(NECK, nc=4, verbose=False)
    report = load_weights(m, str(ckpt), verbose=False)
    return m, report


def _bn_state(m, layers):
    return {k: v.clone() for k, v in m.state_dict().items() if k.split(".")[1] in {str(i) for i in layers}
            and ("running_" in k or "num_batches" in k)}


def test_new_layers_and_the_layers_they_feed():
    m = DetectionModel(NECK, nc=4, verbose=False)
    # 18 -> 19 (Conv) -> 20 (Concat [-1, 14]) -> 21 (C3) -> 22 (SE) -> ... -> 26 (SE) -> 27 (Detect reads 18, 22, 26)
    assert affected_layers(m.model, [18, 22, 26]) == list(range(18, 28))
    assert affected_layers(m.model, [26]) == [26, 27]
    # SE at 18 only: layer 14 feeds 20 but is not fed by 18, so it stays out
    assert 14 not in affected_layers(m.model, [18])


def test_transfer_report_names_the_untrained_layers(plain_ckpt):
    _, report = _neck_model(plain_ckpt)
    assert report["new_layer_indices"] == [18, 22, 26]
    m = DetectionModel(NECK, nc=4, verbose=False)
    torch.save({"model": m}, plain_ckpt.with_name("neck.pt"))
    _, same = _neck_model(plain_ckpt.with_name("neck.pt"))  # the same attention at the same places: carried over
    assert same["new_layer_indices"] == []


def test_recalibration_sets_running_stats_of_affected_layers_only(plain_ckpt):
    m, report = _neck_model(plain_ckpt)
    affected = affected_layers(m.model, report["new_layer_indices"])
    untouched = [i for i in range(len(m.model)) if i not in affected]
    params = {k: v.clone() for k, v in m.named_parameters()}
    before_kept, before_new = _bn_state(m, untouched), _bn_state(m, affected)
    torch.manual_seed(0)
    batch = torch.rand(4, 3, 64, 64)
    # the input of layer 19's BatchNorm, in training mode, for the one batch used: its mean is what recalibration
    # must store (cumulative average over one batch)
    seen = {}
    bn19 = m.model[19].bn
    m.eval()
    hook = bn19.register_forward_pre_hook(lambda mod, a: seen.setdefault("x", a[0].detach().clone()))
    done = recalibrate_bn(m, report["new_layer_indices"], iter([batch, batch, batch]), batches=2)
    hook.remove()
    # 19 and 23 (Conv: 1 each), 21 and 25 (C3 at n: 5 each) and the anchor-free Detect's 12 Conv: 24
    assert done == {"layers": affected, "bn": 24, "batches": 2}
    after_kept, after_new = _bn_state(m, untouched), _bn_state(m, affected)
    assert all(torch.equal(before_kept[k], after_kept[k]) for k in before_kept)
    assert all(torch.equal(params[k], v) for k, v in m.named_parameters())
    changed = [k for k in before_new if "running_mean" in k and not torch.allclose(before_new[k], after_new[k])]
    assert len(changed) == 24
    torch.testing.assert_close(bn19.running_mean, seen["x"].mean((0, 2, 3)), rtol=1e-5, atol=1e-6)
    assert not m.training and not bn19.training  # the mode it had (eval), not update_bn's training mode


def test_trainer_recalibrates_before_the_ema_copy_and_says_so(plain_ckpt, log_lines, monkeypatch):
    """``TransferMixin.set_class_weights`` (ultralytics calls it after the dataloaders, before ``ModelEMA``)."""
    m, report = _neck_model(plain_ckpt)

    class Base:
        def set_class_weights(self):
            pass

    class Trainer(TransferMixin, Base):
        pass

    t = Trainer()
    t.model, t.transfer_report, t.resume = m, report, False
    torch.manual_seed(0)
    t.train_loader = [{"img": torch.rand(2, 3, 64, 64)} for _ in range(3)]
    t.preprocess_batch = lambda b: b
    before = m.model[19].bn.running_mean.clone()
    t.set_class_weights()
    assert not torch.equal(before, m.model[19].bn.running_mean)
    assert any("BatchNorm statistics re-estimated on 3 training batches for the 24 BatchNorm layers fed by the new "
               "attention layers 18, 22, 26" in line for line in log_lines), log_lines
    monkeypatch.setenv("YOLO_ATTN_BN_RECALIBRATE", "0")  # the documented off switch
    t.train_loader = [{"img": torch.rand(2, 3, 64, 64) * 2} for _ in range(3)]  # other images: other statistics
    kept = m.model[19].bn.running_mean.clone()
    t.set_class_weights()
    assert torch.equal(kept, m.model[19].bn.running_mean)
    monkeypatch.delenv("YOLO_ATTN_BN_RECALIBRATE")
    t.resume = True  # a resumed run has trained statistics of its own: kept
    t.train_loader = [{"img": torch.rand(2, 3, 64, 64) * 3} for _ in range(3)]
    t.set_class_weights()
    assert torch.equal(kept, m.model[19].bn.running_mean)
    t.resume = False
    t.transfer_report = {**report, "new_layer_indices": []}  # nothing new: nothing done
    t.set_class_weights()
    assert torch.equal(kept, m.model[19].bn.running_mean)
