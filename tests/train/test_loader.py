"""DeviceLoader: zero-padded random crops really shift, flips mirror, draws are reproducible, weighted and sharded."""

from __future__ import annotations

import pytest
import torch

from fcc_train.data.augment import random_crop_flip
from fcc_train.data.loader import DeviceLoader

H = W = 8


def _ramp(n: int) -> torch.Tensor:
    """n identical 1×8×8 images with distinct pixel values 1..64 (0 only where padding enters)."""
    return (1 + torch.arange(H * W, dtype=torch.uint8).view(1, 1, H, W)).repeat(n, 1, 1, 1)


def _shifted(img: torch.Tensor, dy: int, dx: int, p: int, flip: bool) -> torch.Tensor:
    """Independent reference: crop at (dy, dx) of the zero-padded image, by explicit loops."""
    out = torch.zeros_like(img)
    for h in range(H):
        for w in range(W):
            sh, sw = h + dy - p, w + dx - p
            if 0 <= sh < H and 0 <= sw < W:
                out[..., h, w] = img[..., sh, sw]
    return out.flip(-1) if flip else out


def _candidates(img: torch.Tensor, p: int) -> dict[bytes, tuple[int, int, bool]]:
    """Every allowed transform of ``img`` (offset in 0..2p squared, flip or not), keyed by its bytes."""
    return {
        _shifted(img, dy, dx, p, f).numpy().tobytes(): (dy, dx, f)
        for dy in range(2 * p + 1)
        for dx in range(2 * p + 1)
        for f in (False, True)
    }


def _loader(images, labels, **kw) -> DeviceLoader:
    kw.setdefault("batch_size", 16)
    return DeviceLoader(images, labels, images[:4], labels[:4], mean=(0.0,), std=(1.0,), **kw)


def _to_uint8(x: torch.Tensor) -> torch.Tensor:
    return (x * 255).round().to(torch.uint8)


@pytest.mark.parametrize("flip", [False, True])
def test_crop_pads_with_zeros_and_shifts(flip):
    n, p = 320, 2
    imgs, labels = _ramp(n), torch.zeros(n, dtype=torch.long)
    loader = _loader(imgs, labels, batch_size=32, crop_padding=p, flip=flip)
    table = _candidates(imgs[0], p)
    seen = set()
    for x, _ in loader.batches(None, torch.Generator().manual_seed(0)):
        for o in _to_uint8(x):
            key = o.numpy().tobytes()
            assert key in table, "output is no zero-padded crop (or flip) of the input"
            seen.add(table[key])
    offsets = {(dy, dx) for dy, dx, _ in seen}
    assert offsets == {(dy, dx) for dy in range(2 * p + 1) for dx in range(2 * p + 1)}  # all 25 shifts occur
    assert {f for *_, f in seen} == ({False, True} if flip else {False})


def test_flip_alone_mirrors_about_half():
    x = torch.rand(2000, 3, 5, 7)
    out = random_crop_flip(x, 0, True, torch.Generator().manual_seed(3))
    mirrored = torch.tensor([torch.equal(o, i.flip(-1)) for o, i in zip(out, x, strict=True)])
    same = torch.tensor([torch.equal(o, i) for o, i in zip(out, x, strict=True)])
    assert bool((mirrored ^ same).all())
    assert 0.45 < mirrored.float().mean() < 0.55


def test_no_augmentation_is_exact_normalisation():
    g = torch.Generator().manual_seed(0)
    imgs = torch.randint(0, 256, (40, 3, 4, 4), generator=g, dtype=torch.uint8)
    labels = torch.arange(40) % 4
    mean, std = (0.1, 0.2, 0.3), (0.5, 0.25, 0.2)
    loader = DeviceLoader(imgs, labels, imgs, labels, mean=mean, std=std, batch_size=8, augment=False, eval_batch_size=16)
    for x, _y in loader.batches(None, torch.Generator().manual_seed(1)):
        # recover which images were drawn through their labels' positions is not possible; compare sets instead
        ref = (imgs.float() / 255 - torch.tensor(mean).view(1, 3, 1, 1)) / torch.tensor(std).view(1, 3, 1, 1)
        for xi in x:
            assert min(float((xi - r).abs().max()) for r in ref) < 1e-6
    xs, ys = zip(*loader.eval_batches(), strict=True)
    assert [len(v) for v in ys] == [16, 16, 8]
    ref = (imgs.float() / 255 - torch.tensor(mean).view(1, 3, 1, 1)) / torch.tensor(std).view(1, 3, 1, 1)
    torch.testing.assert_close(torch.cat(xs), ref)
    assert torch.equal(torch.cat(ys), labels)


def test_permutation_drop_last_and_reproducibility():
    imgs = torch.arange(100, dtype=torch.uint8).view(100, 1, 1, 1).expand(100, 1, 4, 4).contiguous()
    labels = torch.arange(100) % 5
    loader = _loader(imgs, labels, batch_size=32, augment=False)
    assert loader.steps_per_epoch == len(loader) == 3
    ids = lambda seed: torch.cat([_to_uint8(x)[:, 0, 0, 0] for x, _ in loader.batches(None, torch.Generator().manual_seed(seed))])
    a, b, c = ids(7), ids(7), ids(8)
    assert len(a) == 96 and len(set(a.tolist())) == 96  # a permutation, last partial batch dropped
    assert torch.equal(a, b) and not torch.equal(a, c)
    # labels travel with their images
    for x, y in loader.batches(None, torch.Generator().manual_seed(0)):
        assert torch.equal(_to_uint8(x)[:, 0, 0, 0].long() % 5, y)


