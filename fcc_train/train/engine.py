"""The parts of one run that train: model, method, numerics, the forward module and the step (no I/O).

Numerics: bf16 autocast and channels_last on CUDA (``train.precision: fp32`` / ``train.channels_last:
false`` switch them off), fp32 on CPU. ``train.compile`` picks the step once
(:func:`fcc_train.train.step.choose_mode`):

* ``graphs`` captures the whole step (forward, backward, ForeachSGD) as a CUDA graph
  (:mod:`fcc_train.train.graphs`, one graph per method phase);
* ``compile_graphs`` is ``graphs`` with the loss compiled by ``torch.compile`` (Inductor): its fused
  kernels replace the many small eager ones and the CUDA graph captures the compiled step. On the CPU
  the compiled step runs without capture (a test path for the compiled numerics, with a note);
* ``compile`` runs the forward through ``torch.compile`` in the eager step;
* ``none`` (= ``eager``) is plain PyTorch;
* ``auto`` picks ``graphs`` on CUDA with one process and eager otherwise.

Mixup runs are captured too: each step's λ and pairing permutation are drawn outside the graph
(``method.draw_mix``) and enter it as device tensors. Any failure to compile or capture falls back to
eager with a note (the momentum carries over).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import torch
import torch.nn as nn

from fcc_train.methods import Method
from fcc_train.train.distributed import world_size
from fcc_train.train.epoch import train_one_epoch
from fcc_train.train.evaluate import evaluate
from fcc_train.train.forward import TrainForward
from fcc_train.train.schedule import lr_at
from fcc_train.train.step import EagerStep, GraphStep, build_step, choose_mode

if TYPE_CHECKING:
    from fcc_train.config import Config
    from fcc_train.train.graphs import CapturedStep

__all__ = ["Engine", "TrainForward", "evaluate", "lr_at", "train_one_epoch"]


def _resolve_auto(value: str, on_gpu: bool) -> bool:
    return on_gpu if value == "auto" else str(value).lower() in ("true", "1", "yes", "on")


class Engine:
    """The model, method, numerics and step of one run (built once, reused every epoch).

    ``wrap_forward`` wraps the forward module before the step is built (DDP under torchrun).
    """

    def __init__(
        self,
        cfg: Config,
        model: nn.Module,
        method: Method,
        params: Iterable[nn.Parameter],
        device: torch.device,
        tau_by_class: torch.Tensor,
        notes: list[str] | None = None,
        wrap_forward: Callable[[nn.Module], nn.Module] | None = None,
    ) -> None:
        self.cfg, self.model, self.method, self.device = cfg, model, method, device
        self.notes = notes if notes is not None else []
        on_gpu = device.type == "cuda"
        prec = cfg.train.precision
        self.amp_dtype = torch.bfloat16 if (prec == "bf16" or (prec == "auto" and on_gpu)) else None
        self.channels_last = _resolve_auto(cfg.train.channels_last, on_gpu)
        if self.channels_last:
            model.to(memory_format=torch.channels_last)  # type: ignore[call-overload]  # torch stubs lack memory_format
        self.params = [p for p in params if p.requires_grad]
        method.attach(model)
        self.tau_by_class = tau_by_class.to(device)
        forward: nn.Module = TrainForward(model, method, self.tau_by_class)
        self.forward_module = wrap_forward(forward) if wrap_forward is not None else forward
        self.mixes = cfg.method.mixup != "none"
        mode = choose_mode(cfg.train.compile, on_gpu, world_size(), self.notes)
        self.step: EagerStep | GraphStep = build_step(
            mode,
            forward=self.forward_module,
            method=method,
            model=model,
            params=self.params,
            optim=cfg.optim,
            autocast=self.autocast,
            device=device,
            notes=self.notes,
        )

    @property
    def mode(self) -> str:
        """The step's mode now: ``eager``, ``compile``, ``graphs`` or ``compile_graphs`` (after a fallback: ``eager``)."""
        return self.step.mode

    @property
    def captured(self) -> CapturedStep | None:
        """The captured step while the run trains captured (benchmarks read its graphs), else None."""
        s = self.step
        return s.captured if isinstance(s, GraphStep) and s.fallback is None else None

    # -- optimiser (the step's state, in one form for both kinds) ---------------------------------------
    def set_lr(self, lr: float) -> None:
        self.step.set_lr(lr)

    def optimizer_state(self) -> dict[str, Any]:
        """Momentum buffers (None before the first eager step) and the learning rate."""
        return self.step.state_dict()

    def load_optimizer_state(self, state: dict[str, Any]) -> None:
        self.step.load_state_dict(state)

    # -- numerics -------------------------------------------------------------------
    def autocast(self) -> contextlib.AbstractContextManager[Any]:
        if self.amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.amp_dtype)

    def prepare_images(self, x: torch.Tensor) -> torch.Tensor:
        return x.contiguous(memory_format=torch.channels_last) if self.channels_last else x
