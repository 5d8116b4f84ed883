"""RIDE's expert router (RIDE-EA): its labels, loss and test-time rule against a second computation (numpy, per
sample), mutants of the label rule, the refusals, and the router stage trained end to end on digits."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from fcc_theory.errors import UserError
from fcc_train.config import load_config
from fcc_train.methods import DataInfo, build_method
from fcc_train.methods.experts.router import router_logits, router_loss, router_targets
from fcc_train.models import build_model
from fcc_train.models.expert_router import routed_logits

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
RIDE = CONFIGS / "digits" / "ride.yaml"
ROUTED = ["method.ride_router=true", "method.ride_router_top_k=3"]


def _targets_by_hand(z: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Per sample and router: the mean of experts 0..i wrong, and that of 0..j right for some j > i."""
    E, N, _ = z.shape
    out = np.zeros((N, E - 1), dtype=bool)
    for n in range(N):
        right = [int(np.argmax(z[: i + 1, n].mean(0))) == y[n] for i in range(E)]
        for i in range(E - 1):
            out[n, i] = (not right[i]) and any(right[i + 1 :])
    return out


@pytest.mark.parametrize("E", [2, 3, 4])
def test_targets_match_a_per_sample_computation(E: int) -> None:
    g = torch.Generator().manual_seed(E)
    z, y = torch.randn(E, 64, 5, generator=g), torch.randint(0, 5, (64,), generator=g)
    got = router_targets(z, y).numpy()
    assert got.shape == (64, E - 1) and got.any() and not got.all()
    assert (got == _targets_by_hand(z.numpy(), y.numpy())).all()


def test_targets_read_the_running_mean_not_each_expert() -> None:
    """Mutants: an expert right on its own is no help when the mean it joins stays wrong, and a later expert that
    turns the mean right is help even if it is wrong alone."""
    y = torch.tensor([0, 0])
    z = torch.tensor(
        [
            [[0.0, 3.0], [0.0, 3.0]],  # expert 0: class 1 (wrong) for both
            [[1.0, 0.0], [0.0, 2.0]],  # expert 1: sample 0 right alone, but the mean is (0.5, 1.5): still wrong
            [[9.0, 0.0], [0.0, 0.0]],  # expert 2: the mean of 0..2 turns sample 0 right
        ]
    )
    t = router_targets(z, y)
    assert t.tolist() == [[True, True], [False, False]]
    per_expert = (z.argmax(-1) == y[None]).T  # the mutant rule: each expert's own prediction
    assert not torch.equal(t, ~per_expert[:, :-1] & per_expert[:, 1:])


def test_loss_value_and_gradient_by_hand() -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(32, 2, generator=g, dtype=torch.float64, requires_grad=True)
    t = torch.rand(32, 2, generator=g) < 0.3
    pw = 100.0
    loss = router_loss(x, t, pw)
    loss.backward()
    xn, tn = x.detach().numpy(), t.numpy().astype(float)
    sig = 1 / (1 + np.exp(-xn))
    by_hand = -(pw * tn * np.log(sig) + (1 - tn) * np.log(1 - sig)).mean(0).mean()
    assert float(loss.detach()) == pytest.approx(by_hand, rel=1e-10)
    grad = (pw * tn * (sig - 1) + (1 - tn) * sig) / xn.shape[0] / xn.shape[1]
    np.testing.assert_allclose(x.grad.numpy(), grad, rtol=1e-9, atol=1e-12)
    assert float(router_loss(x.detach(), t, 1.0)) != pytest.approx(by_hand)  # the positive weight matters


def _model(extra: list[str] | None = None) -> torch.nn.Module:
    torch.manual_seed(0)
    cfg = load_config(RIDE, [*ROUTED, *(extra or [])])
    return build_model(cfg, 10, 1).eval()


