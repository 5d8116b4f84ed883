"""The epoch driver: every training epoch, solo or stacked, is this loop over a :class:`~fcc_train.train.step.Step`.

The hook order of one solo epoch (:func:`train_one_epoch`)::

    method.on_epoch_start(epoch); probs = method.epoch_sampling(epoch); step.begin_epoch(epoch)
    for x, y in loader.batches(probs, gen):          # augmented on the device
        draws = method.draw_mix(N, device, gen)      # outside any captured graph
        step(x, y, draws)                            # forward.batch_loss, backward, SGD
        after_step(model, cfg)                       # LTR-WB's MaxNorm

The summed loss stays on the device: the caller synchronises once per epoch (the NaN check); a progress
display reads the running loss only at the moments it prints (:mod:`fcc_train.train.progress`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Protocol

import torch

from fcc_train.methods import after_step
from fcc_train.train.forward import Draws

if TYPE_CHECKING:
    from fcc_train.train.engine import Engine
    from fcc_train.train.step import Step

__all__ = ["EpochProgress", "drive_epoch", "train_one_epoch"]

StepInputs = tuple[torch.Tensor, torch.Tensor, Draws]


class EpochProgress(Protocol):
    """What the driver tells a progress display (:mod:`fcc_train.train.progress`)."""

    def update(self, done: int, loss: Callable[[], float]) -> None: ...

    def close(self) -> None: ...


def drive_epoch(
    step: Step,
    epoch: int,
    inputs: Iterable[StepInputs],
    after: Callable[[], None] | None = None,
    progress: EpochProgress | None = None,
) -> torch.Tensor:
    """Run ``step`` on every (images, labels, draws) of the epoch; the mean loss as a device tensor.

    ``progress`` is told the number of steps done after each; it reads the running loss (a host sync) only
    when it prints, through the callable it is given.
    """
    step.begin_epoch(epoch)

    def running_loss() -> float:
        return float(step.peek_loss())

    try:
        for done, (images, labels, draws) in enumerate(inputs, 1):
            step(images, labels, draws)
            if after is not None:
                after()
            if progress is not None:
                progress.update(done, running_loss)
    finally:
        if progress is not None:
            progress.close()
    return step.pop_loss()


def train_one_epoch(
    engine: Engine, loader: Any, epoch: int, gen: torch.Generator | None, progress: EpochProgress | None = None
) -> torch.Tensor:
    """Train one epoch; return the mean training loss as a 0-d device tensor (the caller syncs once)."""
    cfg, method, model, step = engine.cfg, engine.method, engine.model, engine.step
    method.on_epoch_start(epoch)
    probs = method.epoch_sampling(epoch)
    model.train()
    batches = loader.batches
    if step.whole_epoch_batches:  # a captured step: the loader augments the epoch at once where it can
        batches = getattr(loader, "batches_from_epoch_tensor", loader.batches)

    pair = method.paired_sampling(epoch)

    def inputs() -> Iterable[StepInputs]:
        if pair is not None:  # two streams (BBN): each step's batch is both batches, the first stream first
            for (x1, y1), (x2, y2) in zip(batches(probs, gen), batches(pair, gen), strict=True):
                yield engine.prepare_images(torch.cat((x1, x2))), torch.cat((y1, y2)), None
            return
        for x, y in batches(probs, gen):
            yield engine.prepare_images(x), y, method.draw_mix(y.shape[0], y.device, gen)

    return drive_epoch(step, epoch, inputs(), lambda: after_step(model, cfg), progress)
