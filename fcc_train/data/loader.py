"""``DeviceLoader``: the uint8 data set resident on the device, batches drawn and augmented there.

What makes small-image training fast (as in the fastest public CIFAR trainers): no DataLoader workers,
no per-sample transforms, no host synchronisation inside an epoch. Per epoch the loader draws an
index list on the device — a random permutation (instance sampling) or, given per-class
probabilities ``p`` (C,), ``N`` draws with replacement with per-sample weights ``p[y] / n[y]``
(this is how class-balanced, square-root and progressively-balanced samplers plug in) — and
yields ``drop_last`` batches, cropped/flipped (:func:`~fcc_train.data.augment.random_crop_flip`),
optionally through AutoAugment's CIFAR-10 policy and Cutout (:mod:`fcc_train.data.autoaugment`, NCL's
augmentation) and normalised on the device. Every random number comes from the caller's ``torch.Generator``,
so the same seed gives the same batches (bit-identical on CPU).

With ``world_size > 1`` (torchrun) every rank draws the *same* epoch index list from an
identically seeded generator and keeps its strided slice ``idx[rank::world_size]`` (as
``DistributedSampler``), so the ranks see disjoint parts of one global epoch.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import torch

from fcc_train.data import DataError
from fcc_train.data.augment import normalize, random_crop_flip
from fcc_train.data.autoaugment import cifar10_policy, cutout

if TYPE_CHECKING:
    from fcc_train.config import Config
    from fcc_train.data import LTData

__all__ = ["DeviceLoader"]


class RankShare:
    """What every loader shares: this rank's share of the training set, cut into drop_last batches.

    Subclasses set ``device`` and ``batch_size`` and call :meth:`_share` in their constructor.
    """

    device: torch.device
    batch_size: int

    def _share(self, num_train: int, rank: int, world_size: int) -> None:
        if not 0 <= rank < world_size:
            raise ValueError(f"rank {rank} outside 0..{world_size - 1}")
        self.rank, self.world_size = rank, world_size
        self.local_size = num_train // world_size  # every rank the same length, so steps agree
        if self.batch_size < 1 or self.local_size < self.batch_size:
            raise DataError(
                f"batch size {self.batch_size} needs at least that many training images per rank (have {self.local_size}); "
                "lower optim.batch_size"
            )

    @property
    def steps_per_epoch(self) -> int:
        """Training batches per epoch on this rank (drop_last); the same for every sampling mode."""
        return self.local_size // self.batch_size

    def __len__(self) -> int:
        return self.steps_per_epoch

    def make_generator(self, seed: int) -> torch.Generator:
        """A generator on the loader's device (CUDA ops need a CUDA generator), seeded."""
        return torch.Generator(device=self.device).manual_seed(int(seed))


