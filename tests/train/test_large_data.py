"""ImageNet-LT / iNat18 path: split lists and JSON, the decode-once store, the Pillow path, GPU-style crops, sampling."""

from __future__ import annotations

import json
import math
import random
from pathlib import Path

import numpy as np
import pytest
import torch
from large_fixtures import TEST_PER_CLASS, TRAIN_COUNTS, make_imagenet_lt, make_inat

from fcc_train.config import load_config
from fcc_train.data import DataError, build_datasets, make_loader
from fcc_train.data.gpu_augment import center_boxes, color_jitter, resized_crop, rrc_boxes, train_transform
from fcc_train.data.store import ImageStore, build_large_store, build_store, load_resized, resized_size
from fcc_train.train.distributed import epoch_indices

SMALL = ["data.short_side=32", "data.image_size=24", "optim.batch_size=4", "data.workers=2"]


@pytest.fixture(scope="module")
def inet_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_imagenet_lt(tmp_path_factory.mktemp("imagenet_lt"))


@pytest.fixture(scope="module")
def inat_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_inat(tmp_path_factory.mktemp("inat"), cat_ids=[3, 10, 11, 40])  # ids with gaps


def cfg_for(dataset: str, root: Path, *extra: str):
    return load_config(None, [f"data.dataset={dataset}", f"data.root={root}", *SMALL, *extra])


# -- loaders ------------------------------------------------------------------------------------------------
def test_imagenet_lt_lists(inet_root: Path) -> None:
    data = build_datasets(cfg_for("imagenet_lt", inet_root))
    assert data.class_counts == TRAIN_COUNTS and data.num_classes == 4
    assert torch.bincount(data.test_labels).tolist() == [TEST_PER_CLASS] * 4
    assert data.name == "ImageNet-LT" and data.info["source"] == "pillow" and data.in_channels == 3
    # the label of every listed path is the one in the list (the fixture puts class c under n0000000c/)
    for p, y in zip(data.train.paths, data.train.labels, strict=True):
        assert f"n{int(y):08d}" in p
    val = build_datasets(cfg_for("imagenet_lt", inet_root, "data.test_split=val"))
    assert val.info["test_split"] == "val" and len(val.test_labels) == 4 * TEST_PER_CLASS


def test_inat_json_with_gapped_ids(inat_root: Path) -> None:
    data = build_datasets(cfg_for("inat18", inat_root))
    assert data.class_counts == TRAIN_COUNTS and data.num_classes == 4  # ids 3, 10, 11, 40 -> ranks 0..3
    assert data.info["test_split"] == "val" and len(data.test_labels) == 4 * TEST_PER_CLASS
    for p, y in zip(data.train.paths, data.train.labels, strict=True):
        assert f"/{[3, 10, 11, 40][int(y)]}/" in p


def test_bad_input_is_one_clear_error(tmp_path: Path, inet_root: Path) -> None:
    with pytest.raises(DataError, match=r"data\.root is not set"):
        build_datasets(load_config(None, ["data.dataset=imagenet_lt", *SMALL]))
    with pytest.raises(DataError, match=r"ImageNet_LT_train\.txt not found"):
        build_datasets(cfg_for("imagenet_lt", tmp_path))
    (tmp_path / "ImageNet_LT_train.txt").write_text("a/b.JPEG 1\nbroken-line\n")
    with pytest.raises(DataError, match=r":2: expected 'relative/path label'"):
        build_datasets(cfg_for("imagenet_lt", tmp_path))
    (tmp_path / "train2018.json").write_text(json.dumps({"images": [{"id": 1}]}))
    with pytest.raises(DataError, match="not an iNat annotation file"):
        build_datasets(cfg_for("inat18", tmp_path))
    with pytest.raises(DataError, match=r"exceeds data\.short_side"):
        build_datasets(cfg_for("imagenet_lt", inet_root, "data.image_size=64"))


def test_fcc_data_describes_large_sets(inet_root: Path) -> None:
    from fcc_train.commands.data import describe

    d = describe(build_datasets(cfg_for("imagenet_lt", inet_root)))
    assert d["class_counts"] == TRAIN_COUNTS and d["test_total"] == 8 and d["shots"]["few"]["classes"] == 4


