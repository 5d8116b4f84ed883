"""FCC's τ (paper Eqs. 2-4) against an independent computation, and where FCC acts (training only)."""

from fractions import Fraction
from pathlib import Path

import pytest
import torch
import torch.nn as nn

from fcc_train.config import FCCConfig, load_config
from fcc_train.fcc import class_ranks, fcc_active, tau_by_class
from fcc_train.methods import Batch, DataInfo, Method
from fcc_train.train.engine import Engine, TrainForward, evaluate

REPO = Path(__file__).resolve().parents[2]


def independent_tau(strategy, gamma, counts, beta=0, order="frequency", decimals=None):
    """Eqs. 2-4 written out again, in floats, from the paper's text (rank 0 = majority class)."""
    C = len(counts)
    if order == "frequency":
        ranked = sorted(range(C), key=lambda j: (-counts[j], j))
        rank = {j: r for r, j in enumerate(ranked)}
    else:
        rank = {j: j for j in range(C)}
    out = []
    for j in range(C):
        i = rank[j]
        if strategy == "uniform":  # Eq. 2
            t = 1 + gamma
        elif strategy == "edc":  # Eq. 3
            t = 1 + gamma * (1 - i / C)
        else:  # Eq. 4: only the top (β=0) or bottom (β=1) half is compressed
            arg = (i - C / 2) if beta == 0 else -(i - C / 2)
            t = 1 + gamma * (1 - i / C) * (1.0 if arg < 0 else 0.0)
        out.append(round(t, decimals) if decimals is not None else t)
    return out


COUNTS = [30, 500, 7, 120, 120, 64, 5, 250, 9, 41, 18]  # label order is NOT frequency order; a tie (120, 120)


@pytest.mark.parametrize("strategy", ["uniform", "edc", "half"])
@pytest.mark.parametrize("beta", [0, 1])
@pytest.mark.parametrize("order", ["frequency", "label"])
@pytest.mark.parametrize("gamma", [0.5, 1.0, 0.1])
def test_tau_matches_independent_equations(strategy, beta, order, gamma):
    cfg = FCCConfig(enabled=True, strategy=strategy, gamma=gamma, beta=beta, order=order)
    got = tau_by_class(cfg, COUNTS).double().tolist()
    want = independent_tau(strategy, gamma, COUNTS, beta, order)
    assert got == pytest.approx(want, abs=1e-6)


def test_official_switch_label_order_and_rounding():
    # official code: τ_k = round(1 + γ − kγ/C, 2) by label id; CIFAR-100 γ=1 gives 2.00, 1.99, ..., 1.01
    counts = list(range(100, 0, -1))
    cfg = FCCConfig(enabled=True, strategy="edc", gamma=1.0, order="label", round_decimals=2)
    got = tau_by_class(cfg, counts).tolist()
    assert got == pytest.approx([round(2 - k / 100, 2) for k in range(100)])
    assert got[0] == pytest.approx(2.0) and got[-1] == pytest.approx(1.01)
    # γ = 1/3 at C = 7 is not a two-decimal number: rounding changes it
    odd = FCCConfig(enabled=True, strategy="edc", gamma=1 / 3, order="label")
    assert (
        tau_by_class(odd, [7] * 7).tolist() != tau_by_class(FCCConfig(**{**odd.__dict__, "round_decimals": 2}), [7] * 7).tolist()
    )


def _official_tau(gamma, C, k, decimals=2):
    """The official rule written independently: the float 1 + γ − k·γ/C, its exact binary value rounded half-to-even."""
    from decimal import ROUND_HALF_EVEN, Decimal

    x = 1 + gamma - k * gamma / C
    return float(Decimal(x).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_EVEN))


def _fraction_tau(gamma, C, k, decimals=2):
    """Rounding the exact fraction instead (what fcc.round_decimals did before): half-to-even on 1 + γ − k·γ/C in ℚ."""
    from decimal import ROUND_HALF_EVEN, Decimal

    t = 1 + Fraction(str(gamma)) - Fraction(k) * Fraction(str(gamma)) / C
    return float((Decimal(t.numerator) / Decimal(t.denominator)).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_EVEN))