class DeviceLoader(RankShare):
    """Training and evaluation batches from device-resident uint8 tensors."""

    def __init__(
        self,
        train_images: torch.Tensor,
        train_labels: torch.Tensor,
        test_images: torch.Tensor,
        test_labels: torch.Tensor,
        *,
        mean: tuple[float, ...],
        std: tuple[float, ...],
        batch_size: int,
        device: torch.device | str = "cpu",
        augment: bool = True,
        crop_padding: int = 4,
        flip: bool = True,
        autoaugment: str = "none",
        cutout: int = 0,
        num_classes: int | None = None,
        channels_last: bool = False,
        eval_batch_size: int = 1024,
        rank: int = 0,
        world_size: int = 1,
    ) -> None:
        self.device = torch.device(device)
        self.train_images = train_images.to(self.device, torch.uint8).contiguous()
        self.train_labels = train_labels.to(self.device, torch.long)
        self.test_images = test_images.to(self.device, torch.uint8).contiguous()
        self.test_labels = test_labels.to(self.device, torch.long)
        self.num_train = int(self.train_labels.shape[0])
        self.num_test = int(self.test_labels.shape[0])
        C = num_classes if num_classes is not None else int(train_labels.max()) + 1  # host tensor here, before training
        self.num_classes = C
        counts = torch.bincount(train_labels.to("cpu", torch.long), minlength=C).double()
        self.class_counts = counts.to(self.device)  # n_y, for the weighted draw
        self.mean = torch.tensor(mean, dtype=torch.float32, device=self.device).view(1, -1, 1, 1)
        self.std = torch.tensor(std, dtype=torch.float32, device=self.device).view(1, -1, 1, 1)
        self.batch_size = int(batch_size)
        self.eval_batch_size = int(eval_batch_size)
        self.augment = augment
        self.crop_padding = int(crop_padding) if augment else 0
        self.flip = bool(flip) and augment
        self.autoaugment = autoaugment if augment else "none"
        self.cutout = int(cutout) if augment else 0
        self.channels_last = channels_last
        self._share(self.num_train, rank, world_size)

    @classmethod
    def from_data(cls, data: LTData, cfg: Config, device: torch.device | str, rank: int = 0, world_size: int = 1) -> DeviceLoader:
        """A loader for ``data`` with the config's batch (global, split over ranks) and augmentation."""
        from fcc_train.config import CHOICES, ConfigError

        device = torch.device(device)
        if cfg.data.augment not in CHOICES["data.augment"]:
            raise ConfigError(f"unknown data.augment '{cfg.data.augment}'; use standard (crop + flip) or none")
        if cfg.data.crop_padding < 0:
            raise ConfigError(f"data.crop_padding must be >= 0, got {cfg.data.crop_padding}")
        if cfg.data.autoaugment not in CHOICES["data.autoaugment"]:
            raise ConfigError(f"unknown data.autoaugment '{cfg.data.autoaugment}'; use none or cifar10")
        if (cfg.data.cutout > 0 or cfg.data.autoaugment != "none") and cfg.data.augment == "none":
            raise ConfigError(
                "data.autoaugment and data.cutout extend the training augmentation; with data.augment: none set "
                "data.autoaugment: none, data.cutout: 0"
            )
        cl = cfg.train.channels_last
        channels_last = (device.type == "cuda") if cl == "auto" else cl.lower() in ("true", "yes", "1", "on")
        return cls(
            data.train_images,
            data.train_labels,
            data.test_images,
            data.test_labels,
            mean=data.mean,
            std=data.std,
            batch_size=max(1, cfg.optim.batch_size // world_size),
            device=device,
            augment=cfg.data.augment != "none",
            crop_padding=cfg.data.crop_padding,
            flip=cfg.data.flip,
            autoaugment=cfg.data.autoaugment,
            cutout=cfg.data.cutout,
            num_classes=data.num_classes,
            channels_last=channels_last,
            eval_batch_size=cfg.train.eval_batch_size,
            rank=rank,
            world_size=world_size,
        )

    # -- training -----------------------------------------------------------
    def epoch_indices(
        self, epoch_class_probs: torch.Tensor | None = None, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """This rank's index list for one epoch (length ``local_size``), drawn on the device.

        ``epoch_class_probs=None``: a random permutation. Otherwise ``N`` draws with replacement where
        sample ``i`` has weight ``p[y_i] / n[y_i]`` — so class ``j`` is drawn with probability ``p_j``
        and uniformly among its images.
        """
        N = self.num_train
        if self.world_size > 1:
            # every rank must shard the same global list; the ranks' own generators differ (so their
            # crops and flips differ), hence a seed drawn on rank 0 and broadcast
            from fcc_train.train import distributed

            seed = distributed.shared_seed(generator)
            idx = distributed.epoch_indices(
                self.train_labels, self.class_counts, epoch_class_probs, seed, self.rank, self.world_size
            )
            return idx.to(self.device)[: self.local_size]
        if epoch_class_probs is None:
            idx = torch.randperm(N, device=self.device, generator=generator)
        else:
            p = epoch_class_probs.to(self.device, torch.float64)
            w = (p / self.class_counts.clamp_min(1.0))[self.train_labels]
            idx = torch.multinomial(w, N, replacement=True, generator=generator)
        return idx

    def batches(
        self, epoch_class_probs: torch.Tensor | None = None, generator: torch.Generator | None = None
    ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """One epoch of ``(x, y)``: x float32 normalised (B, C, H, W), y int64 (B,), drop_last."""
        idx = self.epoch_indices(epoch_class_probs, generator)
        B = self.batch_size
        for s in range(self.steps_per_epoch):  # a Python int: no device value is read
            j = idx[s * B : (s + 1) * B]
            x = self.train_images[j]
            if self.augment:
                x = self._augment(x, generator)
            yield self._finish(x), self.train_labels[j]

    def batches_from_epoch_tensor(
        self, epoch_class_probs: torch.Tensor | None = None, generator: torch.Generator | None = None, chunk: int = 4096
    ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """The same epoch as :meth:`batches`, augmented and normalised for the whole epoch up front.

        Each batch is then a view (no kernel at all), which is what a replayed CUDA graph needs:
        per-batch augmentation costs ~30 kernel launches, more than the captured step itself at
        batch 128. The draws come in a different order than :meth:`batches`, so the two modes are
        equally random but not bit-identical to each other.
        """
        idx = self.epoch_indices(epoch_class_probs, generator)
        B = self.batch_size
        n = self.steps_per_epoch * B
        idx = idx[:n]
        parts = []
        for s in range(0, n, chunk):  # chunks bound the gather's index tensors
            x = self.train_images[idx[s : s + chunk]]
            if self.augment:
                x = self._augment(x, generator)
            parts.append(self._finish(x))
        X = torch.cat(parts) if len(parts) > 1 else parts[0]
        if self.channels_last:
            X = X.contiguous(memory_format=torch.channels_last)
        Y = self.train_labels[idx]
        for s in range(self.steps_per_epoch):
            yield X[s * B : (s + 1) * B], Y[s * B : (s + 1) * B]

    # -- evaluation -----------------------------------------------------------
    def eval_batches(self, batch_size: int | None = None) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """The test split in order, unaugmented; with ``world_size > 1`` this rank's contiguous shard
        (concatenating the ranks' outputs in rank order restores the full order)."""
        B = int(batch_size or self.eval_batch_size)
        per = -(-self.num_test // self.world_size)
        lo, hi = min(self.rank * per, self.num_test), min((self.rank + 1) * per, self.num_test)
        for s in range(lo, hi, B):
            e = min(s + B, hi)
            yield self._finish(self.test_images[s:e]), self.test_labels[s:e]

    def train_eval_batches(self, batch_size: int | None = None) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """The training set in order, unaugmented (for feature statistics / analysis), unsharded."""
        B = int(batch_size or self.eval_batch_size)
        for s in range(0, self.num_train, B):
            yield self._finish(self.train_images[s : s + B]), self.train_labels[s : s + B]

    def _augment(self, x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        """Crop + flip, then AutoAugment and Cutout when configured (NCL's order), all on the uint8 batch."""
        x = random_crop_flip(x, self.crop_padding, self.flip, generator)
        if self.autoaugment == "cifar10":
            x = cifar10_policy(x, generator)
        if self.cutout > 0:
            x = cutout(x, self.cutout, generator)
        return x

    def _finish(self, x: torch.Tensor) -> torch.Tensor:
        x = normalize(x, self.mean, self.std)
        return x.contiguous(memory_format=torch.channels_last) if self.channels_last else x
