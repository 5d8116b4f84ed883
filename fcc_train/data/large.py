"""ImageNet-LT and iNaturalist 2018: ``build_large_datasets(cfg) -> LargeData`` and ``make_large_loader``.

Images come from a decode-once store (``data.store``, :mod:`fcc_train.data.store`: memory-mapped uint8,
short side 256) or, without one, straight from the JPEGs through Pillow (:func:`~fcc_train.data.store.load_resized`,
the same decode + resize, so both paths give the same pixels). Host threads (``data.workers``) assemble each
batch — the images of the batch edge-padded to a common size — a few batches ahead; on the device
:mod:`fcc_train.data.gpu_augment` does RandomResizedCrop + flip + ColorJitter (training) or the centre crop
(test), and ImageNet mean/std normalisation.

Sampling (instance, or per-class probabilities from ``Method.epoch_sampling`` for CB / SR / PB / DRS) and the
torchrun sharding are :func:`fcc_train.train.distributed.epoch_indices`: every rank draws the same global index list
from a seed that rank 0 draws from its generator and broadcasts, then keeps ``idx[rank::world_size]``.
"""

from __future__ import annotations

import os
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

import numpy as np
import torch

from fcc_train.data import DataError
from fcc_train.data.gpu_augment import IMAGENET_MEAN, IMAGENET_STD, center_boxes, resized_crop, train_transform
from fcc_train.data.loader import RankShare

if TYPE_CHECKING:
    from fcc_train.config import Config

__all__ = ["ImageSource", "LargeData", "LargeLoader", "build_large_datasets", "make_large_loader", "split_items"]

NAMES = {"imagenet_lt": "ImageNet-LT", "inat18": "iNaturalist 2018"}


class ImageSource:
    """Images of one split by index: from an :class:`~fcc_train.data.store.ImageStore` or decoded with Pillow."""

    def __init__(self, labels: np.ndarray, *, store: Any = None, paths: list[str] | None = None, short_side: int = 256) -> None:
        self.labels = labels
        self.store, self.paths, self.short_side = store, paths, short_side
        self.kind = "store" if store is not None else "pillow"

    def __len__(self) -> int:
        return len(self.labels)

    def image(self, i: int) -> np.ndarray:
        """HWC uint8, short side ``short_side``."""
        if self.store is not None:
            return self.store.image(i)
        from fcc_train.data.store import load_resized

        assert self.paths is not None
        try:
            return load_resized(self.paths[i], self.short_side)
        except OSError as exc:
            raise DataError(f"cannot decode {self.paths[i]} ({exc}); check data.root") from None


@dataclass
class LargeData:
    """A large long-tailed set: labels and counts in memory, images behind an :class:`ImageSource` (fields as ``LTData``)."""

    train: ImageSource
    test: ImageSource
    train_labels: torch.Tensor  # int64 (N,)
    test_labels: torch.Tensor  # int64 (M,)
    class_counts: list[int]
    num_classes: int
    mean: tuple[float, ...]
    std: tuple[float, ...]
    name: str
    image_size: int
    in_channels: int = 3
    info: dict[str, Any] = field(default_factory=dict)


def split_items(cfg: Config, split: str) -> tuple[list[str], list[int], int]:
    """Absolute paths, labels and the class count of ``split`` of ``cfg.data.dataset`` under ``cfg.data.root``."""
    name, root = cfg.data.dataset, cfg.data.root
    if not root:
        raise DataError(f"{name}: data.root is not set; pass --data-root DIR (the folder of the split files and images)")
    if not Path(root).is_dir():
        if name == "imagenet_lt":
            from fcc_train.data.imagenet_lt import LAYOUT
        elif name == "inat18":
            from fcc_train.data.inat import LAYOUT
        else:
            LAYOUT = "pass the data set's folder"
        raise DataError(f"{name}: data.root '{root}' is not a folder; {LAYOUT}")
    if name == "imagenet_lt":
        from fcc_train.data.imagenet_lt import imagenet_lt_split

        paths, labels = imagenet_lt_split(root, split)
        train_labels = labels if split == "train" else imagenet_lt_split(root, "train")[1]
        return paths, labels, max(max(train_labels), max(labels)) + 1
    if name == "inat18":
        from fcc_train.data.inat import inat_split

        return inat_split(root, split)
    raise DataError(f"'{name}' is not a large data set (imagenet_lt or inat18)")


def _open_split(cfg: Config, split: str) -> tuple[ImageSource, int]:
    if cfg.data.store:
        from fcc_train.data.store import ImageStore

        folder = Path(cfg.data.store) / split
        if not (folder / "index.json").is_file():
            raise DataError(
                f"store '{cfg.data.store}' has no complete '{split}' split; build it with "
                f"python -m fcc_train.data.store --config <yaml> --data-root <dir> --out {cfg.data.store}"
            )
        st = ImageStore(folder)
        if st.short_side != cfg.data.short_side:
            raise DataError(f"store '{folder}' has short side {st.short_side}, config data.short_side {cfg.data.short_side}")
        return ImageSource(st.labels.astype(np.int64), store=st), st.num_classes
    paths, labels, C = split_items(cfg, split)
    return ImageSource(np.asarray(labels, dtype=np.int64), paths=paths, short_side=cfg.data.short_side), C


