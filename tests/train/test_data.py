"""Data sets: CIFAR pickle reading and the long-tailed draw, digits-LT, synthetic, dispatch and bad-folder errors."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch

from fcc_train.config import ConfigError, load_config
from fcc_train.data import DataError, LTData, build_datasets, make_loader
from fcc_train.data.cifar import CIFAR_MEAN, CIFAR_STD
from fcc_train.data.digits import digits_split_indices, load_digits_uint8
from fcc_train.data.loader import DeviceLoader
from fcc_train.data.longtail import exp_profile
from fcc_train.data.synthetic import fit_n_max


def _cfg(*sets: str):
    return load_config(None, list(sets))


def _reference_keep(labels: np.ndarray, counts: list[int], seed: int = 0) -> np.ndarray:
    """Independent reimplementation of Cao et al.'s draw with the global numpy seed."""
    state = np.random.get_state()
    np.random.seed(seed)
    out = []
    for c in range(len(counts)):
        idx = np.where(labels == c)[0]
        np.random.shuffle(idx)
        out.extend(idx[: counts[c]])
    np.random.set_state(state)
    return np.array(out)


@pytest.mark.parametrize("IF", [10, 50])
def test_cifar10_lt_draw_picks_the_reference_images(cifar10_fake, IF):
    f = cifar10_fake
    d = build_datasets(_cfg("data.dataset=cifar10", f"data.root={f.root}", f"data.imbalance_factor={IF}"))
    counts = exp_profile(f.per_class, 10, IF)  # the fixture's proportionally scaled n_max
    assert d.class_counts == counts and d.train_images.shape == (sum(counts), 3, 32, 32)
    keep = _reference_keep(f.train_y, counts)
    assert torch.equal(d.train_labels, torch.from_numpy(f.train_y[keep]))
    assert np.array_equal(d.train_images.reshape(len(keep), -1).numpy(), f.train_x[keep])
    # full balanced test split, in file order
    assert np.array_equal(d.test_images.reshape(len(f.test_y), -1).numpy(), f.test_x)
    assert torch.equal(d.test_labels, torch.from_numpy(f.test_y))
    assert (d.mean, d.std) == (CIFAR_MEAN, CIFAR_STD)
    assert (d.num_classes, d.in_channels, d.image_size) == (10, 3, 32)
    assert d.train_images.dtype == torch.uint8 and d.train_labels.dtype == torch.int64


def test_cifar_rows_are_rgb_planes_row_major(cifar10_fake):
    f = cifar10_fake
    d = build_datasets(_cfg("data.dataset=cifar10", f"data.root={f.folder}", "data.imbalance_factor=1"))  # root = inner folder
    keep = _reference_keep(f.train_y, [f.per_class] * 10)
    i = 7
    raw = f.train_x[keep[i]]
    for c, h, w in [(0, 0, 0), (0, 0, 31), (1, 5, 2), (2, 31, 31), (2, 17, 9)]:
        assert d.train_images[i, c, h, w] == raw[c * 1024 + h * 32 + w]
    assert d.class_counts == [f.per_class] * 10  # IF 1: the balanced set


def test_cifar100_fine_labels_and_step_profile(cifar100_fake):
    f = cifar100_fake
    d = build_datasets(
        _cfg("data.dataset=cifar100", f"data.root={f.root}", "data.imbalance_factor=10", "data.imbalance_type=step")
    )
    assert d.class_counts == [20] * 50 + [2] * 50 and d.num_classes == 100
    keep = _reference_keep(f.train_y, d.class_counts)
    assert torch.equal(d.train_labels, torch.from_numpy(f.train_y[keep]))
    assert len(d.test_labels) == 300 and np.bincount(d.test_labels.numpy()).tolist() == [3] * 100
    e = build_datasets(_cfg("data.dataset=cifar100", f"data.root={f.root}", "data.imbalance_factor=4"))
    assert e.class_counts == exp_profile(20, 100, 4)


def test_subset_seed_changes_the_images_not_the_counts(cifar10_fake):
    f = cifar10_fake
    a = build_datasets(_cfg("data.dataset=cifar10", f"data.root={f.root}", "data.imbalance_factor=10"))
    b = build_datasets(_cfg("data.dataset=cifar10", f"data.root={f.root}", "data.imbalance_factor=10", "data.subset_seed=1"))
    assert a.class_counts == b.class_counts and not torch.equal(a.train_images, b.train_images)


def _break(folder, how):
    if how == "missing_test":
        (folder / "test_batch").unlink()
    elif how == "garbage":
        (folder / "data_batch_3").write_bytes(b"not a pickle")
    elif how == "shape":
        d = pickle.loads((folder / "data_batch_2").read_bytes(), encoding="bytes")
        d[b"data"] = d[b"data"][:, :3000]
        (folder / "data_batch_2").write_bytes(pickle.dumps(d, protocol=2))
    elif how == "key":
        d = pickle.loads((folder / "data_batch_1").read_bytes(), encoding="bytes")
        d[b"fine_labels"] = d.pop(b"labels")
        (folder / "data_batch_1").write_bytes(pickle.dumps(d, protocol=2))
    elif how == "labels":
        d = pickle.loads((folder / "test_batch").read_bytes(), encoding="bytes")
        d[b"labels"][0] = 10
        (folder / "test_batch").write_bytes(pickle.dumps(d, protocol=2))


