"""``--seed`` values end where a ``key=value`` setting begins (issue 27): ``--seed 0 warmup_epochs=4`` trains seed 0
with warmup_epochs 4 instead of failing with ``argument --seed: invalid int value``."""

import pytest

from yolo_attn.cli.ablate import build_parser
from yolo_attn.cli.passthrough import end_values_at_settings, pass_through
from yolo_attn.cli.train import parse_args


@pytest.mark.parametrize("argv, seeds, extra", [
    (["--seed", "0", "warmup_epochs=4"], [0], ["warmup_epochs=4"]),
    (["--seed", "0", "1", "2", "lr0=0.01", "warmup_epochs=4", "--epochs", "2"], [0, 1, 2],
     ["lr0=0.01", "warmup_epochs=4"]),
    (["mosaic=0", "--seed", "3", "lr0=0.01"], [3], ["mosaic=0", "lr0=0.01"]),
    (["--seed", "5"], [5], []),
])
def test_train_seed_values_end_at_a_setting(argv, seeds, extra):
    args, rest = parse_args(argv)
    assert args.seed == seeds
    assert rest == extra
    assert set(pass_through(rest)) == {w.split("=")[0] for w in extra}


def test_a_word_after_the_settings_is_not_a_seed():
    """Only the words before the first setting are seeds: a number after it is an unrecognised argument."""
    args, rest = parse_args(["--seed", "0", "lr0=0.01", "7"])
    assert args.seed == [0] and rest == ["lr0=0.01", "7"]


def test_ablate_seed_values_end_at_a_setting():
    args, rest = build_parser().parse_known_args(end_values_at_settings(["--seed", "0", "1", "warmup_epochs=4"]))
    assert args.seed == [0, 1] and rest == ["warmup_epochs=4"]


def test_unchanged_without_seed():
    argv = ["--cfg", "yolov5n.yaml", "lr0=0.01", "--epochs", "1"]
    assert end_values_at_settings(argv) == argv


def test_ablate_passes_protocol_to_every_cell():
    """``ablate_attn.py --protocol yolov5``: every cell trains with the same validation protocol (issue 27)."""
    from yolo_attn.cli.ablate import common_train_argv

    argv = common_train_argv(["--protocol", "yolov5", "--epochs", "1"])
    assert argv[argv.index("--protocol") + 1] == "yolov5"
    assert "--protocol" not in common_train_argv(["--epochs", "1"])  # the default stays implicit