def test_official_rounding_rounds_the_binary_float_label_37():
    # label 37 at C = 100, γ = 0.5: 1.315 in decimal, 1.31499999... in binary: officially 1.31, not 1.32
    cfg = FCCConfig(enabled=True, strategy="edc", gamma=0.5, order="label", round_decimals=2)
    got = tau_by_class(cfg, [5] * 100).double().tolist()
    assert (
        got[37] == pytest.approx(1.31, abs=1e-6) and _official_tau(0.5, 100, 37) == 1.31 and _fraction_tau(0.5, 100, 37) == 1.32
    )
    assert got == pytest.approx([_official_tau(0.5, 100, k) for k in range(100)], abs=1e-6)
    exact = tau_by_class(FCCConfig(enabled=True, strategy="edc", gamma=0.5, order="label"), [5] * 100).double().tolist()
    assert exact[37] == pytest.approx(1.315, abs=1e-6)  # fcc.round_decimals: null keeps the exact Eq. 3 value


def test_official_rounding_on_imagenet_lt_classes():
    """C = 1000, γ = 0.1 (the ImageNet-LT configs): every class as the official float rule; five differ from ℚ rounding."""
    C = 1000
    cfg = FCCConfig(enabled=True, strategy="edc", gamma=0.1, order="label", round_decimals=2)
    got = tau_by_class(cfg, [5] * C).double().tolist()
    official = [_official_tau(0.1, C, k) for k in range(C)]
    assert got == pytest.approx(official, abs=1e-6)
    moved = [k for k in range(C) if _official_tau(0.1, C, k) != _fraction_tau(0.1, C, k)]
    assert moved == [150, 350, 550, 750, 950]
    assert all(abs(got[k] - _fraction_tau(0.1, C, k)) == pytest.approx(0.01, abs=1e-6) for k in moved)
    # by frequency rank (the ImageNet-LT default order) the same values go to the classes in count order
    counts = [(7 * j) % 997 + 5 for j in range(C)]
    ranked = tau_by_class(FCCConfig(enabled=True, strategy="edc", gamma=0.1, round_decimals=2), counts).double().tolist()
    ranks = class_ranks(counts)
    assert ranked == pytest.approx([official[ranks[j]] for j in range(C)], abs=1e-6)


def test_mutated_formula_is_caught():
    """The comparison can fail: a wrong rank convention (1-based, as the paper's text could be read) differs."""
    cfg = FCCConfig(enabled=True, strategy="edc", gamma=0.5)
    got = tau_by_class(cfg, COUNTS).double().tolist()
    C = len(COUNTS)
    ranks = class_ranks(COUNTS)
    one_based = [1 + 0.5 * (1 - (ranks[j] + 1) / C) for j in range(C)]
    assert got != pytest.approx(one_based, abs=1e-6)
    assert got != pytest.approx(independent_tau("edc", 0.5, COUNTS, order="label"), abs=1e-6)


def test_frequency_ranks_majority_first_ties_by_label():
    r = class_ranks(COUNTS)
    assert r[1] == 0 and r[7] == 1 and (r[3], r[4]) == (2, 3) and r[6] == len(COUNTS) - 1
    assert class_ranks(COUNTS, "label") == list(range(len(COUNTS)))
    assert tau_by_class(FCCConfig(enabled=True), [10, 10, 10]).tolist() == pytest.approx([1.5, 1 + 0.5 * 2 / 3, 1 + 0.5 / 3])


def test_start_rule_counts_epochs_from_one():
    cfg = FCCConfig(enabled=True, start_epoch=3)
    assert [fcc_active(cfg, e) for e in (1, 2, 3, 4, 5)] == [False, False, False, True, True]
    assert not fcc_active(FCCConfig(enabled=False, start_epoch=0), 10)
    assert fcc_active(FCCConfig(enabled=True, start_epoch=0), 1)


class TinyNet(nn.Module):
    def __init__(self, C=4, d=6):
        super().__init__()
        self.stem = nn.Sequential(nn.Flatten(), nn.Linear(12, d), nn.ReLU())
        self.stages = nn.ModuleList()
        self.head = nn.Linear(d, C)
        self.feature_dim = d

    def features(self, x):
        return self.stem(x)

    def forward(self, x):
        return self.head(self.features(x))


class FixedLoader:
    def __init__(self, x, y):
        self.x, self.y = x, y

    def batches(self, probs, gen):
        yield self.x, self.y

    def eval_batches(self):
        yield self.x, self.y


def _engine(fcc_enabled: bool, model: nn.Module):
    cfg = load_config(None, [f"fcc.enabled={fcc_enabled}", "fcc.start_epoch=0", "fcc.gamma=1.0"])
    counts = [40, 20, 10, 5]
    method = Method(cfg, DataInfo(counts, 2))
    return Engine(cfg, model, method, model.parameters(), torch.device("cpu"), tau_by_class(cfg.fcc, counts)), cfg