def build_large_datasets(cfg: Config) -> LargeData:
    """ImageNet-LT (train + ``data.test_split``) or iNat18 (train + the official val), from the store or the JPEGs."""
    d = cfg.data
    # iNat18 has no public test labels: the official val split is the test set
    split = "val" if d.dataset == "inat18" and d.test_split == "test" else d.test_split
    if split not in ("test", "val"):
        raise DataError(f"data.test_split must be test or val, got '{d.test_split}'")
    if d.image_size > d.short_side:
        raise DataError(f"data.image_size {d.image_size} exceeds data.short_side {d.short_side}; set image_size: 224")
    train, c_train = _open_split(cfg, "train")
    test, c_test = _open_split(cfg, split)
    C = max(c_train, c_test)
    counts = np.bincount(train.labels, minlength=C).tolist()
    return LargeData(
        train=train,
        test=test,
        train_labels=torch.from_numpy(train.labels.copy()),
        test_labels=torch.from_numpy(test.labels.copy()),
        class_counts=[int(n) for n in counts],
        num_classes=C,
        mean=IMAGENET_MEAN,
        std=IMAGENET_STD,
        name=NAMES[d.dataset],
        image_size=d.image_size,
        info={"dataset": d.dataset, "source": train.kind, "test_split": split, "short_side": d.short_side},
    )