# -- the store ------------------------------------------------------------------------------------------------
def test_resized_size_as_torchvision() -> None:
    assert resized_size(375, 500, 256) == (256, 341)  # int(256 * 500 / 375) = 341
    assert resized_size(500, 375, 256) == (341, 256)
    assert resized_size(10, 10, 4) == (4, 4)


def test_store_round_trip_and_memmap(tmp_path: Path, inet_root: Path) -> None:
    cfg = cfg_for("imagenet_lt", inet_root)
    data = build_datasets(cfg)
    paths, labels = data.train.paths, data.train.labels.tolist()
    out = build_store(paths, labels, tmp_path / "st", short_side=32, num_classes=4, workers=2)
    st = ImageStore(out)
    assert isinstance(st.flat, np.memmap) and len(st) == len(paths) and st.labels.tolist() == labels
    for i, p in enumerate(paths):
        a = st.image(i)
        assert min(a.shape[:2]) == 32 and a.dtype == np.uint8
        assert np.array_equal(a, load_resized(p, 32))  # bit-identical to the Pillow path
    meta = json.loads((out / "index.json").read_text())
    assert meta["count"] == len(paths) and meta["bytes"] == st.flat.shape[0] == sum(int(h) * int(w) * 3 for h, w in st.sizes)
    with pytest.raises(DataError, match="already exists"):
        build_store(paths, labels, out, short_side=32)
    centre = ImageStore(build_store(paths[:3], labels[:3], tmp_path / "c", short_side=20, mode="centre"))
    assert all(tuple(s) == (20, 20) for s in centre.sizes)


def test_store_build_is_atomic(tmp_path: Path, inet_root: Path) -> None:
    data = build_datasets(cfg_for("imagenet_lt", inet_root))
    bad = tmp_path / "not_a_jpeg.JPEG"
    bad.write_bytes(b"garbage")
    with pytest.raises(DataError):
        build_store([*data.train.paths[:2], str(bad)], [0, 1, 2], tmp_path / "st", short_side=32)
    assert not (tmp_path / "st").exists() and not any(p.name.startswith(".st.tmp") for p in tmp_path.iterdir())
    with pytest.raises(DataError, match=r"index\.json missing"):
        ImageStore(tmp_path / "st")


def test_store_and_pillow_paths_give_identical_batches(tmp_path: Path, inet_root: Path) -> None:
    cfg = cfg_for("imagenet_lt", inet_root)
    build_large_store(cfg, tmp_path / "store", workers=2, progress=False)
    a, b = build_datasets(cfg), build_datasets(cfg_for("imagenet_lt", inet_root, f"data.store={tmp_path / 'store'}"))
    assert b.info["source"] == "store" and a.class_counts == b.class_counts
    la, lb = make_loader(a, cfg, "cpu"), make_loader(b, cfg, "cpu")
    ga, gb = torch.Generator().manual_seed(5), torch.Generator().manual_seed(5)
    for (xa, ya), (xb, yb) in zip(la.batches(None, ga), lb.batches(None, gb), strict=True):
        assert torch.equal(ya, yb) and torch.equal(xa, xb)
    for (xa, ya), (xb, yb) in zip(la.eval_batches(), lb.eval_batches(), strict=True):
        assert torch.equal(ya, yb) and torch.equal(xa, xb)
    with pytest.raises(DataError, match="short side 32"):
        build_datasets(cfg_for("imagenet_lt", inet_root, f"data.store={tmp_path / 'store'}", "data.short_side=40"))


