"""Long-tailed data sets for the trainer: ``build_datasets(cfg) -> LTData`` and ``make_loader``.

Small sets (CIFAR-10/100-LT, digits-LT, synthetic) are read whole into uint8 tensors and
served from the device by :class:`~fcc_train.data.loader.DeviceLoader`. ImageNet-LT and
iNat18 live in ``fcc_train.data.large`` (imported only when asked for).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import torch

from fcc_theory.errors import UserError

if TYPE_CHECKING:
    from fcc_train.config import Config
    from fcc_train.data.loader import DeviceLoader

__all__ = ["LARGE_DATASETS", "SMALL_DATASETS", "DataError", "LTData", "build_datasets", "make_loader"]

SMALL_DATASETS = ("digits", "cifar10", "cifar100", "synthetic")
LARGE_DATASETS = ("imagenet_lt", "inat18")


class DataError(UserError):
    """A missing or malformed data set folder (one line naming the expected layout)."""


@dataclass
class LTData:
    """A long-tailed training set and its balanced test set, as uint8 tensors (N, C, H, W) on the host."""

    train_images: torch.Tensor  # uint8 (N, C, H, W)
    train_labels: torch.Tensor  # int64 (N,)
    test_images: torch.Tensor  # uint8 (M, C, H, W)
    test_labels: torch.Tensor  # int64 (M,)
    class_counts: list[int]  # training images per label id
    num_classes: int
    mean: tuple[float, ...]  # per channel, in 0..1 pixel units
    std: tuple[float, ...]
    name: str
    image_size: int
    in_channels: int
    info: dict[str, Any] = field(default_factory=dict)  # provenance: profile, n_max, IF, seed, source

    def __post_init__(self) -> None:
        n, m = len(self.train_labels), len(self.test_labels)
        if self.train_images.shape[0] != n or self.test_images.shape[0] != m:
            raise ValueError(f"{self.name}: images and labels disagree in length")
        if sum(self.class_counts) != n or len(self.class_counts) != self.num_classes:
            raise ValueError(f"{self.name}: class_counts do not describe the training labels")


def _fill_info(data: LTData, cfg: Config) -> LTData:
    data.info.setdefault("dataset", cfg.data.dataset)
    return data


def build_datasets(cfg: Config) -> LTData:
    """Build the training subset and test split named by ``cfg.data`` (see ``fcc_train.config.DataConfig``)."""
    name = cfg.data.dataset
    if name == "digits":
        from fcc_train.data.digits import build_digits

        return _fill_info(build_digits(cfg.data), cfg)
    if name in ("cifar10", "cifar100"):
        from fcc_train.data.cifar import build_cifar

        return _fill_info(build_cifar(cfg.data), cfg)
    if name == "synthetic":
        from fcc_train.data.synthetic import build_synthetic

        return _fill_info(build_synthetic(cfg.data), cfg)
    if name in LARGE_DATASETS:
        return _large_module().build_large_datasets(cfg)
    known = ", ".join(SMALL_DATASETS + LARGE_DATASETS)
    raise DataError(f"unknown data set '{name}'; set data.dataset to one of: {known}")


def _large_module() -> Any:
    import importlib

    try:
        large = importlib.import_module("fcc_train.data.large")
    except ModuleNotFoundError as exc:
        if exc.name == "fcc_train.data.large":
            raise DataError("ImageNet-LT / iNat18 support (fcc_train/data/large.py) is not installed in this checkout") from None
        raise
    return large


def make_loader(data: Any, cfg: Config, device: torch.device | str, rank: int = 0, world_size: int = 1) -> DeviceLoader | Any:
    """The training/eval loader for ``data``: a :class:`DeviceLoader` for small sets, the large-set loader otherwise.

    ``cfg.optim.batch_size`` is the *global* batch: each of ``world_size`` ranks gets ``batch_size // world_size``.
    """
    if cfg.data.dataset in LARGE_DATASETS:
        return _large_module().make_large_loader(data, cfg, device, rank=rank, world_size=world_size)
    from fcc_train.data.loader import DeviceLoader

    return DeviceLoader.from_data(data, cfg, device, rank=rank, world_size=world_size)
