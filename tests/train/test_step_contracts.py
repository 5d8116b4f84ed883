"""Methods own their contracts: the captured step keys its graphs on ``method.phase(epoch)`` and scales
features with ``method.fcc_tau``; on the CPU the captured function (run uncaptured, with the context of
its phase's capture frozen as a graph freezes it) must train exactly like the eager step."""

import pytest
import torch

from fcc_train.config import load_config
from fcc_train.fcc import tau_by_class
from fcc_train.methods import DataInfo
from fcc_train.methods.configured import ConfiguredMethod
from fcc_train.train.engine import Engine
from fcc_train.train.epoch import train_one_epoch

COUNTS = [30, 10, 3]


class EpochWeighted(ConfiguredMethod):
    """A loss that depends on the epoch beyond FCC and DRW (×(1 + epoch/4)); its phase says so."""

    def loss(self, logits, batch, epoch):
        return super().loss(logits, batch, epoch) * (1 + epoch / 4)

    def phase(self, epoch):
        return (super().phase(epoch), epoch)


class ForgetsItsEpoch(EpochWeighted):
    """The mutant: the same loss, but its phase omits the epoch (a graph would freeze the capture epoch)."""

    def phase(self, epoch):
        return ConfiguredMethod.phase(self, epoch)


class SquaredTau(ConfiguredMethod):
    """Overrides the per-sample scale hook: τ_y² instead of τ_y."""

    def fcc_tau(self, tau_by_class, batch):
        return super().fcc_tau(tau_by_class, batch) ** 2


class Batches:
    def __init__(self, n=3, size=8):
        g = torch.Generator().manual_seed(3)
        self.x = torch.randn(n, size, 1, 8, 8, generator=g)
        self.y = torch.randint(0, 3, (n, size), generator=g)

    def batches(self, probs, gen):
        yield from zip(self.x, self.y, strict=True)


def _engine(monkeypatch, method_cls, graphs, overrides=()):
    from fcc_train.models import build_model

    if graphs:
        monkeypatch.setattr("fcc_train.train.engine.choose_mode", lambda want, on_gpu, world, notes: "graphs")
    cfg = load_config(
        None, ["model.arch=resnet_small", "fcc.enabled=true", "fcc.start_epoch=1", "fcc.gamma=1.0", "optim.lr=0.01", *overrides]
    )
    torch.manual_seed(0)
    model = build_model(cfg, 3, 1)
    method = method_cls(cfg, DataInfo(COUNTS, cfg.optim.epochs))
    eng = Engine(cfg, model, method, model.parameters(), torch.device("cpu"), tau_by_class(cfg.fcc, COUNTS))
    monkeypatch.undo()
    assert eng.mode == ("graphs" if graphs else "eager")
    return eng


def _train(eng, epochs=3):
    loader = Batches()
    losses = [train_one_epoch(eng, loader, e, torch.Generator().manual_seed(e)) for e in range(1, epochs + 1)]
    return torch.stack(losses), [p.detach().clone() for p in eng.model.parameters()]


def _gap(a, b):
    return max((p - q).abs().max().item() for p, q in zip(a, b, strict=True))


@pytest.mark.parametrize("overrides", [[], ["method.mixup=input", "method.mixup_alpha=1.0"]], ids=["plain", "mixup"])
@pytest.mark.parametrize("method_cls", [EpochWeighted, SquaredTau])
def test_captured_step_trains_like_eager_for_a_method_that_owns_its_contract(monkeypatch, method_cls, overrides):
    lg, pg = _train(_engine(monkeypatch, method_cls, True, overrides))
    le, pe = _train(_engine(monkeypatch, method_cls, False, overrides))
    torch.testing.assert_close(lg, le, rtol=1e-5, atol=1e-6)
    assert _gap(pg, pe) < 1e-5
    # the override matters: the plain method ends elsewhere, so the equality above is not vacuous
    _, plain = _train(_engine(monkeypatch, ConfiguredMethod, False, overrides))
    assert _gap(pe, plain) > 1e-4


def test_a_phase_that_omits_the_epoch_is_caught(monkeypatch):
    """Epochs 2 and 3 share the mutant's phase (FCC on): the captured step replays epoch 2's loss in epoch 3."""
    lg, pg = _train(_engine(monkeypatch, ForgetsItsEpoch, True))
    le, pe = _train(_engine(monkeypatch, ForgetsItsEpoch, False))
    torch.testing.assert_close(lg[:2], le[:2], rtol=1e-5, atol=1e-6)  # each phase's first epoch agrees
    assert not torch.allclose(lg[2], le[2], rtol=1e-3) and _gap(pg, pe) > 1e-4
