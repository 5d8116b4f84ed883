"""Input/Manifold Mixup and Remix: mixing, Remix's label rule, per-sample weights, FCC's τ for mixed samples."""

from __future__ import annotations

import pytest
import torch

from fcc_train.config import load_config
from fcc_train.methods import DataInfo, build_method
from fcc_train.methods.base import Batch
from fcc_train.methods.mixup import remix_label_weights

COUNTS = [300, 100, 20, 10]


def _remix_rule(lam, na, nb, kappa, tau):
    """Remix, Chou et al. 2020: written out independently as the paper states it."""
    if na / nb >= kappa and lam < tau:
        return 0.0
    if na * kappa / nb <= 1 and 1 - lam < tau:
        return 1.0
    return lam


@pytest.mark.parametrize("lam", [0.1, 0.3, 0.5, 0.7, 0.95])
def test_remix_label_rule(lam):
    counts = torch.tensor(COUNTS)
    a = torch.tensor([0, 0, 3, 3, 1, 2, 1])
    b = torch.tensor([3, 1, 0, 2, 2, 1, 1])
    got = remix_label_weights(lam, counts, a, b, 3.0, 0.5).tolist()
    want = [_remix_rule(lam, COUNTS[i], COUNTS[j], 3.0, 0.5) for i, j in zip(a.tolist(), b.tolist(), strict=True)]
    assert got == pytest.approx(want)


def _batch(n=8, c=4):
    g = torch.Generator().manual_seed(0)
    return Batch(torch.randn(n, 1, 4, 4, generator=g), torch.randint(0, c, (n,), generator=g))


def test_input_mixup_mixes_images_and_labels():
    m = build_method(load_config(None, ["method.mixup=input"]), DataInfo(COUNTS, 10))
    m.on_epoch_start(1)
    b = _batch()
    gen = torch.Generator().manual_seed(1)
    out = m.mix_inputs(b, gen)
    lam = float(out.lam[0])
    perm = torch.randperm(8, generator=torch.Generator().manual_seed(1))
    assert torch.allclose(out.images, lam * b.images + (1 - lam) * b.images[perm])
    assert out.labels_b.tolist() == b.labels[perm].tolist()
    assert torch.allclose(out.lam, out.image_lam)


def test_remix_weights_per_sample_not_batch_mean():
    torch.manual_seed(0)
    for weighting in ("per_sample", "batch_mean"):
        m = build_method(load_config(None, ["method.mixup=remix", f"method.remix_weighting={weighting}"]), DataInfo(COUNTS, 10))
        m.on_epoch_start(3)
        b = Batch(torch.zeros(8, 1, 2, 2), torch.tensor([0, 0, 0, 0, 3, 3, 3, 3]))
        out = m.mix_inputs(b, torch.Generator().manual_seed(5))
        lam_img = float(out.image_lam[0])
        want = remix_label_weights(lam_img, torch.tensor(COUNTS), out.labels, out.labels_b, 3.0, 0.5)
        if weighting == "batch_mean":
            want = want.mean().expand_as(want)
        assert torch.allclose(out.lam, want)
        z = torch.randn(8, 4)
        la = torch.nn.functional.cross_entropy(z, out.labels, reduction="none")
        lb = torch.nn.functional.cross_entropy(z, out.labels_b, reduction="none")
        assert float(m.loss(z, out, 1)) == pytest.approx(float((want * la + (1 - want) * lb).mean()), rel=1e-5)


def test_manifold_pool_mixes_features():
    m = build_method(load_config(None, ["method.mixup=manifold"]), DataInfo(COUNTS, 10))
    m.on_epoch_start(1)
    b = _batch()
    out = m.mix_inputs(b, torch.Generator().manual_seed(2))
    assert torch.equal(out.images, b.images)  # pool: the input is untouched
    feats = torch.randn(8, 5)
    mixed, nb = m.mix_features(feats, out, None)
    lam = float(nb.lam[0])
    perm = torch.randperm(8, generator=torch.Generator().manual_seed(2))
    assert torch.allclose(mixed, lam * feats + (1 - lam) * feats[perm])
    assert nb.labels_b.tolist() == b.labels[perm].tolist()


