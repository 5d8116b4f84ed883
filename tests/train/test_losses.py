"""Each loss of Table 1 against an independent, loop-by-loop computation of its formula (docs/recipes.md, "Methods")."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from fcc_train.config import load_config
from fcc_train.methods import DataInfo, build_method
from fcc_train.methods import losses as L
from fcc_train.methods.base import Batch
from fcc_train.methods.distill import dive_loss

COUNTS = [500, 200, 60, 12, 5]


def _logits(n=7, c=5, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, c, generator=g, dtype=torch.float64).float() * 2, torch.randint(0, c, (n,), generator=g)


def _softmax(z):
    e = np.exp(z - z.max())
    return e / e.sum()


def test_cb_weights_formula():
    beta = 0.99
    raw = [(1 - beta) / (1 - beta**n) for n in COUNTS]
    want = [w * len(COUNTS) / sum(raw) for w in raw]
    got = L.cb_weights(COUNTS, beta).tolist()
    assert got == pytest.approx(want, rel=1e-6)
    assert sum(got) == pytest.approx(len(COUNTS))
    assert got[-1] > got[0]  # rarer classes weigh more


def test_ldam_margins_formula():
    got = L.ldam_margins(COUNTS, 0.5).tolist()
    c = 0.5 * min(COUNTS) ** 0.25  # the rarest class gets max_m
    want = [c * n**-0.25 for n in COUNTS]
    assert got == pytest.approx(want, rel=1e-6)
    assert max(got) == pytest.approx(0.5)


def test_cdt_temperatures_formula():
    got = L.cdt_temperatures(COUNTS, 0.2).tolist()
    assert got == pytest.approx([(500 / n) ** 0.2 for n in COUNTS], rel=1e-6)
    assert got[0] == pytest.approx(1.0)


def test_celas_epsilons_concave_rule():
    got = L.celas_epsilons(COUNTS, 0.4, 0.1).tolist()
    nmin, nmax = min(COUNTS), max(COUNTS)
    want = [0.1 + 0.3 * math.sin(math.pi * (n - nmin) / (2 * (nmax - nmin))) for n in COUNTS]
    assert got == pytest.approx(want, rel=1e-6)
    assert got[0] == pytest.approx(0.4) and got[-1] == pytest.approx(0.1)


def test_focal_sigmoid_matches_loop():
    z, y = _logits()
    got = L.focal_sigmoid(z, y, 2.0)
    for i in range(len(y)):
        s = 0.0
        for j in range(z.shape[1]):
            p = 1 / (1 + math.exp(-float(z[i, j])))
            t = 1.0 if j == int(y[i]) else 0.0
            bce = -(t * math.log(p) + (1 - t) * math.log(1 - p))
            s += bce * ((1 - p) * t + p * (1 - t)) ** 2
        assert float(got[i]) == pytest.approx(s, rel=1e-4)


def test_focal_softmax_matches_loop():
    z, y = _logits()
    got = L.focal_softmax(z, y, 1.0)
    for i in range(len(y)):
        p = _softmax(z[i].double().numpy())[int(y[i])]
        assert float(got[i]) == pytest.approx((1 - p) * -math.log(p), rel=1e-4)


def test_focal_gamma_zero_is_plain_bce_and_ce():
    z, y = _logits()
    assert torch.allclose(L.focal_softmax(z, y, 0.0), torch.nn.functional.cross_entropy(z, y, reduction="none"), atol=1e-6)


def test_smoothed_ce_matches_soft_target():
    z, y = _logits()
    got = L.smoothed_ce(z, y, 0.1)
    for i in range(len(y)):
        p = _softmax(z[i].double().numpy())
        target = np.full(5, 0.1 / 5)
        target[int(y[i])] += 0.9
        assert float(got[i]) == pytest.approx(float(-(target * np.log(p)).sum()), rel=1e-5)


def _method(overrides, counts=COUNTS, epochs=200):
    cfg = load_config(None, overrides)
    return build_method(cfg, DataInfo(class_counts=list(counts), epochs=epochs))


def _ce(z, y):
    p = _softmax(np.asarray(z, dtype=np.float64))
    return -math.log(p[y])


def test_bsce_is_ce_on_logits_plus_log_counts():
    z, y = _logits()
    m = _method(["method.loss=bsce"])
    got = float(m.loss(z, Batch(z, y), 1))
    want = np.mean([_ce(z[i].double().numpy() + np.log(COUNTS), int(y[i])) for i in range(len(y))])
    assert got == pytest.approx(want, rel=1e-5)


def test_bsce_drw_is_plain_ce_before_start():
    z, y = _logits()
    m = _method(["method.loss=bsce", "method.drw_start_epoch=160"])
    plain = np.mean([_ce(z[i].double().numpy(), int(y[i])) for i in range(len(y))])
    adj = np.mean([_ce(z[i].double().numpy() + np.log(COUNTS), int(y[i])) for i in range(len(y))])
    assert float(m.loss(z, Batch(z, y), 160)) == pytest.approx(plain, rel=1e-5)
    assert float(m.loss(z, Batch(z, y), 161)) == pytest.approx(adj, rel=1e-5)


def test_cdt_divides_logits_by_temperature():
    z, y = _logits()
    m = _method(["method.loss=cdt", "method.cdt_gamma=0.2"])
    a = np.array([(500 / n) ** 0.2 for n in COUNTS])
    want = np.mean([_ce(z[i].double().numpy() / a, int(y[i])) for i in range(len(y))])
    assert float(m.loss(z, Batch(z, y), 1)) == pytest.approx(want, rel=1e-5)


def test_cbce_is_torch_weighted_mean():
    z, y = _logits()
    m = _method(["method.loss=cbce", "method.cb_beta=0.99"])
    raw = [(1 - 0.99) / (1 - 0.99**n) for n in COUNTS]
    w = [r * 5 / sum(raw) for r in raw]
    num = sum(w[int(y[i])] * _ce(z[i].double().numpy(), int(y[i])) for i in range(len(y)))
    den = sum(w[int(y[i])] for i in range(len(y)))
    assert float(m.loss(z, Batch(z, y), 1)) == pytest.approx(num / den, rel=1e-5)


def test_cb_focal_divides_by_batch_size():
    z, y = _logits()
    m = _method(["method.loss=cb_focal", "method.cb_beta=0.9", "method.focal_gamma=1.0"])
    w = L.cb_weights(COUNTS, 0.9)
    want = float((w[y] * L.focal_sigmoid(z, y, 1.0)).sum()) / len(y)
    assert float(m.loss(z, Batch(z, y), 1)) == pytest.approx(want, rel=1e-5)


def test_celas_uses_label_epsilon_and_drw_reweights_it():
    z, y = _logits()
    m = _method(["method.loss=celas", "method.drw_start_epoch=160"])
    eps = L.celas_epsilons(COUNTS, 0.4, 0.1)
    per = []
    for i in range(len(y)):
        logp = np.log(_softmax(z[i].double().numpy()))
        e = float(eps[int(y[i])])
        per.append((1 - e) * -logp[int(y[i])] + e * -logp.mean())
    assert float(m.loss(z, Batch(z, y), 160)) == pytest.approx(np.mean(per), rel=1e-5)
    w = L.cb_weights(COUNTS, 0.9999).double().numpy()[y.numpy()]
    after = float(m.loss(z, Batch(z, y), 161))
    assert after == pytest.approx(float((w * per).sum() / w.sum()), rel=1e-5)
    assert after != pytest.approx(np.mean(per), rel=1e-3)  # method.celas_drw: reweight changes CELAS after the start


def test_celas_drw_official_is_a_no_op():
    """The official CELAS+DRW: the label-aware smoothing loss ignores the DRW weight list, so it is CELAS at every epoch."""
    from pathlib import Path

    z, y = _logits(n=9, seed=4)
    eps = L.celas_epsilons(COUNTS, 0.4, 0.1)
    official = []  # the official per-batch loss: the mean over the batch of CELAS, no weights whatever the epoch
    for i in range(len(y)):
        logp = np.log(_softmax(z[i].double().numpy()))
        e = float(eps[int(y[i])])
        official.append((1 - e) * -logp[int(y[i])] + e * -logp.mean())
    noop = _method(["method.loss=celas", "method.drw_start_epoch=160", "method.celas_drw=ignored"])
    real = _method(["method.loss=celas", "method.drw_start_epoch=160", "method.celas_drw=reweight"])
    for epoch in (1, 160, 161, 200):
        assert float(noop.loss(z, Batch(z, y), epoch)) == pytest.approx(np.mean(official), rel=1e-5)
    assert float(real.loss(z, Batch(z, y), 161)) != pytest.approx(np.mean(official), rel=1e-3)  # the switch can differ
    # the shipped CELAS+DRW configs are the official no-op
    repo = Path(__file__).resolve().parents[2]
    for split in ("cifar10_lt100", "cifar100_lt50", "digits"):
        cfg = load_config(repo / "configs" / split / "celas_drw.yaml")
        assert cfg.method.celas_drw == "ignored" and cfg.method.drw_start_epoch is not None


def test_remix_official_weighting_is_the_batch_mean():
    """BoT's Remix: loss = (λ_y·CE_mean(y_a) + (1−λ_y)·CE_mean(y_b)).mean() with λ_y a vector and CE_mean a scalar."""
    from pathlib import Path

    from fcc_train.methods.mixup import remix_label_weights

    repo = Path(__file__).resolve().parents[2]
    cfg = load_config(repo / "configs/cifar10_lt100/remix.yaml", ["train.device=cpu"])
    assert cfg.method.remix_weighting == "batch_mean"
    counts = [5000, 2000, 800, 300, 120, 50]
    m = build_method(cfg, DataInfo(class_counts=counts, epochs=400))
    images = torch.zeros(8, 1, 2, 2)
    labels = torch.tensor([0, 0, 0, 5, 5, 5, 1, 4])
    perm = torch.tensor([3, 4, 5, 0, 1, 2, 7, 6])
    lam = 0.3  # λ < τ = 0.5: pairs (head a, tail b) get λ_y = 0, (tail a, head b) keep λ (1 − λ ≥ τ), so λ_y varies
    out = m.apply_mix(Batch(images, labels), lam, perm)
    z, _ = _logits(n=8, c=6, seed=2)
    lam_y = [
        0.0 if counts[a] / counts[b] >= 3 and lam < 0.5 else (1.0 if counts[a] * 3 / counts[b] <= 1 and 1 - lam < 0.5 else lam)
        for a, b in zip(labels.tolist(), labels[perm].tolist(), strict=True)
    ]
    assert len(set(lam_y)) > 1
    ce_a = np.mean([_ce(z[i].double().numpy(), int(labels[i])) for i in range(8)])
    ce_b = np.mean([_ce(z[i].double().numpy(), int(labels[perm][i])) for i in range(8)])
    official = np.mean([w * ce_a + (1 - w) * ce_b for w in lam_y])
    assert float(m.loss(z, out, 1)) == pytest.approx(official, rel=1e-5)
    # the per-sample switch weights each sample by its own λ_y: a different number on this batch
    ps = build_method(
        load_config(repo / "configs/cifar10_lt100/remix.yaml", ["method.remix_weighting=per_sample"]),
        DataInfo(class_counts=counts, epochs=400),
    )
    out_ps = ps.apply_mix(Batch(images, labels), lam, perm)
    per_sample = np.mean(
        [
            w * _ce(z[i].double().numpy(), int(labels[i])) + (1 - w) * _ce(z[i].double().numpy(), int(labels[perm][i]))
            for i, w in enumerate(lam_y)
        ]
    )
    assert float(ps.loss(z, out_ps, 1)) == pytest.approx(per_sample, rel=1e-5)
    assert per_sample != pytest.approx(official, rel=1e-3)
    assert torch.allclose(
        out.lam, remix_label_weights(lam, torch.tensor(counts), labels, labels[perm], 3.0, 0.5).mean().expand(8)
    )


