"""Shared trainer fixtures: tiny CIFAR-10 / CIFAR-100 folders in the real python-pickle format.

The files mirror cs.toronto.edu's: ``cifar-10-batches-py/data_batch_1..5`` and ``test_batch``
(dict with ``b'data'`` uint8 N×3072, ``b'labels'``, ``b'batch_label'``, ``b'filenames'``) and
``cifar-100-python/train`` / ``test`` (``b'fine_labels'``, ``b'coarse_labels'``), pickled with
protocol 2 and bytes keys like the Python-2-made originals. They are small: CIFAR-10 has 60
training images per class (12 per batch file) and 10 test images per class; CIFAR-100 has 20
and 3. Labels are shuffled (as in the real files) and pixels random, so a test can check which
raw row ended up where. ``FakeCifar`` keeps the raw arrays for independent reference checks.
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest


@dataclass
class FakeCifar:
    root: Path  # the --data-root (holds the cifar-10-batches-py / cifar-100-python folder)
    folder: Path
    train_x: np.ndarray  # uint8 N×3072, rows in file order (batches concatenated)
    train_y: np.ndarray
    test_x: np.ndarray
    test_y: np.ndarray
    num_classes: int
    per_class: int  # training images per class (the balanced n_max)


def _split(rng: np.random.RandomState, C: int, per_class: int) -> tuple[np.ndarray, np.ndarray]:
    y = np.repeat(np.arange(C), per_class)
    rng.shuffle(y)
    x = rng.randint(0, 256, size=(len(y), 3072)).astype(np.uint8)
    return x, y


def _dump(path: Path, obj: dict) -> None:
    with open(path, "wb") as fh:
        pickle.dump(obj, fh, protocol=2)


def write_cifar10(root: Path, per_class: int = 60, test_per_class: int = 10, seed: int = 10) -> FakeCifar:
    rng = np.random.RandomState(seed)
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    x, y = _split(rng, 10, per_class)
    xt, yt = _split(rng, 10, test_per_class)
    per_batch = len(y) // 5
    for b in range(5):
        sl = slice(b * per_batch, (b + 1) * per_batch)
        _dump(
            folder / f"data_batch_{b + 1}",
            {
                b"batch_label": f"training batch {b + 1} of 5".encode(),
                b"labels": [int(v) for v in y[sl]],  # a list of ints, as in the real files
                b"data": x[sl],
                b"filenames": [f"img_{i}.png".encode() for i in range(sl.start, sl.stop)],
            },
        )
    _dump(
        folder / "test_batch",
        {b"batch_label": b"testing batch 1 of 1", b"labels": [int(v) for v in yt], b"data": xt, b"filenames": []},
    )
    (folder / "batches.meta").write_bytes(pickle.dumps({b"label_names": [b"c%d" % i for i in range(10)]}, protocol=2))
    return FakeCifar(root, folder, x, y, xt, yt, 10, per_class)


def write_cifar100(root: Path, per_class: int = 20, test_per_class: int = 3, seed: int = 100) -> FakeCifar:
    rng = np.random.RandomState(seed)
    folder = root / "cifar-100-python"
    folder.mkdir(parents=True)
    x, y = _split(rng, 100, per_class)
    xt, yt = _split(rng, 100, test_per_class)
    for name, xs, ys in (("train", x, y), ("test", xt, yt)):
        _dump(
            folder / name,
            {
                b"filenames": [],
                b"batch_label": name.encode(),
                b"fine_labels": [int(v) for v in ys],
                b"coarse_labels": [int(v) // 5 for v in ys],
                b"data": xs,
            },
        )
    return FakeCifar(root, folder, x, y, xt, yt, 100, per_class)


@pytest.fixture(scope="session")
def cifar10_fake(tmp_path_factory: pytest.TempPathFactory) -> FakeCifar:
    return write_cifar10(tmp_path_factory.mktemp("cifar10"))


@pytest.fixture(scope="session")
def cifar100_fake(tmp_path_factory: pytest.TempPathFactory) -> FakeCifar:
    return write_cifar100(tmp_path_factory.mktemp("cifar100"))


@pytest.fixture()
def cifar10_copy(tmp_path: Path) -> FakeCifar:
    """A private CIFAR-10 folder a test may break."""
    return write_cifar10(tmp_path / "root", per_class=10, test_per_class=2)
