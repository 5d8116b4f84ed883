"""Nothing runs from a file a user is handed: malicious CIFAR batches are refused before any code runs."""

from __future__ import annotations

import pickle
import shutil
from pathlib import Path

import pytest

from fcc_train.data import DataError


class _Payload:
    """Unpickling this calls ``Path.touch(marker)``: if the marker exists, foreign code ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_malicious_cifar_batch_is_refused_and_runs_nothing(tmp_path: Path, cifar10_fake) -> None:
    from fcc_train.data.cifar import read_cifar

    root = tmp_path / "root"
    shutil.copytree(cifar10_fake.root, root)
    marker = tmp_path / "ran"
    target = root / cifar10_fake.folder.name / "data_batch_3"
    good = pickle.loads(target.read_bytes(), encoding="bytes")
    good[b"batch_label"] = _Payload(marker)
    target.write_bytes(pickle.dumps(good, protocol=2))
    with pytest.raises(DataError) as e:
        read_cifar("cifar10", str(root))
    assert not marker.exists(), "the payload ran"
    msg = str(e.value)
    assert "data_batch_3" in msg and "refusing" in msg and "\n" not in msg


def test_real_format_batches_still_load(cifar10_fake) -> None:
    from fcc_train.data.cifar import read_cifar

    fake = cifar10_fake
    x, y, _xt, yt = read_cifar("cifar10", str(fake.root))
    assert x.shape == (len(fake.train_y), 3, 32, 32) and (y == fake.train_y).all() and len(yt) == len(fake.test_y)
