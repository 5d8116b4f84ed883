"""The learning-rate schedule: BoT's ``WarmupMultiStepLR`` (stepped before each epoch) or a cosine.

Epoch e (1-based) trains at ``lr · w(e) · decay^{#milestones ≤ e}``, ``w(e) = f + (1 − f)·e/W`` for
``e < W`` else 1 (f = 1/3, W = 5): epoch 1 trains at 0.0467, epochs ≥ 5 at 0.1, epoch 160 at 1e-3 and
epoch 180 at 1e-5.

>>> from fcc_train.config import load_config
>>> o = load_config(None, []).optim
>>> [round(lr_at(o, e), 5) for e in (1, 5, 160, 180)]
[0.04667, 0.1, 0.001, 1e-05]
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fcc_train.config import OptimConfig

__all__ = ["extension_schedule", "lr_at", "milestone_warning"]


def lr_at(optim: OptimConfig, epoch: int) -> float:
    """Learning rate of training epoch ``epoch`` (1-based): BoT warmup, then steps (×decay at each milestone) or cosine."""
    w = optim.warmup_epochs
    warm = optim.warmup_start_factor + (1 - optim.warmup_start_factor) * epoch / w if epoch < w else 1.0
    if optim.schedule == "step":
        return float(optim.lr * warm * optim.lr_decay ** sum(epoch >= m for m in optim.milestones))
    if optim.schedule == "cosine":
        # after warmup, half a cosine from lr (epoch W) towards 0 (never reached: the last epoch keeps a small lr)
        start = min(w, optim.epochs)
        t = max(epoch - start, 0) / max(optim.epochs - start + 1, 1)
        return float(optim.lr * warm * 0.5 * (1 + math.cos(math.pi * t)))
    raise ValueError(f"unknown optim.schedule '{optim.schedule}'; use step or cosine")


def _segments(optim: OptimConfig, first: int, last: int) -> list[tuple[int, int, float]]:
    """Runs of epochs ``first..last`` that train at one learning rate: (from, to, lr)."""
    out: list[tuple[int, int, float]] = []
    for e in range(first, last + 1):
        lr = lr_at(optim, e)
        if out and out[-1][2] == lr:
            out[-1] = (out[-1][0], e, lr)
        else:
            out.append((e, e, lr))
    return out


def extension_schedule(old: OptimConfig, new: OptimConfig) -> str:
    """One line: the schedule the epochs after ``old.epochs`` get when a run is extended to ``new.epochs``.

    >>> from fcc_train.config import load_config
    >>> old = load_config(None, ["optim.epochs=200"]).optim
    >>> extension_schedule(old, load_config(None, ["optim.epochs=300"]).optim)
    'step schedule, milestones [160, 180] all passed: epochs 201-300 train at lr 1e-05 (epoch 200 trained at 1e-05)'
    >>> extension_schedule(old, load_config(None, ["optim.epochs=300", "optim.milestones=[160,180,250]"]).optim)
    'step schedule, milestones [160, 180, 250]: epochs 201-249 at lr 1e-05, 250-300 at lr 1e-07 (epoch 200 trained at 1e-05)'
    """
    a, b = old.epochs + 1, new.epochs
    before = f"(epoch {old.epochs} trained at {lr_at(old, old.epochs):.3g})"
    if new.schedule == "cosine":
        return (
            f"cosine schedule, horizon moved from epoch {old.epochs} to {new.epochs}: epoch {a} trains at lr "
            f"{lr_at(new, a):.3g}, decaying to {lr_at(new, b):.3g} at epoch {b} {before}"
        )
    segs = _segments(new, a, b)
    ms = list(new.milestones)
    if len(segs) == 1:
        passed = " all passed" if all(m <= old.epochs for m in ms) else ""
        which = f"epochs {a}-{b}" if b > a else f"epoch {a}"
        return f"step schedule, milestones {ms}{passed}: {which} train{'s' if a == b else ''} at lr {segs[0][2]:.3g} {before}"
    runs = ", ".join(f"{s}-{t} at lr {lr:.3g}" if s != t else f"{s} at lr {lr:.3g}" for s, t, lr in segs)
    return f"step schedule, milestones {ms}: epochs {runs} {before}"


def milestone_warning(optim: OptimConfig) -> str | None:
    """A one-line warning when a step schedule's milestones fall after the last epoch (they never take effect).

    >>> from fcc_train.config import load_config
    >>> milestone_warning(load_config(None, ["optim.epochs=100"]).optim)
    "warning: optim.epochs is 100 but the LR milestones 160, 180 come after it: the learning rate never decays (set optim.milestones, e.g. [80, 90] as the paper's 160/200, 180/200)"
    >>> milestone_warning(load_config(None, []).optim) is None
    True
    """
    if optim.schedule != "step":
        return None
    late = [m for m in optim.milestones if m > optim.epochs]
    if not late:
        return None
    never = "never decays" if len(late) == len(optim.milestones) else "skips the later decays"
    e = optim.epochs
    example = f", e.g. [{e * 4 // 5}, {e * 9 // 10}] as the paper's 160/200, 180/200" if e >= 10 else ""
    return (
        f"warning: optim.epochs is {e} but the LR milestones {', '.join(map(str, late))} come after it: "
        f"the learning rate {never} (set optim.milestones{example})"
    )