def test_loader_batches_shapes_and_determinism(inet_root: Path) -> None:
    cfg = cfg_for("imagenet_lt", inet_root)
    data = build_datasets(cfg)
    loader = make_loader(data, cfg, "cpu")
    assert len(loader) == sum(TRAIN_COUNTS) // 4
    run1 = [(x.clone(), y.clone()) for x, y in loader.batches(None, torch.Generator().manual_seed(1))]
    run2 = list(loader.batches(None, torch.Generator().manual_seed(1)))
    run3 = list(loader.batches(None, torch.Generator().manual_seed(2)))
    assert len(run1) == len(loader) and run1[0][0].shape == (4, 3, 24, 24) and run1[0][0].dtype == torch.float32
    assert all(torch.equal(a[0], b[0]) and torch.equal(a[1], b[1]) for a, b in zip(run1, run2, strict=True))
    assert not all(torch.equal(a[0], b[0]) for a, b in zip(run1, run3, strict=True))
    seen = torch.cat([y for _, y in run1])
    assert len(seen) == 12  # 14 images, batch 4, drop_last
    ev = list(loader.eval_batches())
    assert torch.equal(torch.cat([y for _, y in ev]), data.test_labels)
    # normalised with ImageNet mean/std: a centre crop un-normalises into 0..1
    x = ev[0][0] * loader.std + loader.mean
    assert float(x.min()) >= -1e-5 and float(x.max()) <= 1 + 1e-5


# -- crops ---------------------------------------------------------------------------------------------------
def tv_area_fraction(H: int, W: int, rng: random.Random) -> float:
    """torchvision RandomResizedCrop.get_params (scale 0.08-1, ratio 3/4-4/3), one sample at a time."""
    for _ in range(10):
        target = H * W * rng.uniform(0.08, 1.0)
        ar = math.exp(rng.uniform(math.log(3 / 4), math.log(4 / 3)))
        w, h = round(math.sqrt(target * ar)), round(math.sqrt(target / ar))
        if 0 < w <= W and 0 < h <= H:
            return h * w / (H * W)
    r = W / H
    if r < 3 / 4:
        w, h = W, round(W / (3 / 4))
    elif r > 4 / 3:
        h, w = H, round(H * 4 / 3)
    else:
        h, w = H, W
    return h * w / (H * W)


def test_rrc_boxes_inside_and_in_range() -> None:
    g = torch.Generator().manual_seed(0)
    sizes = torch.tensor([[256, 341], [341, 256], [256, 256], [300, 1200]] * 500)
    bx = rrc_boxes(sizes, generator=g)
    y0, x0, h, w = bx.unbind(1)
    H, W = sizes[:, 0].float(), sizes[:, 1].float()
    assert bool((y0 >= 0).all() and (x0 >= 0).all() and (y0 + h <= H).all() and (x0 + w <= W).all())
    frac = h * w / (H * W)
    ar = w / h
    assert float(frac.min()) > 0.07 and float(frac.max()) <= 1.0
    ok = (ar >= 3 / 4 - 0.02) & (ar <= 4 / 3 + 0.02)
    assert float(ok.float().mean()) > 0.99
    # the distribution of the area fraction matches a scalar re-statement of torchvision's get_params (rejection
    # sampling favours small boxes on elongated images, so this is not the plain uniform mean 0.54)
    rng = random.Random(0)
    for k, (hh, ww) in enumerate([(256, 341), (341, 256), (256, 256), (300, 1200)]):
        ref = [tv_area_fraction(hh, ww, rng) for _ in range(4000)]
        mine = float(frac[k::4].mean())
        assert abs(mine - sum(ref) / len(ref)) < 0.03, (hh, ww, mine)
    assert torch.equal(bx, rrc_boxes(sizes, generator=torch.Generator().manual_seed(0)))


def test_center_crop_is_an_exact_copy_and_flip_reverses() -> None:
    g = torch.Generator().manual_seed(3)
    x = torch.randint(0, 256, (2, 3, 20, 30), dtype=torch.uint8, generator=g)
    sizes = torch.tensor([[20, 30], [20, 30]])
    out = resized_crop(x, center_boxes(sizes, 16), 16)
    ref = x[:, :, 2:18, 7:23].float() / 255  # torchvision: round((20-16)/2)=2, round((30-16)/2)=7
    assert torch.allclose(out, ref, atol=1e-6)
    flipped = resized_crop(x, center_boxes(sizes, 16), 16, flip=torch.tensor([True, False]))
    assert torch.allclose(flipped[0], ref[0].flip(-1), atol=1e-6) and torch.allclose(flipped[1], ref[1], atol=1e-6)
    # a wrong box offset would be caught
    assert not torch.allclose(out, x[:, :, 2:18, 6:22].float() / 255, atol=1e-3)