@pytest.mark.parametrize("head", ["cosine", "linear"])
def test_ldam_subtracts_scaled_margin(head):
    z, y = _logits()
    over = ["method.loss=ldam", f"model.head={head}", "model.cosine_scale=30", "method.ldam_s=30", "method.ldam_linear_s=1"]
    m = _method(over)
    marg = L.ldam_margins(COUNTS, 0.5).double().numpy()
    per = []
    for i in range(len(y)):
        x = z[i].double().numpy() / (30 if head == "cosine" else 1)
        x = x.copy()
        x[int(y[i])] -= marg[int(y[i])]
        per.append(_ce(x * (30 if head == "cosine" else 1), int(y[i])))
    assert float(m.loss(z, Batch(z, y), 1)) == pytest.approx(np.mean(per), rel=1e-5)


def test_ldam_drw_weights_after_start():
    z, y = _logits()
    m = _method(["method.loss=ldam", "method.drw_start_epoch=160", "model.head=cosine"])
    before = m.per_sample_loss(z, y, 161)
    w = L.cb_weights(COUNTS, 0.9999)[y]
    assert float(m.loss(z, Batch(z, y), 161)) == pytest.approx(float((w * before).sum() / w.sum()), rel=1e-5)
    assert float(m.loss(z, Batch(z, y), 160)) == pytest.approx(float(before.mean()), rel=1e-5)