def _routed_by_hand(net, x: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """One sample at a time on all experts' outputs: expert 0, then on while sigmoid(router) > 0.5."""
    with torch.no_grad():
        feats = net.expert_features(net.shared_map(x))
        z = torch.stack(net.expert_logits(feats)).double()
        out, used = [], []
        for n in range(x.shape[0]):
            total, k = z[0, n].clone(), 1
            for i in range(1, z.shape[0]):
                h = net.router.help_logit(i - 1, feats[i - 1][n : n + 1], (total / k).float()[None])
                if not float(torch.sigmoid(h)) > 0.5:
                    break
                total, k = total + z[i, n], k + 1
            out.append((total / k).numpy())
            used.append(k)
    return np.stack(out), np.array(used)


def test_routed_prediction_matches_the_per_sample_rule() -> None:
    net = _model()
    x = torch.randn(48, 1, 28, 28, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        # a bias that splits the samples, so that every branch of the rule is taken
        f0 = net.expert_features(net.shared_map(x))[0]
        h0 = net.router.help_logit(0, f0, net.experts[0].head(f0))
        net.router.out.bias -= float(h0.median())
        got, used = routed_logits(net, x)
    want, want_used = _routed_by_hand(net, x)
    assert 1 in want_used and len(set(want_used.tolist())) >= 2
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-5, atol=1e-5)
    assert used.numpy().tolist() == want_used.tolist()
    with torch.no_grad():
        assert torch.allclose(net(x), torch.stack(net.expert_logits(net.expert_features(net.shared_map(x)))).mean(0))
        net.router_on.fill_(True)  # the switch the router stage sets: forward becomes the routed rule
        assert torch.allclose(net(x), got)
        net.router.out.bias.fill_(-1e4)  # a router that never passes on: expert 0 alone
        z0 = net.experts[0].head(net.experts[0].features(net.shared_map(x)))
        assert torch.allclose(net(x), z0) and routed_logits(net, x)[1].eq(1).all()


def test_router_logits_read_each_prefix_mean() -> None:
    net = _model()
    x = torch.randn(8, 1, 28, 28, generator=torch.Generator().manual_seed(4))
    with torch.no_grad():
        feats = net.expert_features(net.shared_map(x))
        z = torch.stack(net.expert_logits(feats))
        got = router_logits(net.router, feats, z)
        for i in range(z.shape[0] - 1):
            want = net.router.help_logit(i, feats[i], z[: i + 1].mean(0))
            assert torch.allclose(got[:, i], want, atol=1e-5)


def test_router_is_not_trained_with_the_experts() -> None:
    from fcc_train.methods import prepare_stage

    torch.manual_seed(0)
    cfg = load_config(RIDE, ROUTED)
    net = build_model(cfg, 10, 1)
    trained = {id(p) for p in prepare_stage(net, cfg)}
    assert net.router is not None and not any(id(p) in trained for p in net.router.parameters())
    assert all(id(p) in trained for p in net.experts.parameters())
    plain = build_model(load_config(RIDE), 10, 1)
    assert getattr(plain, "router", None) is None and "router_on" not in plain.state_dict()


@pytest.mark.parametrize(
    "over,needle",
    [
        (["method.ride_router_top_k=11"], "ride_router_top_k is 11 but there are 10 classes"),
        (["model.num_experts=1"], "2 or more"),
    ],
)
def test_bad_router_settings_are_refused(over: list[str], needle: str) -> None:
    cfg = load_config(RIDE, [*ROUTED, *over])
    with pytest.raises(UserError, match=needle):
        build_method(cfg, DataInfo(class_counts=[50, 30, 20, 12, 8, 5, 4, 3, 2, 2], epochs=2))


def test_router_on_a_large_data_set_is_refused_before_training() -> None:
    cfg = load_config(CONFIGS / "imagenet_lt" / "ride.yaml", ["method.ride_router=true"])
    with pytest.raises(UserError, match="device-resident data sets"):
        build_method(cfg, DataInfo(class_counts=list(range(1000, 0, -1)), epochs=2))


def test_router_with_another_method_is_refused() -> None:
    cfg = load_config(CONFIGS / "digits" / "sade.yaml", ["method.ride_router=true"])
    with pytest.raises(UserError, match=r"use it with method\.loss: ride"):
        build_method(cfg, DataInfo(class_counts=[50, 30, 20, 12, 8, 5, 4, 3, 2, 2], epochs=2))


def test_training_on_switches_a_trained_router_off() -> None:
    """fcc train --extend trains the experts again: the old router must not route the new epochs' evaluations."""
    net = _model()
    method = build_method(load_config(RIDE, ROUTED), DataInfo(class_counts=[50, 30, 20, 12, 8, 5, 4, 3, 2, 2], epochs=2))
    method.attach(net)
    net.router_on.fill_(True)
    method.on_epoch_start(31)
    assert not bool(net.router_on)


@pytest.mark.slow
def test_router_stage_trains_on_digits(tmp_path: Path) -> None:
    from fcc_train.train.loop import run_training

    torch.set_num_threads(1)
    over = [*ROUTED, "optim.epochs=3", "method.drw_start_epoch=1", "method.ride_router_epochs=2", "train.progress=none"]
    assert run_training(load_config(RIDE, over), tmp_path / "run") == 0
    last = json.loads((tmp_path / "run" / "summary.json").read_text())
    records = [json.loads(ln) for ln in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert "experts_per_sample" not in records[0] and 1.0 <= records[-1]["experts_per_sample"] <= 3.0
    assert 0.0 <= records[-1]["all_experts_top1_error"] <= 100.0 and last["done"]
    ck = torch.load(tmp_path / "run" / "checkpoints" / "last.pt", weights_only=False)
    assert bool(ck["model"]["router_on"])
    cfg = load_config(RIDE, over)
    net = build_model(cfg, 10, 1)
    net.load_state_dict(ck["model"])  # a routed checkpoint loads into the model its config builds, routing on
    assert bool(net.router_on)
    init = build_model(cfg, 10, 1).state_dict()
    assert any(not torch.equal(init[k], ck["model"][k]) for k in init if k.startswith("router."))  # it learned