def test_fcc_changes_training_logits_but_never_evaluation():
    torch.manual_seed(0)
    model = TinyNet()
    x, y = torch.randn(16, 3, 2, 2), torch.randint(0, 4, (16,))
    eng_on, _ = _engine(True, model)
    eng_off, _ = _engine(False, model)
    model.train()
    z_on, _ = eng_on.forward_module(Batch(x, y), None, True)
    z_off, _ = eng_off.forward_module(Batch(x, y), None, False)
    assert not torch.allclose(z_on, z_off)
    # z = τ_y (W f) + b: the bias is not scaled
    tau = eng_on.forward_module.tau_by_class[y]
    wf = z_off - model.head.bias
    torch.testing.assert_close(z_on, tau[:, None] * wf + model.head.bias)
    # evaluation: identical predictions whether or not FCC is enabled, and equal to the plain model
    loader = FixedLoader(x, y)
    p_on, _ = evaluate(eng_on, loader)
    p_off, _ = evaluate(eng_off, loader)
    model.eval()
    assert torch.equal(p_on, p_off) and torch.equal(p_on, model(x).argmax(1))


def test_train_forward_uses_method_fcc_tau_hook():
    class Doubling(Method):
        def fcc_tau(self, tau_by_class, batch):
            return torch.full((batch.labels.shape[0],), 2.0)

    cfg = load_config(None, ["fcc.enabled=true"])
    model = TinyNet()
    fwd = TrainForward(model, Doubling(cfg, DataInfo([4, 3, 2, 1], 1)), torch.ones(4))
    x, y = torch.randn(5, 3, 2, 2), torch.zeros(5, dtype=torch.long)
    z, _ = fwd(Batch(x, y), None, True)
    torch.testing.assert_close(z, 2 * (model.head.weight @ model.features(x).T).T + model.head.bias)


def test_exact_fractions_use_decimal_gamma():
    from fcc_train.fcc import tau_fractions

    assert tau_fractions(FCCConfig(enabled=True, strategy="uniform", gamma=0.1), [3, 2])[0] == Fraction(11, 10)


def test_real_model_and_loader_fcc_in_training_only():
    """The same check on the digits small ResNet and the device loader of the contract."""
    from fcc_train.data import build_datasets, make_loader
    from fcc_train.models import build_model

    cfg = load_config(REPO / "configs/digits/ce_fcc.yaml", ["train.device=cpu", "fcc.start_epoch=0"])
    data = build_datasets(cfg)
    torch.manual_seed(0)
    model = build_model(cfg, data.num_classes, data.in_channels)
    method = Method(cfg, DataInfo(data.class_counts, 1))
    eng = Engine(cfg, model, method, model.parameters(), torch.device("cpu"), tau_by_class(cfg.fcc, data.class_counts))
    loader = make_loader(data, cfg, "cpu")
    x, y = next(loader.batches(None, torch.Generator().manual_seed(0)))
    model.train()
    with torch.no_grad():
        z_on, _ = eng.forward_module(Batch(x, y), None, True)
        z_off, _ = eng.forward_module(Batch(x, y), None, False)
    b = model.head.bias
    torch.testing.assert_close(z_on - b, tau_by_class(cfg.fcc, data.class_counts)[y][:, None] * (z_off - b))
    assert not torch.allclose(z_on, z_off)
    p1, t1 = evaluate(eng, loader)
    cfg_off = load_config(REPO / "configs/digits/ce.yaml", ["train.device=cpu"])
    eng_off = Engine(
        cfg_off,
        model,
        Method(cfg_off, DataInfo(data.class_counts, 1)),
        model.parameters(),
        torch.device("cpu"),
        torch.ones(data.num_classes),
    )
    p2, t2 = evaluate(eng_off, loader)
    assert torch.equal(p1, p2) and torch.equal(t1, t2) and len(t1) == len(data.test_labels)


def test_label_order_warning_only_when_ids_are_not_frequency_sorted():
    from fcc_train.config import FCCConfig
    from fcc_train.fcc import label_order_warning

    official = FCCConfig(enabled=True, order="label")
    assert label_order_warning(official, [50, 20, 5]) is None  # CIFAR-LT: label 0 is the largest class
    assert "not sorted by training frequency" in label_order_warning(official, [5, 50, 20])  # ImageNet-LT-like
    assert label_order_warning(FCCConfig(enabled=True, order="frequency"), [5, 50, 20]) is None
    assert label_order_warning(FCCConfig(enabled=False, order="label"), [5, 50, 20]) is None