def test_weighted_draw_follows_class_probabilities():
    counts = [400, 100, 25, 5]
    labels = torch.repeat_interleave(torch.arange(4), torch.tensor(counts))
    imgs = torch.zeros(len(labels), 1, 2, 2, dtype=torch.uint8)
    loader = _loader(imgs, labels, batch_size=53, augment=False)
    g = torch.Generator().manual_seed(0)
    only2 = torch.cat([y for _, y in loader.batches(torch.tensor([0.0, 0.0, 1.0, 0.0]), g)])
    assert bool((only2 == 2).all()) and len(only2) == loader.steps_per_epoch * 53
    ys = torch.cat([y for _ in range(20) for _, y in loader.batches(torch.full((4,), 0.25), g)])
    freq = torch.bincount(ys, minlength=4).double() / len(ys)
    assert torch.allclose(freq, torch.full((4,), 0.25, dtype=torch.float64), atol=0.02)  # CB sampling balances classes
    # within a class, images are drawn uniformly: the 5 images of class 3 all appear
    idx = torch.cat([loader.epoch_indices(torch.tensor([0.0, 0.0, 0.0, 1.0]), g) for _ in range(3)])
    assert set(idx.tolist()) == set(range(525, 530))


def test_sharding_takes_disjoint_strided_slices_of_one_draw():
    labels = torch.arange(103) % 3
    imgs = torch.zeros(103, 1, 2, 2, dtype=torch.uint8)
    # with world_size > 1 the list comes from fcc_train.train.distributed.epoch_indices on a seed drawn from the
    # generator (broadcast from rank 0 under torchrun; here no process group, so each draws it locally)
    from fcc_train.train import distributed

    seed = distributed.shared_seed(torch.Generator().manual_seed(5))
    full = distributed.epoch_indices(labels, torch.bincount(labels).float(), None, seed)
    parts = [
        _loader(imgs, labels, batch_size=8, rank=r, world_size=2).epoch_indices(None, torch.Generator().manual_seed(5))
        for r in range(2)
    ]
    assert torch.equal(parts[0], full[0::2][:51]) and torch.equal(parts[1], full[1::2][:51])
    assert not set(parts[0].tolist()) & set(parts[1].tolist())
    # eval shards are contiguous and concatenate back to the test set in order
    test = torch.arange(10) % 3
    shards = [
        torch.cat(
            [
                y
                for _, y in DeviceLoader(
                    imgs, labels, imgs[:10], test, mean=(0.0,), std=(1.0,), batch_size=8, rank=r, world_size=3
                ).eval_batches(3)
            ]
        )
        for r in range(3)
    ]
    assert torch.equal(torch.cat(shards), test)


def test_channels_last_and_bad_sizes():
    imgs = torch.zeros(20, 3, 4, 4, dtype=torch.uint8)
    loader = DeviceLoader(
        imgs,
        torch.zeros(20, dtype=torch.long),
        imgs,
        torch.zeros(20, dtype=torch.long),
        mean=(0, 0, 0),
        std=(1, 1, 1),
        batch_size=4,
        channels_last=True,
    )
    x, _ = next(loader.batches(None, torch.Generator()))
    assert x.is_contiguous(memory_format=torch.channels_last) and x.dtype == torch.float32
    with pytest.raises(ValueError):
        _loader(imgs, torch.zeros(20, dtype=torch.long), batch_size=21)


@pytest.mark.gpu
def test_cuda_epoch_has_no_host_sync():
    dev = torch.device("cuda")
    labels = torch.arange(1000) % 10
    imgs = torch.randint(0, 256, (1000, 3, 32, 32), dtype=torch.uint8)
    loader = DeviceLoader(imgs, labels, imgs, labels, mean=(0.5,) * 3, std=(0.2,) * 3, batch_size=128, device=dev)
    g = loader.make_generator(0)
    probs = torch.full((10,), 0.1, device=dev)
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        for p in (None, probs):
            for x, _y in loader.batches(p, g):
                x.sum()
    finally:
        torch.cuda.set_sync_debug_mode(0)
    g2 = loader.make_generator(0)
    torch.testing.assert_close(next(loader.batches(None, g2))[0], next(loader.batches(None, loader.make_generator(0)))[0])


def test_epoch_tensor_batches_match_the_epoch_draw():
    """batches_from_epoch_tensor yields the epoch's drawn samples (same labels per position as the index list)."""
    import torch

    from fcc_train.config import load_config
    from fcc_train.data import build_datasets
    from fcc_train.data.loader import DeviceLoader

    cfg = load_config(None, ["data.dataset=digits", "data.crop_padding=1", "data.flip=false", "optim.batch_size=32"])
    data = build_datasets(cfg)
    loader = DeviceLoader.from_data(data, cfg, "cpu")
    idx = loader.epoch_indices(None, torch.Generator().manual_seed(3))
    got = list(loader.batches_from_epoch_tensor(None, torch.Generator().manual_seed(3)))
    assert len(got) == loader.steps_per_epoch
    ys = torch.cat([y for _, y in got])
    assert torch.equal(ys, loader.train_labels[idx[: len(ys)]])
    x0 = got[0][0]
    assert x0.shape[0] == 32 and x0.dtype == torch.float32
    # without augmentation the first batch is exactly the normalised images of the drawn indices
    cfg2 = load_config(None, ["data.dataset=digits", "data.augment=none", "optim.batch_size=32"])
    loader2 = DeviceLoader.from_data(build_datasets(cfg2), cfg2, "cpu")
    idx2 = loader2.epoch_indices(None, torch.Generator().manual_seed(5))
    xb, _ = next(loader2.batches_from_epoch_tensor(None, torch.Generator().manual_seed(5)))
    torch.testing.assert_close(xb, loader2._finish(loader2.train_images[idx2[:32]]))