def assemble(source: ImageSource, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A padded uint8 batch (B, Hmax, Wmax, 3) — each image edge-replicated to the common size — and sizes (B, 2)."""
    ims = [source.image(int(i)) for i in idx]
    sizes = np.array([a.shape[:2] for a in ims], dtype=np.int64)
    H, W = int(sizes[:, 0].max()), int(sizes[:, 1].max())
    out = np.empty((len(ims), H, W, 3), dtype=np.uint8)
    for b, a in enumerate(ims):
        h, w = a.shape[:2]
        out[b, :h, :w] = a
        if w < W:  # replicate the edge so bilinear sampling at the border never mixes in padding
            out[b, :h, w:] = a[:, w - 1 : w]
        if h < H:
            out[b, h:] = out[b, h - 1 : h]
    return out, sizes


class LargeLoader(RankShare):
    """Training / evaluation batches for :class:`LargeData` (the ``DeviceLoader`` interface the engine uses)."""

    def __init__(
        self,
        data: LargeData,
        *,
        batch_size: int,
        device: torch.device | str = "cpu",
        image_size: int = 224,
        augment: bool = True,
        flip: bool = True,
        jitter: float = 0.4,
        min_scale: float = 0.08,
        workers: int = 0,
        prefetch: int = 4,
        channels_last: bool = False,
        eval_batch_size: int = 256,
        rank: int = 0,
        world_size: int = 1,
    ) -> None:
        self.data = data
        self.device = torch.device(device)
        self.batch_size, self.eval_batch_size = int(batch_size), int(eval_batch_size)
        self.image_size, self.augment, self.flip, self.jitter, self.min_scale = image_size, augment, flip, jitter, min_scale
        self.workers = workers or min(8, os.cpu_count() or 1)
        self.prefetch, self.channels_last = max(1, prefetch), channels_last
        self.num_train, self.num_test = len(data.train), len(data.test)
        self.num_classes = data.num_classes
        self.train_labels = data.train_labels
        self.class_counts = torch.tensor(data.class_counts, dtype=torch.float64)
        self._share(self.num_train, rank, world_size)
        self.mean = torch.tensor(data.mean, device=self.device).view(1, -1, 1, 1)
        self.std = torch.tensor(data.std, device=self.device).view(1, -1, 1, 1)
        self._pool: ThreadPoolExecutor | None = None

    def pool(self) -> ThreadPoolExecutor:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="fcc-batch")
        return self._pool

    # -- sampling ---------------------------------------------------------------
    def epoch_indices(
        self, epoch_class_probs: torch.Tensor | None = None, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """This rank's index list (CPU int64, length ``local_size``): see :func:`fcc_train.train.distributed.epoch_indices`."""
        from fcc_train.train.distributed import epoch_indices, shared_seed

        seed = shared_seed(generator)
        return epoch_indices(self.train_labels, self.class_counts, epoch_class_probs, seed, self.rank, self.world_size)

    # -- batches ----------------------------------------------------------------
    def _stream(self, source: ImageSource, chunks: list[np.ndarray]) -> Iterator[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
        """Assembled chunks in order, ``prefetch`` ahead on the thread pool; moved to the device."""
        pool = self.pool()
        pending: deque[tuple[np.ndarray, Future[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]]] = deque()
        it = iter(chunks)
        for c in it:
            pending.append((c, pool.submit(self._host_batch, source, c)))
            if len(pending) >= self.prefetch:
                break
        while pending:
            c, fut = pending.popleft()
            nxt = next(it, None)
            if nxt is not None:
                pending.append((nxt, pool.submit(self._host_batch, source, nxt)))
            x, s, y = fut.result()
            x = x.to(self.device, non_blocking=True).permute(0, 3, 1, 2)  # NHWC storage = channels_last NCHW
            yield x, s.to(self.device, non_blocking=True), y.to(self.device, non_blocking=True)

    def _host_batch(self, source: ImageSource, idx: np.ndarray) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Worker thread: assemble the batch and, for CUDA, pin it (so the copy to the device is asynchronous)."""
        arr, sizes = assemble(source, idx)
        out = (torch.from_numpy(arr), torch.from_numpy(sizes), torch.from_numpy(source.labels[idx]))
        if self.device.type == "cuda":
            out = (out[0].pin_memory(), out[1].pin_memory(), out[2].pin_memory())
        return out

    def batches(
        self, epoch_class_probs: torch.Tensor | None = None, generator: torch.Generator | None = None
    ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """One epoch of augmented, normalised ``(x, y)`` on the device (drop_last)."""
        idx = self.epoch_indices(epoch_class_probs, generator).numpy()
        B = self.batch_size
        chunks = [idx[s * B : (s + 1) * B] for s in range(self.steps_per_epoch)]
        for x, sizes, y in self._stream(self.data.train, chunks):
            if self.augment:
                xf = train_transform(
                    x, sizes, self.image_size, generator, scale=(self.min_scale, 1.0), flip=self.flip, jitter=self.jitter
                )
            else:
                xf = resized_crop(x, center_boxes(sizes, self.image_size), self.image_size)
            yield self._finish(xf), y

    def _center(self, source: ImageSource, lo: int, hi: int, B: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        chunks = [np.arange(s, min(s + B, hi)) for s in range(lo, hi, B)]
        for x, sizes, y in self._stream(source, chunks):
            yield self._finish(resized_crop(x, center_boxes(sizes, self.image_size), self.image_size)), y

    def eval_batches(self, batch_size: int | None = None) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """The test split in order, centre-cropped; with ``world_size > 1`` this rank's contiguous shard
        (the ranks' outputs concatenated in rank order restore the full order: ``all_gather_cat``)."""
        per = -(-self.num_test // self.world_size)
        lo, hi = min(self.rank * per, self.num_test), min((self.rank + 1) * per, self.num_test)
        return self._center(self.data.test, lo, hi, int(batch_size or self.eval_batch_size))

    def train_eval_batches(self, batch_size: int | None = None) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """The training set in order, centre-cropped, unsharded (feature statistics / analysis)."""
        return self._center(self.data.train, 0, self.num_train, int(batch_size or self.eval_batch_size))

    def _finish(self, x: torch.Tensor) -> torch.Tensor:
        x = (x - self.mean) / self.std
        return x.contiguous(memory_format=torch.channels_last) if self.channels_last else x.contiguous()


def make_large_loader(
    data: LargeData, cfg: Config, device: torch.device | str, rank: int = 0, world_size: int = 1
) -> LargeLoader:
    """The loader of ``data`` with the config's global batch (split over ranks) and augmentation."""
    from fcc_train.config import ConfigError

    d = cfg.data
    if d.augment not in ("standard", "none"):
        raise ConfigError(f"unknown data.augment '{d.augment}'; use standard (RandomResizedCrop + flip + jitter) or none")
    if d.autoaugment != "none" or d.cutout > 0:
        raise ConfigError(
            f"data.autoaugment / data.cutout run on the device-resident data sets (digits, CIFAR, synthetic), not {d.dataset}; "
            "set data.autoaugment: none, data.cutout: 0"
        )
    if not 0 < d.rrc_min_scale <= 1:
        raise ConfigError(f"data.rrc_min_scale must be in (0, 1], got {d.rrc_min_scale}")
    device = torch.device(device)
    cl = cfg.train.channels_last
    channels_last = (device.type == "cuda") if cl == "auto" else cl.lower() in ("true", "yes", "1", "on")
    return LargeLoader(
        data,
        batch_size=max(1, cfg.optim.batch_size // world_size),
        device=device,
        image_size=d.image_size,
        augment=d.augment != "none",
        flip=d.flip,
        jitter=d.color_jitter,
        min_scale=d.rrc_min_scale,
        workers=d.workers,
        channels_last=channels_last,
        eval_batch_size=min(cfg.train.eval_batch_size, 256),
        rank=rank,
        world_size=world_size,
    )
