"""The multi-expert losses and rules against independent computations (NumPy loops, finite differences) and mutants."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
import torch

from fcc_train.methods.experts import losses as X

COUNTS = [50, 30, 20, 12, 7, 4]
C = len(COUNTS)


def _logits(n: int = 5, e: int = 3, seed: int = 0) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return [(3 * torch.randn(n, C, generator=g, dtype=torch.float64)).requires_grad_(True) for _ in range(e)]


def _labels(n: int = 5) -> torch.Tensor:
    return torch.tensor([0, 5, 3, 1, 4][:n])


def _log_softmax(a: np.ndarray) -> np.ndarray:
    out = np.empty_like(a)
    for i in range(a.shape[0]):
        m = max(a[i])
        lse = m + np.log(sum(np.exp(v - m) for v in a[i]))
        out[i] = a[i] - lse
    return out


def _ce(a: np.ndarray, y: np.ndarray, w: np.ndarray | None = None) -> float:
    ls = _log_softmax(a)
    if w is None:
        return float(np.mean([-ls[i, y[i]] for i in range(len(y))]))
    return float(sum(-w[y[i]] * ls[i, y[i]] for i in range(len(y))) / sum(w[y[i]] for i in range(len(y))))


def _num_grad(f, arrays: list[np.ndarray], h: float = 1e-6) -> list[np.ndarray]:
    grads = []
    for a in arrays:
        g = np.zeros_like(a)
        for idx in np.ndindex(a.shape):
            old = a[idx]
            a[idx] = old + h
            up = f()
            a[idx] = old - h
            dn = f()
            a[idx] = old
            g[idx] = (up - dn) / (2 * h)
        grads.append(g)
    return grads


# -- SADE -----------------------------------------------------------------------------------------------------


def _inverse_prior_loop(prior: list[float]) -> list[float]:
    asc = sorted(range(len(prior)), key=lambda j: (prior[j], j))
    desc_values = sorted(prior, reverse=True)
    out = [0.0] * len(prior)
    for rank, j in enumerate(asc):
        out[j] = desc_values[rank]
    return out


def test_inverse_prior_swaps_the_order_of_the_priors():
    prior = torch.tensor([0.4, 0.05, 0.25, 0.3], dtype=torch.float64)
    assert X.inverse_prior(prior).tolist() == _inverse_prior_loop(prior.tolist())


def _sade_np(z: list[np.ndarray], y: np.ndarray, prior: np.ndarray, tau: float, sign: float = -1.0) -> float:
    lp = np.log(prior + 1e-9)
    lip = np.log(np.array(_inverse_prior_loop(list(prior))) + 1e-9)
    return _ce(z[0], y) + _ce(z[1] + lp, y) + _ce(z[2] + lp + sign * tau * lip, y)


def test_sade_loss_value_and_gradient():
    z, y = _logits(), _labels()
    prior = torch.tensor(COUNTS, dtype=torch.float64) / sum(COUNTS)
    loss = X.sade_loss(z, y, prior, 2.0)
    loss.backward()
    zn = [t.detach().numpy().copy() for t in z]
    yn, pn = y.numpy(), prior.numpy()
    assert float(loss) == pytest.approx(_sade_np(zn, yn, pn, 2.0), rel=1e-9)
    num = _num_grad(lambda: _sade_np(zn, yn, pn, 2.0), zn)
    for t, g in zip(z, num, strict=True):
        np.testing.assert_allclose(t.grad.numpy(), g, atol=1e-6)
    # mutant: the inverse expert with the prior term's sign flipped (+τ log π̄) is a different loss
    assert abs(float(loss) - _sade_np(zn, yn, pn, 2.0, sign=+1.0)) > 1e-3


def test_sade_stability_is_the_cosine_of_the_aggregated_predictions():
    g = torch.Generator().manual_seed(1)
    z1, z2 = torch.randn(3, 4, C, generator=g, dtype=torch.float64), torch.randn(3, 4, C, generator=g, dtype=torch.float64)
    w = torch.tensor([0.5, 0.3, 0.2], dtype=torch.float64)
    got = float(X.sade_stability(z1, z2, w))
    sims = []
    for n in range(4):
        a = np.exp(_log_softmax(sum(w[e].item() * z1[e].numpy() for e in range(3)))[n])
        b = np.exp(_log_softmax(sum(w[e].item() * z2[e].numpy() for e in range(3)))[n])
        sims.append(float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b))))
    assert got == pytest.approx(np.mean(sims), rel=1e-9)
    dot = np.mean([float(np.exp(_log_softmax(z1[0].numpy()))[n] @ np.exp(_log_softmax(z2[0].numpy()))[n]) for n in range(4)])
    assert abs(got - dot) > 1e-3  # a mutant using the dot product instead of the cosine is caught


# -- RIDE -----------------------------------------------------------------------------------------------------


def _ride_np(z, y, margins, s, w, t, lam, mean):
    onehot = np.eye(C)[y]
    t_arr = np.full(C, t) if np.isscalar(t) else np.asarray(t)
    t_mean = float(np.mean(t_arr))
    tgt = np.exp(_log_softmax(mean / t_arr))
    total = 0.0
    for zi in z:
        total += _ce(zi - s * margins[y][:, None] * onehot, y, w)
        lq = _log_softmax(zi / t_arr)
        kl = sum(tgt[n, c] * (np.log(tgt[n, c]) - lq[n, c]) for n in range(len(y)) for c in range(C)) / len(y)
        total += lam * t_mean**2 * kl
    return total


@pytest.mark.parametrize("reweight", [False, True])
def test_ride_loss_value_and_gradient(reweight):
    from fcc_train.methods.losses import cb_weights, ldam_margins

    z, y = _logits(seed=2), _labels()
    margins = ldam_margins(COUNTS, 0.5).double()
    w = cb_weights(COUNTS, 0.9999).double() if reweight else None
    t = X.ride_diversity_temperatures(COUNTS, 0.05).double() if reweight else 1.0
    loss = X.ride_loss(z, y, margins, 30.0, w, t, -0.2)
    loss.backward()
    zn = [q.detach().numpy().copy() for q in z]
    mean = np.mean(zn, axis=0)  # held constant, as the official detached mean
    args = (y.numpy(), margins.numpy(), 30.0, None if w is None else w.numpy(), t if not reweight else t.numpy(), -0.2)
    assert float(loss) == pytest.approx(_ride_np(zn, *args, mean), rel=1e-6)
    num = _num_grad(lambda: _ride_np(zn, *args, mean), zn)
    for q, g in zip(z, num, strict=True):
        np.testing.assert_allclose(q.grad.numpy(), g, atol=1e-5)


def test_ride_diversity_temperatures_loop():
    n = np.array(COUNTS, dtype=float)
    raw = [C * (c / n.sum()) * 0.05 + 0.95 for c in n]
    np.testing.assert_allclose(X.ride_diversity_temperatures(COUNTS, 0.05).numpy(), [r / max(raw) for r in raw], rtol=1e-6)


# -- NCL ------------------------------------------------------------------------------------------------------


def _ncl_np(z, y, log_n, k, f_all, f_hcm, r):
    first = z[0].copy()
    mask = np.zeros_like(first)
    for i in range(len(y)):
        others = sorted((c for c in range(C) if c != y[i]), key=lambda c: -first[i, c])[: k - 1]
        for c in [y[i], *others]:
            mask[i, c] = 1.0
    bal = [zi + log_n for zi in z]
    hard = [b * mask for b in bal]

    def nbod(ls, f):
        E = len(ls)
        p = [np.exp(_log_softmax(a)) for a in ls]
        tot = 0.0
        for i in range(E):
            for j in range(E):
                if i != j:
                    tot += (
                        f
                        * sum(
                            p[j][n, c] * (np.log(p[j][n, c]) - np.log(p[i][n, c] + 1e-9)) for n in range(len(y)) for c in range(C)
                        )
                        / len(y)
                    )
        return tot / (E - 1)

    ce = sum(_ce(b, y) + r * _ce(h, y) for b, h in zip(bal, hard, strict=True))
    return ce + nbod(bal, f_all) + nbod(hard, f_hcm)


def test_ncl_loss_value_and_gradient():
    z, y = _logits(seed=3), _labels()
    log_n = torch.log(torch.tensor(COUNTS, dtype=torch.float64))
    loss = X.ncl_loss(z, y, log_n, 3, 0.6, 0.6, 1.0)
    loss.backward()
    zn = [q.detach().numpy().copy() for q in z]
    args = (y.numpy(), log_n.numpy(), 3, 0.6, 0.6, 1.0)
    assert float(loss) == pytest.approx(_ncl_np(zn, *args), rel=1e-7)
    num = _num_grad(lambda: _ncl_np(zn, *args), zn)
    for q, g in zip(z, num, strict=True):
        np.testing.assert_allclose(q.grad.numpy(), g, atol=1e-5)
    # mutant: NBOD with the gradient stopped at the target (detached p_j) has different gradients
    zd = [q.detach().clone().requires_grad_(True) for q in z]
    p = [torch.softmax(b + log_n, 1).detach() for b in zd]
    bad = sum(
        X.kl_batchmean(torch.log(torch.softmax(zd[i] + log_n, 1) + 1e-9), p[j]) for i in range(3) for j in range(3) if i != j
    )
    bad.backward()
    assert not np.allclose(zd[0].grad.numpy(), _num_grad(lambda: _ncl_np(zn, *args), zn)[0], atol=1e-3)


def test_ncl_hard_mask_holds_the_label_and_the_top_others():
    z = torch.tensor([[5.0, 1.0, 4.0, 0.0, 3.0, 2.0]])
    assert X.ncl_hard_mask(z, torch.tensor([3]), 3).tolist() == [[1.0, 0.0, 1.0, 1.0, 0.0, 0.0]]


# -- BBN ------------------------------------------------------------------------------------------------------


def test_bbn_alpha_is_parabolic_in_the_epoch():
    T = 200
    for epoch in (1, 51, 101, 151, 200):
        exact = 1 - Fraction(epoch - 1, T) ** 2
        assert X.bbn_alpha(epoch, T) == pytest.approx(float(exact), abs=1e-15)
    # mutants: a linear decay (1 - (T-1)/T_max) or the 1-based epoch without the -1 disagree mid-run
    assert X.bbn_alpha(101, T) != pytest.approx(1 - 100 / T)
    assert X.bbn_alpha(101, T) != pytest.approx(1 - (101 / T) ** 2)
    assert X.bbn_alpha(1, T) == 1.0


def test_bbn_loss_and_reversed_sampler():
    g = torch.Generator().manual_seed(4)
    z = torch.randn(4, C, generator=g, dtype=torch.float64, requires_grad=True)
    yc, yr = torch.tensor([0, 1, 0, 2]), torch.tensor([5, 4, 3, 5])
    loss = X.bbn_loss(z, yc, yr, 0.7)
    loss.backward()
    zn = z.detach().numpy().copy()
    f = lambda: 0.7 * _ce(zn, yc.numpy()) + 0.3 * _ce(zn, yr.numpy())
    assert float(loss) == pytest.approx(f(), rel=1e-9)
    np.testing.assert_allclose(z.grad.numpy(), _num_grad(f, [zn])[0], atol=1e-6)
    inv = [max(COUNTS) / c for c in COUNTS]
    np.testing.assert_allclose(X.reversed_probabilities(COUNTS).numpy(), [v / sum(inv) for v in inv], rtol=1e-6)