def test_resize_of_a_constant_and_of_a_ramp() -> None:
    # a horizontal ramp resampled by a factor 2 stays a ramp with the same endpoints' midpoints (bilinear)
    x = torch.arange(8, dtype=torch.float32).view(1, 1, 1, 8).expand(1, 3, 8, 8).contiguous()
    box = torch.tensor([[0.0, 0.0, 8.0, 8.0]])
    out = resized_crop(x, box, 4)
    assert torch.allclose(out[0, 0, 0], torch.tensor([0.5, 2.5, 4.5, 6.5]))


def test_train_transform_shapes_ranges_determinism() -> None:
    x = torch.randint(0, 256, (6, 3, 40, 52), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    sizes = torch.tensor([[40, 52]] * 3 + [[32, 40]] * 3)  # the last three are padded in the batch
    a = train_transform(x, sizes, 24, torch.Generator().manual_seed(9))
    b = train_transform(x, sizes, 24, torch.Generator().manual_seed(9))
    c = train_transform(x, sizes, 24, torch.Generator().manual_seed(10))
    assert a.shape == (6, 3, 24, 24) and float(a.min()) >= 0 and float(a.max()) <= 1
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_color_jitter_factors() -> None:
    x = torch.rand(4, 3, 8, 8, generator=torch.Generator().manual_seed(0))
    assert torch.equal(color_jitter(x.clone(), 0.0), x)
    y = color_jitter(x.clone(), 0.4, torch.Generator().manual_seed(1))
    assert y.shape == x.shape and not torch.allclose(x, y)
    # brightness only (a grey image: contrast about its own mean and saturation leave ratios alone) stays within ±40 %
    grey = torch.full((64, 3, 2, 2), 0.5)
    z = color_jitter(grey, 0.4, torch.Generator().manual_seed(2))
    assert float(z.min()) >= 0.5 * 0.6 - 1e-6 and float(z.max()) <= 0.5 * 1.4 + 1e-6 and float(z.std()) > 0.05


# -- sampling (the distributed sampler) ----------------------------------------------------------------------
def test_epoch_indices_shards_are_disjoint_parts_of_one_list() -> None:
    labels = torch.tensor([0] * 50 + [1] * 30 + [2] * 20)
    counts = torch.bincount(labels).double()
    full = epoch_indices(labels, counts, None, seed=7)
    assert sorted(full.tolist()) == list(range(100))
    shards = [epoch_indices(labels, counts, None, seed=7, rank=r, world_size=3) for r in range(3)]
    assert all(len(s) == 33 for s in shards)
    merged = torch.stack(shards, 1).reshape(-1)
    assert torch.equal(merged, full[:99])  # interleaving the shards restores the one global list


def test_epoch_indices_class_probabilities() -> None:
    labels = torch.tensor([0] * 900 + [1] * 90 + [2] * 10)
    counts = torch.bincount(labels).double()
    p = torch.tensor([0.2, 0.3, 0.5])
    drawn = torch.cat([labels[epoch_indices(labels, counts, p, seed=s)] for s in range(20)])
    freq = torch.bincount(drawn, minlength=3).double() / len(drawn)
    assert torch.allclose(freq, p.double(), atol=0.02)  # 20k draws: std about 0.0035
    # and each rank's shard of a class-balanced epoch is a slice of the same global draw
    full = epoch_indices(labels, counts, p, seed=3)
    r1 = epoch_indices(labels, counts, p, seed=3, rank=1, world_size=2)
    assert torch.equal(r1, full[1::2])


@pytest.mark.parametrize("dataset", ["imagenet_lt", "inat18"])
def test_one_epoch_of_training_end_to_end(tmp_path: Path, inet_root: Path, inat_root: Path, dataset: str) -> None:
    from fcc_train.train.loop import run_training

    root = inet_root if dataset == "imagenet_lt" else inat_root
    cfg = cfg_for(
        dataset,
        root,
        "model.arch=resnet10",
        "optim.epochs=1",
        "optim.warmup_epochs=0",
        "fcc.enabled=true",
        "fcc.gamma=0.1",
        "fcc.start_epoch=0",
        "train.device=cpu",
        "train.progress=none",
    )
    assert run_training(cfg, tmp_path / "run", log=lambda s: None) == 0
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["done"] and summary["class_counts"] == TRAIN_COUNTS and math.isfinite(summary["best_top1_error"])


# -- Table 2 configs ---------------------------------------------------------------------------------------------
CONFIG_STEMS = ["ce", "focal", "cbce", "ldam_drw", "crt", "tau_norm", "dive_teacher", "dive"]


@pytest.mark.parametrize("dataset", ["imagenet_lt", "inat18"])
def test_table2_configs_follow_the_recipes(dataset: str) -> None:
    folder = Path(__file__).resolve().parents[2] / "configs" / dataset
    for stem in CONFIG_STEMS:
        for fcc in (False, True):
            cfg = load_config(folder / f"{stem}{'_fcc' if fcc else ''}.yaml")
            assert cfg.data.dataset == dataset and cfg.data.image_size == 224
            o = cfg.optim
            if stem == "crt":
                assert (o.epochs, o.lr, o.weight_decay, o.milestones) == (30, 0.1, 5e-4, [10, 20])
                assert cfg.stage.freeze_backbone and cfg.stage.reset_head and cfg.method.sampler == "cb"
            elif dataset == "imagenet_lt":  # FCC's ImageNet-LT recipe
                assert (cfg.model.arch, o.epochs, o.batch_size, o.lr, o.weight_decay, o.milestones) == (
                    "resnet10",
                    200,
                    64,
                    0.2,
                    1e-4,
                    [160, 180],
                )
                assert o.lr_decay == (0.01 if stem in ("focal", "tau_norm") else 0.1)
            else:  # BoT's iNat18 recipe on the paper's ResNet-50
                assert (cfg.model.arch, o.epochs, o.batch_size, o.lr, o.milestones) == ("resnet50", 100, 128, 0.2, [60, 80])
                assert cfg.train.sync_bn and cfg.data.color_jitter == 0.0 and cfg.data.test_split == "val"
            student = stem == "dive"
            assert cfg.fcc.enabled == (fcc and not student)
            if cfg.fcc.enabled:
                start = 0 if (dataset == "inat18" or stem == "crt") else 50
                assert (cfg.fcc.gamma, cfg.fcc.start_epoch, cfg.fcc.order) == (0.1, start, "frequency")
    official = load_config(folder / "ce_fcc_official.yaml")
    assert official.fcc.order == "label" and official.fcc.round_decimals == 2


@pytest.mark.gpu
def test_cuda_loader_matches_cpu_eval_and_is_deterministic(inet_root: Path) -> None:
    """On a GPU: the centre-crop batches equal the CPU ones; augmented batches repeat with the same CUDA generator."""
    cfg = cfg_for("imagenet_lt", inet_root, "train.channels_last=true")
    data = build_datasets(cfg)
    cpu, gpu = make_loader(data, cfg, "cpu"), make_loader(data, cfg, "cuda")
    for (xa, ya), (xb, yb) in zip(cpu.eval_batches(), gpu.eval_batches(), strict=True):
        assert torch.equal(ya, yb.cpu()) and torch.allclose(xa, xb.cpu(), atol=1e-5)
    runs = [[(x.cpu(), y.cpu()) for x, y in gpu.batches(None, gpu.make_generator(4))] for _ in range(2)]
    assert all(torch.equal(a[0], b[0]) and torch.equal(a[1], b[1]) for a, b in zip(*runs, strict=True))
    p = torch.full((4,), 0.25, device="cuda")
    xs = [x for x, _ in gpu.batches(p, gpu.make_generator(5))]
    assert xs[0].is_cuda and xs[0].shape == (4, 3, 24, 24) and xs[0].is_contiguous(memory_format=torch.channels_last)
