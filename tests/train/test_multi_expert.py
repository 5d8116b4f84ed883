"""Multi-expert models and methods: parameter counts from the authors' architecture descriptions (hand arithmetic),
the aggregation rules computed a second way, FCC's placements, the refusals, and each digits config training."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from fcc_theory.errors import UserError
from fcc_train.config import load_config
from fcc_train.methods import DataInfo, build_method
from fcc_train.models import build_model

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
COUNTS = [60, 40, 25, 16, 10, 6]


# -- parameter counts by hand -----------------------------------------------------------------------------------


def conv(cin: int, cout: int, k: int = 3, groups: int = 1) -> int:
    return k * k * cin * cout // groups


def bn(c: int) -> int:
    return 2 * c


def basic(cin: int, c: int) -> int:  # option-A shortcut: no parameters
    return conv(cin, c) + bn(c) + conv(c, c) + bn(c)


def cifar_stage(cin: int, c: int, n: int) -> int:
    return basic(cin, c) + (n - 1) * basic(c, c)


CIFAR_STEM = conv(3, 16) + bn(16)
RESNET32 = CIFAR_STEM + cifar_stage(16, 16, 5) + cifar_stage(16, 32, 5) + cifar_stage(32, 64, 5)


def bottleneck(cin: int, w: int, stride: int, g: int = 1, bw: int = 64) -> int:
    mid, out = int(w * bw / 64) * g, 4 * w
    p = conv(cin, mid, 1) + bn(mid) + conv(mid, mid, 3, g) + bn(mid) + conv(mid, out, 1) + bn(out)
    return p + (conv(cin, out, 1) + bn(out) if stride != 1 or cin != out else 0)


def inet_stage(cin: int, w: int, n: int, stride: int, g: int = 1, bw: int = 64) -> int:
    return bottleneck(cin, w, stride, g, bw) + (n - 1) * bottleneck(4 * w, w, 1, g, bw)


INET_STEM = conv(3, 64, 7) + bn(64)


def _params(overrides: list[str], classes: int, channels: int = 3) -> int:
    return sum(p.numel() for p in build_model(load_config(None, overrides), classes, channels).parameters())


def test_hand_arithmetic_matches_the_single_backbones():
    assert RESNET32 + 64 * 10 + 10 == 464_154  # LDAM-DRW's ResNet-32 (0.46M)
    r50 = (
        INET_STEM
        + inet_stage(64, 64, 3, 1)
        + inet_stage(256, 128, 4, 2)
        + inet_stage(512, 256, 6, 2)
        + inet_stage(1024, 512, 3, 2)
    )
    assert r50 + 2048 * 1000 + 1000 == 25_557_032  # torchvision's ResNet-50


SPLIT = ["model.experts=split", "model.expert_width=0.75", "model.head=cosine"]


def test_ride_sade_cifar_resnet32_three_experts():
    # shared stem + stage 1 (16); per expert stages 2-3 at 24/48 (reduce_dimension) and a cosine head (C × 48, no bias)
    expert = cifar_stage(16, 24, 5) + cifar_stage(24, 48, 5) + 48 * 100
    assert _params(SPLIT, 100) == CIFAR_STEM + cifar_stage(16, 16, 5) + 3 * expert == 783_856


def test_ncl_three_full_resnet32():
    assert _params(["model.experts=independent"], 100) == 3 * (RESNET32 + 64 * 100 + 100) == 1_410_012


def test_bbn_resnet32_two_branches():
    trunk = CIFAR_STEM + cifar_stage(16, 16, 5) + cifar_stage(16, 32, 5) + cifar_stage(32, 64, 4)
    assert _params(["model.experts=bilateral"], 100) == trunk + 2 * basic(64, 64) + 128 * 100 + 100 == 550_388


@pytest.mark.slow
def test_imagenet_multi_expert_backbones():
    shared = INET_STEM + inet_stage(64, 64, 3, 1, 32, 4) + inet_stage(256, 128, 4, 2, 32, 4)
    expert = inet_stage(512, 192, 6, 2, 32, 4) + inet_stage(768, 384, 3, 2, 32, 4) + 1536 * 1000
    sade = ["model.arch=resnext50", "model.shared_stages=2", *SPLIT]
    assert _params(sade, 1000) == shared + 3 * expert
    trunk = (
        INET_STEM
        + inet_stage(64, 64, 3, 1)
        + inet_stage(256, 128, 4, 2)
        + inet_stage(512, 256, 6, 2)
        + inet_stage(1024, 512, 2, 2)
    )
    bbn = trunk + 2 * bottleneck(2048, 512, 1) + 4096 * 1000 + 1000
    assert _params(["model.arch=resnet50", "model.experts=bilateral"], 1000) == bbn


# -- forwards and aggregation -----------------------------------------------------------------------------------

DIGITS = ["model.arch=resnet_small", "data.dataset=digits"]


def _model(over: list[str]) -> torch.nn.Module:
    torch.manual_seed(0)
    return build_model(load_config(None, DIGITS + over), len(COUNTS), 1).eval()


def test_forward_is_the_weighted_sum_of_the_experts():
    m = _model(SPLIT)
    x = torch.randn(4, 1, 8, 8)
    m.expert_weights.copy_(torch.tensor([0.2, 0.5, 0.3]))
    z = m.expert_logits(m.expert_features(m.shared_map(x)))
    by_hand = 0.2 * z[0] + 0.5 * z[1] + 0.3 * z[2]
    torch.testing.assert_close(m(x), by_hand)
    assert not torch.allclose(m(x), sum(z) / 3)  # not the uniform mean once weights are set


def _method(over: list[str]):
    cfg = load_config(None, DIGITS + over)
    return build_method(cfg, DataInfo(class_counts=COUNTS, epochs=10))


def test_bbn_test_rule_is_the_training_mix_at_one_half():
    m = _model(["model.experts=bilateral"])
    meth = _method(["model.experts=bilateral", "method.loss=bbn"])
    meth.alpha.fill_(0.5)
    x = torch.randn(5, 1, 8, 8)
    from fcc_train.methods import Batch

    y = torch.zeros(10, dtype=torch.long)
    z = meth.expert_forward(m, Batch(torch.cat((x, x)), y), None)[0]
    torch.testing.assert_close(z, m(x))  # 2·[0.5 f_c, 0.5 f_r] = [f_c, f_r]


def test_bbn_alpha_follows_the_epoch_and_the_second_stream_is_reversed():
    meth = _method(["model.experts=bilateral", "method.loss=bbn"])
    meth.on_epoch_start(6)
    assert float(meth.alpha) == pytest.approx(1 - (5 / 10) ** 2)
    p = meth.paired_sampling(1)
    assert p is not None and bool((p[1:] > p[:-1]).all())  # rarer classes drawn more often


def _logits(placement: str, over: list[str], fcc: bool):
    from fcc_train.methods import Batch

    m = _model(over).train()  # batch statistics in BN, as in training (in eval mode a fresh net is positively homogeneous)
    meth = _method(
        [
            *over,
            f"method.loss={'sade' if 'model.experts=split' in over else 'ncl'}",
            f"fcc.placement={placement}",
            "fcc.enabled=true",
        ]
    )
    tau = torch.linspace(1.5, 1.0, len(COUNTS))
    x, y = torch.randn(6, 1, 8, 8), torch.tensor([0, 1, 2, 3, 4, 5])
    return meth.expert_forward(m, Batch(x, y), tau if fcc else None), tau[y]


def test_fcc_at_the_features_cancels_in_cosine_heads():
    on, _ = _logits("features", SPLIT, True)
    off, _ = _logits("features", SPLIT, False)
    torch.testing.assert_close(on, off, rtol=1e-5, atol=1e-5)


def test_fcc_at_the_logits_scales_each_expert_and_shared_changes_them():
    on, tau = _logits("logits", SPLIT, True)
    off, _ = _logits("logits", SPLIT, False)
    torch.testing.assert_close(on, off * tau[None, :, None])
    shared, _ = _logits("shared", SPLIT, True)
    assert not torch.allclose(shared, off, atol=1e-3)
    lin_on, _ = _logits("features", ["model.experts=independent"], True)
    lin_off, _ = _logits("features", ["model.experts=independent"], False)
    assert not torch.allclose(lin_on, lin_off, atol=1e-3)  # a linear head: FCC at the features acts


# -- refusals ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "over, needle",
    [
        (["fcc.placement=shared"], "needs a multi-expert model"),
        (["model.experts=split"], "needs a multi-expert method"),
        (["method.loss=sade", "model.experts=independent"], "needs model.experts: split"),
        (["method.loss=sade", "model.experts=split", "model.num_experts=2"], "3 experts"),
        (["method.loss=ncl", "model.experts=independent", "fcc.enabled=true", "fcc.placement=shared"], "share none"),
        (["method.loss=bbn", "model.experts=bilateral", "fcc.enabled=true", "fcc.placement=logits"], "two samples"),
        (["method.loss=ncl", "model.experts=independent", "method.mixup=input"], "no mixup"),
    ],
)
def test_bad_combinations_are_refused_in_one_line(over, needle):
    with pytest.raises(UserError, match=needle):
        _method(over)


def test_a_single_method_refuses_a_multi_expert_model_and_stacking_refuses_it():
    from fcc_train.fleet.stacked_model import stack_resnets
    from fcc_train.methods import Method
    from fcc_train.train.forward import TrainForward

    m = _model(SPLIT)
    with pytest.raises(UserError, match="multi-expert"):
        TrainForward(m, Method(load_config(None, DIGITS), DataInfo(COUNTS, 2)), torch.ones(len(COUNTS)))
    with pytest.raises(UserError, match="single model"):
        stack_resnets([m, m])


# -- every digits config trains, raw and +FCC --------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("key", ["sade", "ncl", "ride", "bbn"])
@pytest.mark.parametrize("fcc", [False, True])
def test_digits_config_trains(key, fcc, tmp_path):
    from fcc_train.train.loop import run_training

    path = CONFIGS / "digits" / f"{key}{'_fcc' if fcc else ''}.yaml"
    over = [
        "optim.epochs=2",
        "fcc.start_epoch=0",
        "train.progress=none",
        "method.drw_start_epoch=1" if key == "ride" else "train.threads=1",
    ]
    if key == "sade":
        over.append("method.sade_test_time_epochs=1")
    cfg = load_config(path, over)
    assert run_training(cfg, tmp_path / "run") == 0
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["done"] and 0.0 <= summary["last_top1_error"] <= 100.0
    if key == "sade":  # the test-time aggregation installed weights that sum to 1
        ck = torch.load(tmp_path / "run" / "checkpoints" / "last.pt", weights_only=False)
        w = ck["model"]["expert_weights"]
        assert float(w.sum()) == pytest.approx(1.0) and not torch.allclose(w, torch.full((3,), 1 / 3))