@pytest.mark.parametrize("how", ["missing_test", "garbage", "shape", "key", "labels"])
def test_malformed_cifar_folder_is_one_clear_line(cifar10_copy, how):
    _break(cifar10_copy.folder, how)
    with pytest.raises(DataError) as err:
        build_datasets(_cfg("data.dataset=cifar10", f"data.root={cifar10_copy.root}"))
    msg = str(err.value)
    assert "\n" not in msg and "cifar-10-batches-py/data_batch_1..5 and test_batch" in msg and "expected" in msg


def test_missing_root_and_folder(tmp_path):
    with pytest.raises(DataError, match="--data-root"):
        build_datasets(_cfg("data.dataset=cifar10"))
    with pytest.raises(DataError, match=r"cifar-100-python/train and test"):
        build_datasets(_cfg("data.dataset=cifar100", f"data.root={tmp_path}"))


def test_digits_lt_split():
    cfg = _cfg("data.imbalance_factor=10", "data.test_per_class=25")
    d = build_datasets(cfg)
    x, y = load_digits_uint8()
    keep, test, counts, n_max = digits_split_indices(cfg.data, y)
    assert n_max == min(np.bincount(y)) - 25
    assert d.class_counts == exp_profile(n_max, 10, 10) == counts
    assert np.bincount(d.test_labels.numpy()).tolist() == [25] * 10
    assert not set(keep) & set(test)  # held-out test images are never trained on
    assert torch.equal(d.train_images, torch.from_numpy(x[keep])) and torch.equal(d.train_labels, torch.from_numpy(y[keep]))
    assert d.train_images.dtype == torch.uint8 and int(d.train_images.max()) == 255 and d.in_channels == 1
    ref = d.train_images.double().div(255)
    assert d.mean[0] == pytest.approx(float(ref.mean())) and d.std[0] == pytest.approx(float(ref.std(unbiased=False)))
    again = build_datasets(cfg)
    assert torch.equal(again.train_images, d.train_images)
    other = build_datasets(_cfg("data.imbalance_factor=10", "data.test_per_class=25", "data.subset_seed=1"))
    assert not torch.equal(other.train_images, d.train_images)


def test_digits_bad_test_size():
    with pytest.raises(DataError, match="test_per_class"):
        build_datasets(_cfg("data.test_per_class=500"))


def test_synthetic_shape_counts_and_learnability():
    assert fit_n_max(12406, "exp", 10, 100) == 5000  # the default size is CIFAR-10-LT-100's
    d = build_datasets(_cfg("data.dataset=synthetic", "data.synthetic_train_size=1240", "data.synthetic_test_size=500"))
    assert d.class_counts == exp_profile(fit_n_max(1240, "exp", 10, 100), 10, 100)
    assert sum(d.class_counts) <= 1240 < sum(exp_profile(fit_n_max(1240, "exp", 10, 100) + 1, 10, 100))
    assert d.train_images.shape[1:] == (3, 32, 32) and d.train_images.dtype == torch.uint8
    # nearest class mean (from the training set) classifies the balanced test set well above chance
    xtr, xte = d.train_images.float().flatten(1), d.test_images.float().flatten(1)
    means = torch.stack([xtr[d.train_labels == c].mean(0) for c in range(10)])
    acc = (torch.cdist(xte, means).argmin(1) == d.test_labels).float().mean()
    assert acc > 0.5


def test_dispatch_errors_and_loader():
    with pytest.raises(DataError, match="unknown data set"):
        build_datasets(_cfg("data.dataset=mnist"))
    try:
        import fcc_train.data.large  # noqa: F401
    except ModuleNotFoundError:
        with pytest.raises(DataError, match="large"):
            build_datasets(_cfg("data.dataset=imagenet_lt"))
    cfg = _cfg("data.imbalance_factor=10", "optim.batch_size=32")
    d = build_datasets(cfg)
    assert isinstance(d, LTData)
    loader = make_loader(d, cfg, "cpu")
    assert isinstance(loader, DeviceLoader) and loader.steps_per_epoch == sum(d.class_counts) // 32
    assert make_loader(d, cfg, "cpu", rank=1, world_size=2).batch_size == 16
    with pytest.raises(ConfigError, match=r"data\.augment"):
        make_loader(d, _cfg("data.augment=autoaugment"), "cpu")


def test_digits_read_without_sklearn_import_equal_load_digits():
    """The direct read of sklearn's bundled digits.csv.gz gives exactly what load_digits() gives."""
    import numpy as np
    from sklearn.datasets import load_digits

    from fcc_train.data.digits import load_digits_uint8

    x, y = load_digits_uint8()
    d = load_digits()
    assert np.array_equal(x, np.rint(d.images * (255.0 / 16.0)).clip(0, 255).astype(np.uint8)[:, None])
    assert np.array_equal(y, d.target)