def test_mixed_loss_weights_each_sample_by_its_own_lambda():
    z, y = _logits()
    yb = torch.roll(y, 1)
    lam = torch.linspace(0, 1, len(y))
    m = _method([])
    got = float(m.loss(z, Batch(z, y, labels_b=yb, lam=lam), 1))
    want = np.mean(
        [
            float(lam[i]) * _ce(z[i].double().numpy(), int(y[i])) + (1 - float(lam[i])) * _ce(z[i].double().numpy(), int(yb[i]))
            for i in range(len(y))
        ]
    )
    assert got == pytest.approx(want, rel=1e-5)


def test_dive_loss_formula():
    zs, y = _logits(seed=1)
    zt, _ = _logits(seed=2)
    T, alpha, power = 2.0, 0.5, 0.5
    got = float(dive_loss(zs, zt, y, torch.log(torch.tensor(COUNTS, dtype=torch.float32)), T, alpha, power))
    kl, bs = 0.0, 0.0
    for i in range(len(y)):
        pt = _softmax(zt[i].double().numpy() / T) ** power
        pt /= pt.sum()
        ps = _softmax(zs[i].double().numpy() / T)
        kl += float((pt * (np.log(pt) - np.log(ps))).sum())
        bs += _ce(zs[i].double().numpy() + np.log(COUNTS), int(y[i]))
    n = len(y)
    assert got == pytest.approx(alpha * T * T * kl / n + (1 - alpha) * bs / n, rel=1e-5)


def test_unknown_loss_is_refused_in_one_line():
    from fcc_theory.errors import UserError

    with pytest.raises(UserError, match=r"unknown method\.loss 'bcse'"):
        _method(["method.loss=bcse"])
