"""The public FCC module: Eqs. 1-4 against an independent computation, the official start rule, the docs example."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch

from fcc_train import FCC

DOC = Path(__file__).resolve().parents[2] / "docs" / "fcc-in-your-loop.md"


def _expected_tau(strategy: str, gamma: float, C: int, rank: int, beta: int = 0) -> float:
    """Eqs. 2-4 written out directly (φ(v) = 1 for v < 0)."""
    if strategy == "uniform":
        return 1 + gamma
    edc = 1 + gamma * (1 - rank / C)
    if strategy == "edc":
        return edc
    phi = 1.0 if ((-1) ** beta) * (rank - C / 2) < 0 else 0.0
    return 1 + gamma * (1 - rank / C) * phi


@pytest.mark.parametrize("strategy", ["uniform", "edc", "half"])
@pytest.mark.parametrize("beta", [0, 1])
def test_tau_follows_the_equations(strategy: str, beta: int) -> None:
    C = 10
    fcc = FCC(C, strategy=strategy, gamma=0.5, beta=beta)
    want = [_expected_tau(strategy, 0.5, C, k, beta) for k in range(C)]
    assert fcc.tau.tolist() == pytest.approx(want, abs=1e-6)


def test_class_counts_rank_by_frequency() -> None:
    counts = [3, 40, 10, 40]  # ranks: label 1 (tie with 3, smaller id first), 3, 2, 0
    fcc = FCC(4, gamma=1.0, class_counts=counts)
    assert fcc.tau.tolist() == pytest.approx([1 + 1 * (1 - r / 4) for r in (3, 0, 2, 1)])


def test_official_start_rule_and_eval_mode() -> None:
    fcc = FCC(3, gamma=1.0, start_epoch=2)
    f, y = torch.ones(3, 2), torch.tensor([0, 1, 2])
    assert fcc(f, y, epoch=2).equal(f)  # epoch 2 is not > 2
    scaled = fcc(f, y, epoch=3)
    assert scaled[:, 0].tolist() == pytest.approx([2.0, 1 + 2 / 3, 1 + 1 / 3])
    assert fcc.eval()(f, y, epoch=3).equal(f)


def test_feature_maps_are_scaled_per_sample() -> None:
    fcc = FCC(2, gamma=1.0, start_epoch=0)
    fmap = torch.ones(2, 4, 3, 3)
    out = fcc(fmap, torch.tensor([0, 1]), epoch=1)
    assert out[0].unique().tolist() == [2.0] and out[1].unique().tolist() == [1.5]


def test_gradient_flows_through_the_scale() -> None:
    fcc = FCC(2, gamma=1.0, start_epoch=0)
    f = torch.ones(2, 3, requires_grad=True)
    fcc(f, torch.tensor([0, 1]), epoch=1).sum().backward()
    assert f.grad is not None and f.grad[:, 0].tolist() == [2.0, 1.5]


def test_bad_arguments_are_clear() -> None:
    with pytest.raises(ValueError, match="class_counts has 2 entries for 3 classes"):
        FCC(3, class_counts=[1, 2])


def test_docs_example_runs(capsys: pytest.CaptureFixture[str]) -> None:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)
    assert len(blocks) == 1
    torch.set_num_threads(1)
    exec(compile(blocks[0], str(DOC), "exec"), {"__name__": "docs_example"})
    acc = float(capsys.readouterr().out.split()[-1])
    assert acc > 0.8  # it trains (a broken FCC placement, e.g. scaling at eval, still runs but is caught below)


def test_docs_example_fcc_changes_training() -> None:
    """The example's loop with FCC active differs from the same loop with FCC never starting."""
    torch.manual_seed(0)
    f = torch.randn(8, 4)
    y = torch.randint(0, 3, (8,))
    on = FCC(3, gamma=0.5, start_epoch=0)(f, y, 1)
    off = FCC(3, gamma=0.5, start_epoch=10)(f, y, 1)
    assert not on.equal(off) and off.equal(f)