def test_manifold_hidden_layer_through_hook():
    class Toy(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = torch.nn.Conv2d(1, 3, 1)
            self.stages = torch.nn.ModuleList([torch.nn.Conv2d(3, 3, 1), torch.nn.Conv2d(3, 3, 1)])
            self.head = torch.nn.Linear(3, 4)

        def features(self, x):
            x = self.stem(x)
            for s in self.stages:
                x = s(x)
            return x.mean((2, 3))

    model = Toy()
    cfg = load_config(None, ["method.mixup=manifold", "method.manifold_layer=stage1"])
    m = build_method(cfg, DataInfo(COUNTS, 10))
    m.attach(model)
    m.on_epoch_start(1)
    b = _batch()
    out = m.mix_inputs(b, torch.Generator().manual_seed(3))
    lam = float(out.lam[0])
    perm = torch.randperm(8, generator=torch.Generator().manual_seed(3))
    feats = model.features(out.images)
    h = model.stages[0](model.stem(b.images))
    h = lam * h + (1 - lam) * h[perm]
    assert torch.allclose(feats, model.stages[1](h).mean((2, 3)), atol=1e-6)
    f2, _ = m.mix_features(feats, out, None)
    assert torch.equal(f2, feats)


def test_manifold_state_is_per_model():
    """Two models with hidden-layer manifold mixup in one process: arming one method's mix leaves the other model alone."""

    class Toy(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = torch.nn.Conv2d(1, 3, 1)
            self.stages = torch.nn.ModuleList([torch.nn.Conv2d(3, 3, 1), torch.nn.Conv2d(3, 3, 1)])
            self.head = torch.nn.Linear(3, 4)

        def features(self, x):
            x = self.stem(x)
            for s in self.stages:
                x = s(x)
            return x.mean((2, 3))

    cfg = load_config(None, ["method.mixup=manifold", "method.manifold_layer=stage1"])
    torch.manual_seed(0)
    models = [Toy(), Toy()]
    methods = [build_method(cfg, DataInfo(COUNTS, 10)) for _ in models]
    for model, m in zip(models, methods, strict=True):
        m.attach(model)
    b = _batch()
    plain = [model.features(b.images) for model in models]
    methods[0].on_epoch_start(1)
    out = methods[0].mix_inputs(b, torch.Generator().manual_seed(3))
    assert torch.equal(models[1].features(out.images), plain[1])  # model 1's hook has nothing pending
    mixed = models[0].features(out.images)
    assert not torch.allclose(mixed, plain[0])
    methods[0].mix_features(mixed, out, None)  # consumed: no error
    with pytest.raises(RuntimeError, match="attach"):
        methods[1].mix_features(plain[1], methods[1].apply_mix(b, 0.5, torch.arange(8)), None)


@pytest.mark.parametrize("mix_tau", ["first", "mixed"])
def test_fcc_tau_for_mixed_samples(mix_tau):
    m = build_method(load_config(None, ["method.mixup=remix", f"fcc.mix_tau={mix_tau}"]), DataInfo(COUNTS, 10))
    tau = torch.tensor([1.5, 1.4, 1.2, 1.1])
    b = Batch(
        torch.zeros(3, 1),
        torch.tensor([0, 1, 3]),
        labels_b=torch.tensor([3, 3, 0]),
        lam=torch.tensor([0.0, 1.0, 1.0]),
        image_lam=torch.tensor([0.25, 0.5, 0.75]),
    )
    got = m.fcc_tau(tau, b).tolist()
    if mix_tau == "first":
        assert got == pytest.approx([1.5, 1.4, 1.1])
    else:  # the image-mixing λ (not Remix's label weight) mixes τ
        assert got == pytest.approx([0.25 * 1.5 + 0.75 * 1.1, 0.5 * 1.4 + 0.5 * 1.1, 0.75 * 1.1 + 0.25 * 1.5])
