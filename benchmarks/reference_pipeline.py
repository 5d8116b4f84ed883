"""An official-style training pipeline, written here to measure what it costs.

It reproduces the *costs* of the official FCC / BagofTricks-LT code path
(the official BoT/FCC pipeline: per-sample PIL transforms in DataLoader workers, host syncs per step, a Python τ loop) on the same model, recipe and data
as ``fcc train``, so that the two can be timed side by side:

* per-sample transforms (pad, random crop, flip, normalise) in ``__getitem__``,
  run by DataLoader worker processes that are re-spawned every epoch
  (``persistent_workers=False``);
* two host synchronisations per step (``loss.item()`` and
  ``logits.argmax(1).cpu().numpy()`` for the running accuracy);
* τ built by a per-sample Python loop and copied host-to-device every step;
* evaluation through a DataLoader after every epoch;
* ``nn.DataParallel`` around the model when CUDA is present.

Nothing here is used by the trainer; it exists only as the baseline of
``benchmarks/bench_cpu.py`` and ``benchmarks/bench_gpu.py``.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset


class PerSampleDataset(Dataset):
    """uint8 images transformed one at a time, as torchvision transforms would."""

    def __init__(self, images: np.ndarray, labels: np.ndarray, mean, std, train: bool, pad: int, flip: bool) -> None:
        self.images, self.labels = images, labels
        self.mean = np.asarray(mean, dtype=np.float32)[:, None, None]
        self.std = np.asarray(std, dtype=np.float32)[:, None, None]
        self.train, self.pad, self.flip = train, pad, flip

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int):
        img = self.images[i].astype(np.float32) / 255.0  # C, H, W
        if self.train:
            c, h, w = img.shape
            p = self.pad
            padded = np.zeros((c, h + 2 * p, w + 2 * p), dtype=np.float32)
            padded[:, p : p + h, p : p + w] = img
            y0, x0 = np.random.randint(0, 2 * p + 1, size=2)
            img = padded[:, y0 : y0 + h, x0 : x0 + w]
            if self.flip and np.random.rand() < 0.5:
                img = img[:, :, ::-1]
        img = (img - self.mean) / self.std
        return torch.from_numpy(np.ascontiguousarray(img)), int(self.labels[i])


@dataclass
class ReferenceResult:
    seconds: float
    epochs: int
    images: int
    top1_error: float

    @property
    def images_per_second(self) -> float:
        return self.images / self.seconds


def official_tau_loop(labels: torch.Tensor, gamma: float, num_classes: int, device) -> torch.Tensor:
    """The official code's per-sample loop: τ_y = round(1 + γ − y·γ/C, 2), then a host-to-device copy."""
    taus = []
    for y in labels.tolist():
        taus.append(round(1 + gamma - y * gamma / num_classes, 2))  # noqa: PERF401  # the official loop, timed as it is
    return torch.tensor(taus, dtype=torch.float32).to(device)


def lr_at(epoch: int, base_lr: float, warmup: int, milestones, decay: float) -> float:
    """BoT's warmup (linear from LR/3 over `warmup` epochs) then steps; epochs count from 1."""
    if epoch <= warmup:
        return base_lr * (1 / 3 + (1 - 1 / 3) * epoch / warmup)
    return base_lr * decay ** sum(epoch >= m for m in milestones)  # BoT: the LR drops at epoch 160 itself


def train_reference(
    model: nn.Module,
    train_x: np.ndarray,
    train_y: np.ndarray,
    test_x: np.ndarray,
    test_y: np.ndarray,
    mean,
    std,
    *,
    epochs: int,
    batch_size: int = 128,
    lr: float = 0.1,
    wd: float = 2e-4,
    milestones=(160, 180),
    decay: float = 0.01,
    warmup: int = 5,
    fcc_gamma: float | None = 0.5,
    fcc_start: int = 50,
    pad: int = 4,
    flip: bool = True,
    workers: int = 2,
    device: str = "cpu",
    seed: int = 0,
) -> ReferenceResult:
    torch.manual_seed(seed)
    np.random.seed(seed)
    num_classes = int(train_y.max()) + 1
    model = model.to(device)
    if device.startswith("cuda"):
        model = nn.DataParallel(model)
    core = model.module if isinstance(model, nn.DataParallel) else model
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9, nesterov=True, weight_decay=wd)
    train_ds = PerSampleDataset(train_x, train_y, mean, std, True, pad, flip)
    test_ds = PerSampleDataset(test_x, test_y, mean, std, False, pad, flip)
    images = 0
    t0 = time.perf_counter()
    err = math.nan
    for epoch in range(1, epochs + 1):
        for g in opt.param_groups:
            g["lr"] = lr_at(epoch, lr, warmup, milestones, decay)
        model.train()
        # non-persistent workers: the official code re-spawns them every epoch
        loader = DataLoader(
            train_ds,
            batch_size=batch_size,
            shuffle=True,
            drop_last=True,
            num_workers=workers,
            persistent_workers=False,
            pin_memory=device.startswith("cuda"),
        )
        correct = 0
        seen = 0
        for x, y in loader:
            x, y = x.to(device), y.to(device)
            feats = core.features(x)
            if fcc_gamma is not None and epoch > fcc_start:
                feats = feats * official_tau_loop(y.cpu(), fcc_gamma, num_classes, device)[:, None]
            logits = core.head(feats)
            loss = F.cross_entropy(logits, y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            _ = loss.item()  # host sync 1: the running loss meter
            pred = logits.argmax(1).cpu().numpy()  # host sync 2: the running accuracy meter
            correct += int((pred == y.cpu().numpy()).sum())
            seen += len(pred)
            images += len(pred)
        err = evaluate_reference(model, test_ds, batch_size, workers, device)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return ReferenceResult(time.perf_counter() - t0, epochs, images, err)


def train_reference_on(model: nn.Module, data, **options) -> ReferenceResult:
    """:func:`train_reference` on a trainer ``Datasets`` (``fcc_train.data.build_datasets``): its arrays and normalisation."""
    return train_reference(
        model,
        data.train_images.numpy(),
        data.train_labels.numpy(),
        data.test_images.numpy(),
        data.test_labels.numpy(),
        data.mean,
        data.std,
        **options,
    )


@torch.no_grad()
def evaluate_reference(model: nn.Module, test_ds: Dataset, batch_size: int, workers: int, device: str) -> float:
    model.eval()
    loader = DataLoader(test_ds, batch_size=batch_size, shuffle=False, num_workers=workers, persistent_workers=False)
    correct = total = 0
    for x, y in loader:
        pred = model(x.to(device)).argmax(1).cpu()
        correct += int((pred == y).sum())
        total += len(y)
    return 100.0 * (1 - correct / total)
